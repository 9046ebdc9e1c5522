//! Scenario actions.

use super::*;

impl<W: Write> World<W> {
    // ---------------------------------------------------------------- scenario actions

    pub(super) fn action(&mut self, action: Action, now: SimTime, q: &mut EventQueue<Event>) {
        match action {
            Action::ApplyDeployment(d) => self.apply_deployment(*d, now, q),
            Action::SetImage { deployment, container, image } => {
                let Some(mut d) = self.store.deployments.get(&deployment).cloned() else { return };
                for c in &mut d.template.spec.containers {
                    if container.as_ref().is_none_or(|n| n == &c.name) {
                        c.image = image.clone();
                    }
                }
                self.apply_deployment(d, now, q);
            }
            Action::Scale { deployment, replicas } => {
                let Some(mut d) = self.store.deployments.get(&deployment).cloned() else { return };
                d.replicas = replicas;
                self.apply_deployment(d, now, q);
            }
            Action::StopKubelet(node) | Action::StartKubelet(node)
                if self.node_index.get(&node).is_none_or(|&i| self.node_crashed(i)) => {}
            Action::StopKubelet(node) => {
                let i = self.node_index[&node];
                self.record(now, "KubeletStopped", &rec::KubeletState { node: &node, reason: "scenario" });
                self.nodes[i as usize].kubelet.handle(now, KubeletInput::NodeStop, &mut self.effects);
                self.apply_kubelet_effects(i, now, q);
            }
            Action::StartKubelet(node) => {
                let i = self.node_index[&node];
                self.record(now, "KubeletStarted", &rec::KubeletState { node: &node, reason: "scenario" });
                self.nodes[i as usize].kubelet.handle(now, KubeletInput::NodeStart, &mut self.effects);
                self.apply_kubelet_effects(i, now, q);
                // The status manager re-syncs (the node lifecycle may have marked pods NotReady).
                self.nodes[i as usize].kubelet.resync_statuses(&mut self.effects);
                self.apply_kubelet_effects(i, now, q);
            }
            Action::DeletePod(key) => self.delete_pod(&key, "scenario", now, q),
            other if self.fault_action(&other, now, q) => {}
            other => self.ctl_action(other, now, q),
        }
    }
}
