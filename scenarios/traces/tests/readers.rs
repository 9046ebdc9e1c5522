//! Each reader end to end on its committed fixture (see `fixtures_gen.rs`), plus windows,
//! sampling and error cases.

use std::path::{Path, PathBuf};

use kubesim_api::{NodeSelectorOperator, ResourceName, RestartPolicy};
use kubesim_traces::openb::{GPU_MILLI_RESOURCE, GPU_MODEL_LABEL, GPU_RESOURCE};
use kubesim_traces::*;
use sim_core::{RngStreams, SimDuration, SimTime};

const GIB: i64 = 1 << 30;

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(p)
}

fn openb(options: &ReadOptions) -> Vec<TraceEvent> {
    read_openb(Some(&fixture("openb/nodes.csv")), &fixture("openb/pods.csv"), options)
        .unwrap()
        .collect_all()
        .unwrap()
}

fn pods(events: &[TraceEvent]) -> Vec<(&kubesim_api::Pod, Option<SimDuration>, Option<&Usage>, SimTime)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceEventKind::SubmitPod { pod, duration, usage } => {
                Some((&**pod, *duration, usage.as_ref(), e.at))
            }
            _ => None,
        })
        .collect()
}

fn nodes(events: &[TraceEvent]) -> Vec<&kubesim_api::Node> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceEventKind::AddNode(n) => Some(&**n),
            _ => None,
        })
        .collect()
}

fn req(pod: &kubesim_api::Pod, name: &str) -> i64 {
    pod.spec.containers[0].resources.requests.get_or_zero(&ResourceName::parse(name))
}

fn knots(c: &kubesim_workload::Curve) -> Vec<(u64, i64)> {
    c.knots().map(|(t, v)| (t.as_secs(), v)).collect()
}

fn assert_sorted(events: &[TraceEvent]) {
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "events out of time order");
}

#[test]
fn openb_fixture_converts_nodes_and_gpu_pods_exactly() {
    let ev = openb(&ReadOptions::default());
    assert_sorted(&ev);
    let ns = nodes(&ev);
    assert_eq!(ns.len(), 3);
    // openb-node-0001: 96000m, 786432 MiB = 768 GiB, 8 GPUs = 8000 milli-GPU, model label.
    let n1 = ns[1];
    assert_eq!(n1.status.allocatable.cpu_millis(), 96_000);
    assert_eq!(n1.status.allocatable.memory_bytes(), 768 * GIB);
    assert_eq!(n1.status.allocatable.get_or_zero(&ResourceName::parse(GPU_RESOURCE)), 8);
    assert_eq!(n1.status.allocatable.get_or_zero(&ResourceName::parse(GPU_MILLI_RESOURCE)), 8000);
    assert_eq!(n1.meta.labels.get(GPU_MODEL_LABEL).map(String::as_str), Some("V100M32"));
    assert!(!ns[0].status.allocatable.contains(&ResourceName::parse(GPU_RESOURCE)));
    assert_eq!(ns[0].status.allocatable.get_or_zero(&ResourceName::Pods), 110);

    let ps = pods(&ev);
    assert_eq!(ps.len(), 5);
    // pod-0001: a shared GPU (460 milli, no whole device), 12288 MiB = 12 GiB; runs 3700 − 160 s.
    let (p1, d1, _, at1) = ps[1];
    assert_eq!(at1, SimTime::from_secs(100));
    assert_eq!(req(p1, GPU_MILLI_RESOURCE), 460);
    assert_eq!(req(p1, GPU_RESOURCE), 0);
    assert_eq!(req(p1, "memory"), 12 * GIB);
    assert_eq!(d1, Some(SimDuration::from_secs(3540)));
    assert_eq!(p1.spec.restart_policy, RestartPolicy::Never);
    assert_eq!(p1.meta.creation_timestamp, SimTime::from_secs(100));
    // pod-0002: 8 whole GPUs, two acceptable models → required node affinity `In`.
    let (p2, _, _, _) = ps[2];
    assert_eq!((req(p2, GPU_RESOURCE), req(p2, GPU_MILLI_RESOURCE)), (8, 8000));
    let term =
        &p2.spec.extras.affinity.node_affinity.required.as_ref().unwrap().terms[0].match_expressions[0];
    assert_eq!(term.operator, NodeSelectorOperator::In);
    assert_eq!(term.values, vec!["V100M16".to_string(), "V100M32".to_string()]);
    // pod-0003: never scheduled → duration from creation (900 − 300); one model → nodeSelector.
    let (p3, d3, _, _) = ps[3];
    assert_eq!(d3, Some(SimDuration::from_secs(600)));
    assert_eq!(p3.spec.extras.node_selector.get(GPU_MODEL_LABEL).map(String::as_str), Some("P100"));
    // pod-0004: no deletion → long-running.
    assert_eq!(ps[4].1, None);
    assert_eq!(ps[4].0.spec.restart_policy, RestartPolicy::Always);
}

