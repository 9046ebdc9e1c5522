//! Kubernetes values → cgroup files, as pure functions (no I/O, testable anywhere).
//!
//! The request/limit arithmetic itself is the kubelet's ([`kubesim_kubelet::cgroups`]); this module
//! only decides which file of which hierarchy gets which text, for v1 and for v2 (reference
//! `real-backend.md` §4).

use kubesim_kubelet::cgroups::{
    cpu_shares_to_weight, milli_cpu_to_quota_us, milli_cpu_to_shares, ContainerCgroup, PodCgroup,
    WeightFormula, CFS_PERIOD_US,
};

/// A cgroup v1 controller this backend uses (each may sit in its own hierarchy; on v2 the
/// controller only says which file family a value belongs to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    /// `cpu`: shares, CFS quota and period, throttling stats.
    Cpu,
    /// `cpuacct`: cumulative CPU usage (v1 only; v2 has it in `cpu.stat`).
    Cpuacct,
    /// `memory`: limit, usage, OOM kills.
    Memory,
    /// `pids`: process (and thread) limit.
    Pids,
}

impl Controller {
    /// Every controller the backend needs, in the order it creates and attaches.
    pub const ALL: [Controller; 4] =
        [Controller::Cpu, Controller::Cpuacct, Controller::Memory, Controller::Pids];

    /// The controller's name as the kernel spells it.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
        }
    }
}

/// The values one cgroup gets (node, pod or container level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupValues {
    /// v1 `cpu.shares`; v2 `cpu.weight` through [`Self::weight_formula`]. `None` = leave the default.
    pub cpu_shares: Option<u64>,
    /// CFS quota in µs per period; `None` = unlimited.
    pub cpu_quota_us: Option<u64>,
    /// CFS period in µs.
    pub cpu_period_us: u64,
    /// Memory limit in bytes; `None` = unlimited.
    pub memory_limit_bytes: Option<i64>,
    /// `pids.max` (threads count); `None` = `max`.
    pub pids_max: Option<i64>,
    /// How v2 turns shares into a weight: the kubelet's linear map at node and pod level, the OCI
    /// runtime's at container level.
    pub weight_formula: WeightFormula,
    /// v2 `memory.oom.group = 1` (kubelet ≥ 1.28 on container cgroups: an OOM kills the whole
    /// container, not one of its processes).
    pub oom_group: bool,
}

impl CgroupValues {
    /// A node subtree with `cpu_millis` of CPU (quota) and `memory_bytes` of memory (limit); zero
    /// or negative means unlimited.
    pub fn node(cpu_millis: i64, memory_bytes: i64) -> Self {
        CgroupValues {
            cpu_shares: Some(milli_cpu_to_shares(cpu_millis)),
            cpu_quota_us: milli_cpu_to_quota_us(cpu_millis, CFS_PERIOD_US),
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: Some(memory_bytes).filter(|b| *b > 0),
            pids_max: None,
            weight_formula: WeightFormula::Linear,
            oom_group: false,
        }
    }

    /// A pod cgroup: the kubelet's `ResourceConfigForPod` values plus `podPidsLimit`.
    pub fn pod(pod: &PodCgroup, pids_max: Option<i64>) -> Self {
        CgroupValues {
            cpu_shares: Some(pod.cpu_shares),
            cpu_quota_us: pod.cpu_quota_us,
            cpu_period_us: pod.cpu_period_us,
            memory_limit_bytes: pod.memory_limit_bytes,
            pids_max,
            weight_formula: WeightFormula::Linear,
            oom_group: false,
        }
    }

    /// A container cgroup; `formula` is the OCI runtime's shares → weight map (v2 only).
    pub fn container(c: &ContainerCgroup, formula: WeightFormula) -> Self {
        CgroupValues {
            cpu_shares: Some(c.cpu_shares),
            cpu_quota_us: c.cpu_quota_us,
            cpu_period_us: c.cpu_period_us,
            memory_limit_bytes: c.memory_limit_bytes,
            pids_max: None,
            weight_formula: formula,
            oom_group: true,
        }
    }

