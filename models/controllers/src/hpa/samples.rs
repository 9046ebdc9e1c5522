//! Metric samples as the metrics APIs return them, and their conversion into per-pod values
//! (`metrics/client.go :: getPodMetrics, getContainerMetrics`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim_api::{ResourceList, ResourceName};
use sim_core::{SimDuration, SimTime};
use smallvec::SmallVec;

use super::pod_name::PodName;
use super::HpaError;

/// Usage of one container in a `metrics.k8s.io` PodMetrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerMetrics {
    /// Container name.
    pub name: String,
    /// Usage in the canonical units of [`ResourceList`] (CPU millicores, memory bytes).
    pub usage: ResourceList,
}

/// One `metrics.k8s.io/v1beta1` PodMetrics: the usage of a pod averaged over `window`,
/// ending at `timestamp`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodMetrics {
    /// Pod name (inline when short: the replica calculator compares it every sync).
    pub pod_name: PodName,
    /// End of the sampling window.
    pub timestamp: SimTime,
    /// Length of the sampling window (metrics-server: the scrape interval).
    pub window: SimDuration,
    /// Per-container usage. Inline for one container (most pods): a metrics model rewrites, and
    /// the controller reads, every pod's sample every 15 s, and one block per sample is one
    /// cache miss fewer than a block plus a list.
    pub containers: SmallVec<[ContainerMetrics; 1]>,
}

/// One item of a `custom.metrics.k8s.io` MetricValueList for a Pods metric.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodMetricValue {
    /// Pod name.
    pub pod_name: String,
    /// Value in milli-units.
    pub value_milli: i64,
    /// Sample time.
    pub timestamp: SimTime,
    /// Sample window.
    pub window: SimDuration,
}

/// One pod's entry in the resource metrics API's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServedPodMetrics {
    /// The pod's own sample (its `pod_name` names the pod).
    Own(Arc<PodMetrics>),
    /// A pod of a usage class: pods whose samples are identical but for the name share one
    /// sample (see [`PodMetricsList`]), whose own `pod_name` is then not read.
    Class {
        /// The pod.
        pod_name: PodName,
        /// Index into the list's class samples.
        class: u32,
    },
}

/// The resource metrics API's answer as the controller is given it: one entry per pod that
/// metrics-server reported, in the API's order.
///
/// A metrics model serves thousands of pods whose usage is identical between transitions (the
/// ready replicas of one Deployment under an evenly spread load); rewriting and re-reading a
/// sample per pod every 15 s was most of a large run. Such pods name a *class sample* instead,
/// rewritten once per class. The controller sees the same `(name, sample)` pairs either way
/// ([`PodMetricsList::iter`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodMetricsList {
    items: Vec<ServedPodMetrics>,
    /// The class samples `ServedPodMetrics::Class` entries index (shared with the model that
    /// wrote them).
    classes: Arc<Vec<PodMetrics>>,
}

impl PodMetricsList {
    /// A list of `items` whose class entries index `classes`. An entry naming a class that
    /// `classes` lacks is not listed (as if metrics-server had not reported the pod).
    pub fn new(items: Vec<ServedPodMetrics>, classes: Arc<Vec<PodMetrics>>) -> Self {
        PodMetricsList { items, classes }
    }

    /// No pod reported.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many entries the list holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// `(pod name, sample)` of every entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PodMetrics)> + Clone {
        let classes = &self.classes;
        self.items.iter().filter_map(move |item| match item {
            ServedPodMetrics::Own(m) => Some((m.pod_name.as_str(), &**m)),
            ServedPodMetrics::Class { pod_name, class } => {
                classes.get(*class as usize).map(|m| (pod_name.as_str(), m))
            }
        })
    }

    /// The entries as given.
    pub fn items(&self) -> &[ServedPodMetrics] {
        &self.items
    }

    /// The class samples the class entries index.
    pub fn class_samples(&self) -> &[PodMetrics] {
        &self.classes
    }

    /// The sample entry `index` is served with (`None`: no such entry, or a class the list
    /// lacks, which is not listed).
    pub(crate) fn sample_of(&self, index: usize) -> Option<&PodMetrics> {
        match self.items.get(index)? {
            ServedPodMetrics::Own(m) => Some(m),
            ServedPodMetrics::Class { class, .. } => self.classes.get(*class as usize),
        }
    }

    /// The pods' own samples, to edit (tests and tools adjusting an answer).
    pub fn own_mut(&mut self) -> impl Iterator<Item = &mut Arc<PodMetrics>> {
        self.items.iter_mut().filter_map(|item| match item {
            ServedPodMetrics::Own(m) => Some(m),
            ServedPodMetrics::Class { .. } => None,
        })
    }

    /// Gives the entries back (a caller that keeps its list between reads reuses it).
    pub fn into_items(self) -> Vec<ServedPodMetrics> {
        self.items
    }
}

