//! Which cgroup layout the host has, and where our own cgroup sits in it.
//!
//! Detection reads `/proc/self/mountinfo` and `/proc/self/cgroup` (parsed here as text, so tests
//! feed this machine's real files) and the unified hierarchy's `cgroup.controllers` through an
//! injected reader:
//!
//! * **v2** when the cgroup2 mount lists `cpu`, `memory` and `pids` in our own cgroup's
//!   `cgroup.controllers`;
//! * else **v1** when `cpu`, `cpuacct`, `memory` and `pids` v1 hierarchies are mounted (each
//!   resolved separately: `cpu` and `cpuacct` are not always co-mounted);
//! * else an error naming what is missing.
//!
//! The directories returned are our **own** cgroup in each hierarchy (`<mount>/<own path>`): the
//! backend nests everything below them, never at a hierarchy root and never in a sibling.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::values::Controller;

/// The host's layout, resolved to our own cgroup directories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Unified hierarchy with cpu, memory and pids: our own cgroup directory in it.
    V2 {
        /// `<cgroup2 mount>/<own path>`.
        own_dir: PathBuf,
    },
    /// Legacy hierarchies: our own cgroup directory in each controller's hierarchy.
    V1 {
        /// Per controller; co-mounted controllers share a directory.
        own_dirs: BTreeMap<Controller, PathBuf>,
    },
}

/// Why no usable layout was found.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Neither a complete v2 nor a complete v1 setup.
    #[error(
        "no usable cgroup layout: the unified (v2) hierarchy {v2} and the v1 hierarchies are missing {v1_missing}; \
         the real backend needs cpu, memory and pids on cgroup v2 (or cpu, cpuacct, memory and pids mounted as v1)"
    )]
    MissingControllers {
        /// What v2 offers (or that it is not mounted).
        v2: String,
        /// The v1 controllers not mounted, comma-separated.
        v1_missing: String,
    },
    /// A `/proc` file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Which file.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// One cgroup mount from mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The mount's root inside the hierarchy (`/` unless a sub-tree is bind-mounted).
    pub root: String,
    /// `None` for cgroup2, else the v1 controllers (and `name=…`) of this hierarchy.
    pub v1_controllers: Option<Vec<String>>,
}

