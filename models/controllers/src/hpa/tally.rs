//! The replica calculator's per-pod pass without maps: pods and samples are merge-joined by name
//! and folded into counts and sums ([`PodTally`]), borrowing everything, allocating nothing.
//!
//! [`group_pods`](super::classify::group_pods), [`pod_requests`](super::classify::pod_requests)
//! and the `PodMetricsInfo` maps they work on name every pod; the calculators only need how many
//! pods fall in each group and a few sums, which is what this pass computes. It is exact only when
//! pod names are unique (the map-based sets collapse repeated names): [`tally`] returns `None`
//! for repeated pod names, and the calculators then take the map-based path.
//!
//! Pods and samples normally arrive in name order (the store lists pods by key; the metrics
//! pipeline keeps PodMetrics by key); the merge checks that as it goes and, when either is out of
//! order, sorts borrowed views of both (two allocations per reconcile) and merges again.

use std::cmp::Ordering;

use kubesim_api::{Pod, ResourceName};
use sim_core::SimTime;

use super::classify::{cpu_facts_unready, pod_request, CpuReadiness};
use super::pod_facts::{HpaPod, PodFacts};
use super::samples::PodMetric;

/// Which per-pod requests a utilization metric divides by, and what a missing pod is assumed to
/// use on a scale-down.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestRule<'a> {
    /// The resource.
    pub resource: &'a ResourceName,
    /// Only this container (ContainerResource metrics).
    pub container: Option<&'a str>,
    /// `PodLevelResources` feature gate.
    pub pod_level_resources: bool,
    /// A missing pod uses `request × fallback_percent / 100`.
    pub fallback_percent: i64,
}

/// How to classify and what to sum.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TallyRules<'a> {
    /// `Some` for CPU resource metrics: the CPU readiness rules apply.
    pub cpu: Option<(CpuReadiness, SimTime)>,
    /// `Some` for utilization targets: requests are read for every pod.
    pub requests: Option<RequestRule<'a>>,
}

/// Group sizes and sums of one metric's pods. Sums wrap like upstream's `int64` additions (the
/// order of wrapping additions does not change their result).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PodTally {
    /// Pods whose sample is used as is.
    pub ready: usize,
    /// Pending pods and pods with an untrusted CPU sample.
    pub unready: usize,
    /// Pods without a sample.
    pub missing: usize,
    /// Terminating or Failed pods.
    pub ignored: usize,
    /// Σ sample of ready pods.
    pub ready_value: i64,
    /// Σ request of ready pods.
    pub ready_request: i64,
    /// Samples naming no pod of the list (they stay in the sample set, without a request).
    pub stray: usize,
    /// Σ of those samples.
    pub stray_value: i64,
    /// Σ request of missing pods.
    pub missing_request: i64,
    /// Σ `request × fallback_percent / 100` of missing pods (truncated per pod, as upstream).
    pub missing_fallback: i64,
    /// Σ request of unready pods.
    pub unready_request: i64,
    /// Some pod's request could not be read (the caller reports the first, in list order).
    pub request_failed: bool,
}

/// Tallies `pods` against `samples` (a repeated sample name: the last one counts, as in a map).
/// `None` when two pods share a name.
pub(crate) fn tally<'p, 's, P, I>(pods: &'p [P], samples: I, rules: &TallyRules<'_>) -> Option<PodTally>
where
    P: HpaPod,
    I: Iterator<Item = (&'s str, PodMetric)> + Clone,
{
    let view = |p: &'p P| (p.borrow(), p.facts(), p.name());
    if let Some(t) = merge(pods.iter().map(view), samples.clone(), rules) {
        return Some(t);
    }
    let mut by_name: Vec<(&Pod, PodFacts, &str)> = pods.iter().map(view).collect();
    by_name.sort_by(|a, b| a.2.cmp(b.2));
    let mut sorted: Vec<(&str, PodMetric)> = Vec::with_capacity(samples.size_hint().1.unwrap_or(0));
    sorted.extend(samples);
    sorted.sort_by(|a, b| a.0.cmp(b.0)); // stable: repeats stay in arrival order
    sorted.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            *kept = *later;
        }
        same
    });
    // Sorted now; only a repeated pod name can still stop the merge.
    merge(by_name.into_iter(), sorted.into_iter(), rules)
}

