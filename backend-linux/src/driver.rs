//! The cgroup drivers: one narrow trait, a v1 and a v2 implementation.
//!
//! A driver is built on **base directories** (our own cgroup in each hierarchy, from
//! [`crate::layout`]) and addresses cgroups by a [`CgPath`] relative to them, so every write lands
//! inside a subtree we created. The bases are injected: tests point a driver at a temporary folder
//! and read back the files it wrote, no privileges needed.
//!
//! | | v1 | v2 |
//! |---|---|---|
//! | create | `mkdir` in the cpu, cpuacct, memory and pids hierarchies | `+cpu +memory +pids` in the parent's `cgroup.subtree_control`, then `mkdir` |
//! | attach | the pid into each hierarchy's `cgroup.procs` | one `cgroup.procs` write (or `CLONE_INTO_CGROUP`) |
//! | CPU usage | `cpuacct.usage` (ns) | `cpu.stat usage_usec` |
//! | throttling | `cpu.stat throttled_time` (ns) | `cpu.stat throttled_usec` |
//! | OOM kills | `memory.oom_control oom_kill` (victim's memcg only) | `memory.events.local oom_kill` |
//! | kill all | SIGKILL every pid until empty | `cgroup.kill` |

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::values::{v1_capped_quota_us, v1_files, v2_files, CgroupValues, Controller};

/// Which cgroup version a driver speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgVersion {
    /// Legacy, one hierarchy per controller (or per co-mounted group).
    V1,
    /// Unified hierarchy.
    V2,
}

/// A cgroup relative to the driver's base directories: validated components, never `..`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CgPath(Vec<String>);

impl CgPath {
    /// The base itself (our own cgroup; only listed and swept, never written).
    pub fn root() -> Self {
        CgPath(Vec::new())
    }

    /// `self/name`; `name` must be a single plain component.
    pub fn child(&self, name: &str) -> Result<CgPath, CgroupError> {
        let ok = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains('/')
            && !name.contains('\0')
            && name.len() <= 200;
        if !ok {
            return Err(CgroupError::BadName(name.to_string()));
        }
        let mut v = self.0.clone();
        v.push(name.to_string());
        Ok(CgPath(v))
    }

    /// The components.
    pub fn components(&self) -> &[String] {
        &self.0
    }

    /// The parent (`None` for the root).
    pub fn parent(&self) -> Option<CgPath> {
        (!self.0.is_empty()).then(|| CgPath(self.0[..self.0.len() - 1].to_vec()))
    }

    fn under(&self, base: &Path) -> PathBuf {
        let mut p = base.to_path_buf();
        for c in &self.0 {
            p.push(c);
        }
        p
    }
}

impl std::fmt::Display for CgPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}", self.0.join("/"))
    }
}

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// An I/O error on a cgroup file or directory.
    #[error("{op} {path}: {source}")]
    Io {
        /// What we tried.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A path component that is not a plain name.
    #[error("invalid cgroup name {0:?}")]
    BadName(String),
    /// Processes survived repeated SIGKILLs.
    #[error("cgroup {0} still has processes after repeated SIGKILL")]
    Unkillable(String),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io { op, path: path.to_path_buf(), source }
}

/// Usage counters of one cgroup, in normalised units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CgStats {
    /// Cumulative CPU time, ns.
    pub cpu_usage_ns: u64,
    /// CFS periods that had a quota.
    pub nr_periods: u64,
    /// Periods in which the cgroup was throttled.
    pub nr_throttled: u64,
    /// Total throttled time, ns.
    pub throttled_ns: u64,
    /// Memory charged, bytes.
    pub memory_usage_bytes: u64,
    /// Usage minus inactive file cache (what the kubelet and cAdvisor call the working set).
    pub memory_working_set_bytes: u64,
    /// OOM kills inside this cgroup (not counting descendants on v2).
    pub oom_kills: u64,
    /// Processes and threads.
    pub pids_current: u64,
}

