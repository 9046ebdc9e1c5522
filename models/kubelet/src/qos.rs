//! QoS classes (`pkg/apis/core/v1/helper/qos :: ComputePodQOS`) and `oom_score_adj`
//! (`pkg/kubelet/qos/policy.go :: GetContainerOOMScoreAdjust`).

use kubesim_api::{Container, PodSpec, ResourceList, ResourceName};

/// A pod's QoS class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QosClass {
    /// Every container has cpu and memory limits equal to its requests.
    Guaranteed,
    /// Anything in between.
    Burstable,
    /// No cpu or memory request or limit anywhere.
    BestEffort,
}

/// Priority class name that pins `oom_score_adj` to the guaranteed value.
pub const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// `oom_score_adj` of Guaranteed and node-critical containers.
pub const GUARANTEED_OOM_SCORE_ADJ: i64 = -997;
/// `oom_score_adj` of BestEffort containers.
pub const BEST_EFFORT_OOM_SCORE_ADJ: i64 = 1000;
/// `oom_score_adj` of the kubelet and kube-proxy.
pub const KUBELET_OOM_SCORE_ADJ: i64 = -999;

fn is_qos_resource(name: &ResourceName) -> bool {
    matches!(name, ResourceName::Cpu | ResourceName::Memory)
}

/// Accumulates positive cpu/memory amounts of `list` into `into`; returns which were present.
fn add_positive(into: &mut ResourceList, list: &ResourceList) -> (bool, bool) {
    let (mut cpu, mut mem) = (false, false);
    for (name, amount) in list.iter() {
        if is_qos_resource(name) && amount > 0 {
            into.add(name, amount);
            cpu |= *name == ResourceName::Cpu;
            mem |= *name == ResourceName::Memory;
        }
    }
    (cpu, mem)
}

