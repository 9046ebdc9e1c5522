//! The Job controller: pods from the template until `completions` succeed, at most
//! `parallelism` at once, failing the Job past `backoffLimit` or `activeDeadlineSeconds`
//! (decisions from `kubesim_controllers::job::sync_job`).
//!
//! A Job is synced when one of its pods changes phase or readiness, starts terminating or goes
//! away, and when its deadline or pod-failure backoff expires. Finished pods stay in the store
//! (upstream keeps them until the Job is deleted or its TTL expires), so the counts are read
//! from the store each sync. The pod-failure backoff record is fed the finish time of each failed
//! pod the first time a sync sees it.

use kubesim_api::{ContainerState, Job, LabelSelector, PodPhase};
use kubesim_controllers::job::{is_pod_failed, sync_job, JobConditionType, JobSync, JobTracking};

use super::*;

/// Label carrying the Job's uid on its pods (and its generated selector).
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// Label carrying the Job's name on its pods.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";

/// The controller's memory for one Job.
#[derive(Debug, Default)]
pub(super) struct JobSlot {
    tracking: JobTracking,
    /// Finished pods already fed to the backoff record.
    counted: BTreeSet<String>,
    pub(super) timer: Option<EventId>,
    last: Option<JobSync>,
}

/// A Job's status as the controller last computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobStatus {
    /// Active pods.
    pub active: i32,
    /// Succeeded pods.
    pub succeeded: i32,
    /// Failed pods.
    pub failed: i32,
    /// `Some(true)` Complete, `Some(false)` Failed, `None` still running.
    pub complete: Option<bool>,
}

fn finish_time(pod: &Pod) -> Option<SimTime> {
    pod.status
        .container_statuses
        .iter()
        .filter_map(|c| match c.state {
            ContainerState::Terminated { finished_at, .. } => Some(finished_at),
            _ => None,
        })
        .max()
}

impl<W: Write> World<W> {
    pub(super) fn apply_job(&mut self, mut job: Job, now: SimTime, q: &mut EventQueue<Event>) {
        if job.meta.namespace.is_empty() {
            job.meta.namespace = "default".into();
        }
        let key = job.meta.key();
        if self.store.jobs.contains_key(&key) {
            // Job specs are immutable apart from parallelism; a re-apply only updates that.
            if let Some(old) = self.store.jobs.get_mut(&key) {
                if old.parallelism != job.parallelism {
                    old.parallelism = job.parallelism;
                    old.meta.generation += 1;
                }
            }
        } else {
            job.meta.uid = self.store.next_uid("job").into();
            job.meta.creation_timestamp = now;
            job.meta.generation = 1;
            let uid = job.meta.uid.clone();
            if job.selector == LabelSelector::default() {
                job.selector = LabelSelector::from_labels([(CONTROLLER_UID_LABEL, uid.as_str())]);
            }
            job.template.labels.insert(CONTROLLER_UID_LABEL.into(), uid.to_string());
            job.template.labels.insert(JOB_NAME_LABEL.into(), job.meta.name.to_string());
            self.store.jobs.insert(key.clone(), job);
            self.ctl.jobs.insert(key.clone(), JobSlot::default());
        }
        let generation = self.store.jobs.get(&key).map_or(1, |j| j.meta.generation);
        self.record(
            now,
            "ObjectApplied",
            &rec::ObjectApplied { object_kind: "Job", object: &key.to_string(), generation },
        );
        self.ctl.dirty_jobs.insert(key);
        self.schedule_controller_sync(now, q);
    }

    /// `syncJob`.
    pub(super) fn sync_job(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(job) = self.store.jobs.get(key).cloned() else { return };
        let pods: Vec<Pod> = self.store.pods_of_owner(&job.meta.uid).map(|p| Pod::clone(p)).collect();
        let Some(slot) = self.ctl.jobs.get_mut(key) else { return };
        for pod in &pods {
            let done =
                matches!(pod.status.phase, PodPhase::Succeeded | PodPhase::Failed) || is_pod_failed(pod);
            if !done || !slot.counted.insert(pod.meta.name.to_string()) {
                continue;
            }
            if pod.status.phase == PodPhase::Succeeded {
                slot.tracking.backoff.observe_success();
            } else {
                slot.tracking.backoff.observe_failure(finish_time(pod).unwrap_or(now));
            }
        }
        let s = sync_job(&job, &pods, &slot.tracking, now);
        slot.tracking.start_time = Some(s.start_time);
        if let Some(id) = slot.timer.take() {
            q.cancel(id);
        }
        if let Some(after) = s.requeue_after {
            slot.timer = Some(
                q.schedule_at(now + after, Event::Ctl(CtlEvent::ResyncJob(key.clone())))
                    .expect("not in the past"),
            );
        }
        let finished_now = s.condition.clone().filter(|_| slot.tracking.finished.is_none());
        if let Some(c) = &finished_now {
            slot.tracking.finished = Some(c.clone());
        }
        slot.last = Some(s.clone());
        for name in &s.delete {
            self.delete_pod(&ObjectKey::new(&key.namespace, name), "job", now, q);
        }
        for _ in 0..s.create {
            let pod = self.pod_from_job(&job);
            self.create_pod(pod, now, q);
        }
        if let Some(c) = finished_now {
            let condition = match c.kind {
                JobConditionType::Complete => "Complete",
                JobConditionType::Failed => "Failed",
            };
            self.record(
                now,
                "JobFinished",
                &rec::JobFinished {
                    job: &key.to_string(),
                    condition,
                    reason: c.reason,
                    succeeded: s.succeeded,
                    failed: s.failed,
                },
            );
        }
    }

    /// A pod for `job`, named as `generateName: <job>-` would.
    fn pod_from_job(&mut self, job: &Job) -> Pod {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let name = loop {
            let suffix: String =
                (0..5).map(|_| ALPHABET[self.names.below(ALPHABET.len() as u64) as usize] as char).collect();
            let name = format!("{}-{suffix}", job.meta.name);
            if self.store.pod(&ObjectKey::new(&job.meta.namespace, &name)).is_none() {
                break name;
            }
        };
        let mut meta = ObjectMeta::named(&job.meta.namespace, &name);
        meta.labels = job.template.labels.clone();
        meta.annotations = job.template.annotations.clone();
        meta.owner_references.push(OwnerReference {
            kind: "Job".into(),
            name: job.meta.name.to_string(),
            uid: job.meta.uid.to_string(),
            controller: true,
        });
        Pod { meta, spec: job.template.spec.clone().into(), status: Default::default() }
    }
}

impl<W: Write> Cluster<W> {
    /// Creates a Job now (re-applying one only updates `parallelism`).
    pub fn apply_job(&mut self, job: Job) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.apply_job(job, now, &mut self.queue);
        self.world.take_error()
    }

    /// A Job's status as of its last sync.
    pub fn job_status(&self, key: &ObjectKey) -> Option<JobStatus> {
        let slot = self.world.ctl.jobs.get(key)?;
        let s = slot.last.as_ref()?;
        Some(JobStatus {
            active: s.active,
            succeeded: s.succeeded,
            failed: s.failed,
            complete: slot.tracking.finished.as_ref().map(|c| c.kind == JobConditionType::Complete),
        })
    }
}
