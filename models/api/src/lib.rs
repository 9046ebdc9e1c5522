//! Cluster objects for kubesim's sans-IO control plane (filled in by the scheduler issue).
