//! `manageReplicas`: how many pods to create or delete in one sync, and slow-start batching.

use kubesim_api::Pod;

/// Upstream `BurstReplicas`: the most creates or deletes one sync issues.
pub const BURST_REPLICAS: usize = 500;

/// What one sync does to the pod count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaDiff {
    /// Create this many pods (≤ burst).
    Create(usize),
    /// Delete this many pods (≤ burst).
    Delete(usize),
    /// The count is right.
    None,
}

/// Diff between active pods (not Succeeded/Failed, not terminating) and `spec.replicas`.
pub fn replica_diff<P: std::borrow::Borrow<Pod>>(
    pods: &[P],
    spec_replicas: i32,
    burst: usize,
) -> ReplicaDiff {
    let active = pods.iter().filter(|p| p.borrow().is_active()).count() as i64;
    let diff = active - i64::from(spec_replicas.max(0));
    match diff {
        d if d < 0 => ReplicaDiff::Create(((-d) as usize).min(burst)),
        d if d > 0 => ReplicaDiff::Delete((d as usize).min(burst)),
        _ => ReplicaDiff::None,
    }
}

/// Batch sizes of `slowStartBatch(count, initial)`: `initial, 2·initial, 4·initial, …`, the last
/// one capped by what remains.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = count;
    let mut batch = remaining.min(initial);
    while batch > 0 {
        out.push(batch);
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    out
}

/// Outcome of a slow-start creation run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlowStartOutcome {
    /// Pods created.
    pub successes: usize,
    /// Pods that failed in the last batch.
    pub failures: usize,
    /// Pods never attempted: subtracted from expectations, retried next sync.
    pub skipped: usize,
}

/// Runs batches (initial size 1), asking `create_batch(size)` how many of each batch failed;
/// stops after the first batch with a failure.
pub fn slow_start(count: usize, mut create_batch: impl FnMut(usize) -> usize) -> SlowStartOutcome {
    let mut successes = 0;
    let mut attempted = 0;
    for batch in slow_start_batches(count, 1) {
        let failed = create_batch(batch).min(batch);
        attempted += batch;
        successes += batch - failed;
        if failed > 0 {
            return SlowStartOutcome { successes, failures: failed, skipped: count - attempted };
        }
    }
    SlowStartOutcome { successes, failures: 0, skipped: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubesim_api::PodPhase;

    #[test]
    fn batches_double_from_one() {
        assert_eq!(slow_start_batches(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(15, 1), vec![1, 2, 4, 8]);
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
    }

    #[test]
    fn slow_start_stops_after_the_first_failing_batch() {
        // 10 pods: batch 1 ok, batch 2 ok, batch 4 has one failure → 6 created, 3 skipped.
        let mut calls = Vec::new();
        let out = slow_start(10, |n| {
            calls.push(n);
            usize::from(n == 4)
        });
        assert_eq!(calls, vec![1, 2, 4]);
        assert_eq!(out, SlowStartOutcome { successes: 6, failures: 1, skipped: 3 });
    }

    #[test]
    fn the_diff_counts_only_active_pods_and_caps_at_the_burst() {
        let mut pods = vec![Pod::default(); 3];
        pods[0].status.phase = PodPhase::Failed;
        pods[1].meta.deletion_timestamp = Some(sim_core::SimTime::ZERO);
        assert_eq!(replica_diff(&pods, 3, BURST_REPLICAS), ReplicaDiff::Create(2));
        assert_eq!(replica_diff(&pods, 0, BURST_REPLICAS), ReplicaDiff::Delete(1));
        assert_eq!(replica_diff::<Pod>(&[], 1000, BURST_REPLICAS), ReplicaDiff::Create(500));
        assert_eq!(replica_diff(&pods, 1, BURST_REPLICAS), ReplicaDiff::None);
    }
}