impl From<Vec<Arc<PodMetrics>>> for PodMetricsList {
    fn from(own: Vec<Arc<PodMetrics>>) -> Self {
        own.into_iter().collect()
    }
}

impl FromIterator<Arc<PodMetrics>> for PodMetricsList {
    fn from_iter<I: IntoIterator<Item = Arc<PodMetrics>>>(own: I) -> Self {
        PodMetricsList {
            items: own.into_iter().map(ServedPodMetrics::Own).collect(),
            classes: Arc::default(),
        }
    }
}

/// Every metric value the controller can read at one moment. An absent entry behaves like a
/// metrics API that returned nothing (an error for that metric).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Resource metrics API: one entry per pod that metrics-server reported.
    pub pod_metrics: PodMetricsList,
    /// Custom metrics API, Pods metrics: metric name → per-pod values.
    pub pods: BTreeMap<String, Vec<PodMetricValue>>,
    /// Custom metrics API, Object metrics: (metric name, `kind/name`) → value in milli-units.
    pub objects: BTreeMap<(String, String), i64>,
    /// External metrics API: metric name → values of every selected series, in milli-units.
    pub external: BTreeMap<String, Vec<i64>>,
}

/// One pod's value of one metric, in milli-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodMetric {
    /// Value in milli-units.
    pub value: i64,
    /// Sample end.
    pub timestamp: SimTime,
    /// Sample window.
    pub window: SimDuration,
}

/// Pod name → metric, ordered (upstream uses a Go map; every use is order-independent).
pub type PodMetricsInfo = BTreeMap<String, PodMetric>;

/// `Quantity.MilliValue()` of an amount held in canonical units: CPU is already in millicores,
/// everything else is in base units.
pub fn milli_value(resource: &ResourceName, amount: i64) -> i64 {
    if *resource == ResourceName::Cpu {
        amount
    } else {
        amount.saturating_mul(1000)
    }
}

/// `list.get(resource)` by a scan: lists hold a few entries, and the scan inlines where the
/// binary search does not (one lookup per container per pod per sync).
#[inline]
pub(crate) fn amount(list: &ResourceList, resource: &ResourceName) -> Option<i64> {
    list.iter().find(|(k, _)| *k == resource).map(|(_, v)| v)
}

/// Per-pod usage of `resource`: the sum over all containers, or one named container. A pod that
/// lacks the resource in any container (or has no containers) is left out, as upstream does.
pub fn resource_metrics(
    snapshot: &MetricsSnapshot,
    resource: &ResourceName,
    container: Option<&str>,
) -> Result<PodMetricsInfo, HpaError> {
    if snapshot.pod_metrics.is_empty() {
        return Err(HpaError::NoMetricsReturned { api: "resource metrics" });
    }
    let mut out = PodMetricsInfo::new();
    for (name, metric) in resource_samples(snapshot, resource, container) {
        out.insert(name.to_string(), metric);
    }
    Ok(out)
}

/// One PodMetrics' usage of `resource` in milli-units: the sum over all containers, or the named
/// container; `None` when a container lacks the resource or there are no containers.
pub(crate) fn resource_value(
    m: &PodMetrics,
    resource: &ResourceName,
    container: Option<&str>,
) -> Option<i64> {
    match container {
        Some(name) => m
            .containers
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| amount(&c.usage, resource))
            .map(|v| milli_value(resource, v)),
        None => {
            if m.containers.is_empty() {
                None
            } else {
                m.containers.iter().try_fold(0i64, |sum, c| {
                    amount(&c.usage, resource).map(|v| sum.saturating_add(milli_value(resource, v)))
                })
            }
        }
    }
}