#[test]
fn openb_window_shifts_times_and_clips_pods_alive_at_from() {
    let o = ReadOptions {
        from: SimDuration::from_secs(1000),
        to: Some(SimDuration::from_secs(4000)),
        ..Default::default()
    };
    let r = read_openb(Some(&fixture("openb/nodes.csv")), &fixture("openb/pods.csv"), &o).unwrap();
    let mut r = r;
    let ev: Vec<TraceEvent> = r.by_ref().map(Result::unwrap).collect();
    let ps = pods(&ev);
    // pod-0000 (0 → 12537496 s) and pod-0001 (runs 160 → 3700 s) and pod-0002 (200 → 1200 s) are
    // alive at 1000 s; pod-0003 ended at 900 s; pod-0004 arrives at 5000 s ≥ to.
    let names: Vec<&str> = ps.iter().map(|p| p.0.meta.name.as_str()).collect();
    assert_eq!(names, vec!["openb-pod-0000", "openb-pod-0001", "openb-pod-0002"]);
    assert!(ps.iter().all(|p| p.3 == SimTime::ZERO));
    // pod-0001 started at 160 s, 3540 s run: 2700 s remain at 1000 s.
    assert_eq!(ps[1].1, Some(SimDuration::from_secs(2700)));
    assert_eq!(ps[2].1, Some(SimDuration::from_secs(200)));
    assert_eq!(r.stats().outside_window, 1);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn big_openb(dir: &Path) -> (PathBuf, PathBuf) {
    let mut n = String::from("sn,cpu_milli,memory_mib,gpu,model\n");
    let mut p = String::from("name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\n");
    for i in 0..400 {
        n.push_str(&format!("node-{i:04},32000,131072,0,\n"));
        p.push_str(&format!("pod-{i:04},1000,1024,0,0,{i}\n"));
    }
    (write(dir, "n.csv", &n), write(dir, "p.csv", &p))
}

fn names_with(nodes_path: &Path, pods_path: &Path, seed: u64, f: f64) -> (Vec<String>, Vec<String>) {
    let o = ReadOptions { sample_machines: Some(f), streams: RngStreams::new(seed), ..Default::default() };
    let ev = read_openb(Some(nodes_path), pods_path, &o).unwrap().collect_all().unwrap();
    (
        nodes(&ev).iter().map(|n| n.meta.name.to_string()).collect(),
        pods(&ev).iter().map(|p| p.0.meta.name.to_string()).collect(),
    )
}

#[test]
fn sampling_is_deterministic_per_seed_nested_and_independent_of_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let (n, p) = big_openb(dir.path());
    let a = names_with(&n, &p, 42, 0.25);
    assert_eq!(a, names_with(&n, &p, 42, 0.25), "same seed, same sample");
    assert_ne!(a.0, names_with(&n, &p, 43, 0.25).0, "another seed, another sample");
    // About a quarter of 400 (binomial sd ≈ 8.7).
    assert!((60..=140).contains(&a.0.len()), "{}", a.0.len());
    assert!((60..=140).contains(&a.1.len()), "{}", a.1.len());
    let half = names_with(&n, &p, 42, 0.5);
    assert!(a.0.iter().all(|x| half.0.contains(x)), "0.25 sample ⊂ 0.5 sample");
    // Reversed node file: the same machines are kept.
    let text = std::fs::read_to_string(&n).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let rev = write(dir.path(), "rev.csv", &format!("{header}\n{}\n", lines.join("\n")));
    let mut r = names_with(&rev, &p, 42, 0.25).0;
    r.sort();
    assert_eq!(r, a.0);
    let all = names_with(&n, &p, 42, 1.0);
    assert_eq!((all.0.len(), all.1.len()), (400, 400));
}