    /// A cgroup with no limits (the sandbox's).
    pub fn unlimited() -> Self {
        CgroupValues {
            cpu_shares: None,
            cpu_quota_us: None,
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: None,
            pids_max: None,
            weight_formula: WeightFormula::Linear,
            oom_group: false,
        }
    }
}

/// One file to write: `<hierarchy of controller>/<cgroup>/<name>` ← `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupFile {
    /// Which hierarchy (v1) or file family (v2).
    pub controller: Controller,
    /// File name inside the cgroup directory.
    pub name: &'static str,
    /// Text to write.
    pub value: String,
}

fn file(controller: Controller, name: &'static str, value: impl ToString) -> CgroupFile {
    CgroupFile { controller, name, value: value.to_string() }
}

/// The v1 files, in write order (the period before the quota, so the kernel checks the quota
/// against the right period).
pub fn v1_files(v: &CgroupValues) -> Vec<CgroupFile> {
    let mut out = Vec::new();
    if let Some(shares) = v.cpu_shares {
        out.push(file(Controller::Cpu, "cpu.shares", shares));
    }
    out.push(file(Controller::Cpu, "cpu.cfs_period_us", v.cpu_period_us));
    out.push(file(Controller::Cpu, "cpu.cfs_quota_us", v.cpu_quota_us.map_or(-1, |q| q as i64)));
    out.push(file(Controller::Memory, "memory.limit_in_bytes", v.memory_limit_bytes.unwrap_or(-1)));
    out.push(file(
        Controller::Pids,
        "pids.max",
        v.pids_max.map_or_else(|| "max".to_string(), |p| p.to_string()),
    ));
    out
}

/// The v2 files.
pub fn v2_files(v: &CgroupValues) -> Vec<CgroupFile> {
    let mut out = Vec::new();
    if let Some(shares) = v.cpu_shares {
        let weight = cpu_shares_to_weight(shares, v.weight_formula);
        if weight > 0 {
            out.push(file(Controller::Cpu, "cpu.weight", weight));
        }
    }
    let quota = v.cpu_quota_us.map_or_else(|| "max".to_string(), |q| q.to_string());
    out.push(file(Controller::Cpu, "cpu.max", format!("{quota} {}", v.cpu_period_us)));
    out.push(file(
        Controller::Memory,
        "memory.max",
        v.memory_limit_bytes.map_or_else(|| "max".to_string(), |b| b.to_string()),
    ));
    if v.oom_group {
        out.push(file(Controller::Memory, "memory.oom.group", 1));
    }
    out.push(file(
        Controller::Pids,
        "pids.max",
        v.pids_max.map_or_else(|| "max".to_string(), |p| p.to_string()),
    ));
    out
}

