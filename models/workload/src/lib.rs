//! Container workload models: CPU and memory demand over time, health timelines