#[test]
fn malformed_rows_name_file_line_and_column_or_are_skipped_when_lenient() {
    let dir = tempfile::tempdir().unwrap();
    let pods = write(
        dir.path(),
        "pods.csv",
        "name,cpu_milli,memory_mib,num_gpu,creation_time\na,1000,1024,0,0\nb,lots,1024,0,5\nc,1000,1024,0,9\n",
    );
    let err = read_openb(None, &pods, &ReadOptions::default()).unwrap().collect_all().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.ends_with("pods.csv:3:2: cpu_milli: expected a non-negative integer, found \"lots\""),
        "{msg}"
    );
    let mut lenient = read_openb(None, &pods, &ReadOptions { lenient: true, ..Default::default() }).unwrap();
    let ok: Vec<_> = lenient.by_ref().map(Result::unwrap).collect();
    assert_eq!(ok.len(), 2);
    let stats = lenient.stats();
    assert_eq!(stats.skipped_malformed, 1);
    assert!(stats.warnings[0].contains("pods.csv:3:2"), "{:?}", stats.warnings);

    let unsorted =
        write(dir.path(), "u.csv", "name,cpu_milli,memory_mib,creation_time\na,1,1,50\nb,1,1,10\n");
    let e = read_openb(None, &unsorted, &ReadOptions::default()).unwrap().collect_all().unwrap_err();
    assert!(e.to_string().contains("u.csv:3:4: creation_time: not in time order"), "{e}");

    let short = write(dir.path(), "s.csv", "name,cpu_milli,memory_mib\na,1\n");
    let e = read_openb(None, &short, &ReadOptions::default()).unwrap().collect_all().unwrap_err();
    assert!(e.to_string().contains("s.csv:2: expected 3 columns"), "{e}");

    let no_cpu = write(dir.path(), "h.csv", "name,memory_mib\n");
    let e = read_openb(None, &no_cpu, &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("missing column `cpu_milli`"), "{e}");

    let missing = read_openb(None, &dir.path().join("nope.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(missing, TraceError::Io { .. }));
}

#[test]
fn generic_fixture_reads_quantities_durations_labels_and_usage() {
    let ev = read_generic(
        Some(&fixture("generic/nodes.csv")),
        &fixture("generic/pods.csv"),
        &ReadOptions::default(),
    )
    .unwrap()
    .collect_all()
    .unwrap();
    assert_sorted(&ev);
    let ns = nodes(&ev);
    assert_eq!(ns.len(), 2);
    assert_eq!(ns[1].status.allocatable.cpu_millis(), 8000);
    assert_eq!(ns[1].status.allocatable.memory_bytes(), 32 * GIB);
    assert_eq!(ns[1].status.allocatable.get_or_zero(&ResourceName::Pods), 110);
    assert_eq!(ns[1].status.allocatable.get_or_zero(&ResourceName::parse("nvidia.com/gpu")), 2);
    assert_eq!(ns[0].meta.labels.get("topology.kubernetes.io/zone").map(String::as_str), Some("a"));
    let ps = pods(&ev);
    assert_eq!(ps.len(), 3);
    let (web, d, usage, _) = ps[0];
    assert_eq!((req(web, "cpu"), req(web, "memory")), (500, 512 << 20));
    assert_eq!(web.spec.priority, Some(1000));
    assert_eq!(d, None);
    let u = usage.unwrap();
    assert_eq!(knots(&u.cpu_millis), vec![(0, 200), (300, 450)]);
    assert_eq!(knots(&u.memory_bytes), vec![(0, 300 << 20), (300, 310 << 20)]);
    assert_eq!(ps[1].3, SimTime::from_secs(90));
    assert_eq!(ps[1].1, Some(SimDuration::from_mins(90)));
    assert_eq!(req(ps[1].0, "cpu"), 2000);
    let (gpu, _, _, at) = ps[2];
    assert_eq!(at, SimTime::from_secs(7200));
    assert_eq!(req(gpu, "nvidia.com/gpu"), 1);
    assert_eq!(gpu.meta.labels.get("team").map(String::as_str), Some("ml"));
}

#[test]
fn generic_rejects_a_bad_usage_point_with_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.csv", "arrival,cpu,memory,usage\n0,1,1Gi,0s:1:1Gi;0s:2:1Gi\n");
    let e = read_generic(None, &p, &ReadOptions::default()).unwrap().collect_all().unwrap_err();
    assert!(
        e.to_string().contains("p.csv:2:4: usage: usage point \"0s:2:1Gi\": offsets must increase"),
        "{e}"
    );
    let q = write(dir.path(), "q.csv", "arrival,cpu,memory,colour\n0,1x,1Gi,red\n");
    let mut r = read_generic(None, &q, &ReadOptions::default()).unwrap();
    assert!(r.stats().warnings[0].contains("unknown column `colour`"));
    let e = r.next().unwrap().unwrap_err();
    assert!(e.to_string().contains("q.csv:2:2: cpu"), "{e}");
}