/// Create, configure, populate, observe and remove cgroups.
pub trait CgroupDriver: Send + Sync + std::fmt::Debug {
    /// v1 or v2.
    fn version(&self) -> CgVersion;
    /// Creates `path` (and missing parents) in every hierarchy used.
    fn create(&self, path: &CgPath) -> Result<(), CgroupError>;
    /// Writes `values`.
    fn apply(&self, path: &CgPath, values: &CgroupValues) -> Result<(), CgroupError>;
    /// Moves process `pid` into `path`.
    fn attach(&self, path: &CgPath, pid: u32) -> Result<(), CgroupError>;
    /// The processes directly in `path` (deduplicated over hierarchies).
    fn procs(&self, path: &CgPath) -> Result<Vec<u32>, CgroupError>;
    /// Usage counters.
    fn stats(&self, path: &CgPath) -> Result<CgStats, CgroupError>;
    /// The OOM-kill counter alone (read at start and at exit to decide `OOMKilled`).
    fn oom_kills(&self, path: &CgPath) -> Result<u64, CgroupError>;
    /// SIGKILLs every process in `path` and below until none is left.
    fn kill_all(&self, path: &CgPath) -> Result<(), CgroupError>;
    /// Removes `path` and everything below, leaves first; missing is fine.
    fn remove(&self, path: &CgPath) -> Result<(), CgroupError>;
    /// Whether `path` exists in any hierarchy.
    fn exists(&self, path: &CgPath) -> bool;
    /// Names of the child cgroups of `path` (union over hierarchies).
    fn children(&self, path: &CgPath) -> Vec<String>;
    /// v2: the directory to open for `clone3(CLONE_INTO_CGROUP)`; v1: `None`.
    fn clone_into_dir(&self, path: &CgPath) -> Option<PathBuf>;
}

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(io_err("read", path))
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(io_err("write", path))
}

/// `key value` lines (`cpu.stat`, `memory.stat`, `memory.events`, `memory.oom_control`).
pub fn parse_flat_keyed(text: &str) -> BTreeMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse().ok()?))
        })
        .collect()
}

fn parse_u64(text: &str) -> u64 {
    text.trim().parse().unwrap_or(0)
}

fn parse_pids(text: &str) -> Vec<u32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn mkdir_all(base: &Path, path: &CgPath) -> Result<(), CgroupError> {
    let dir = path.under(base);
    fs::create_dir_all(&dir).map_err(io_err("mkdir", &dir))
}

/// Child directory names of `dir` (cgroups are the directories; the control files are not).
fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<String> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    out.sort();
    out
}

/// `rmdir` leaves first; a cgroup whose last process is still exiting answers EBUSY for a moment.
fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    if !dir.exists() {
        return Ok(());
    }
    for child in subdirs(dir) {
        remove_tree(&dir.join(child))?;
    }
    let mut tries = 0;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            // A plain directory (the tests' temporary root) still holds the files the driver wrote:
            // remove them too. cgroupfs never gets here: its rmdir ignores the control files.
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {
                for entry in fs::read_dir(dir).map_err(io_err("list", dir))?.flatten() {
                    if entry.file_type().is_ok_and(|t| t.is_file()) {
                        let _ = fs::remove_file(entry.path());
                    }
                }
                tries += 1;
                if tries > 3 {
                    return Err(io_err("rmdir", dir)(e));
                }
            }
            Err(e) if e.raw_os_error() == Some(16) && tries < 200 => {
                // EBUSY: processes still exiting.
                tries += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(io_err("rmdir", dir)(e)),
        }
    }
}

fn all_procs_below(dir: &Path, out: &mut Vec<u32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(parse_pids(&text));
    }
    for child in subdirs(dir) {
        all_procs_below(&dir.join(child), out);
    }
}

