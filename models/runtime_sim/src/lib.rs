//! The simulated container runtime: cgroup CPU/memory accounting model behind NodeRuntime
