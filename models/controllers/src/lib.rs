//! kube-controller-manager's controllers as sans-IO reconcilers
