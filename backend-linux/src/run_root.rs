//! The run root `ksim-<pid>-<start>-<n>` and the sweep of crashed runs.
//!
//! Everything a run creates lives under one directory named after its **owner record**: the
//! backend's pid and that process's start time (clock ticks since boot, field 22 of
//! `/proc/<pid>/stat`), plus a per-process sequence number. Keeping the record in the name means it
//! cannot be lost or disagree with the cgroups it describes. A later run sweeps every `ksim-*` root
//! whose owner is gone (no such pid, or a pid reused by a process with another start time): it
//! SIGKILLs what is left inside and removes the cgroups leaves first. Nothing else is ever touched:
//! names that do not parse as a run root are skipped.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::driver::{CgPath, CgroupDriver, CgroupError};

/// Prefix of every run root.
pub const PREFIX: &str = "ksim-";

/// Who owns a run root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnerRecord {
    /// The backend's pid.
    pub pid: u32,
    /// Its start time in clock ticks since boot.
    pub start_ticks: u64,
}

/// A parsed run-root name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunRootName {
    /// Owner.
    pub owner: OwnerRecord,
    /// Sequence number within the owner.
    pub seq: u32,
}

impl RunRootName {
    /// `ksim-<pid>-<start>-<seq>`.
    pub fn render(&self) -> String {
        format!("{PREFIX}{}-{}-{}", self.owner.pid, self.owner.start_ticks, self.seq)
    }

    /// Parses a directory name; `None` for anything that is not exactly a run root.
    pub fn parse(name: &str) -> Option<RunRootName> {
        let rest = name.strip_prefix(PREFIX)?;
        let mut parts = rest.split('-');
        let num = |s: Option<&str>| -> Option<u64> {
            let s = s?;
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
        };
        let pid = u32::try_from(num(parts.next())?).ok()?;
        let start_ticks = num(parts.next())?;
        let seq = u32::try_from(num(parts.next())?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(RunRootName { owner: OwnerRecord { pid, start_ticks }, seq })
    }
}

static NEXT_SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh run-root name for `owner` (unique within this process).
pub fn next_name(owner: OwnerRecord) -> RunRootName {
    RunRootName { owner, seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed) }
}

/// The start time (field 22) from a `/proc/<pid>/stat` text. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted after the last `)`.
pub fn parse_stat_start_time(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // Field 3 is the first after ')'; field 22 is the 20th.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// This process's owner record.
#[cfg(target_os = "linux")]
pub fn own_record() -> Option<OwnerRecord> {
    let pid = std::process::id();
    Some(OwnerRecord { pid, start_ticks: crate::sys::start_time_ticks(pid)? })
}

/// Whether the owner is still running (same pid and same start time).
#[cfg(target_os = "linux")]
pub fn owner_alive(owner: &OwnerRecord) -> bool {
    crate::sys::start_time_ticks(owner.pid) == Some(owner.start_ticks)
}

/// Sweeps the run roots directly under the driver's base whose owner `is_alive` says is gone:
/// kills their processes and removes their cgroups. Returns the names removed.
pub fn sweep(
    driver: &dyn CgroupDriver,
    is_alive: &dyn Fn(&OwnerRecord) -> bool,
) -> Result<Vec<String>, CgroupError> {
    let mut removed = Vec::new();
    for name in driver.children(&CgPath::root()) {
        let Some(parsed) = RunRootName::parse(&name) else { continue };
        if is_alive(&parsed.owner) {
            continue;
        }
        let path = CgPath::root().child(&name)?;
        driver.kill_all(&path)?;
        driver.remove(&path)?;
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::V2Driver;
    use crate::values::CgroupValues;

    #[test]
    fn run_root_names_round_trip_and_reject_lookalikes() {
        let n = RunRootName { owner: OwnerRecord { pid: 4242, start_ticks: 987_654 }, seq: 3 };
        assert_eq!(n.render(), "ksim-4242-987654-3");
        assert_eq!(RunRootName::parse("ksim-4242-987654-3"), Some(n));
        for other in
            ["ksim-4242-987654", "ksim-a-1-2", "ksim-1-2-3-4", "ksim--1-2", "kubepods", "ksim-1-2-3x"]
        {
            assert_eq!(RunRootName::parse(other), None, "{other}");
        }
    }

    #[test]
    fn start_time_is_field_22_even_with_parentheses_in_the_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
        // stime cutime cstime priority nice threads itrealvalue starttime …
        let stat = "123 (a (b) c) S 1 123 123 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 1 0 55555 1000 2";
        assert_eq!(parse_stat_start_time(stat), Some(55_555));
        assert_eq!(parse_stat_start_time("garbage"), None);
    }

    #[test]
    fn sweep_removes_only_dead_owners_run_roots_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let d = V2Driver::new(tmp.path().to_path_buf());
        let dead = RunRootName { owner: OwnerRecord { pid: 10, start_ticks: 1 }, seq: 0 }.render();
        let alive = RunRootName { owner: OwnerRecord { pid: 11, start_ticks: 1 }, seq: 0 }.render();
        for name in [dead.as_str(), alive.as_str(), "ksim-not-a-run", "someone-else"] {
            let p = CgPath::root().child(name).unwrap().child("pod").unwrap();
            d.create(&p).unwrap();
            d.apply(&p, &CgroupValues::unlimited()).unwrap();
        }
        let removed = sweep(&d, &|o| o.pid == 11).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!tmp.path().join(&dead).exists());
        for kept in [alive.as_str(), "ksim-not-a-run", "someone-else"] {
            assert!(tmp.path().join(kept).join("pod").is_dir(), "{kept} must stay");
        }
    }
}