/// SIGKILL everything listed under `dirs` until nothing is left (v1 has no `cgroup.kill`).
fn kill_loop(dirs: &[PathBuf], path: &CgPath) -> Result<(), CgroupError> {
    for _ in 0..200 {
        let mut pids = Vec::new();
        for d in dirs {
            all_procs_below(d, &mut pids);
        }
        pids.sort_unstable();
        pids.dedup();
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            crate::sys::kill(pid, crate::sys::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(CgroupError::Unkillable(path.to_string()))
}

/// cgroup v1: one base directory per controller.
#[derive(Clone, Debug)]
pub struct V1Driver {
    bases: BTreeMap<Controller, PathBuf>,
}

impl V1Driver {
    /// A driver on these base directories (our own cgroup in each hierarchy).
    pub fn new(bases: BTreeMap<Controller, PathBuf>) -> Self {
        V1Driver { bases }
    }

    /// The distinct hierarchy directories (co-mounted controllers share one).
    fn distinct_bases(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = self.bases.values().map(PathBuf::as_path).collect();
        v.sort();
        v.dedup();
        v
    }

    fn dir(&self, c: Controller, path: &CgPath) -> PathBuf {
        path.under(&self.bases[&c])
    }

    fn parent_quota(&self, path: &CgPath) -> Option<(u64, u64)> {
        let parent = path.parent().filter(|p| !p.components().is_empty())?;
        let dir = self.dir(Controller::Cpu, &parent);
        let quota: i64 = fs::read_to_string(dir.join("cpu.cfs_quota_us")).ok()?.trim().parse().ok()?;
        let period: u64 = fs::read_to_string(dir.join("cpu.cfs_period_us")).ok()?.trim().parse().ok()?;
        (quota > 0).then_some((quota as u64, period))
    }
}

impl CgroupDriver for V1Driver {
    fn version(&self) -> CgVersion {
        CgVersion::V1
    }

    fn create(&self, path: &CgPath) -> Result<(), CgroupError> {
        for base in self.distinct_bases() {
            mkdir_all(base, path)?;
        }
        Ok(())
    }

    fn apply(&self, path: &CgPath, values: &CgroupValues) -> Result<(), CgroupError> {
        let capped = CgroupValues {
            cpu_quota_us: v1_capped_quota_us(
                values.cpu_quota_us,
                values.cpu_period_us,
                self.parent_quota(path),
            ),
            ..*values
        };
        for f in v1_files(&capped) {
            write(&self.dir(f.controller, path).join(f.name), &f.value)?;
        }
        Ok(())
    }

    fn attach(&self, path: &CgPath, pid: u32) -> Result<(), CgroupError> {
        for base in self.distinct_bases() {
            write(&path.under(base).join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn procs(&self, path: &CgPath) -> Result<Vec<u32>, CgroupError> {
        let mut pids = Vec::new();
        for base in self.distinct_bases() {
            if let Ok(text) = fs::read_to_string(path.under(base).join("cgroup.procs")) {
                pids.extend(parse_pids(&text));
            }
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    fn stats(&self, path: &CgPath) -> Result<CgStats, CgroupError> {
        let cpu_stat = read(&self.dir(Controller::Cpu, path).join("cpu.stat"))?;
        let cpu = parse_flat_keyed(&cpu_stat);
        let mem_dir = self.dir(Controller::Memory, path);
        let usage = parse_u64(&read(&mem_dir.join("memory.usage_in_bytes"))?);
        let mem_stat = fs::read_to_string(mem_dir.join("memory.stat")).unwrap_or_default();
        let inactive_file = parse_flat_keyed(&mem_stat).get("total_inactive_file").copied().unwrap_or(0);
        Ok(CgStats {
            cpu_usage_ns: parse_u64(&read(&self.dir(Controller::Cpuacct, path).join("cpuacct.usage"))?),
            nr_periods: cpu.get("nr_periods").copied().unwrap_or(0),
            nr_throttled: cpu.get("nr_throttled").copied().unwrap_or(0),
            // v1 reports throttled_time already in ns (reference §2).
            throttled_ns: cpu.get("throttled_time").copied().unwrap_or(0),
            memory_usage_bytes: usage,
            memory_working_set_bytes: usage.saturating_sub(inactive_file),
            oom_kills: self.oom_kills(path)?,
            pids_current: fs::read_to_string(self.dir(Controller::Pids, path).join("pids.current"))
                .map(|t| parse_u64(&t))
                .unwrap_or(0),
        })
    }

    fn oom_kills(&self, path: &CgPath) -> Result<u64, CgroupError> {
        let text = read(&self.dir(Controller::Memory, path).join("memory.oom_control"))?;
        Ok(parse_flat_keyed(&text).get("oom_kill").copied().unwrap_or(0))
    }

    fn kill_all(&self, path: &CgPath) -> Result<(), CgroupError> {
        let dirs: Vec<PathBuf> = self.distinct_bases().into_iter().map(|b| path.under(b)).collect();
        kill_loop(&dirs, path)
    }

    fn remove(&self, path: &CgPath) -> Result<(), CgroupError> {
        for base in self.distinct_bases() {
            remove_tree(&path.under(base))?;
        }
        Ok(())
    }

    fn exists(&self, path: &CgPath) -> bool {
        self.distinct_bases().iter().any(|b| path.under(b).is_dir())
    }

    fn children(&self, path: &CgPath) -> Vec<String> {
        let mut names: Vec<String> =
            self.distinct_bases().iter().flat_map(|b| subdirs(&path.under(b))).collect();
        names.sort();
        names.dedup();
        names
    }

    fn clone_into_dir(&self, _path: &CgPath) -> Option<PathBuf> {
        None
    }
}

/// cgroup v2: one base directory.
#[derive(Clone, Debug)]
pub struct V2Driver {
    base: PathBuf,
}

/// The controllers enabled for our subtree.
const V2_SUBTREE_CONTROL: &str = "+cpu +memory +pids";

impl V2Driver {
    /// A driver on our own cgroup directory in the unified hierarchy.
    pub fn new(base: PathBuf) -> Self {
        V2Driver { base }
    }
}

impl CgroupDriver for V2Driver {
    fn version(&self) -> CgVersion {
        CgVersion::V2
    }

    fn create(&self, path: &CgPath) -> Result<(), CgroupError> {
        // Enable the controllers in each parent before creating the child ("no internal
        // processes": only leaves hold processes, so this succeeds below our own cgroup).
        let mut dir = self.base.clone();
        for c in path.components() {
            let control = dir.join("cgroup.subtree_control");
            let current = fs::read_to_string(&control).unwrap_or_default();
            if !["cpu", "memory", "pids"].iter().all(|c| current.split_whitespace().any(|x| x == *c)) {
                write(&control, V2_SUBTREE_CONTROL)?;
            }
            dir.push(c);
            if !dir.is_dir() {
                fs::create_dir(&dir).map_err(io_err("mkdir", &dir))?;
            }
        }
        Ok(())
    }

    fn apply(&self, path: &CgPath, values: &CgroupValues) -> Result<(), CgroupError> {
        let dir = path.under(&self.base);
        for f in v2_files(values) {
            write(&dir.join(f.name), &f.value)?;
        }
        Ok(())
    }

    fn attach(&self, path: &CgPath, pid: u32) -> Result<(), CgroupError> {
        write(&path.under(&self.base).join("cgroup.procs"), &pid.to_string())
    }

    fn procs(&self, path: &CgPath) -> Result<Vec<u32>, CgroupError> {
        let text = fs::read_to_string(path.under(&self.base).join("cgroup.procs")).unwrap_or_default();
        Ok(parse_pids(&text))
    }

    fn stats(&self, path: &CgPath) -> Result<CgStats, CgroupError> {
        let dir = path.under(&self.base);
        let cpu_text = read(&dir.join("cpu.stat"))?;
        let cpu = parse_flat_keyed(&cpu_text);
        let usage = parse_u64(&read(&dir.join("memory.current"))?);
        let mem_stat = fs::read_to_string(dir.join("memory.stat")).unwrap_or_default();
        let inactive_file = parse_flat_keyed(&mem_stat).get("inactive_file").copied().unwrap_or(0);
        let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
        Ok(CgStats {
            cpu_usage_ns: us("usage_usec"),
            nr_periods: cpu.get("nr_periods").copied().unwrap_or(0),
            nr_throttled: cpu.get("nr_throttled").copied().unwrap_or(0),
            throttled_ns: us("throttled_usec"),
            memory_usage_bytes: usage,
            memory_working_set_bytes: usage.saturating_sub(inactive_file),
            oom_kills: self.oom_kills(path)?,
            pids_current: fs::read_to_string(dir.join("pids.current")).map(|t| parse_u64(&t)).unwrap_or(0),
        })
    }

    fn oom_kills(&self, path: &CgPath) -> Result<u64, CgroupError> {
        let dir = path.under(&self.base);
        // memory.events counts descendants too; .local is this cgroup only (kernel ≥ 5.7).
        let text = fs::read_to_string(dir.join("memory.events.local"))
            .or_else(|_| fs::read_to_string(dir.join("memory.events")))
            .map_err(io_err("read", &dir.join("memory.events")))?;
        Ok(parse_flat_keyed(&text).get("oom_kill").copied().unwrap_or(0))
    }

    fn kill_all(&self, path: &CgPath) -> Result<(), CgroupError> {
        let dir = path.under(&self.base);
        if !dir.is_dir() {
            return Ok(());
        }
        // cgroup.kill (kernel ≥ 5.14) kills the whole subtree atomically; then wait for it to drain.
        let _ = fs::write(dir.join("cgroup.kill"), "1");
        kill_loop(&[dir], path)
    }

    fn remove(&self, path: &CgPath) -> Result<(), CgroupError> {
        remove_tree(&path.under(&self.base))
    }

    fn exists(&self, path: &CgPath) -> bool {
        path.under(&self.base).is_dir()
    }

    fn children(&self, path: &CgPath) -> Vec<String> {
        subdirs(&path.under(&self.base))
    }

    fn clone_into_dir(&self, path: &CgPath) -> Option<PathBuf> {
        Some(path.under(&self.base))
    }
}

/// The driver for a detected layout.
pub fn driver_for(layout: &crate::layout::Layout) -> Box<dyn CgroupDriver> {
    match layout {
        crate::layout::Layout::V2 { own_dir } => Box::new(V2Driver::new(own_dir.clone())),
        crate::layout::Layout::V1 { own_dirs } => Box::new(V1Driver::new(own_dirs.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_kubelet::cgroups::{ContainerCgroup, WeightFormula, CFS_PERIOD_US};

    fn v1(tmp: &Path) -> V1Driver {
        let mut bases = BTreeMap::new();
        bases.insert(Controller::Cpu, tmp.join("cpu"));
        bases.insert(Controller::Cpuacct, tmp.join("cpuacct"));
        bases.insert(Controller::Memory, tmp.join("memory/process_api/abc"));
        bases.insert(Controller::Pids, tmp.join("pids"));
        V1Driver::new(bases)
    }

    fn path(parts: &[&str]) -> CgPath {
        parts.iter().fold(CgPath::root(), |p, c| p.child(c).unwrap())
    }

    fn container_200m_64mi() -> CgroupValues {
        CgroupValues::container(
            &ContainerCgroup {
                cpu_shares: 204,
                cpu_quota_us: Some(20_000),
                cpu_period_us: CFS_PERIOD_US,
                memory_limit_bytes: Some(64 << 20),
            },
            WeightFormula::QuadraticLog,
        )
    }

    #[test]
    fn v1_creates_the_cgroup_in_every_hierarchy_under_our_own_memory_path() {
        let tmp = tempfile::tempdir().unwrap();
        let d = v1(tmp.path());
        let p = path(&["ksim-1-2-0", "node-a", "pod-1"]);
        d.create(&p).unwrap();
        for h in ["cpu", "cpuacct", "memory/process_api/abc", "pids"] {
            assert!(tmp.path().join(h).join("ksim-1-2-0/node-a/pod-1").is_dir(), "{h}");
        }
        assert!(!tmp.path().join("memory/ksim-1-2-0").exists(), "never at the memory root");
        assert!(d.exists(&p));
        assert_eq!(d.children(&path(&["ksim-1-2-0"])), vec!["node-a".to_string()]);
    }

    #[test]
    fn v1_apply_writes_each_value_into_its_hierarchy() {
        let tmp = tempfile::tempdir().unwrap();
        let d = v1(tmp.path());
        let p = path(&["r", "c"]);
        d.create(&p).unwrap();
        d.apply(&p, &container_200m_64mi()).unwrap();
        let f = |h: &str, name: &str| fs::read_to_string(tmp.path().join(h).join("r/c").join(name)).unwrap();
        assert_eq!(f("cpu", "cpu.shares"), "204");
        assert_eq!(f("cpu", "cpu.cfs_period_us"), "100000");
        assert_eq!(f("cpu", "cpu.cfs_quota_us"), "20000");
        assert_eq!(f("memory/process_api/abc", "memory.limit_in_bytes"), "67108864");
        assert_eq!(f("pids", "pids.max"), "max");
        d.attach(&p, 4242).unwrap();
        assert_eq!(f("cpuacct", "cgroup.procs"), "4242");
        assert_eq!(d.procs(&p).unwrap(), vec![4242]);
    }

    #[test]
    fn v1_caps_a_pod_quota_above_the_node_quota() {
        let tmp = tempfile::tempdir().unwrap();
        let d = v1(tmp.path());
        let node = path(&["r", "node"]);
        d.create(&node).unwrap();
        d.apply(&node, &CgroupValues::node(1500, 1 << 30)).unwrap();
        let pod = node.child("pod").unwrap();
        d.create(&pod).unwrap();
        let want = CgroupValues { cpu_quota_us: Some(200_000), ..CgroupValues::unlimited() };
        d.apply(&pod, &want).unwrap();
        let quota = fs::read_to_string(tmp.path().join("cpu/r/node/pod/cpu.cfs_quota_us")).unwrap();
        assert_eq!(quota, "150000"); // 2000m asked, node has 1500m: v1 would answer EINVAL
    }

    #[test]
    fn v1_stats_normalise_units_and_subtract_inactive_file() {
        let tmp = tempfile::tempdir().unwrap();
        let d = v1(tmp.path());
        let p = path(&["r"]);
        d.create(&p).unwrap();
        let put = |h: &str, name: &str, text: &str| {
            fs::write(tmp.path().join(h).join("r").join(name), text).unwrap()
        };
        put("cpu", "cpu.stat", "nr_periods 21\nnr_throttled 20\nthrottled_time 1430000000\n");
        put("cpuacct", "cpuacct.usage", "410000000\n");
        put("memory/process_api/abc", "memory.usage_in_bytes", "67108864\n");
        put("memory/process_api/abc", "memory.stat", "cache 0\ntotal_inactive_file 4096\n");
        put("memory/process_api/abc", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
        put("pids", "pids.current", "3\n");
        let s = d.stats(&p).unwrap();
        assert_eq!(
            s,
            CgStats {
                cpu_usage_ns: 410_000_000,
                nr_periods: 21,
                nr_throttled: 20,
                throttled_ns: 1_430_000_000,
                memory_usage_bytes: 64 << 20,
                memory_working_set_bytes: (64 << 20) - 4096,
                oom_kills: 1,
                pids_current: 3,
            }
        );
    }

    #[test]
    fn v2_enables_controllers_in_each_parent_and_writes_cpu_max() {
        let tmp = tempfile::tempdir().unwrap();
        let d = V2Driver::new(tmp.path().join("own"));
        fs::create_dir(tmp.path().join("own")).unwrap();
        let p = path(&["ksim-1-2-0", "node", "c"]);
        d.create(&p).unwrap();
        for dir in ["own", "own/ksim-1-2-0", "own/ksim-1-2-0/node"] {
            let ctl = fs::read_to_string(tmp.path().join(dir).join("cgroup.subtree_control")).unwrap();
            assert_eq!(ctl, "+cpu +memory +pids", "{dir}");
        }
        d.apply(&p, &container_200m_64mi()).unwrap();
        let f = |name: &str| fs::read_to_string(tmp.path().join("own/ksim-1-2-0/node/c").join(name)).unwrap();
        assert_eq!(f("cpu.max"), "20000 100000");
        assert_eq!(f("memory.max"), "67108864");
        assert_eq!(f("memory.oom.group"), "1");
        // Quadratic map of 204 shares: l = log2 204 = 7.672, 10^((l² + 125l)/612 − 7/34) = 10^1.457 = 28.7 → 29.
        assert_eq!(f("cpu.weight"), "29");
        assert_eq!(d.clone_into_dir(&p), Some(tmp.path().join("own/ksim-1-2-0/node/c")));
    }

    #[test]
    fn v2_stats_convert_microseconds_and_prefer_local_oom_events() {
        let tmp = tempfile::tempdir().unwrap();
        let d = V2Driver::new(tmp.path().to_path_buf());
        let p = path(&["c"]);
        d.create(&p).unwrap();
        let put = |name: &str, text: &str| fs::write(tmp.path().join("c").join(name), text).unwrap();
        put("cpu.stat", "usage_usec 410000\nuser_usec 1\nsystem_usec 2\nnr_periods 21\nnr_throttled 20\nthrottled_usec 1430000\n");
        put("memory.current", "1000000\n");
        put("memory.stat", "anon 1\ninactive_file 1000\n");
        put("memory.events", "low 0\nhigh 0\nmax 58\noom 1\noom_kill 3\n");
        put("memory.events.local", "low 0\nhigh 0\nmax 58\noom 1\noom_kill 1\n");
        let s = d.stats(&p).unwrap();
        assert_eq!((s.cpu_usage_ns, s.throttled_ns), (410_000_000, 1_430_000_000));
        assert_eq!((s.memory_working_set_bytes, s.oom_kills), (999_000, 1));
    }

    #[test]
    fn remove_takes_leaves_first_and_tolerates_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let d = v1(tmp.path());
        let root = path(&["ksim-1"]);
        d.create(&path(&["ksim-1", "n", "p1", "c"])).unwrap();
        d.create(&path(&["ksim-1", "n", "p2"])).unwrap();
        d.apply(&path(&["ksim-1", "n", "p2"]), &CgroupValues::unlimited()).unwrap();
        d.remove(&root).unwrap();
        assert!(!d.exists(&root));
        assert!(tmp.path().join("memory/process_api/abc").is_dir(), "our own cgroup stays");
        d.remove(&root).unwrap();
    }

    #[test]
    fn path_components_must_be_plain_names() {
        let r = CgPath::root();
        for bad in ["", ".", "..", "a/b", "x\0"] {
            assert!(r.child(bad).is_err(), "{bad:?}");
        }
        assert_eq!(path(&["a", "b"]).to_string(), "/a/b");
        assert_eq!(path(&["a", "b"]).parent(), Some(path(&["a"])));
    }
}
