//! The scheduler's wake-ups, cycles and bindings.

use super::*;

impl<W: Write> World<W> {
    // ---------------------------------------------------------------- scheduler

    pub(super) fn wake_scheduler(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        let at = now + self.config.scheduler_delay;
        self.wake_scheduler_at(at, q);
    }

    pub(super) fn wake_scheduler_at(&mut self, at: SimTime, q: &mut EventQueue<Event>) {
        match self.scheduler_wake {
            Some((t, _)) if t <= at => {}
            Some((_, id)) => {
                q.cancel(id);
                self.scheduler_wake =
                    Some((at, q.schedule_at(at, Event::SchedulerWake).expect("not in the past")));
            }
            None => {
                self.scheduler_wake =
                    Some((at, q.schedule_at(at, Event::SchedulerWake).expect("not in the past")));
            }
        }
    }

    pub(super) fn run_scheduler(&mut self, now: SimTime, q: &mut EventQueue<Event>) {
        self.refresh_scheduler_objects();
        self.scheduler.tick(now);
        let mut attempts_left = self.scheduler.pending_pods() + 1;
        while attempts_left > 0 {
            attempts_left -= 1;
            let Some(outcome) = self.scheduler.schedule_next(now) else { break };
            match outcome {
                ScheduleOutcome::Bound { pod, node } => self.bind(&pod, &node, now, q),
                ScheduleOutcome::Unschedulable { pod, message } | ScheduleOutcome::Error { pod, message } => {
                    self.record(
                        now,
                        "PodUnschedulable",
                        &rec::PodUnschedulable { pod: &pod.to_string(), message: &message },
                    );
                }
                ScheduleOutcome::Preempting { pod, node, victims } => {
                    self.record(
                        now,
                        "PodPreempting",
                        &rec::PodPreempting {
                            pod: &pod.to_string(),
                            node: &node,
                            victims: victims.iter().map(ToString::to_string).collect(),
                        },
                    );
                    for v in victims {
                        self.delete_pod(&v, "preemption", now, q);
                    }
                }
            }
        }
        if let Some(at) = self.scheduler.next_wakeup(now) {
            self.wake_scheduler_at(at.max(now), q);
        }
    }

    pub(super) fn bind(&mut self, key: &ObjectKey, node: &str, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(mut pod) = self.store.pod(key).map(|p| Pod::clone(p)) else { return };
        pod.spec.node_name = Some(node.to_string());
        pod.status.conditions.retain(|c| c.kind != PodConditionType::PodScheduled);
        pod.status.conditions.push(PodCondition {
            kind: PodConditionType::PodScheduled,
            status: ConditionStatus::True,
            last_transition_time: Some(now),
            reason: None,
        });
        self.counters.pods_scheduled += 1;
        let latency = now.saturating_duration_since(pod.meta.creation_timestamp);
        self.record(
            now,
            "PodScheduled",
            &rec::PodScheduled { pod: &key.to_string(), node, latency_ns: latency.as_nanos() },
        );
        let pod = self.store.put_pod(pod);
        self.assign_to_kubelet(&pod, now, q);
    }
}