/// The cgroup mounts listed in a `/proc/<pid>/mountinfo` text.
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        // id parent major:minor root mount-point options [optional…] - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 {
            continue;
        }
        let root = unescape(l[3]);
        let mount_point = PathBuf::from(unescape(l[4]));
        match r[0] {
            "cgroup2" => out.push(CgroupMount { mount_point, root, v1_controllers: None }),
            "cgroup" => {
                let controllers =
                    r[2].split(',').filter(|o| !matches!(*o, "rw" | "ro")).map(String::from).collect();
                out.push(CgroupMount { mount_point, root, v1_controllers: Some(controllers) });
            }
            _ => {}
        }
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/<pid>/cgroup`: hierarchy controllers (empty for v2) → path.
pub fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            let list = controllers.split(',').filter(|c| !c.is_empty()).map(String::from).collect();
            Some((list, path.to_string()))
        })
        .collect()
}

/// `mount_point` + `own_path` relative to the mount's `root`.
fn own_dir(mount: &CgroupMount, own_path: &str) -> PathBuf {
    let root = mount.root.trim_end_matches('/');
    let rel = own_path.strip_prefix(root).unwrap_or(own_path).trim_start_matches('/');
    if rel.is_empty() {
        mount.mount_point.clone()
    } else {
        mount.mount_point.join(rel)
    }
}

/// Detects the layout from the texts of `/proc/self/mountinfo` and `/proc/self/cgroup`;
/// `read` reads a file (the v2 `cgroup.controllers`).
pub fn detect_from(
    mountinfo: &str,
    proc_cgroup: &str,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<Layout, LayoutError> {
    let mounts = parse_mountinfo(mountinfo);
    let own = parse_proc_cgroup(proc_cgroup);
    // v2
    let v2_own = own.iter().find(|(c, _)| c.is_empty()).map(|(_, p)| p.as_str()).unwrap_or("/");
    let mut v2_state = "is not mounted".to_string();
    if let Some(m) = mounts.iter().find(|m| m.v1_controllers.is_none()) {
        let dir = own_dir(m, v2_own);
        let controllers = read(&dir.join("cgroup.controllers"))
            .or_else(|_| read(&m.mount_point.join("cgroup.controllers")))
            .unwrap_or_default();
        let have: Vec<&str> = controllers.split_whitespace().collect();
        if ["cpu", "memory", "pids"].iter().all(|c| have.contains(c)) {
            return Ok(Layout::V2 { own_dir: dir });
        }
        v2_state = format!(
            "at {} has only [{}]",
            m.mount_point.display(),
            if have.is_empty() { "no controllers".to_string() } else { have.join(" ") }
        );
    }
    // v1
    let mut own_dirs = BTreeMap::new();
    let mut missing = Vec::new();
    for controller in Controller::ALL {
        let name = controller.name();
        let mount =
            mounts.iter().find(|m| m.v1_controllers.as_ref().is_some_and(|c| c.iter().any(|x| x == name)));
        let path = own.iter().find(|(c, _)| c.iter().any(|x| x == name)).map(|(_, p)| p.as_str());
        match (mount, path) {
            (Some(m), Some(p)) => {
                own_dirs.insert(controller, own_dir(m, p));
            }
            (Some(m), None) => {
                own_dirs.insert(controller, m.mount_point.clone());
            }
            (None, _) => missing.push(name),
        }
    }
    if missing.is_empty() {
        return Ok(Layout::V1 { own_dirs });
    }
    Err(LayoutError::MissingControllers { v2: v2_state, v1_missing: missing.join(", ") })
}

/// Detects this process's layout.
pub fn detect() -> Result<Layout, LayoutError> {
    let read =
        |p: &str| std::fs::read_to_string(p).map_err(|source| LayoutError::Read { path: p.into(), source });
    let mountinfo = read("/proc/self/mountinfo")?;
    let cgroup = read("/proc/self/cgroup")?;
    detect_from(&mountinfo, &cgroup, &|p| std::fs::read_to_string(p))
}

/// The privileges the real backend needs, checked before it touches anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Privileges {
    /// Effective uid.
    pub euid: u32,
    /// `CapEff` bit mask from `/proc/self/status`.
    pub cap_eff: u64,
}

/// `CAP_NET_ADMIN` bit.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_SYS_ADMIN` bit.
pub const CAP_SYS_ADMIN: u32 = 21;

/// Why the backend refuses to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the real backend needs {missing}: it creates cgroups under /sys/fs/cgroup and clone()s with \
     CLONE_NEWPID|NEWNET|NEWNS|NEWUTS|NEWIPC; run it as root (sudo) with CAP_SYS_ADMIN and CAP_NET_ADMIN, \
     or use the simulator backend"
)]
pub struct PrivilegeError {
    /// What is missing.
    pub missing: String,
}

impl Privileges {
    /// `euid` and `CapEff` from a `/proc/<pid>/status` text.
    pub fn from_status(status: &str) -> Option<Privileges> {
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        let euid = field("Uid:")?.split_whitespace().nth(1)?.parse().ok()?;
        let cap_eff = u64::from_str_radix(field("CapEff:")?, 16).ok()?;
        Some(Privileges { euid, cap_eff })
    }

    /// This process's privileges.
    pub fn current() -> Option<Privileges> {
        Self::from_status(&std::fs::read_to_string("/proc/self/status").ok()?)
    }

