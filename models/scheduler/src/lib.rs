//! kube-scheduler's framework, default plugins and research policies as a sans-IO state machine
