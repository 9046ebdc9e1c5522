//! A small synthetic run, for documentation, examples and tests.
//!
//! Forty minutes of a 3-node cluster sampled every 15 s: deployment `default/web` (6 replicas)
//! rolls out a new image at 10 min; node `node-2` fails at 25 min and `web` loses two pods for
//! 90 s; `default/api` is scaled by its HPA from 3 to 7 replicas between 20 and 30 min. The
//! numbers come from closed-form piecewise-linear formulas (no randomness, no `sin`), so the
//! table is bit-identical everywhere.

use sim_core::SimTime;

use crate::metrics::{names, MetricsTable, CLUSTER_OBJECT};

/// Sampling interval of the demo, seconds.
pub const DEMO_INTERVAL_S: u64 = 15;
/// Length of the demo run, seconds.
pub const DEMO_DURATION_S: u64 = 2400;

/// Triangle wave in [0, 1] with the given period (seconds), phase-shifted by `shift_s`.
fn triangle(t_s: u64, period_s: u64, shift_s: u64) -> f64 {
    let x = (t_s + shift_s) % period_s;
    let half = period_s / 2;
    if x < half {
        x as f64 / half as f64
    } else {
        (period_s - x) as f64 / half as f64
    }
}

/// The demo metrics (see the module docs).
pub fn demo_metrics() -> MetricsTable {
    let mut t = MetricsTable::new();
    let web = "default/web";
    let api = "default/api";
    for t_s in (0..=DEMO_DURATION_S).step_by(DEMO_INTERVAL_S as usize) {
        let now = SimTime::from_secs(t_s);
        // web: rollout from 600 s, one new pod ready every 45 s, maxSurge 2, maxUnavailable 1.
        let desired = 6.0;
        let (mut replicas, mut updated, mut available) = (6.0, 6.0, 6.0);
        if (600..900).contains(&t_s) {
            updated = (1 + (t_s - 600) / 45).min(6) as f64;
            replicas = if updated < 6.0 { 8.0 } else { 7.0 };
            available = 5.0;
        }
        if (1500..1590).contains(&t_s) {
            available = 4.0;
            replicas = 6.0;
        }
        t.push(now, names::DEPLOYMENT_DESIRED_REPLICAS, web, desired);
        t.push(now, names::DEPLOYMENT_REPLICAS, web, replicas);
        t.push(now, names::DEPLOYMENT_UPDATED_REPLICAS, web, updated);
        t.push(now, names::DEPLOYMENT_AVAILABLE_REPLICAS, web, available);
        t.push(now, names::DEPLOYMENT_AVAILABILITY_RATIO, web, available / desired);

        // api: HPA ramps 3 → 7 between 1200 s and 1800 s; pods become available 30 s later.
        let hpa_desired = |s: u64| -> f64 {
            if s < 1200 {
                3.0
            } else {
                (3 + ((s - 1200) / 150 + 1).min(4)) as f64
            }
        };
        let api_desired = hpa_desired(t_s);
        let api_available = hpa_desired(t_s.saturating_sub(30));
        t.push(now, names::HPA_DESIRED_REPLICAS, api, api_desired);
        t.push(now, names::HPA_CURRENT_REPLICAS, api, api_available);
        t.push(now, names::DEPLOYMENT_DESIRED_REPLICAS, api, api_desired);
        t.push(now, names::DEPLOYMENT_REPLICAS, api, api_desired);
        t.push(now, names::DEPLOYMENT_UPDATED_REPLICAS, api, api_desired);
        t.push(now, names::DEPLOYMENT_AVAILABLE_REPLICAS, api, api_available);
        t.push(now, names::DEPLOYMENT_AVAILABILITY_RATIO, api, api_available / api_desired);

        for (i, node) in ["node-0", "node-1", "node-2"].into_iter().enumerate() {
            let down = i == 2 && (1500..1800).contains(&t_s);
            let load = if down {
                0.0
            } else {
                0.25 + 0.4 * triangle(t_s, 1200, 300 * i as u64) + if t_s >= 1200 { 0.15 } else { 0.0 }
            };
            t.push(now, names::NODE_CPU_UTILISATION, node, load);
        }
        let pending = if (600..660).contains(&t_s) {
            2.0
        } else if (1500..1560).contains(&t_s) {
            3.0
        } else {
            0.0
        };
        t.push(now, names::PENDING_PODS, CLUSTER_OBJECT, pending);
    }
    t
}
