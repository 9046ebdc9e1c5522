//! A target's pods paired with the resource metrics API's entries once, and tallied per usage
//! class afterwards.
//!
//! The per-pod pass ([`tally`](super::tally)) pairs every pod with its sample by name and
//! classifies it, every sync. In a large run most pods are served from a *class sample* (the
//! ready replicas of a Deployment under an even load share one: see
//! [`PodMetricsList`]), and the pods and the served entries stay the same objects for many
//! syncs. A caller that keeps both can build a [`PodSampleJoin`] when either changes and pass it
//! to [`reconcile_into`](super::reconcile::reconcile_into): pods that share a class sample and a
//! request, and whose classification cannot depend on their own sample, are then counted as
//! `count × class value`; only the others are visited one by one.
//!
//! Which pods are counted in bulk (a *group*): not terminating, failed or pending, served from a
//! class sample, with a request computed from their container lists alone, and with a Ready
//! condition and a start time. For CPU metrics, a pod's sample is trusted or not by
//! `cpu_facts_unready`, which once the pod is past its CPU initialization period
//! (`start + cpu_initialization_period <= now`) no longer reads the sample or the time: a group
//! keeps its members in start order, the members past that period are counted in bulk and only
//! those still initializing (the replicas a scale-up just added) are visited one by one. The
//! result is the per-pod pass's exactly (wrapping sums are order-independent, and `n` wrapping
//! additions of `v` are `v.wrapping_mul(n)`).

use std::borrow::Borrow;
use std::cell::RefCell;

use kubesim_api::{Pod, ResourceName};
use sim_core::SimTime;

use super::classify::{pod_request, CpuReadiness};
use super::pod_facts::HpaPod;
use super::samples::{resource_value, PodMetric, PodMetricsList, ServedPodMetrics};
use super::tally::{
    add_missing, add_pod, add_ready, add_unready, PodTally, RequestMemo, RequestRule, TallyRules,
};

/// No entry names the pod.
const NO_ENTRY: u32 = u32::MAX;

/// Pods and served entries paired by name, with the pods that can be counted in bulk grouped.
/// Valid for exactly the pods and the entry list it was built from: rebuild it whenever either
/// changes (a changed class sample's contents need no rebuild: they are read at each tally).
#[derive(Clone, Debug, Default)]
pub struct PodSampleJoin {
    /// How many pods and entries it was built from (a cheap guard: a join of other lengths is
    /// not used).
    pods: usize,
    entries: usize,
    /// The readiness flags the groups' settled classification was computed with.
    cpu: Option<CpuReadiness>,
    groups: Vec<Group>,
    /// The groups' members (pod indices), group after group.
    members: Vec<u32>,
    /// Pods tallied one by one, with their entry (`NO_ENTRY`: none).
    singles: Vec<(u32, u32)>,
    /// Entries naming no pod.
    strays: Vec<u32>,
    /// Each group's request, per request rule, as read at the first tally under that rule.
    group_requests: GroupRequests,
}

/// What a request is read for: resource, container, `PodLevelResources`.
type RequestKey = (ResourceName, Option<String>, bool);

/// The requests of a join's groups, read once per rule instead of at every tally.
///
/// A group's members share their container lists (the group key holds their addresses, and the
/// join is rebuilt whenever its pods change), and a group member's request is computed from
/// those lists alone, so it is a function of the group and the rule. Reading it from the first
/// member's spec every sync walked a cold chain of pointers (pod, spec, containers, resource
/// list) for each group of each of thousands of HPAs: a fifth of the HPA compute at full scale.
/// A `RefCell` because the tally borrows the join shared; one tally runs at a time per join.
#[derive(Clone, Debug, Default)]
struct GroupRequests(RefCell<Vec<(RequestKey, RuleRequests)>>);

/// One rule's requests, per group: `None` until read, then what the read gave (`None`: the
/// request could not be read).
type RuleRequests = Vec<Option<Option<i64>>>;

/// How many rules a join remembers requests for (an HPA has one per utilization metric).
const REMEMBERED_RULES: usize = 4;

