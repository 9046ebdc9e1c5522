//! Requests and limits → cgroup values (`pkg/kubelet/cm/helpers_linux.go`; runc/crun for v2 weight).
//!
//! Pure functions, shared by the simulated runtime and the real Linux backend.

use kubesim_api::{Container, PodSpec, ResourceList};

use crate::qos::{pod_qos, QosClass};

/// cgroup v1 `cpu.shares` floor (also the value for BestEffort pods).
pub const MIN_SHARES: u64 = 2;
/// cgroup v1 `cpu.shares` ceiling.
pub const MAX_SHARES: u64 = 262_144;
/// Shares per whole CPU.
pub const SHARES_PER_CPU: u64 = 1024;
/// Default CFS period in microseconds (100 ms).
pub const CFS_PERIOD_US: u64 = 100_000;
/// Smallest CFS quota the kubelet writes, in microseconds (1 ms).
pub const MIN_QUOTA_US: u64 = 1_000;

/// `MilliCPUToShares`: `clamp(floor(milli·1024/1000), 2, 262144)`; 2 when the request is 0.
pub fn milli_cpu_to_shares(cpu_millis: i64) -> u64 {
    if cpu_millis <= 0 {
        return MIN_SHARES;
    }
    let shares = (cpu_millis as u128 * SHARES_PER_CPU as u128 / 1000) as u64;
    shares.clamp(MIN_SHARES, MAX_SHARES)
}

/// `MilliCPUToQuota`: CFS quota in µs for a CPU limit, `None` when unlimited (limit 0/unset).
/// `quota = milli·period/1000`, at least 1000 µs.
pub fn milli_cpu_to_quota_us(cpu_limit_millis: i64, period_us: u64) -> Option<u64> {
    if cpu_limit_millis <= 0 {
        return None;
    }
    let quota = (cpu_limit_millis as u128 * period_us as u128 / 1000) as u64;
    Some(quota.max(MIN_QUOTA_US))
}

/// Which shares → cgroup v2 `cpu.weight` conversion the OCI runtime uses (reference §6.2, §0 item 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightFormula {
    /// KEP-2254 linear map, `1 + (shares − 2)·9999/262142`: older runc/crun and the kubelet's own
    /// pod and QoS cgroups.
    Linear,
    /// Quadratic in log2(shares) so that 1024 shares ↦ weight 100 (runc ≥ 1.3.2, crun ≥ 1.23).
    #[default]
    QuadraticLog,
}

