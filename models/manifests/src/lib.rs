//! # kubesim-manifests: real Kubernetes YAML → kubesim's API objects
//!
//! Reads manifests and cluster dumps (`kubectl get -o yaml`), multi-document files, `kind: List`
//! and folders, into the compact structs of `kubesim-api`, applying the defaulting upstream's API
//! server does on the way in (namespace `default`, requests from limits, probe timings, pull
//! policy from the image tag, Deployment and Job defaults, …). Typed decoding uses `k8s-openapi`;
//! YAML parsing uses `yaml_serde` (the YAML Organization's maintained `serde_yaml`).
//!
//! | module | contents |
//! |---|---|
//! | [`quantity`] | exact resource quantities (`500m`, `1.5Gi`, `1e3`) with upstream rounding |
//! | [`loader`] | [`load_str`], [`load_paths`], [`Loaded`] |
//! | [`priority`] | PriorityClass resolution, as the Priority admission plugin |
//! | [`expand`] | Deployments, ReplicaSets and Jobs → their replica pods |
//! | [`error`] | [`LoadError`], [`Warning`]: file, object and field of every finding |
//!
//! Kinds loaded: Node, Pod, PriorityClass (`scheduling.k8s.io/v1`), Deployment, ReplicaSet
//! (`apps/v1`), Job (`batch/v1`), Service (`v1`), HorizontalPodAutoscaler (`autoscaling/v2`, the
//! conversion [`autoscaling`] also uses) and PodDisruptionBudget (`policy/v1`).
//!
//! Conventions: timestamps become [`sim_core::SimTime`] nanoseconds since the Unix epoch; an
//! object without `metadata.uid` gets `kubesim:<Kind>:<namespace>/<name>`; unknown fields and
//! unknown kinds are warnings, invalid values errors; nothing panics on bad input.
//!
//! ```
//! let loaded = kubesim_manifests::load_str(
//!     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources: {limits: {cpu: 500m}}\n",
//!     "pods.yaml",
//! ).unwrap();
//! let pod = &loaded.pods[0];
//! assert_eq!(pod.meta.namespace, "default");
//! assert_eq!(pod.spec.containers[0].resources.requests.cpu_millis(), 500); // from the limit
//! ```

#![warn(missing_docs, unreachable_pub)]

mod convert;
mod documents;
pub mod error;
pub mod expand;
pub mod loader;
pub mod priority;
pub mod quantity;

pub use convert::common::{synthetic_uid, DEFAULT_NAMESPACE};
pub use convert::pod::default_pull_policy;
pub use convert::workloads::{JOB_CONTROLLER_UID_LABELS, JOB_NAME_LABELS};
pub use error::{Diagnostic, LoadError, Location, Warning};
pub use expand::expand_to_pods;
pub use loader::{load_paths, load_str, Entry, Loaded, ObjectRef};
pub use priority::resolve_priorities;
pub use quantity::{Quantity, QuantityError, QuantityFormat};
pub mod autoscaling;