/// cgroup v1 refuses a child CFS quota above its parent's (EINVAL, reference §3.1); v2 accepts it
/// and the lower one takes effect. To get v2's effective behaviour on v1 the child's quota is
/// capped at the parent's CPU rate, rescaled to the child's period. `None` = unlimited.
pub fn v1_capped_quota_us(
    child_quota_us: Option<u64>,
    child_period_us: u64,
    parent: Option<(u64, u64)>,
) -> Option<u64> {
    let Some((parent_quota_us, parent_period_us)) = parent.filter(|(_, p)| *p > 0) else {
        return child_quota_us;
    };
    let parent_rate = (parent_quota_us as u128 * child_period_us as u128 / parent_period_us as u128) as u64;
    // An unlimited child (-1) is always accepted: the parent's quota bounds it anyway.
    child_quota_us.map(|q| q.min(parent_rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_kubelet::qos::QosClass;

    fn names(files: &[CgroupFile]) -> Vec<(&'static str, &str)> {
        files.iter().map(|f| (f.name, f.value.as_str())).collect()
    }

    #[test]
    fn a_200m_64mi_container_maps_to_v1_shares_quota_and_limit() {
        let c = ContainerCgroup {
            cpu_shares: 204, // floor(200·1024/1000)
            cpu_quota_us: Some(20_000),
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: Some(64 << 20),
        };
        let v = CgroupValues::container(&c, WeightFormula::QuadraticLog);
        assert_eq!(
            names(&v1_files(&v)),
            vec![
                ("cpu.shares", "204"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "20000"),
                ("memory.limit_in_bytes", "67108864"),
                ("pids.max", "max"),
            ]
        );
    }

    #[test]
    fn v2_uses_cpu_max_weight_and_oom_group_for_containers() {
        let c = ContainerCgroup {
            cpu_shares: 1024,
            cpu_quota_us: None,
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: None,
        };
        // Quadratic map: 1024 shares ↦ exactly weight 100 (its design point).
        let v = CgroupValues::container(&c, WeightFormula::QuadraticLog);
        assert_eq!(
            names(&v2_files(&v)),
            vec![
                ("cpu.weight", "100"),
                ("cpu.max", "max 100000"),
                ("memory.max", "max"),
                ("memory.oom.group", "1"),
                ("pids.max", "max")
            ]
        );
        // Linear map (kubelet pod level): 1 + (1024 − 2)·9999/262142 = 1 + 38 = 39.
        let linear = CgroupValues { weight_formula: WeightFormula::Linear, ..v };
        assert_eq!(v2_files(&linear)[0].value, "39");
    }

    #[test]
    fn a_best_effort_pod_gets_two_shares_and_no_limits() {
        let pod = PodCgroup {
            qos: QosClass::BestEffort,
            cpu_shares: 2,
            cpu_quota_us: None,
            cpu_period_us: CFS_PERIOD_US,
            memory_limit_bytes: None,
        };
        let v = CgroupValues::pod(&pod, Some(64));
        let files = v1_files(&v);
        assert_eq!(files[0].value, "2");
        assert_eq!(files[2].value, "-1"); // quota unlimited
        assert_eq!(files[3].value, "-1"); // memory unlimited
        assert_eq!(files[4].value, "64");
        assert_eq!(v2_files(&v)[0].value, "1"); // 1 + 0·9999/262142
    }

    #[test]
    fn a_node_of_1500m_and_1gi_gets_quota_150000_and_a_limit() {
        let v = CgroupValues::node(1500, 1 << 30);
        assert_eq!(
            (v.cpu_shares, v.cpu_quota_us, v.memory_limit_bytes),
            (Some(1536), Some(150_000), Some(1 << 30))
        );
        let unlimited = CgroupValues::node(0, 0);
        assert_eq!((unlimited.cpu_quota_us, unlimited.memory_limit_bytes), (None, None));
    }

    #[test]
    fn v1_child_quota_is_capped_at_the_parents_rate() {
        // Pod 2000m under a 1500m node: EINVAL on v1, so write the node's 150000.
        assert_eq!(v1_capped_quota_us(Some(200_000), 100_000, Some((150_000, 100_000))), Some(150_000));
        // Below the parent: unchanged. Unlimited stays unlimited (-1 is always accepted).
        assert_eq!(v1_capped_quota_us(Some(20_000), 100_000, Some((150_000, 100_000))), Some(20_000));
        assert_eq!(v1_capped_quota_us(None, 100_000, Some((150_000, 100_000))), None);
        // Different periods: parent 50000/200000 = 0.25 CPU ↦ 25000 per 100000.
        assert_eq!(v1_capped_quota_us(Some(90_000), 100_000, Some((50_000, 200_000))), Some(25_000));
        assert_eq!(v1_capped_quota_us(Some(90_000), 100_000, None), Some(90_000));
    }
}