impl GroupRequests {
    /// The requests remembered under `rule` (one per group, `None` until read), made room for.
    fn for_rule<'a>(
        cache: &'a mut Vec<(RequestKey, RuleRequests)>,
        rule: &RequestRule<'_>,
        groups: usize,
    ) -> &'a mut RuleRequests {
        let same = |(resource, container, pod_level): &RequestKey| {
            resource == rule.resource
                && container.as_deref() == rule.container
                && *pod_level == rule.pod_level_resources
        };
        let at = match cache.iter().position(|(key, _)| same(key)) {
            Some(at) => at,
            None => {
                if cache.len() >= REMEMBERED_RULES {
                    cache.clear();
                }
                let key =
                    (rule.resource.clone(), rule.container.map(str::to_string), rule.pod_level_resources);
                cache.push((key, vec![None; groups]));
                cache.len() - 1
            }
        };
        &mut cache[at].1
    }
}

/// What the members of a group share: class, container lists (addresses), and whether they are
/// unready once past their CPU initialization period.
type GroupKey = (u32, (usize, usize), bool);

/// Pods served from one class sample, sharing one request.
#[derive(Clone, Copy, Debug)]
struct Group {
    class: u32,
    /// The members: `members[start..end]`, in ascending start time (then name order).
    start: u32,
    end: u32,
    /// The latest start time of a member (once it is past the CPU initialization period, every
    /// member is: the common case, decided without a search).
    latest_start: SimTime,
    /// Past their CPU initialization period, the members' CPU samples are untrusted (they never
    /// became ready after starting).
    unready_when_settled: bool,
}

impl PodSampleJoin {
    /// Pairs `pods` with the entries of `list` by name and groups the pods that can be counted in
    /// bulk; `cpu` are the controller's readiness flags (a tally with other flags does not use the
    /// join). `None` when two pods or two entries share a name (the per-pod pass then decides
    /// how), or when there are more than `u32::MAX - 1` of either.
    pub fn new<P: HpaPod>(pods: &[P], list: &PodMetricsList, cpu: CpuReadiness) -> Option<Self> {
        let items = list.items();
        if pods.len() >= NO_ENTRY as usize || items.len() >= NO_ENTRY as usize {
            return None;
        }
        let pod_order = name_order(pods.len(), |i| pods[i].name())?;
        // Each pod's position in name order.
        let mut pod_rank = vec![0usize; pods.len()];
        for (rank, &pod) in pod_order.iter().enumerate() {
            pod_rank[pod as usize] = rank;
        }
        let entry_order = name_order(items.len(), |i| entry_name(&items[i]))?;

        let mut join =
            PodSampleJoin { pods: pods.len(), entries: items.len(), cpu: Some(cpu), ..Default::default() };
        // (class, request lists, unready when settled), pod index, start: sorted into groups
        // below (one buffer, not one per group: the join is rebuilt whenever a pod changes).
        let mut bulk_pods: Vec<(GroupKey, u32, SimTime)> = Vec::new();
        let mut entries = entry_order.iter().copied().peekable();
        for &pod_index in &pod_order {
            let name = pods[pod_index as usize].name();
            while entries.peek().is_some_and(|&e| entry_name(&items[e as usize]) < name) {
                join.strays.push(entries.next().expect("peeked"));
            }
            let entry = entries.next_if(|&e| entry_name(&items[e as usize]) == name);
            let facts = pods[pod_index as usize].facts();
            let class = match entry.map(|e| &items[e as usize]) {
                Some(ServedPodMetrics::Class { class, .. }) => Some(*class),
                _ => None,
            };
            let bulk = match (class, facts.ready_condition, facts.start_time, facts.request_lists) {
                (Some(class), Some((not_ready, transition)), Some(start), Some(lists))
                    if !facts.ignored && !facts.pending =>
                {
                    // `cpu_facts_unready` past the initialization period.
                    let unready = not_ready && start.saturating_add(cpu.initial_readiness_delay) > transition;
                    Some(((class, lists, unready), start))
                }
                _ => None,
            };
            match bulk {
                Some((key, start)) => bulk_pods.push((key, pod_index, start)),
                None => join.singles.push((pod_index, entry.unwrap_or(NO_ENTRY))),
            }
        }
        join.strays.extend(entries);
        // Groups in the order of their first member in name order (not by container-list
        // address): the tally does not depend on it, but the join's shape is then the same in
        // every run.
        bulk_pods.sort_by_key(|(key, _, _)| *key); // stable: members stay in name order
                                                   // (first member's position in name order, run of `bulk_pods`).
        let mut runs: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
        let mut at = 0;
        for run in bulk_pods.chunk_by(|a, b| a.0 == b.0) {
            let first = run.iter().map(|(_, pod, _)| pod_rank[*pod as usize]).min().expect("a member");
            runs.push((first, at..at + run.len()));
            at += run.len();
        }
        runs.sort_by_key(|(first, _)| *first);
        join.members.reserve_exact(bulk_pods.len());
        join.groups.reserve_exact(runs.len());
        for (_, range) in runs {
            let run = &mut bulk_pods[range];
            // Start order (stable: name order among equal starts): the members past their CPU
            // initialization period at a tally are then a prefix.
            run.sort_by_key(|(_, _, start)| *start);
            let start = join.members.len() as u32;
            join.members.extend(run.iter().map(|(_, pod, _)| *pod));
            let ((class, _, unready_when_settled), _, _) = run[0];
            let latest_start = run.last().expect("a member").2;
            join.groups.push(Group {
                class,
                start,
                end: join.members.len() as u32,
                latest_start,
                unready_when_settled,
            });
        }
        join.singles.shrink_to_fit();
        join.strays.shrink_to_fit();
        Some(join)
    }

