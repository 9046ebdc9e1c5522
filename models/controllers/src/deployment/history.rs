//! New-RS identification, revisions, rollback bookkeeping and revision-history cleanup
//! (`deployment_util.go :: FindNewReplicaSet, EqualIgnoreHash, MaxRevision,
//! SetNewReplicaSetAnnotations`; `sync.go :: cleanupDeployment`).

use kubesim_api::meta::well_known::POD_TEMPLATE_HASH;
use kubesim_api::{PodTemplateSpec, ReplicaSet};

use super::{RsSummary, REVISION_ANNOTATION};

/// `EqualIgnoreHash`: templates equal once the `pod-template-hash` label is removed from both.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        t.labels.remove(POD_TEMPLATE_HASH);
        t
    };
    strip(a) == strip(b)
}

/// `FindNewReplicaSet`: the oldest RS (creation time, then name) whose template matches.
pub fn find_new_replica_set<'a>(template: &PodTemplateSpec, rss: &'a [ReplicaSet]) -> Option<&'a ReplicaSet> {
    rss.iter().filter(|rs| equal_ignore_hash(&rs.template, template)).min_by(|a, b| {
        a.meta.creation_timestamp.cmp(&b.meta.creation_timestamp).then_with(|| a.meta.name.cmp(&b.meta.name))
    })
}

/// Revision of an RS (0 when absent or invalid).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.meta.annotations.get(REVISION_ANNOTATION).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The revision the new RS gets: `max(old revisions) + 1`.
pub fn next_revision(old: &[ReplicaSet]) -> i64 {
    old.iter().map(revision).max().unwrap_or(0) + 1
}

/// The revision annotations of an RS that becomes the new one: `(revision, revision-history)`.
/// On a rollback (an old RS reused) its former revision is appended to the history list.
pub fn new_revision_annotations(rs: &ReplicaSet, new_revision: i64) -> (String, Option<String>) {
    let old = revision(rs);
    let history = if old != 0 && old < new_revision {
        let prior = rs.meta.annotations.get(super::REVISION_HISTORY_ANNOTATION).filter(|s| !s.is_empty());
        Some(match prior {
            Some(h) => format!("{h},{old}"),
            None => old.to_string(),
        })
    } else {
        rs.meta.annotations.get(super::REVISION_HISTORY_ANNOTATION).cloned()
    };
    (new_revision.to_string(), history)
}

/// `cleanupDeployment`: names of old RSs to delete so at most `limit` remain. Only RSs fully
/// scaled down (spec 0, status 0, no terminating), observed and not already deleting qualify,
/// lowest revision first. `None` (or `i32::MAX`) keeps everything.
pub fn history_to_delete(old: &[RsSummary], limit: Option<i32>) -> Vec<String> {
    let Some(limit) = limit.filter(|l| *l != i32::MAX) else { return Vec::new() };
    let mut alive: Vec<&RsSummary> = old.iter().filter(|r| !r.deleting).collect();
    let diff = alive.len() as i64 - i64::from(limit);
    if diff <= 0 {
        return Vec::new();
    }
    alive.sort_by(|a, b| a.revision.cmp(&b.revision).then_with(|| super::by_creation(a, b)));
    alive
        .iter()
        .take(diff as usize)
        .filter(|r| r.spec_replicas == 0 && r.replicas == 0 && r.terminating == 0 && r.observed_current)
        .map(|r| r.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::ObjectMeta;
    use sim_core::SimTime;

    fn rs(name: &str, created: u64, rev: i64, image: &str, hash: &str) -> ReplicaSet {
        let mut r = ReplicaSet { meta: ObjectMeta::named("default", name), ..Default::default() };
        r.meta.creation_timestamp = SimTime::from_secs(created);
        r.meta.annotations.insert(REVISION_ANNOTATION.into(), rev.to_string());
        r.template.labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
        r.template.labels.insert("app".into(), "web".into());
        r.template.annotations.insert("image".into(), image.into());
        r
    }

    #[test]
    fn the_new_replica_set_matches_the_template_ignoring_the_hash_label() {
        let rss = vec![rs("web-b", 20, 2, "v2", "b"), rs("web-a", 10, 1, "v1", "a")];
        let mut template = rss[1].template.clone();
        template.labels.remove(POD_TEMPLATE_HASH);
        assert_eq!(find_new_replica_set(&template, &rss).map(|r| r.meta.name.as_str()), Some("web-a"));
        template.annotations.insert("image".into(), "v3".into());
        assert!(find_new_replica_set(&template, &rss).is_none());
        assert_eq!(next_revision(&rss), 3);
    }

    #[test]
    fn a_rollback_reuses_the_old_replica_set_with_a_new_revision_and_history() {
        let old = rs("web-a", 10, 1, "v1", "a");
        assert_eq!(new_revision_annotations(&old, 3), ("3".to_string(), Some("1".to_string())));
        let mut twice = old.clone();
        twice.meta.annotations.insert(REVISION_ANNOTATION.into(), "3".into());
        twice.meta.annotations.insert(super::super::REVISION_HISTORY_ANNOTATION.into(), "1".into());
        assert_eq!(new_revision_annotations(&twice, 5), ("5".to_string(), Some("1,3".to_string())));
    }

    #[test]
    fn history_cleanup_deletes_the_oldest_scaled_down_revisions_beyond_the_limit() {
        let mk = |name: &str, rev: i64, spec: i32| RsSummary {
            revision: rev,
            ..RsSummary::settled(name, rev as u64, spec)
        };
        let old = vec![mk("r3", 3, 0), mk("r1", 1, 0), mk("r2", 2, 2), mk("r4", 4, 0)];
        // 4 old, limit 1 → the 3 lowest revisions are candidates; r2 still has pods.
        assert_eq!(history_to_delete(&old, Some(1)), vec!["r1".to_string(), "r3".to_string()]);
        assert_eq!(history_to_delete(&old, Some(10)), Vec::<String>::new());
        assert_eq!(history_to_delete(&old, None), Vec::<String>::new());
    }
}