/// The samples [`resource_metrics`] collects, in snapshot order and borrowing the pod names
/// (a repeated name: the last one wins once collected into a map).
pub(crate) fn resource_samples<'s>(
    snapshot: &'s MetricsSnapshot,
    resource: &'s ResourceName,
    container: Option<&'s str>,
) -> impl Iterator<Item = (&'s str, PodMetric)> + Clone + 's {
    snapshot.pod_metrics.iter().filter_map(move |(name, m)| {
        let value = resource_value(m, resource, container)?;
        Some((name, PodMetric { value, timestamp: m.timestamp, window: m.window }))
    })
}

/// [`resource_samples`] of a bare list.
#[cfg(test)]
pub(crate) fn resource_samples_of<'s>(
    list: &'s PodMetricsList,
    resource: &'s ResourceName,
    container: Option<&'s str>,
) -> impl Iterator<Item = (&'s str, PodMetric)> + Clone + 's {
    list.iter().filter_map(move |(name, m)| {
        let value = resource_value(m, resource, container)?;
        Some((name, PodMetric { value, timestamp: m.timestamp, window: m.window }))
    })
}

/// The samples [`custom_pod_metrics`] collects, in snapshot order and borrowing the pod names;
/// an error where it errs.
pub(crate) fn custom_samples<'s>(
    snapshot: &'s MetricsSnapshot,
    metric: &str,
) -> Result<impl Iterator<Item = (&'s str, PodMetric)> + Clone + 's, HpaError> {
    let values = snapshot.pods.get(metric).filter(|v| !v.is_empty());
    let Some(values) = values else {
        return Err(HpaError::NoMetricsReturned { api: "custom metrics" });
    };
    Ok(values.iter().map(|v| {
        (v.pod_name.as_str(), PodMetric { value: v.value_milli, timestamp: v.timestamp, window: v.window })
    }))
}

/// Per-pod values of a Pods (custom) metric.
pub fn custom_pod_metrics(snapshot: &MetricsSnapshot, metric: &str) -> Result<PodMetricsInfo, HpaError> {
    Ok(custom_samples(snapshot, metric)?.map(|(name, m)| (name.to_string(), m)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(name: &str, containers: &[(&str, Option<i64>)]) -> PodMetrics {
        PodMetrics {
            pod_name: name.into(),
            timestamp: SimTime::from_secs(100),
            window: SimDuration::from_secs(60),
            containers: containers
                .iter()
                .map(|(c, v)| ContainerMetrics {
                    name: (*c).into(),
                    usage: match v {
                        Some(v) => ResourceList::new().with_cpu_millis(*v),
                        None => ResourceList::new().with_memory_bytes(1),
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn pod_usage_sums_containers_and_drops_pods_missing_one() {
        let snap = MetricsSnapshot {
            pod_metrics: vec![
                pm("a", &[("app", Some(300)), ("sidecar", Some(50))]),
                pm("b", &[("app", Some(300)), ("sidecar", None)]),
                pm("c", &[]),
            ]
            .into_iter()
            .map(Arc::new)
            .collect(),
            ..Default::default()
        };
        let all = resource_metrics(&snap, &ResourceName::Cpu, None).unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(all["a"].value, 350);
        let app = resource_metrics(&snap, &ResourceName::Cpu, Some("app")).unwrap();
        assert_eq!(app.len(), 2);
        assert_eq!(app["b"].value, 300);
    }

    #[test]
    fn memory_is_read_in_milli_bytes_like_upstream() {
        assert_eq!(milli_value(&ResourceName::Memory, 1024), 1_024_000);
        assert_eq!(milli_value(&ResourceName::Cpu, 250), 250);
    }

    #[test]
    fn an_empty_resource_metrics_answer_is_an_error() {
        let err = resource_metrics(&MetricsSnapshot::default(), &ResourceName::Cpu, None).unwrap_err();
        assert_eq!(err, HpaError::NoMetricsReturned { api: "resource metrics" });
    }
}