const HUNDRED_GIB: i64 = 100 * GIB;

#[test]
fn alibaba_2018_fixture_makes_nodes_long_running_pods_and_jobs() {
    let files = Alibaba2018Files::in_dir(&fixture("alibaba-2018"));
    let mut r = read_alibaba_2018(&files, HUNDRED_GIB, &ReadOptions::default()).unwrap();
    let ev: Vec<TraceEvent> = r.by_ref().map(Result::unwrap).collect();
    assert_sorted(&ev);
    let ns = nodes(&ev);
    let names: Vec<&str> = ns.iter().map(|n| n.meta.name.as_str()).collect();
    assert_eq!(names, vec!["m-1", "m-2", "m-3"]);
    // m_1: 96 cores, mem_size 50 of 100 GiB = 50 GiB.
    assert_eq!(
        (ns[0].status.allocatable.cpu_millis(), ns[0].status.allocatable.memory_bytes()),
        (96_000, 50 * GIB)
    );
    let ps = pods(&ev);
    assert_eq!(ps.len(), 3, "c_1's second record is a status update, not a new pod");
    // c_1: cpu_request 400 → 4000m, limit 800 → 8000m; mem 1.5 % of 100 GiB = 1.5 GiB.
    let (c1, d, u, _) = ps[0];
    assert_eq!((req(c1, "cpu"), req(c1, "memory")), (4000, 1_610_612_736));
    assert_eq!(c1.spec.containers[0].resources.limits.cpu_millis(), 8000);
    assert_eq!(d, None);
    // Usage: 25 % and 50 % of 4000m; 50 % and 60 % of 1.5 GiB (966367641.6 → 966367642).
    let u = u.unwrap();
    assert_eq!(knots(&u.cpu_millis), vec![(0, 1000), (60, 1000), (120, 2000)]);
    assert_eq!(knots(&u.memory_bytes), vec![(0, 805_306_368), (60, 805_306_368), (120, 966_367_642)]);
    // c_2's only sample is the invalid marker 101 → no usage.
    assert!(ps[1].2.is_none());
    // c_3 at 7200 s: 10 % of 1000m, 20 % of 0.5 GiB = 107374182.4 → 107374182.
    let u3 = ps[2].2.unwrap();
    assert_eq!(ps[2].3, SimTime::from_secs(7200));
    assert_eq!(knots(&u3.cpu_millis), vec![(0, 100), (60, 100)]);
    assert_eq!(knots(&u3.memory_bytes), vec![(0, 107_374_182), (60, 107_374_182)]);

    let jobs: Vec<_> = ev
        .iter()
        .filter_map(|e| match &e.kind {
            TraceEventKind::SubmitJob { job, pod_duration, usage } => Some((e.at, job, *pod_duration, usage)),
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 2, "j_1 starts at 0 (outside the span) and is skipped");
    let (at, j, d, u) = &jobs[0];
    assert_eq!(*at, SimTime::from_secs(50));
    assert_eq!(j.meta.name, "j-2-m1");
    assert_eq!((j.parallelism, j.completions), (2, Some(2)));
    let spec = &j.template.spec;
    // plan_cpu 100 → 1000m; plan_mem 0.39 % of 100 GiB = 418759311.36 → 418759312 (rounded up).
    assert_eq!(spec.containers[0].resources.requests.cpu_millis(), 1000);
    assert_eq!(spec.containers[0].resources.requests.memory_bytes(), 418_759_312);
    assert_eq!(spec.restart_policy, RestartPolicy::Never);
    // Instances ran 400 s and 200 s → 300 s; cpu_avg 80, 60 → 700m; mem_avg 0.3 %, 0.1 % → 0.2 % of 100 GiB.
    assert_eq!(*d, Some(SimDuration::from_secs(300)));
    let u = u.as_ref().unwrap();
    assert_eq!(knots(&u.cpu_millis), vec![(0, 700)]);
    assert_eq!(knots(&u.memory_bytes), vec![(0, 214_748_365)]);
    // R2_1 has no instances: run time = end − start.
    assert_eq!(jobs[1].2, Some(SimDuration::from_secs(300)));
    let s = r.stats();
    assert_eq!(s.skipped_invalid, 2, "{s:?}");
}

#[test]
fn alibaba_2018_sampling_keeps_containers_with_their_machines() {
    let files = Alibaba2018Files::in_dir(&fixture("alibaba-2018"));
    for seed in 0..20 {
        let o =
            ReadOptions { sample_machines: Some(0.5), streams: RngStreams::new(seed), ..Default::default() };
        let ev = read_alibaba_2018(&files, HUNDRED_GIB, &o).unwrap().collect_all().unwrap();
        let kept: Vec<String> = nodes(&ev).iter().map(|n| n.meta.name.to_string()).collect();
        for (p, ..) in pods(&ev) {
            let machine = match p.meta.name.as_str() {
                "c-1" => "m-1",
                "c-2" => "m-2",
                _ => "m-3",
            };
            assert!(kept.iter().any(|k| k == machine), "seed {seed}: {} without its machine", p.meta.name);
        }
    }
}

#[test]
fn alibaba_2018_rejects_unsorted_container_meta_with_a_sort_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "container_meta.csv",
        "c_1,m_1,50,a,started,100,100,1\nc_2,m_1,10,a,started,100,100,1\n",
    );
    let files = Alibaba2018Files::in_dir(dir.path());
    let e = read_alibaba_2018(&files, GIB, &ReadOptions::default()).unwrap().collect_all().unwrap_err();
    assert!(e.to_string().contains("container_meta.csv:2:3: time_stamp: not in time order"), "{e}");
    assert!(e.to_string().contains("sort -t, -k3,3n"), "{e}");
}