    /// Root with CAP_SYS_ADMIN and CAP_NET_ADMIN, or what is missing.
    pub fn check(&self) -> Result<(), PrivilegeError> {
        let mut missing = Vec::new();
        if self.euid != 0 {
            missing.push(format!("root (euid 0, not {})", self.euid));
        }
        for (bit, name) in [(CAP_SYS_ADMIN, "CAP_SYS_ADMIN"), (CAP_NET_ADMIN, "CAP_NET_ADMIN")] {
            if self.cap_eff & (1 << bit) == 0 {
                missing.push(name.to_string());
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(PrivilegeError { missing: missing.join(" and ") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This project's machine: one v1 controller per hierarchy, cpu and cpuacct apart, a cgroup2
    /// mount with only hugetlb, our memory cgroup nested under process_api.
    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/d1f42c48
2:cpuacct:/
1:cpu:/
0::/
";

    fn only_hugetlb(_: &Path) -> io::Result<String> {
        Ok("hugetlb\n".into())
    }

    #[test]
    fn the_hybrid_machine_is_v1_with_memory_nested_under_our_own_path() {
        let layout = detect_from(HYBRID_MOUNTINFO, HYBRID_CGROUP, &only_hugetlb).unwrap();
        let Layout::V1 { own_dirs } = layout else { panic!("expected v1") };
        assert_eq!(own_dirs[&Controller::Cpu], PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(own_dirs[&Controller::Cpuacct], PathBuf::from("/sys/fs/cgroup/cpuacct"));
        assert_eq!(
            own_dirs[&Controller::Memory],
            PathBuf::from("/sys/fs/cgroup/memory/process_api/d1f42c48")
        );
        assert_eq!(own_dirs[&Controller::Pids], PathBuf::from("/sys/fs/cgroup/pids"));
    }

    #[test]
    fn a_pure_v2_host_with_cpu_memory_and_pids_is_v2_at_our_own_path() {
        let mountinfo = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let cgroup = "0::/user.slice/user-1000.slice/session-3.scope\n";
        let read = |p: &Path| -> io::Result<String> {
            assert_eq!(
                p,
                Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/cgroup.controllers")
            );
            Ok("cpuset cpu io memory pids\n".into())
        };
        assert_eq!(
            detect_from(mountinfo, cgroup, &read).unwrap(),
            Layout::V2 {
                own_dir: PathBuf::from("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope")
            }
        );
    }

    #[test]
    fn co_mounted_cpu_and_cpuacct_share_one_directory() {
        let mountinfo = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
";
        let cgroup = "3:cpu,cpuacct:/a\n2:memory:/a\n1:pids:/a\n";
        let Layout::V1 { own_dirs } = detect_from(mountinfo, cgroup, &only_hugetlb).unwrap() else {
            panic!()
        };
        assert_eq!(own_dirs[&Controller::Cpu], own_dirs[&Controller::Cpuacct]);
        assert_eq!(own_dirs[&Controller::Cpu], PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/a"));
    }

    #[test]
    fn a_bind_mounted_subtree_strips_the_mount_root() {
        let mountinfo = "32 31 0:29 /kubepods/x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let cgroup = "0::/kubepods/x/inner\n";
        let read = |_: &Path| -> io::Result<String> { Ok("cpu memory pids".into()) };
        assert_eq!(
            detect_from(mountinfo, cgroup, &read).unwrap(),
            Layout::V2 { own_dir: PathBuf::from("/sys/fs/cgroup/inner") }
        );
    }

    #[test]
    fn missing_controllers_are_named_in_the_refusal() {
        let mountinfo = "\
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
        let err = detect_from(mountinfo, "4:memory:/\n0::/\n", &only_hugetlb).unwrap_err().to_string();
        assert!(err.contains("/sys/fs/cgroup/unified has only [hugetlb]"), "{err}");
        assert!(err.contains("missing cpu, cpuacct, pids"), "{err}");
    }

    #[test]
    fn mountinfo_octal_escapes_are_decoded() {
        let m = parse_mountinfo("1 2 0:1 / /mnt/a\\040b rw - cgroup2 cgroup2 rw\n");
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/a b"));
    }

    #[test]
    fn privileges_need_root_and_both_capabilities() {
        let root = "Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n";
        assert_eq!(Privileges::from_status(root).unwrap().check(), Ok(()));
        let user =
            Privileges::from_status("Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\n").unwrap();
        let err = user.check().unwrap_err().to_string();
        assert!(err.contains("root (euid 0, not 1000) and CAP_SYS_ADMIN and CAP_NET_ADMIN"), "{err}");
        assert!(err.contains("run it as root"), "{err}");
        // Root with an emptied bounding set (setpriv --bounding-set=-all) is refused too.
        let capless = Privileges { euid: 0, cap_eff: 0 };
        assert!(capless.check().unwrap_err().missing.starts_with("CAP_SYS_ADMIN"));
    }
}