/// The pod's QoS class. Init containers count; pod-level `resources` replace the per-container
/// view when they set cpu or memory (feature PodLevelResources). Requests and limits are
/// compared as sums over containers, as upstream does.
pub fn pod_qos(spec: &PodSpec) -> QosClass {
    let mut requests = ResourceList::new();
    let mut limits = ResourceList::new();
    let mut guaranteed = true;
    let pod_level = spec
        .extras
        .resources
        .as_ref()
        .filter(|r| r.requests.iter().chain(r.limits.iter()).any(|(name, _)| is_qos_resource(name)));
    if let Some(r) = pod_level {
        add_positive(&mut requests, &r.requests);
        let (cpu, mem) = add_positive(&mut limits, &r.limits);
        guaranteed &= cpu && mem;
    } else {
        for c in spec.containers.iter().chain(spec.init_containers.iter()) {
            add_positive(&mut requests, &c.resources.requests);
            let (cpu, mem) = add_positive(&mut limits, &c.resources.limits);
            guaranteed &= cpu && mem;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return QosClass::BestEffort;
    }
    if guaranteed {
        let equal = requests.iter().all(|(name, req)| limits.get(name) == Some(req));
        let same_len = requests.iter().count() == limits.iter().count();
        if equal && same_len {
            return QosClass::Guaranteed;
        }
    }
    QosClass::Burstable
}

fn burstable_score(memory_request_bytes: i64, node_memory_capacity_bytes: i64) -> i64 {
    if node_memory_capacity_bytes <= 0 {
        return BEST_EFFORT_OOM_SCORE_ADJ - 1;
    }
    // Go: 1000 - (1000*memoryRequest)/memoryCapacity, integer division (truncating).
    let share = (1000i128 * memory_request_bytes.max(0) as i128) / node_memory_capacity_bytes as i128;
    1000 - share.min(2000) as i64
}

/// `oom_score_adj` for `container` of a pod with `spec`, on a node with `node_memory_capacity_bytes`.
///
/// Node-critical and Guaranteed → −997, BestEffort → 1000, Burstable →
/// `1000 − 1000·request/capacity`, kept within `[3, 999]`. A sidecar (restartable init container)
/// is capped at the lowest score of the regular containers, so it is not killed before them.
pub fn container_oom_score_adj(
    spec: &PodSpec,
    container: &Container,
    node_memory_capacity_bytes: i64,
) -> i64 {
    if spec.extras.priority_class_name.as_deref() == Some(SYSTEM_NODE_CRITICAL) {
        return GUARANTEED_OOM_SCORE_ADJ;
    }
    match pod_qos(spec) {
        QosClass::Guaranteed => return GUARANTEED_OOM_SCORE_ADJ,
        QosClass::BestEffort => return BEST_EFFORT_OOM_SCORE_ADJ,
        QosClass::Burstable => {}
    }
    let mut score = burstable_score(container.resources.requests.memory_bytes(), node_memory_capacity_bytes);
    if container.is_sidecar() {
        let lowest_regular = spec
            .containers
            .iter()
            .map(|c| burstable_score(c.resources.requests.memory_bytes(), node_memory_capacity_bytes))
            .min();
        if let Some(lowest) = lowest_regular {
            score = score.min(lowest);
        }
    }
    // A Guaranteed pod using all memory scores about 3: keep burstable pods above it…
    if score < 1000 + GUARANTEED_OOM_SCORE_ADJ {
        return 1000 + GUARANTEED_OOM_SCORE_ADJ;
    }
    // …and below BestEffort.
    if score == BEST_EFFORT_OOM_SCORE_ADJ {
        return score - 1;
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::{ResourceRequirements, RestartPolicy};

    const GI: i64 = 1 << 30;
    const MI: i64 = 1 << 20;

    fn container(
        req_cpu: Option<i64>,
        req_mem: Option<i64>,
        lim_cpu: Option<i64>,
        lim_mem: Option<i64>,
    ) -> Container {
        let mut requests = ResourceList::new();
        let mut limits = ResourceList::new();
        if let Some(v) = req_cpu {
            requests.set(ResourceName::Cpu, v);
        }
        if let Some(v) = req_mem {
            requests.set(ResourceName::Memory, v);
        }
        if let Some(v) = lim_cpu {
            limits.set(ResourceName::Cpu, v);
        }
        if let Some(v) = lim_mem {
            limits.set(ResourceName::Memory, v);
        }
        Container {
            name: "c".into(),
            resources: ResourceRequirements { requests, limits },
            ..Default::default()
        }
    }

    fn pod(containers: Vec<Container>) -> PodSpec {
        PodSpec { containers: containers.into(), ..Default::default() }
    }

    #[test]
    fn no_requests_or_limits_is_best_effort() {
        assert_eq!(pod_qos(&pod(vec![container(None, None, None, None)])), QosClass::BestEffort);
        // Zero amounts do not count.
        assert_eq!(pod_qos(&pod(vec![container(Some(0), Some(0), None, None)])), QosClass::BestEffort);
    }

    #[test]
    fn equal_cpu_and_memory_limits_and_requests_everywhere_is_guaranteed() {
        let g = container(Some(100), Some(GI), Some(100), Some(GI));
        assert_eq!(pod_qos(&pod(vec![g.clone(), g.clone()])), QosClass::Guaranteed);
        // One container without a memory limit breaks it.
        let b = container(Some(100), Some(GI), Some(100), None);
        assert_eq!(pod_qos(&pod(vec![g.clone(), b])), QosClass::Burstable);
        // Requests below limits: burstable.
        assert_eq!(
            pod_qos(&pod(vec![container(Some(50), Some(GI), Some(100), Some(GI))])),
            QosClass::Burstable
        );
    }

    #[test]
    fn init_containers_count_toward_the_class() {
        let mut spec = pod(vec![container(Some(100), Some(GI), Some(100), Some(GI))]);
        spec.init_containers.push(container(Some(10), None, None, None));
        assert_eq!(pod_qos(&spec), QosClass::Burstable);
    }

    #[test]
    fn pod_level_resources_replace_the_container_view() {
        let mut spec = pod(vec![container(None, None, None, None)]);
        let rl = ResourceList::new().with_cpu_millis(500).with_memory_bytes(GI);
        spec.extras.resources = Some(ResourceRequirements { requests: rl.clone(), limits: rl });
        assert_eq!(pod_qos(&spec), QosClass::Guaranteed);
    }

    #[test]
    fn oom_score_adj_follows_the_class_and_the_request_share() {
        let cap = 4 * GI;
        let g = pod(vec![container(Some(100), Some(GI), Some(100), Some(GI))]);
        assert_eq!(container_oom_score_adj(&g, &g.containers[0], cap), -997);
        let be = pod(vec![container(None, None, None, None)]);
        assert_eq!(container_oom_score_adj(&be, &be.containers[0], cap), 1000);
        // 1 GiB of 4 GiB: 1000 − 250 = 750.
        let b = pod(vec![container(Some(100), Some(GI), None, None)]);
        assert_eq!(container_oom_score_adj(&b, &b.containers[0], cap), 750);
        // Request ≥ capacity: floored at 3. Tiny request: 1000 − 0 = 1000 → 999.
        let huge = pod(vec![container(Some(100), Some(8 * GI), None, None)]);
        assert_eq!(container_oom_score_adj(&huge, &huge.containers[0], cap), 3);
        let tiny = pod(vec![container(Some(100), Some(MI), None, None)]);
        assert_eq!(container_oom_score_adj(&tiny, &tiny.containers[0], cap), 999);
        // 1 MiB of 4 GiB: 1000·1048576/4294967296 = 0.24 → 0 → 1000 → 999 (checked above); 100 MiB: 24 → 976.
        let mid = pod(vec![container(Some(100), Some(100 * MI), None, None)]);
        assert_eq!(container_oom_score_adj(&mid, &mid.containers[0], cap), 976);
    }

    #[test]
    fn node_critical_pods_get_the_guaranteed_score_and_sidecars_are_capped() {
        let mut crit = pod(vec![container(None, None, None, None)]);
        crit.extras.priority_class_name = Some(SYSTEM_NODE_CRITICAL.into());
        assert_eq!(container_oom_score_adj(&crit, &crit.containers[0], GI), -997);

        let cap = 4 * GI;
        let mut spec = pod(vec![container(Some(100), Some(2 * GI), None, None)]); // 500
        let mut sidecar = container(Some(10), Some(10 * MI), None, None); // raw 998
        sidecar.restart_policy = Some(RestartPolicy::Always);
        spec.init_containers.push(sidecar.clone());
        assert_eq!(container_oom_score_adj(&spec, &sidecar, cap), 500);
    }
}
