//! Loads real Kubernetes YAML (manifests, cluster dumps) into kubesim's API objects
