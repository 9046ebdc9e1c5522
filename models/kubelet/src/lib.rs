//! The kubelet as a sans-IO state machine: pod workers, probes, restarts, eviction; the NodeRuntime seam