/// cgroup v2 `cpu.weight` for `shares`; 0 means "unset" (shares 0), as in the OCI libraries.
pub fn cpu_shares_to_weight(shares: u64, formula: WeightFormula) -> u64 {
    if shares == 0 {
        return 0;
    }
    match formula {
        WeightFormula::Linear => 1 + (shares.saturating_sub(2) * 9999) / 262_142,
        WeightFormula::QuadraticLog => {
            if shares <= 2 {
                return 1;
            }
            if shares >= MAX_SHARES {
                return 10_000;
            }
            // The upstream formula is floating point (Go math.Log2/Pow); it feeds only the cgroup
            // file, never simulated time, so libm differences cannot change a run's event log.
            let l = (shares as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// The cgroup values for one container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerCgroup {
    /// `cpu.shares` (v1); feed to [`cpu_shares_to_weight`] for v2.
    pub cpu_shares: u64,
    /// CFS quota in µs per [`CFS_PERIOD_US`]; `None` = `max`.
    pub cpu_quota_us: Option<u64>,
    /// CFS period in µs.
    pub cpu_period_us: u64,
    /// `memory.max` / `memory.limit_in_bytes`; `None` = unlimited.
    pub memory_limit_bytes: Option<i64>,
}

/// Container-level mapping: shares from the request (the loader already copied an absent request
/// from the limit), quota from the CPU limit, memory limit from the memory limit.
pub fn container_cgroup(container: &Container) -> ContainerCgroup {
    let r = &container.resources;
    ContainerCgroup {
        cpu_shares: milli_cpu_to_shares(r.requests.cpu_millis()),
        cpu_quota_us: milli_cpu_to_quota_us(r.limits.cpu_millis(), CFS_PERIOD_US),
        cpu_period_us: CFS_PERIOD_US,
        memory_limit_bytes: r.limits.get(&kubesim_api::ResourceName::Memory).filter(|v| *v > 0),
    }
}

/// Effective pod requests or limits as upstream `PodRequests`/`PodLimits`: the larger of (regular
/// containers + sidecars) and each init container plus the sidecars started before it, plus
/// overhead. `pick` selects requests or limits of a container.
pub fn effective_pod_resources(spec: &PodSpec, pick: impl Fn(&Container) -> &ResourceList) -> ResourceList {
    let mut total = ResourceList::new();
    for c in &spec.containers {
        total.add_all(pick(c));
    }
    let mut sidecars = ResourceList::new();
    let mut init_peak = ResourceList::new();
    for c in &spec.init_containers {
        if c.is_sidecar() {
            sidecars.add_all(pick(c));
            init_peak.max_with(&sidecars);
        } else {
            let mut during = sidecars.clone();
            during.add_all(pick(c));
            init_peak.max_with(&during);
        }
    }
    total.add_all(&sidecars);
    total.max_with(&init_peak);
    if !total.is_empty() || !spec.extras.overhead.is_empty() {
        total.add_all(&spec.extras.overhead);
    }
    total
}

/// Pod-level cgroup values (`ResourceConfigForPod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodCgroup {
    /// QoS class (decides the parent cgroup and which values are written).
    pub qos: QosClass,
    /// `cpu.shares`: from the summed requests; 2 for BestEffort.
    pub cpu_shares: u64,
    /// Quota only when every container has a CPU limit (always for Guaranteed).
    pub cpu_quota_us: Option<u64>,
    /// CFS period in µs.
    pub cpu_period_us: u64,
    /// Memory limit only when every container has one.
    pub memory_limit_bytes: Option<i64>,
}

/// Pod-level mapping.
pub fn pod_cgroup(spec: &PodSpec) -> PodCgroup {
    let qos = pod_qos(spec);
    let requests = effective_pod_resources(spec, |c| &c.resources.requests);
    let limits = effective_pod_resources(spec, |c| &c.resources.limits);
    let all = || spec.containers.iter().chain(spec.init_containers.iter());
    let cpu_limits_declared = all().all(|c| c.resources.limits.cpu_millis() > 0);
    let memory_limits_declared = all().all(|c| c.resources.limits.memory_bytes() > 0);
    let shares = milli_cpu_to_shares(requests.cpu_millis());
    let quota = milli_cpu_to_quota_us(limits.cpu_millis(), CFS_PERIOD_US);
    let memory = Some(limits.memory_bytes()).filter(|v| *v > 0);
    let (cpu_shares, cpu_quota_us, memory_limit_bytes) = match qos {
        QosClass::Guaranteed => (shares, quota, memory),
        QosClass::Burstable => {
            (shares, quota.filter(|_| cpu_limits_declared), memory.filter(|_| memory_limits_declared))
        }
        QosClass::BestEffort => (MIN_SHARES, None, None),
    };
    PodCgroup { qos, cpu_shares, cpu_quota_us, cpu_period_us: CFS_PERIOD_US, memory_limit_bytes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::{ResourceName, ResourceRequirements};

    #[test]
    fn shares_follow_milli_cpu_to_shares_with_its_clamps() {
        assert_eq!(milli_cpu_to_shares(0), 2);
        assert_eq!(milli_cpu_to_shares(1), 2); // floor(1.024) = 1 → clamped to 2
        assert_eq!(milli_cpu_to_shares(100), 102); // floor(102.4)
        assert_eq!(milli_cpu_to_shares(1000), 1024);
        assert_eq!(milli_cpu_to_shares(500_000), 262_144); // 512000 → clamped
    }

    #[test]
    fn weight_of_1024_shares_is_39_linear_and_100_quadratic() {
        assert_eq!(cpu_shares_to_weight(1024, WeightFormula::Linear), 39);
        assert_eq!(cpu_shares_to_weight(1024, WeightFormula::QuadraticLog), 100);
        assert_eq!(cpu_shares_to_weight(2, WeightFormula::Linear), 1);
        assert_eq!(cpu_shares_to_weight(2, WeightFormula::QuadraticLog), 1);
        assert_eq!(cpu_shares_to_weight(262_144, WeightFormula::Linear), 10_000);
        assert_eq!(cpu_shares_to_weight(262_144, WeightFormula::QuadraticLog), 10_000);
        assert_eq!(cpu_shares_to_weight(0, WeightFormula::QuadraticLog), 0);
        // Monotone over the whole range.
        let mut prev = 0;
        for s in 2..=262_144u64 {
            let w = cpu_shares_to_weight(s, WeightFormula::QuadraticLog);
            assert!(w >= prev && (1..=10_000).contains(&w), "shares {s}");
            prev = w;
        }
    }

    #[test]
    fn quota_is_milli_times_period_over_1000_with_a_1ms_floor() {
        assert_eq!(milli_cpu_to_quota_us(0, CFS_PERIOD_US), None);
        assert_eq!(milli_cpu_to_quota_us(250, CFS_PERIOD_US), Some(25_000));
        assert_eq!(milli_cpu_to_quota_us(1500, CFS_PERIOD_US), Some(150_000));
        assert_eq!(milli_cpu_to_quota_us(5, CFS_PERIOD_US), Some(1_000)); // 500 µs → floor 1 ms
    }

    fn c(req_cpu: i64, req_mem: i64, lim_cpu: i64, lim_mem: i64) -> Container {
        let list = |cpu: i64, mem: i64| {
            let mut l = ResourceList::new();
            if cpu > 0 {
                l.set(ResourceName::Cpu, cpu);
            }
            if mem > 0 {
                l.set(ResourceName::Memory, mem);
            }
            l
        };
        Container {
            name: "c".into(),
            resources: ResourceRequirements {
                requests: list(req_cpu, req_mem),
                limits: list(lim_cpu, lim_mem),
            },
            ..Default::default()
        }
    }

    #[test]
    fn container_values_come_from_request_and_limits() {
        let v = container_cgroup(&c(250, 0, 500, 1 << 30));
        assert_eq!(
            v,
            ContainerCgroup {
                cpu_shares: 256,
                cpu_quota_us: Some(50_000),
                cpu_period_us: 100_000,
                memory_limit_bytes: Some(1 << 30)
            }
        );
        let be = container_cgroup(&c(0, 0, 0, 0));
        assert_eq!((be.cpu_shares, be.cpu_quota_us, be.memory_limit_bytes), (2, None, None));
    }

    #[test]
    fn pod_values_sum_containers_and_need_every_limit() {
        let spec = PodSpec {
            containers: vec![c(100, 0, 200, 1 << 20), c(300, 0, 0, 1 << 20)].into(),
            ..Default::default()
        };
        let p = pod_cgroup(&spec);
        assert_eq!(p.qos, QosClass::Burstable);
        assert_eq!(p.cpu_shares, 409); // floor(400·1.024)
        assert_eq!(p.cpu_quota_us, None); // second container has no CPU limit
        assert_eq!(p.memory_limit_bytes, Some(2 << 20));
        let g = PodSpec {
            containers: vec![c(100, 1 << 20, 100, 1 << 20), c(200, 1 << 20, 200, 1 << 20)].into(),
            ..Default::default()
        };
        let p = pod_cgroup(&g);
        assert_eq!((p.qos, p.cpu_shares, p.cpu_quota_us), (QosClass::Guaranteed, 307, Some(30_000)));
        let be = pod_cgroup(&PodSpec { containers: vec![c(0, 0, 0, 0)].into(), ..Default::default() });
        assert_eq!((be.cpu_shares, be.cpu_quota_us, be.memory_limit_bytes), (2, None, None));
    }

    #[test]
    fn init_containers_raise_the_pod_request_only_when_larger() {
        let mut spec = PodSpec { containers: vec![c(100, 0, 0, 0)].into(), ..Default::default() };
        spec.init_containers.push(c(500, 0, 0, 0));
        assert_eq!(effective_pod_resources(&spec, |c| &c.resources.requests).cpu_millis(), 500);
        spec.init_containers[0] = c(50, 0, 0, 0);
        assert_eq!(effective_pod_resources(&spec, |c| &c.resources.requests).cpu_millis(), 100);
    }
}
