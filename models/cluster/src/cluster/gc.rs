//! Garbage collection through ownerReferences, background propagation: the owner is removed at
//! once; its dependents follow wave by wave (`kubesim_controllers::garbage_collector::delete_cascade`)
//! — a Deployment's ReplicaSets are removed, their pods deleted gracefully (the kubelet stops the
//! containers, then the objects go).
//!
//! Timing (fidelity note): upstream's collector learns of the owner's deletion through its
//! informers and deletes each wave after the previous one is observed gone (milliseconds on a
//! healthy cluster); here every wave is issued at the instant of the owner's deletion. Pods still
//! take their graceful termination.

use kubesim_controllers::garbage_collector::{delete_cascade, GcNode, Propagation};

use super::*;

impl<W: Write> World<W> {
    /// Dependents of the owner `root` (ReplicaSets and pods in its namespace), as GC graph nodes.
    fn gc_graph(&self, root: GcNode) -> Vec<GcNode> {
        let ns = root.namespace.clone();
        let mut graph = vec![root];
        for rs in self.store.replica_sets.values().filter(|r| r.meta.namespace == ns) {
            graph.push(GcNode::from_meta("ReplicaSet", &rs.meta));
        }
        for pod in self.store.pods().filter(|p| p.meta.namespace == ns && !p.meta.owner_references.is_empty())
        {
            graph.push(GcNode::from_meta("Pod", &pod.meta));
        }
        graph
    }

    /// Carries out a cascade: removes ReplicaSets, deletes pods, in wave order.
    fn gc_execute(&mut self, graph: &[GcNode], root_uid: &str, now: SimTime, q: &mut EventQueue<Event>) {
        let plan = delete_cascade(graph, root_uid, Propagation::Background);
        let by_uid: BTreeMap<&str, &GcNode> = graph.iter().map(|n| (n.uid.as_str(), n)).collect();
        for wave in plan.removal_waves.iter().skip(1) {
            for uid in wave {
                let Some(node) = by_uid.get(uid.as_str()) else { continue };
                let key = ObjectKey::new(&node.namespace, &node.name);
                match node.kind.as_str() {
                    "ReplicaSet" if self.store.remove_replica_set(&key) => {
                        self.store.next_resource_version();
                        self.dirty_rs.remove(&key);
                        self.ctl.objects_dirty = true;
                        self.record(
                            now,
                            "ObjectDeleted",
                            &rec::ObjectDeleted {
                                object_kind: "ReplicaSet",
                                object: &key.to_string(),
                                by: "garbage-collector",
                            },
                        );
                    }
                    "Pod" => self.delete_pod(&key, "garbage-collector", now, q),
                    _ => {}
                }
            }
        }
    }

    /// `kubectl delete deployment` (background propagation).
    pub(super) fn delete_deployment(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(d) = self.store.deployments.remove(key) else { return };
        self.store.next_resource_version();
        self.deployment_status.remove(key);
        self.completed_revision.remove(key);
        self.dirty_deploy.remove(key);
        self.record(
            now,
            "ObjectDeleted",
            &rec::ObjectDeleted { object_kind: "Deployment", object: &key.to_string(), by: "scenario" },
        );
        let graph = self.gc_graph(GcNode::from_meta("Deployment", &d.meta));
        self.gc_execute(&graph, &d.meta.uid, now, q);
    }

    /// `kubectl delete job` (background propagation).
    pub(super) fn delete_job(&mut self, key: &ObjectKey, now: SimTime, q: &mut EventQueue<Event>) {
        let Some(job) = self.store.jobs.remove(key) else { return };
        self.store.next_resource_version();
        if let Some(slot) = self.ctl.jobs.remove(key) {
            if let Some(id) = slot.timer {
                q.cancel(id);
            }
        }
        self.ctl.dirty_jobs.remove(key);
        self.record(
            now,
            "ObjectDeleted",
            &rec::ObjectDeleted { object_kind: "Job", object: &key.to_string(), by: "scenario" },
        );
        let graph = self.gc_graph(GcNode::from_meta("Job", &job.meta));
        self.gc_execute(&graph, &job.meta.uid, now, q);
    }
}

impl<W: Write> Cluster<W> {
    /// Deletes a Deployment now; its ReplicaSets and pods are garbage-collected.
    pub fn delete_deployment(&mut self, key: &ObjectKey) -> Result<(), ClusterError> {
        let now = self.queue.now();
        self.world.delete_deployment(key, now, &mut self.queue);
        self.world.take_error()
    }
}