    /// [`PodSampleJoin::tally`] as the calculators take it: `join` (if any) tallying `pods`
    /// against `list`'s samples of `resource` / `container`.
    pub(crate) fn tally_fn<'a, P: HpaPod>(
        join: Option<&'a PodSampleJoin>,
        pods: &'a [P],
        list: &'a PodMetricsList,
        resource: &'a ResourceName,
        container: Option<&'a str>,
    ) -> impl Fn(&TallyRules<'_>) -> Option<PodTally> + 'a {
        move |rules| join.and_then(|j| j.tally(pods, list, resource, container, rules))
    }

    /// How many pods are counted in bulk and how many one by one (a diagnostic).
    pub fn bulk_and_single_pods(&self) -> (usize, usize) {
        (self.members.len(), self.singles.len())
    }

    /// The tally of `pods` against the resource samples of `list` (`resource`, `container`)
    /// under `rules`, as the per-pod pass computes it; `None` when the join was built from other
    /// pods, entries or readiness flags (as far as it can tell: lengths and flags).
    pub(crate) fn tally<P: HpaPod>(
        &self,
        pods: &[P],
        list: &PodMetricsList,
        resource: &ResourceName,
        container: Option<&str>,
        rules: &TallyRules<'_>,
    ) -> Option<PodTally> {
        if pods.len() != self.pods || list.len() != self.entries {
            return None;
        }
        if rules.cpu.is_some_and(|(cpu, _)| Some(cpu) != self.cpu) {
            return None;
        }
        let sample = |m: &super::samples::PodMetrics| {
            resource_value(m, resource, container).map(|value| PodMetric {
                value,
                timestamp: m.timestamp,
                window: m.window,
            })
        };
        let mut t = PodTally::default();
        let mut requests = RequestMemo::default();
        let classes = list.class_samples();
        let mut remembered = self.group_requests.0.borrow_mut();
        let mut group_requests =
            rules.requests.as_ref().map(|r| GroupRequests::for_rule(&mut remembered, r, self.groups.len()));
        for (group, g) in self.groups.iter().enumerate() {
            let members = self.members.get(g.start as usize..g.end as usize)?;
            let first = pods.get(*members.first()? as usize)?;
            let request = match (rules.requests, group_requests.as_mut()) {
                (Some(r), Some(remembered)) => {
                    let read = remembered.get_mut(group)?.get_or_insert_with(|| {
                        pod_request(
                            Borrow::<Pod>::borrow(first),
                            r.resource,
                            r.container,
                            r.pod_level_resources,
                        )
                        .ok()
                    });
                    if read.is_none() {
                        t.request_failed = true;
                    }
                    read.unwrap_or(0)
                }
                _ => 0,
            };
            let n = members.len();
            let Some(m) = classes.get(g.class as usize).and_then(sample) else {
                add_missing(&mut t, n, request, rules);
                continue;
            };
            // The members whose classification is settled: a prefix (members ascend by start).
            let (settled, unready) = match rules.cpu {
                None => (n, false),
                Some((cpu, now)) if g.latest_start.saturating_add(cpu.cpu_initialization_period) <= now => {
                    (n, g.unready_when_settled)
                }
                Some((cpu, now)) => {
                    let past_initialization = |&i: &u32| {
                        pods.get(i as usize)
                            .and_then(|p| p.facts().start_time)
                            .is_some_and(|start| start.saturating_add(cpu.cpu_initialization_period) <= now)
                    };
                    (members.partition_point(past_initialization), g.unready_when_settled)
                }
            };
            if unready {
                add_unready(&mut t, settled, request);
            } else {
                add_ready(&mut t, settled, m.value, request);
            }
            for &i in &members[settled..] {
                add_pod(&mut t, &pods.get(i as usize)?.facts(), Some(m), request, rules);
            }
        }
        for &(i, entry) in &self.singles {
            let pod = pods.get(i as usize)?;
            let facts = pod.facts();
            let request = match rules.requests {
                Some(r) => requests.get(Borrow::<Pod>::borrow(pod), &facts, r, &mut t),
                None => 0,
            };
            let m = list.sample_of(entry as usize).and_then(sample);
            add_pod(&mut t, &facts, m, request, rules);
        }
        for &entry in &self.strays {
            if let Some(m) = list.sample_of(entry as usize).and_then(sample) {
                t.stray += 1;
                t.stray_value = t.stray_value.wrapping_add(m.value);
            }
        }
        Some(t)
    }
}