/// The merge-join itself; `None` as soon as pods or samples are not in strictly ascending name
/// order.
fn merge<'p, 's>(
    pods: impl Iterator<Item = (&'p Pod, PodFacts, &'p str)>,
    samples: impl Iterator<Item = (&'s str, PodMetric)>,
    rules: &TallyRules<'_>,
) -> Option<PodTally> {
    let mut t = PodTally::default();
    let mut requests = RequestMemo::default();
    let mut samples = samples.peekable();
    let mut last_sample: Option<&str> = None;
    let mut last_pod: Option<&str> = None;
    for (pod, facts, name) in pods {
        if last_pod.is_some_and(|l| l >= name) {
            return None;
        }
        last_pod = Some(name);
        let mut sample = None;
        while let Some(&(sample_name, m)) = samples.peek() {
            match sample_name.cmp(name) {
                Ordering::Less => {
                    take(&mut last_sample, sample_name)?;
                    t.stray += 1;
                    t.stray_value = t.stray_value.wrapping_add(m.value);
                }
                Ordering::Equal => {
                    // No order check needed: every sample taken so far sorts below this pod's
                    // name (strays before it, matches of earlier pods), and pods ascend.
                    last_sample = Some(sample_name);
                    sample = Some(m);
                }
                Ordering::Greater => break,
            }
            samples.next();
            if sample.is_some() {
                break;
            }
        }
        let request = match rules.requests {
            Some(r) => requests.get(pod, &facts, r, &mut t),
            None => 0,
        };
        add_pod(&mut t, &facts, sample, request, rules);
    }
    for (name, m) in samples {
        take(&mut last_sample, name)?;
        t.stray += 1;
        t.stray_value = t.stray_value.wrapping_add(m.value);
    }
    Some(t)
}

/// One pod's share of the tally: `sample` is its sample (`None`: missing), `request` its request
/// as [`RequestMemo::get`] read it (zero when unreadable).
#[inline]
pub(crate) fn add_pod(
    t: &mut PodTally,
    facts: &PodFacts,
    sample: Option<PodMetric>,
    request: i64,
    rules: &TallyRules<'_>,
) {
    if facts.ignored {
        t.ignored += 1;
        return;
    }
    let unready = match (facts.pending, sample) {
        (true, _) => true,
        (_, None) => {
            add_missing(t, 1, request, rules);
            return;
        }
        (_, Some(m)) => {
            rules.cpu.is_some_and(|(cpu, now)| cpu_facts_unready(facts, m.timestamp, m.window, cpu, now))
        }
    };
    if unready {
        add_unready(t, 1, request);
    } else if let Some(m) = sample {
        add_ready(t, 1, m.value, request);
    }
}

// `n` pods alike at once: `n` wrapping additions of a value are one wrapping multiplication.

/// `n` pods without a sample, each with `request`.
#[inline]
pub(crate) fn add_missing(t: &mut PodTally, n: usize, request: i64, rules: &TallyRules<'_>) {
    let count = n as i64;
    t.missing += n;
    t.missing_request = t.missing_request.wrapping_add(request.wrapping_mul(count));
    let percent = rules.requests.map_or(0, |r| r.fallback_percent);
    // Truncated per pod, as upstream, then summed.
    t.missing_fallback =
        t.missing_fallback.wrapping_add((request.wrapping_mul(percent) / 100).wrapping_mul(count));
}

/// `n` unready pods, each with `request`.
#[inline]
pub(crate) fn add_unready(t: &mut PodTally, n: usize, request: i64) {
    t.unready += n;
    t.unready_request = t.unready_request.wrapping_add(request.wrapping_mul(n as i64));
}

/// `n` ready pods, each with sample `value` and `request`.
#[inline]
pub(crate) fn add_ready(t: &mut PodTally, n: usize, value: i64, request: i64) {
    let count = n as i64;
    t.ready += n;
    t.ready_value = t.ready_value.wrapping_add(value.wrapping_mul(count));
    t.ready_request = t.ready_request.wrapping_add(request.wrapping_mul(count));
}

/// The requests of the last few container lists read, reused for every pod that reads the very
/// same lists (pods stamped from one template share them) without pod-level resources: the
/// request is a function of those lists alone, so the pods of a ReplicaSet cost one computation.
/// Several lists are kept because a target's pods come from several templates during a rollout
/// (old and new ReplicaSet) and interleave in name order: one remembered list would be evicted
/// at every change of template.
#[derive(Default)]
pub(crate) struct RequestMemo {
    /// (containers, init containers) addresses, and the request computed for them (`None`: it
    /// could not be read); `len` of them are filled, the next one replaces `next`.
    entries: [((usize, usize), Option<i64>); MEMO_LISTS],
    len: usize,
    next: usize,
}

/// How many container lists a [`RequestMemo`] remembers.
const MEMO_LISTS: usize = 4;

impl RequestMemo {
    /// `pod`'s request (zero, and `t.request_failed` set, when it cannot be read).
    pub(crate) fn get(
        &mut self,
        pod: &Pod,
        facts: &PodFacts,
        rule: RequestRule<'_>,
        t: &mut PodTally,
    ) -> i64 {
        let request = self.read(pod, facts, rule);
        if request.is_none() {
            t.request_failed = true;
        }
        request.unwrap_or(0)
    }

    fn read(&mut self, pod: &Pod, facts: &PodFacts, rule: RequestRule<'_>) -> Option<i64> {
        // Every pod read is alive for the whole tally, so equal addresses are the same lists (two
        // empty lists share the dangling address, and are equal too).
        let Some(lists) = facts.request_lists else {
            return pod_request(pod, rule.resource, rule.container, rule.pod_level_resources).ok();
        };
        if let Some((_, request)) = self.entries[..self.len].iter().find(|(l, _)| *l == lists) {
            return *request;
        }
        let request = pod_request(pod, rule.resource, rule.container, rule.pod_level_resources).ok();
        self.entries[self.next] = (lists, request);
        self.next = (self.next + 1) % MEMO_LISTS;
        self.len = (self.len + 1).min(MEMO_LISTS);
        request
    }
}

/// Moves the order check past a consumed sample; `None` when it is not after the previous one.
fn take<'s>(last: &mut Option<&'s str>, name: &'s str) -> Option<()> {
    if last.is_some_and(|l| l >= name) {
        return None;
    }
    *last = Some(name);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpa::testutil::{ready_pod, NOW};
    use sim_core::SimDuration;

    fn metric(value: i64) -> PodMetric {
        PodMetric { value, timestamp: NOW, window: SimDuration::from_secs(30) }
    }

    fn rules(resource: &ResourceName) -> TallyRules<'_> {
        TallyRules {
            cpu: None,
            requests: Some(RequestRule {
                resource,
                container: None,
                pod_level_resources: true,
                fallback_percent: 150,
            }),
        }
    }

    #[test]
    fn pods_and_samples_out_of_name_order_tally_like_sorted_ones() {
        // b, a, c with samples for c, x (stray), a: a and c ready, b missing.
        let pods = [
            ready_pod("b", 333, SimTime::ZERO),
            ready_pod("a", 100, SimTime::ZERO),
            ready_pod("c", 200, SimTime::ZERO),
        ];
        let samples = [("c", metric(20)), ("x", metric(7)), ("a", metric(10))];
        let t = tally(&pods, samples.iter().copied(), &rules(&ResourceName::Cpu)).unwrap();
        assert_eq!((t.ready, t.missing, t.stray), (2, 1, 1));
        assert_eq!((t.ready_value, t.ready_request, t.stray_value), (30, 300, 7));
        // The fallback truncates per pod: 333 × 150 / 100 = 499.5 → 499.
        assert_eq!((t.missing_request, t.missing_fallback), (333, 499));
    }

    #[test]
    fn a_repeated_sample_name_counts_its_last_sample() {
        let pods = [ready_pod("a", 100, SimTime::ZERO)];
        let samples = [("a", metric(10)), ("a", metric(40))];
        let t = tally(&pods, samples.iter().copied(), &rules(&ResourceName::Cpu)).unwrap();
        assert_eq!((t.ready, t.ready_value, t.stray), (1, 40, 0));
    }

    #[test]
    fn repeated_pod_names_are_left_to_the_map_based_path() {
        let pods = [ready_pod("a", 100, SimTime::ZERO), ready_pod("a", 100, SimTime::ZERO)];
        assert_eq!(tally(&pods, [("a", metric(1))].into_iter(), &rules(&ResourceName::Cpu)), None);
    }

    #[test]
    fn pods_of_two_templates_interleaved_each_keep_their_request() {
        // a, c from one template (100m), b, d from another (250m), as during a rollout: the
        // memo holds both lists, and every pod is charged its own template's request.
        let old = ready_pod("a", 100, SimTime::ZERO);
        let new = ready_pod("b", 250, SimTime::ZERO);
        let named = |p: &Pod, name: &str| {
            let mut p = p.clone();
            p.meta.name = name.into();
            p
        };
        let pods = [named(&old, "a"), named(&new, "b"), named(&old, "c"), named(&new, "d")];
        let samples = [("a", metric(1)), ("b", metric(2)), ("c", metric(3)), ("d", metric(4))];
        let t = tally(&pods, samples.iter().copied(), &rules(&ResourceName::Cpu)).unwrap();
        // 100 + 250 + 100 + 250.
        assert_eq!((t.ready, t.ready_value, t.ready_request), (4, 10, 700));
        let mut memo = RequestMemo::default();
        let rule = rules(&ResourceName::Cpu).requests.unwrap();
        let mut scratch = PodTally::default();
        let requests: Vec<i64> =
            pods.iter().map(|p| memo.get(p, &PodFacts::of(p), rule, &mut scratch)).collect();
        assert_eq!(requests, [100, 250, 100, 250]);
        assert_eq!(memo.len, 2, "one entry per template");
    }

    #[test]
    fn an_unreadable_request_is_flagged_not_reported() {
        let pods = [ready_pod("a", 100, SimTime::ZERO)];
        let t = tally(&pods, std::iter::empty(), &rules(&ResourceName::EphemeralStorage)).unwrap();
        assert!(t.request_failed);
        assert_eq!(t.missing, 1);
    }
}