const SHAPE: MachineShape = MachineShape { cpu_millis: 96_000, memory_bytes: 512 * GIB };

#[test]
fn google_2019_fixture_scales_normalised_units_by_the_machine_shape() {
    let files = Google2019Files::in_dir(&fixture("google-2019"));
    let ev = read_google_2019(&files, SHAPE, &ReadOptions::default()).unwrap().collect_all().unwrap();
    assert_sorted(&ev);
    assert_eq!(ev.len(), 6);
    let ns = nodes(&ev);
    // m-101: 0.5 × 96000m, 0.25 × 512 GiB.
    assert_eq!(
        (ns[0].status.allocatable.cpu_millis(), ns[0].status.allocatable.memory_bytes()),
        (48_000, 128 * GIB)
    );
    assert_eq!(ns[0].meta.labels.get("google.com/switch-id").map(String::as_str), Some("3"));
    let ps = pods(&ev);
    // c9-0: 0.0245 × 96000 = 2352m; 0.01 × 512 GiB = 5497558138.88 → 5497558139 (up).
    let (p0, d0, u0, _) = ps[0];
    assert_eq!((req(p0, "cpu"), req(p0, "memory")), (2352, 5_497_558_139));
    assert_eq!(p0.spec.priority, Some(200));
    assert_eq!(p0.meta.annotations.get("google.com/collection-name").map(String::as_str), Some("web"));
    assert_eq!(d0, None);
    // Usage since the SCHEDULE at 1 s: 0.01 and 0.02 NCU; 0.005 and 0.006 of 512 GiB (nearest).
    let u0 = u0.unwrap();
    assert_eq!(knots(&u0.cpu_millis), vec![(0, 960), (300, 1920)]);
    assert_eq!(knots(&u0.memory_bytes), vec![(0, 2_748_779_069), (300, 3_298_534_883)]);
    // c9-1: submitted at 5 s, scheduled at 300 s, finished at 900 s → runs 600 s.
    assert_eq!(ps[1].3, SimTime::from_secs(5));
    assert_eq!(ps[1].1, Some(SimDuration::from_secs(600)));
    assert_eq!(req(ps[1].0, "memory"), 10_995_116_278);
    match (&ev[4].kind, &ev[5].kind) {
        (TraceEventKind::UpdateNode(n), TraceEventKind::RemoveNode { name }) => {
            assert_eq!(n.status.allocatable.cpu_millis(), 72_000);
            assert_eq!(ev[4].at, SimTime::from_secs(600));
            assert_eq!(name, "m-101");
        }
        other => panic!("unexpected tail {other:?}"),
    }
}