/// The pod an entry names.
fn entry_name(item: &ServedPodMetrics) -> &str {
    match item {
        ServedPodMetrics::Own(m) => m.pod_name.as_str(),
        ServedPodMetrics::Class { pod_name, .. } => pod_name.as_str(),
    }
}

/// Indices `0..n` in ascending `name` order; `None` when two names are equal.
fn name_order<'a>(n: usize, name: impl Fn(usize) -> &'a str) -> Option<Vec<u32>> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    // The store lists pods and the pipeline entries by key: usually sorted already.
    if !order.windows(2).all(|w| name(w[0] as usize) < name(w[1] as usize)) {
        order.sort_by(|&a, &b| name(a as usize).cmp(name(b as usize)));
        if order.windows(2).any(|w| name(w[0] as usize) == name(w[1] as usize)) {
            return None;
        }
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kubesim_api::{ConditionStatus, Pod};
    use sim_core::{SimDuration, SimTime};

    use super::*;
    use crate::hpa::pod_facts::FactPod;
    use crate::hpa::samples::PodMetrics;
    use crate::hpa::tally::{tally, RequestRule};
    use crate::hpa::testutil::{ready_pod, sample, set_ready, NOW};

    fn cpu() -> CpuReadiness {
        CpuReadiness {
            cpu_initialization_period: SimDuration::from_mins(5),
            initial_readiness_delay: SimDuration::from_secs(30),
        }
    }

    fn cpu_rules() -> TallyRules<'static> {
        TallyRules {
            cpu: Some((cpu(), NOW)),
            requests: Some(RequestRule {
                resource: &ResourceName::Cpu,
                container: None,
                pod_level_resources: true,
                fallback_percent: 100,
            }),
        }
    }

    /// `n` ready pods `web-000…` cloned from one template (one request: 500m), started long ago.
    fn deployment(n: usize) -> Vec<FactPod> {
        let template = ready_pod("t", 500, SimTime::ZERO);
        (0..n)
            .map(|i| {
                let mut p: Pod = template.clone();
                p.meta.name = format!("web-{i:03}").into();
                FactPod::new(Arc::new(p))
            })
            .collect()
    }

    /// Every pod served from class 0 (300m).
    fn one_class(pods: &[FactPod]) -> PodMetricsList {
        let items = pods
            .iter()
            .map(|p| ServedPodMetrics::Class { pod_name: HpaPod::name(p).into(), class: 0 })
            .collect();
        PodMetricsList::new(items, Arc::new(vec![sample("", ResourceName::Cpu, 300)]))
    }

    fn per_pod(pods: &[FactPod], list: &PodMetricsList, rules: &TallyRules<'_>) -> PodTally {
        let samples = crate::hpa::samples::resource_samples_of(list, &ResourceName::Cpu, None);
        tally(pods, samples, rules).expect("unique names")
    }

    #[test]
    fn a_deployment_on_one_class_sample_is_counted_as_one_group() {
        let pods = deployment(100);
        let list = one_class(&pods);
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        assert_eq!(join.bulk_and_single_pods(), (100, 0));
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &cpu_rules()).unwrap();
        // 100 × 300m of 100 × 500m.
        assert_eq!((t.ready, t.ready_value, t.ready_request), (100, 30_000, 50_000));
        assert_eq!(t, per_pod(&pods, &list, &cpu_rules()));
    }

    #[test]
    fn group_requests_are_remembered_per_rule_and_agree_with_the_per_pod_pass() {
        // Two groups (two templates: 500m and 200m CPU, 1 GiB memory each), tallied again and
        // again under rules that alternate: each tally must equal the per-pod pass, whichever
        // rule's requests the join remembered first.
        let mut pods = deployment(6);
        let small = ready_pod("s", 200, SimTime::ZERO);
        for (i, p) in pods.iter_mut().enumerate().skip(3) {
            let mut q = small.clone();
            q.meta.name = format!("web-{i:03}").into();
            *p = FactPod::new(Arc::new(q));
        }
        let list = one_class(&pods);
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        assert_eq!(join.bulk_and_single_pods(), (6, 0));
        let rule = |resource: &'static ResourceName, container: Option<&'static str>| TallyRules {
            cpu: Some((cpu(), NOW)),
            requests: Some(RequestRule {
                resource,
                container,
                pod_level_resources: true,
                fallback_percent: 100,
            }),
        };
        let cpu_rule = rule(&ResourceName::Cpu, None);
        let memory_rule = rule(&ResourceName::Memory, None);
        let app_rule = rule(&ResourceName::Cpu, Some("app"));
        let missing_rule = rule(&ResourceName::Cpu, Some("sidecar"));
        for rules in [&cpu_rule, &memory_rule, &cpu_rule, &app_rule, &missing_rule, &memory_rule, &cpu_rule] {
            let t = join.tally(&pods, &list, &ResourceName::Cpu, None, rules).unwrap();
            assert_eq!(t, per_pod(&pods, &list, rules));
        }
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &cpu_rule).unwrap();
        assert_eq!((t.ready, t.ready_request), (6, 3 * 500 + 3 * 200));
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &memory_rule).unwrap();
        assert_eq!(t.ready_request, (6i64 << 30) * 1000, "memory requests in milli-units");
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &missing_rule).unwrap();
        assert!(t.request_failed, "no container named sidecar: the request cannot be read");
        // More rules than the join remembers: still the per-pod pass's answers.
        let resources: Vec<&'static ResourceName> = vec![
            &ResourceName::Cpu,
            &ResourceName::Memory,
            &ResourceName::EphemeralStorage,
            &ResourceName::Pods,
            &ResourceName::Cpu,
        ];
        for resource in resources {
            let rules = rule(resource, None);
            let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &rules).unwrap();
            assert_eq!(t, per_pod(&pods, &list, &rules));
        }
    }

    #[test]
    fn a_group_with_a_member_still_initializing_is_visited_pod_by_pod() {
        let mut pods = deployment(10);
        // web-004 started 100 s before NOW (inside the 5 min period) and turned ready 60 s before:
        // its sample (ending 10 s before NOW, 60 s window) began before that, so it is unready.
        let mut young: Pod = (**pods[4].pod()).clone();
        young.status.start_time = Some(NOW.saturating_sub(SimDuration::from_secs(100)));
        set_ready(&mut young, ConditionStatus::True, NOW.saturating_sub(SimDuration::from_secs(60)));
        pods[4] = FactPod::new(Arc::new(young));
        let list = one_class(&pods);
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        assert_eq!(join.bulk_and_single_pods(), (10, 0));
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &cpu_rules()).unwrap();
        assert_eq!((t.ready, t.unready, t.unready_request), (9, 1, 500));
        assert_eq!(t, per_pod(&pods, &list, &cpu_rules()));
        // Memory has no readiness rules: all ten count.
        let memory = TallyRules { cpu: None, requests: None };
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &memory).unwrap();
        assert_eq!(t.ready, 10);
    }

    #[test]
    fn only_the_members_still_initializing_change_a_settled_groups_count() {
        // 20 pods; web-000 and web-001 (first in name order) were just added by a scale-up:
        // started 100 s before NOW; web-000 turned ready 60 s before NOW (after its sample's
        // window began: unready), web-001 at its start (its sample is trusted: ready).
        let mut pods = deployment(20);
        for (i, ready_ago) in [(0, 60), (1, 100)] {
            let mut young: Pod = (**pods[i].pod()).clone();
            young.status.start_time = Some(NOW.saturating_sub(SimDuration::from_secs(100)));
            set_ready(
                &mut young,
                ConditionStatus::True,
                NOW.saturating_sub(SimDuration::from_secs(ready_ago)),
            );
            pods[i] = FactPod::new(Arc::new(young));
        }
        let list = one_class(&pods);
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        assert_eq!(join.bulk_and_single_pods(), (20, 0));
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &cpu_rules()).unwrap();
        // 18 settled + web-001 ready (19 × 300m), web-000 unready.
        assert_eq!((t.ready, t.ready_value, t.unready, t.unready_request), (19, 5_700, 1, 500));
        assert_eq!(t, per_pod(&pods, &list, &cpu_rules()));
        // Ten minutes on, every member is settled: all twenty ready.
        let later = TallyRules { cpu: Some((cpu(), NOW + SimDuration::from_mins(10))), ..cpu_rules() };
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &later).unwrap();
        assert_eq!(t, per_pod(&pods, &list, &later));
    }

    #[test]
    fn own_samples_missing_pods_and_strays_are_tallied_one_by_one() {
        let pods = deployment(4);
        let mut items: Vec<ServedPodMetrics> = one_class(&pods).into_items();
        // web-001 has its own sample; web-002 none; `zzz` names no pod.
        items[1] = ServedPodMetrics::Own(Arc::new(sample("web-001", ResourceName::Cpu, 700)));
        items.remove(2);
        items.push(ServedPodMetrics::Own(Arc::new(sample("zzz", ResourceName::Cpu, 5))));
        let list = PodMetricsList::new(items, Arc::new(vec![sample("", ResourceName::Cpu, 300)]));
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        assert_eq!(join.bulk_and_single_pods(), (2, 2));
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &cpu_rules()).unwrap();
        // Ready: 300 + 700 + 300; missing: web-002; stray: zzz.
        assert_eq!((t.ready, t.ready_value, t.missing, t.stray, t.stray_value), (3, 1300, 1, 1, 5));
        assert_eq!(t, per_pod(&pods, &list, &cpu_rules()));
    }

    #[test]
    fn a_class_sample_without_the_resource_leaves_its_pods_missing() {
        let pods = deployment(3);
        let items = one_class(&pods).into_items();
        let list = PodMetricsList::new(items, Arc::new(vec![sample("", ResourceName::Memory, 1 << 20)]));
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        let t = join.tally(&pods, &list, &ResourceName::Cpu, None, &cpu_rules()).unwrap();
        assert_eq!((t.ready, t.missing, t.missing_request, t.missing_fallback), (0, 3, 1500, 1500));
        assert_eq!(t, per_pod(&pods, &list, &cpu_rules()));
    }

    #[test]
    fn repeated_names_and_other_inputs_leave_the_tally_to_the_per_pod_pass() {
        let mut pods = deployment(3);
        let list = one_class(&pods);
        let join = PodSampleJoin::new(&pods, &list, cpu()).unwrap();
        // Another readiness configuration, or another pod count: not used.
        let other = TallyRules {
            cpu: Some((CpuReadiness { initial_readiness_delay: SimDuration::ZERO, ..cpu() }, NOW)),
            ..cpu_rules()
        };
        assert_eq!(join.tally(&pods, &list, &ResourceName::Cpu, None, &other), None);
        assert_eq!(join.tally(&pods[..2], &list, &ResourceName::Cpu, None, &cpu_rules()), None);
        pods[2] = pods[1].clone();
        assert!(PodSampleJoin::new(&pods, &list, cpu()).is_none());
        let twice = PodMetricsList::new(
            vec![ServedPodMetrics::Own(Arc::new(sample("a", ResourceName::Cpu, 1))); 2],
            Arc::new(Vec::<PodMetrics>::new()),
        );
        assert!(PodSampleJoin::new(&deployment(1), &twice, cpu()).is_none());
    }
}
