//! Bad input: every error names file, object and field; warnings for the tolerable; no panics.

use kubesim_manifests::{load_paths, load_str, resolve_priorities, LoadError};
use proptest::prelude::*;

const POD_HEAD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-0\nspec:\n  containers:\n  - name: c\n    image: nginx\n";

fn error_of(text: &str) -> String {
    match load_str(text, "cluster.yaml") {
        Ok(l) => panic!("expected an error, loaded {} pods", l.pods.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_invalid_quantity_names_file_object_field_and_value() {
    let text = format!("{POD_HEAD}    resources:\n      requests:\n        cpu: 5x\n");
    assert_eq!(
        error_of(&text).split(": quantities must").next().unwrap(),
        "cluster.yaml:1: Pod default/web-0: spec.containers[0].resources.requests.cpu: invalid quantity \"5x\""
    );
}

#[test]
fn a_type_error_carries_the_line_of_the_bad_value() {
    // `replicas` on line 7 of the second document (line 9 of the file).
    let text = "apiVersion: v1\nkind: Node\nmetadata: {name: n}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: many\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let err = load_str(text, "apps.yaml").unwrap_err();
    let d = err.diagnostic().unwrap();
    assert_eq!(d.location.line, Some(10), "{err}");
    assert_eq!(d.object.as_deref(), Some("Deployment default/d"));
    assert_eq!(d.field.as_deref(), Some("spec.replicas"));
    assert!(d.message.contains("invalid type"), "{err}");
}

#[test]
fn yaml_syntax_errors_name_the_line() {
    let err = error_of("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n");
    assert!(err.starts_with("cluster.yaml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn unknown_fields_warn_with_their_path() {
    let text = format!("{POD_HEAD}    colour: blue\n  nodeNmae: typo\n");
    let loaded = load_str(&text, "p.yaml").unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "p.yaml:1: Pod default/web-0: spec.containers[0].colour: unknown field: ignored",
            "p.yaml:1: Pod default/web-0: spec.nodeNmae: unknown field: ignored",
        ]
    );
}

#[test]
fn unknown_kinds_warn_and_are_skipped() {
    let loaded =
        load_str("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "x.yaml").unwrap();
    assert!(loaded.is_empty());
    assert_eq!(loaded.warnings[0].to_string(), "x.yaml:1: Widget w: unknown kind: skipped");
}

#[test]
fn invalid_values_are_errors_naming_their_field() {
    let cases: &[(&str, &str)] = &[
        ("  tolerations: [{key: k, operator: Maybe}]\n", "spec.tolerations[0].operator"),
        ("  tolerations: [{key: k, effect: Sometimes}]\n", "spec.tolerations[0].effect"),
        ("  tolerations: [{key: k, operator: Exists, value: v}]\n", "spec.tolerations[0].value"),
        ("  restartPolicy: Sometimes\n", "spec.restartPolicy"),
        ("  preemptionPolicy: Always\n", "spec.preemptionPolicy"),
        ("  terminationGracePeriodSeconds: -1\n", "spec.terminationGracePeriodSeconds"),
        (
            "  topologySpreadConstraints: [{maxSkew: 0, topologyKey: z, whenUnsatisfiable: DoNotSchedule}]\n",
            "spec.topologySpreadConstraints[0].maxSkew",
        ),
        (
            "  topologySpreadConstraints: [{maxSkew: 1, topologyKey: z, whenUnsatisfiable: Never}]\n",
            "spec.topologySpreadConstraints[0].whenUnsatisfiable",
        ),
        (
            "  topologySpreadConstraints: [{maxSkew: 1, topologyKey: z, whenUnsatisfiable: ScheduleAnyway, minDomains: 2}]\n",
            "spec.topologySpreadConstraints[0].minDomains",
        ),
        (
            "  topologySpreadConstraints: [{maxSkew: 1, topologyKey: z, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Maybe}]\n",
            "spec.topologySpreadConstraints[0].nodeTaintsPolicy",
        ),
        (
            "  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: k, operator: Like}]}]}}}\n",
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator",
        ),
        (
            "  affinity: {podAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 101, podAffinityTerm: {topologyKey: z}}]}}\n",
            "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        ),
        (
            "  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchExpressions: [{key: a, operator: In}]}, topologyKey: z}]}}\n",
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values",
        ),
        ("  overhead: {cpu: lots}\n", "spec.overhead.cpu"),
    ];
    for (tail, field) in cases {
        let err = error_of(&format!("{POD_HEAD}{tail}"));
        assert!(err.contains(&format!("Pod default/web-0: {field}: ")), "{field}: {err}");
    }
}

#[test]
fn container_level_errors_name_the_container_path() {
    let cases: &[(&str, &str)] = &[
        ("    imagePullPolicy: Sometimes\n", "spec.containers[0].imagePullPolicy"),
        ("    ports: [{containerPort: 70000}]\n", "spec.containers[0].ports[0].containerPort"),
        ("    ports: [{containerPort: 80, protocol: QUIC}]\n", "spec.containers[0].ports[0].protocol"),
        ("    livenessProbe: {httpGet: {port: http}}\n", "spec.containers[0].livenessProbe.httpGet.port"),
        ("    readinessProbe: {periodSeconds: 3}\n", "spec.containers[0].readinessProbe"),
        (
            "    readinessProbe: {exec: {command: [x]}, tcpSocket: {port: 1}}\n",
            "spec.containers[0].readinessProbe",
        ),
        (
            "    startupProbe: {exec: {command: [x]}, periodSeconds: -2}\n",
            "spec.containers[0].startupProbe.periodSeconds",
        ),
        ("    resources: {limits: {memory: 1Qi}}\n", "spec.containers[0].resources.limits.memory"),
    ];
    for (tail, field) in cases {
        let err = error_of(&format!("{POD_HEAD}{tail}"));
        assert!(err.contains(&format!("Pod default/web-0: {field}: ")), "{field}: {err}");
    }
}

#[test]
fn a_probe_port_written_as_a_numeric_string_is_accepted() {
    let text = format!("{POD_HEAD}    livenessProbe: {{tcpSocket: {{port: \"8081\"}}}}\n");
    let loaded = load_str(&text, "p").unwrap();
    let probe = loaded.pods[0].spec.containers[0].liveness_probe.clone().unwrap();
    assert_eq!(probe.action, kubesim_api::ProbeAction::TcpSocket { port: 8081 });
}

#[test]
fn host_network_pods_default_host_ports_to_container_ports() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: h}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: i, ports: [{containerPort: 9100}]}]\n";
    let loaded = load_str(text, "p").unwrap();
    assert_eq!(loaded.pods[0].spec.containers[0].ports[0].host_port, 9100);
}

#[test]
fn structural_errors_are_reported() {
    let cases: &[(&str, &str)] = &[
        ("kind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c}]}\n", "apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "kind: required"),
        ("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c}]}\n", "metadata.name: required"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "spec: required"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n", "spec.containers: required"),
        ("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: d}\n", "is not served for Deployment"),
        ("- just\n- a list\n", "expected a Kubernetes object"),
        ("42\n", "expected a Kubernetes object"),
        ("apiVersion: v1\nkind: Node\nmetadata: {name: n, creationTimestamp: \"1969-12-31T23:59:59Z\"}\n", "before the Unix epoch"),
        ("apiVersion: v1\nkind: Node\nmetadata: {name: n, creationTimestamp: yesterday}\n", "metadata.creationTimestamp"),
        ("apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {taints: [{key: k, effect: Maybe}]}\n", "spec.taints[0].effect"),
        ("apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {capacity: {cpu: 1.2.3}}\n", "status.capacity.cpu"),
        ("apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {conditions: [{type: Ready, status: Yes}]}\n", "status.conditions[0].status"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c}]}\nstatus: {phase: Sleeping}\n", "status.phase"),
        ("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: p}\n", "value: required"),
        ("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: p}\nvalue: 2000000000\n", "reserved for system-"),
    ];
    for (text, needle) in cases {
        let err = error_of(text);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec: {containers: [{name: c, image: i}]}\n";

#[test]
fn workload_errors_name_their_fields() {
    let cases: &[(&str, &str, &str)] = &[
        ("{matchLabels: {app: a}}", "{matchLabels: {app: b}}", "spec.template.metadata.labels"),
        ("{matchLabels: {app: a}}", "{}", "spec.selector: empty selector"),
    ];
    for (from, to, needle) in cases {
        let text = DEPLOYMENT.replacen(from, to, 1);
        let err = error_of(&text);
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let with = |extra: &str| format!("{DEPLOYMENT}{extra}");
    let cases: &[(String, &str)] = &[
        (with("  replicas: -1\n"), "spec.replicas"),
        (with("  strategy: {type: BlueGreen}\n"), "spec.strategy.type"),
        (with("  strategy: {rollingUpdate: {maxSurge: lots}}\n"), "spec.strategy.rollingUpdate.maxSurge"),
        (
            with("  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0%}}\n"),
            "spec.strategy.rollingUpdate.maxUnavailable",
        ),
        (with("  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n"), "spec.strategy.rollingUpdate"),
    ];
    for (text, needle) in cases {
        let err = error_of(text);
        assert!(err.contains(&format!("Deployment default/d: {needle}")), "{needle}: {err}");
    }
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec: {containers: [{name: c, image: i}]}\n";
    assert!(error_of(job).contains("Job default/j: spec.template.spec.restartPolicy"));
}

#[test]
fn deployment_strategy_values_are_read() {
    let text = format!("{DEPLOYMENT}  replicas: 4\n  strategy: {{rollingUpdate: {{maxSurge: 2, maxUnavailable: 10%}}}}\n  revisionHistoryLimit: 3\n  progressDeadlineSeconds: 60\n  minReadySeconds: 5\n  paused: true\n");
    let d = load_str(&text, "d").unwrap().deployments.remove(0);
    assert_eq!(d.replicas, 4);
    assert_eq!(
        d.strategy,
        kubesim_api::DeploymentStrategy::RollingUpdate {
            max_surge: kubesim_api::IntOrPercent::Int(2),
            max_unavailable: kubesim_api::IntOrPercent::Percent(10)
        }
    );
    assert_eq!(
        (d.revision_history_limit, d.progress_deadline_seconds, d.min_ready_seconds, d.paused),
        (Some(3), Some(60), 5, true)
    );
    let recreate = DEPLOYMENT.replace("spec:\n  selector", "spec:\n  strategy: {type: Recreate}\n  selector");
    let d = load_str(&recreate, "d").unwrap().deployments.remove(0);
    assert_eq!(d.strategy, kubesim_api::DeploymentStrategy::Recreate);
}

#[test]
fn a_job_without_parallelism_or_completions_runs_one_pod() {
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec: {restartPolicy: Never, containers: [{name: c, image: i}]}\n";
    let j = load_str(job, "j").unwrap().jobs.remove(0);
    assert_eq!((j.parallelism, j.completions, j.backoff_limit), (1, Some(1), 6));
    let work_queue = job.replace("spec:\n  template", "spec:\n  parallelism: 3\n  template");
    let j = load_str(&work_queue, "j").unwrap().jobs.remove(0);
    assert_eq!((j.parallelism, j.completions), (3, None));
}

#[test]
fn duplicate_objects_are_errors() {
    let text = format!("{POD_HEAD}---\n{POD_HEAD}");
    let err = error_of(&text);
    assert!(err.contains("Pod default/web-0: defined twice (first at cluster.yaml:1"), "{err}");
}

#[test]
fn an_unknown_priority_class_is_an_error_naming_the_pod() {
    let text = format!("{POD_HEAD}  priorityClassName: gold\n");
    let mut loaded = load_str(&text, "p.yaml").unwrap();
    let err = resolve_priorities(&mut loaded, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.yaml:1: Pod default/web-0: spec.priorityClassName: no PriorityClass with name gold was found"
    );
}

#[test]
fn priority_resolution_follows_the_admission_plugin() {
    // Built-in classes are always known.
    let text = format!("{POD_HEAD}  priorityClassName: system-node-critical\n");
    let mut loaded = load_str(&text, "p").unwrap();
    resolve_priorities(&mut loaded, &[]).unwrap();
    assert_eq!(loaded.pods[0].spec.priority, Some(2_000_001_000));
    // A priority that contradicts the class is rejected.
    let text = format!("{POD_HEAD}  priorityClassName: system-node-critical\n  priority: 7\n");
    let mut loaded = load_str(&text, "p").unwrap();
    assert!(resolve_priorities(&mut loaded, &[]).unwrap_err().to_string().contains("must not be provided"));
    // An unknown class on an already-admitted pod (it has a priority) is kept, with a warning.
    let text = format!("{POD_HEAD}  priorityClassName: gone\n  priority: 7\n");
    let mut loaded = load_str(&text, "p").unwrap();
    resolve_priorities(&mut loaded, &[]).unwrap();
    assert_eq!(loaded.pods[0].spec.priority, Some(7));
    assert_eq!(loaded.warnings.len(), 1);
    // No class and no global default: priority 0.
    let mut loaded = load_str(POD_HEAD, "p").unwrap();
    resolve_priorities(&mut loaded, &[]).unwrap();
    assert_eq!(loaded.pods[0].spec.priority, Some(0));
    // Several global defaults: the lowest value wins.
    let classes = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: a}\nvalue: 5\nglobalDefault: true\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: b}\nvalue: 3\nglobalDefault: true\n";
    let classes = load_str(classes, "c").unwrap().priority_classes;
    let mut loaded = load_str(POD_HEAD, "p").unwrap();
    resolve_priorities(&mut loaded, &classes).unwrap();
    assert_eq!(loaded.pods[0].spec.priority, Some(3));
}

#[test]
fn missing_files_are_io_errors_naming_the_path() {
    let err = load_paths(&["/definitely/not/here.yaml".into()]).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(err.to_string().starts_with("/definitely/not/here.yaml: "), "{err}");
}

#[test]
fn empty_documents_and_empty_text_load_nothing() {
    for text in ["", "---\n", "# only a comment\n", "---\n---\n"] {
        let loaded = load_str(text, "e").unwrap();
        assert!(loaded.is_empty() && loaded.warnings.is_empty(), "{text:?}");
    }
}

proptest! {
    #[test]
    fn garbage_text_never_panics(text in "\\PC{0,200}") {
        let _ = load_str(&text, "garbage");
    }

    #[test]
    fn mangled_manifests_never_panic(cut in 0usize..400, insert in "[ :\\-\\[\\]{}#'\"a-z0-9\n]{0,8}") {
        let text = format!("{POD_HEAD}    resources: {{requests: {{cpu: 100m}}}}\n  tolerations: [{{key: k, operator: Exists}}]\n");
        let cut = cut.min(text.len());
        let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &text[..cut], insert, &text[cut..]);
        let _ = load_str(&mangled, "mangled");
    }
}