#[test]
fn google_2019_bad_json_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "machine_events.json", "{\"time\":\"0\",\"machine_id\":\"1\",\"type\":1,\"capacity\":{\"cpus\":1,\"memory\":1}}\n{\"time\":\"x\"}\n");
    let e = read_google_2019(&Google2019Files::in_dir(dir.path()), SHAPE, &ReadOptions::default())
        .unwrap()
        .collect_all()
        .unwrap_err();
    assert!(e.to_string().contains("machine_events.json:2:"), "{e}");
    write(dir.path(), "machine_events.json", "{\"time\":\"0\",\"machine_id\":\"1\",\"type\":9}\n");
    let e = read_google_2019(&Google2019Files::in_dir(dir.path()), SHAPE, &ReadOptions::default())
        .unwrap()
        .collect_all()
        .unwrap_err();
    assert!(e.to_string().contains("machine_events.json:1:30: type: unknown machine event type 9"), "{e}");
}

#[test]
fn usage_turns_into_a_replayable_container_workload() {
    let ev = read_generic(None, &fixture("generic/pods.csv"), &ReadOptions::default())
        .unwrap()
        .collect_all()
        .unwrap();
    let (_, _, usage, _) = pods(&ev)[0];
    let w = usage.unwrap().workload(Some(SimDuration::from_mins(10)));
    assert_eq!(w.cpu_millis.value(SimDuration::from_mins(6), 0), 450);
    assert_eq!(w.memory_bytes.value_at(SimDuration::ZERO), 300 << 20);
    assert_eq!(w.completes_after, Some(SimDuration::from_mins(10)));
}
