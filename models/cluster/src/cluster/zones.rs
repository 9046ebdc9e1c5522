//! The node lifecycle controller's zone rules: per-zone disruption states, and the rate limiter
//! that paces NoExecute tainting (`ComputeZoneState`, `handleDisruption`, `setLimiterInZone`,
//! `doNoExecuteTaintingPass`).
//!
//! A node declared Unknown gets `unreachable:NoSchedule` at once and joins its zone's queue for
//! `unreachable:NoExecute`. Each zone has a token bucket (burst 1) whose rate follows the zone's
//! state: Normal and FullDisruption 0.1 nodes/s, PartialDisruption 0.01/s in zones of more than 50
//! nodes and 0 otherwise, and 0 everywhere while every zone is fully disrupted (a control-plane
//! partition looks exactly like that, and evicting everything would be wrong).

use kubesim_controllers::node_lifecycle::zones::{zone_rate, zone_state, TokenBucket, ZoneConfig};

use super::*;

/// One zone's NoExecute tainting queue and limiter.
#[derive(Debug)]
pub(super) struct ZoneTainter {
    bucket: TokenBucket,
    rate: f64,
    queue: std::collections::VecDeque<u32>,
    retry: Option<EventId>,
}

/// All zones, by zone label ("" for nodes without one, as upstream).
#[derive(Debug, Default)]
pub(super) struct ZoneTainting {
    zones: BTreeMap<String, ZoneTainter>,
    config: ZoneConfig,
}

fn zone_of(node: &Node) -> String {
    node.meta.labels.get(kubesim_api::meta::well_known::ZONE).cloned().unwrap_or_default()
}

impl<W: Write> World<W> {
    /// Queues `node` for the NoExecute taint and runs its zone's pass.
    pub(super) fn queue_for_no_execute_taint(&mut self, node: u32, now: SimTime, q: &mut EventQueue<Event>) {
        let name = self.nodes[node as usize].name.clone();
        let Some(zone) = self.store.nodes.get(&name).map(zone_of) else { return };
        let tainter = self.zone_tainter(&zone, now);
        if !tainter.queue.contains(&node) {
            tainter.queue.push_back(node);
        }
        // The pass runs after every node of this monitor tick has been examined (upstream
        // computes zone states after the whole `monitorNodeHealth` sweep, and taints in a separate
        // loop), so a whole zone going down at once is seen as one FullDisruption.
        if let Some(id) = tainter.retry.take() {
            q.cancel(id);
        }
        let id = q.schedule_at(now, Event::ZoneTaintPass(zone.clone())).expect("not in the past");
        self.zone_tainter(&zone, now).retry = Some(id);
    }

    /// Removes `node` from its zone queue (it came back); true if it was queued.
    pub(super) fn dequeue_from_tainting(
        &mut self,
        node: u32,
        now: SimTime,
        q: &mut EventQueue<Event>,
    ) -> bool {
        let mut was = false;
        for t in self.zone_tainting.zones.values_mut() {
            let before = t.queue.len();
            t.queue.retain(|n| *n != node);
            was |= t.queue.len() != before;
        }
        let zones: Vec<String> = self.zone_tainting.zones.keys().cloned().collect();
        for zone in zones {
            self.zone_taint_pass(&zone, now, q);
        }
        was
    }

    fn zone_tainter(&mut self, zone: &str, now: SimTime) -> &mut ZoneTainter {
        let rate = self.zone_tainting.config.eviction_rate;
        self.zone_tainting.zones.entry(zone.to_string()).or_insert_with(|| ZoneTainter {
            bucket: TokenBucket::new(rate, now),
            rate,
            queue: Default::default(),
            retry: None,
        })
    }

    /// Recomputes every zone's state from the nodes' Ready conditions and swaps limiter rates.
    fn update_zone_rates(&mut self, now: SimTime) {
        let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for node in self.store.nodes.values() {
            let e = counts.entry(zone_of(node)).or_default();
            if node.is_ready() {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let cfg = self.zone_tainting.config;
        let states: BTreeMap<String, _> = counts
            .iter()
            .map(|(z, (ready, not_ready))| (z.clone(), zone_state(*ready, *not_ready, &cfg)))
            .collect();
        let all_full = !states.is_empty()
            && states
                .values()
                .all(|s| *s == kubesim_controllers::node_lifecycle::zones::ZoneState::FullDisruption);
        for (zone, state) in states {
            let size = counts[&zone].0 + counts[&zone].1;
            let rate = zone_rate(state, size, all_full, &cfg);
            let t = self.zone_tainter(&zone, now);
            if t.rate != rate {
                t.rate = rate;
                t.bucket.swap_rate(rate, now);
            }
        }
    }

    /// Taints queued nodes while the zone's limiter grants tokens; retries when the next comes.
    pub(super) fn zone_taint_pass(&mut self, zone: &str, now: SimTime, q: &mut EventQueue<Event>) {
        self.update_zone_rates(now);
        loop {
            let Some(t) = self.zone_tainting.zones.get_mut(zone) else { return };
            if let Some(id) = t.retry.take() {
                q.cancel(id);
            }
            let Some(&node) = t.queue.front() else { return };
            if !t.bucket.try_accept(now) {
                if let Some(at) = t.bucket.next_token_at() {
                    let id = q
                        .schedule_at(at.max(now), Event::ZoneTaintPass(zone.to_string()))
                        .expect("not in the past");
                    t.retry = Some(id);
                }
                return;
            }
            t.queue.pop_front();
            self.taint_node(node, now, q);
        }
    }
}
