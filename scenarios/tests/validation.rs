//! The divergence analysis on real simulator output (`kubesim validate`'s comparison).

use std::path::Path;

use kubesim_reports::MetricsWriter;
use kubesim_scenarios::validation::{compare, Divergence, Observations, Tolerances};
use kubesim_scenarios::{load, run_scenario, RunOptions};

/// Runs a library scenario and returns its `events.jsonl` and `metrics.csv` texts.
fn outputs(name: &str, seed: Option<u64>) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("library").join(name);
    let scenario = load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut metrics = MetricsWriter::new(Vec::new()).unwrap();
    let options = RunOptions { seed, until: None };
    let (_, log) = run_scenario(&scenario, &options, Vec::new(), &mut metrics, &mut |_, _| {}).unwrap();
    let csv = metrics.finish().unwrap();
    (String::from_utf8(log).unwrap(), String::from_utf8(csv).unwrap())
}

#[test]
fn the_same_simulator_output_on_both_sides_passes_with_zero_divergence() {
    // Each scenario must show the observables it exists for.
    let cases: [(&str, &[&str]); 2] = [
        ("oom-crashloop.yaml", &["oom_kill_times", "restart_times", "restart_count", "throttled_ratio"]),
        ("probe-misconfiguration.yaml", &["probe_restarts", "readiness_transitions", "cpu_usage_millicores"]),
    ];
    for (name, expected) in cases {
        let (events, csv) = outputs(name, None);
        let obs = Observations::from_outputs(&events, &csv).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = compare(&obs, &obs, &Tolerances::default());
        assert!(report.passed(), "{name}:\n{}", report.to_table());
        for row in &report.rows {
            match &row.divergence {
                Divergence::Delta { value, .. } => assert_eq!(*value, 0.0, "{name}: {}", row.object),
                other => panic!("{name}: {} {}: {other:?}", row.observable, row.object),
            }
        }
        for observable in expected {
            assert!(
                report.rows.iter().any(|r| r.observable == *observable),
                "{name}: no {observable} row in\n{}",
                report.to_table()
            );
        }
    }
}

#[test]
fn runs_with_different_pod_name_suffixes_still_pair_every_object() {
    // Another seed draws other pod-name suffixes; the groups (ReplicaSet names) are the same, so
    // no observable is found in one run only.
    let (events_a, csv_a) = outputs("oom-crashloop.yaml", Some(1));
    let (events_b, csv_b) = outputs("oom-crashloop.yaml", Some(2));
    let pod_names = |log: &str| {
        log.lines().filter(|l| l.contains("\"PodCreated\"")).map(|l| l.to_string()).collect::<Vec<_>>()
    };
    assert_ne!(pod_names(&events_a), pod_names(&events_b), "the seeds should name pods differently");
    let a = Observations::from_outputs(&events_a, &csv_a).unwrap();
    let b = Observations::from_outputs(&events_b, &csv_b).unwrap();
    let report = compare(&a, &b, &Tolerances::default());
    assert!(!report.rows.is_empty());
    for row in &report.rows {
        assert!(!matches!(row.divergence, Divergence::OnlyIn(_)), "{}", report.to_table());
    }
}
