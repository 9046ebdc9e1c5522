//! PriorityClass resolution, as upstream's Priority admission plugin does when a pod is created:
//! a pod naming a class gets that class's value (and its `Never` preemption policy); a pod naming
//! none gets the `globalDefault` class (the lowest-valued one if several), else priority 0. The two
//! built-in classes every API server creates (`system-cluster-critical`, `system-node-critical`)
//! are always known.

use kubesim_api::{ObjectMeta, PodSpec, PreemptionPolicy, PriorityClass};

use crate::error::{Diagnostic, LoadError, Location, Warning};
use crate::loader::{Loaded, ObjectRef};

/// Value of the built-in `system-cluster-critical` class.
pub const SYSTEM_CLUSTER_CRITICAL: i32 = 2_000_000_000;
/// Value of the built-in `system-node-critical` class.
pub const SYSTEM_NODE_CRITICAL: i32 = 2_000_001_000;

/// The built-in classes.
pub fn builtin_priority_classes() -> Vec<PriorityClass> {
    [("system-cluster-critical", SYSTEM_CLUSTER_CRITICAL), ("system-node-critical", SYSTEM_NODE_CRITICAL)]
        .into_iter()
        .map(|(name, value)| PriorityClass {
            meta: ObjectMeta::named("", name),
            value,
            global_default: false,
            preemption_policy: PreemptionPolicy::PreemptLowerPriority,
        })
        .collect()
}

/// Outcome of resolving one pod spec.
enum Resolution {
    Done,
    /// The class is unknown but the pod already carries a priority (a dump of admitted pods).
    KeptExisting(String),
}

fn resolve_spec(spec: &mut PodSpec, classes: &[&PriorityClass]) -> Result<Resolution, String> {
    let class = match &spec.extras.priority_class_name {
        Some(name) => match classes.iter().find(|c| &c.meta.name == name) {
            Some(c) => Some(*c),
            None if spec.priority.is_some() => {
                return Ok(Resolution::KeptExisting(format!(
                    "no PriorityClass named {name:?} was loaded; keeping spec.priority {}",
                    spec.priority.unwrap_or(0)
                )))
            }
            None => return Err(format!("no PriorityClass with name {name} was found")),
        },
        None => classes.iter().filter(|c| c.global_default).min_by_key(|c| c.value).copied(),
    };
    let value = class.map_or(0, |c| c.value);
    if let Some(given) = spec.priority {
        if given != value {
            return Err(format!(
                "the integer value of priority ({given}) must not be provided in pod spec; \
                 priority admission controller computed {value} from the given PriorityClass name"
            ));
        }
    }
    spec.priority = Some(value);
    if let Some(c) = class {
        if spec.extras.priority_class_name.is_none() {
            spec.extras.priority_class_name = Some(c.meta.name.to_string());
        }
        if c.preemption_policy == PreemptionPolicy::Never {
            spec.preemption_policy = PreemptionPolicy::Never;
        }
    }
    Ok(Resolution::Done)
}

/// Resolves `spec.priority` of every pod and every workload's pod template in `loaded`, using its
/// own PriorityClasses, `extra_classes` (e.g. those of a cluster loaded separately) and the
/// built-ins. An unknown class is an error naming the object and `spec.priorityClassName`, unless
/// the pod already carries a priority (then a warning).
pub fn resolve_priorities(loaded: &mut Loaded, extra_classes: &[PriorityClass]) -> Result<(), LoadError> {
    let builtins = builtin_priority_classes();
    let owned: Vec<PriorityClass> = loaded.priority_classes.clone();
    let classes: Vec<&PriorityClass> = owned.iter().chain(extra_classes).chain(builtins.iter()).collect();
    let entries = loaded.entries.clone();
    for entry in entries {
        let (spec, field) = match entry.object {
            ObjectRef::Pod(i) => (&mut *loaded.pods[i].spec, "spec.priorityClassName"),
            ObjectRef::Deployment(i) => {
                (&mut loaded.deployments[i].template.spec, "spec.template.spec.priorityClassName")
            }
            ObjectRef::ReplicaSet(i) => {
                (&mut loaded.replica_sets[i].template.spec, "spec.template.spec.priorityClassName")
            }
            ObjectRef::Job(i) => (&mut loaded.jobs[i].template.spec, "spec.template.spec.priorityClassName"),
            ObjectRef::Node(_)
            | ObjectRef::PriorityClass(_)
            | ObjectRef::Service(_)
            | ObjectRef::Hpa(_)
            | ObjectRef::Pdb(_) => continue,
        };
        let diagnostic = |message: String, location: &Location, loaded: &Loaded| Diagnostic {
            location: location.clone(),
            object: Some(loaded.describe(entry.object)),
            field: Some(field.to_string()),
            message,
        };
        match resolve_spec(spec, &classes) {
            Ok(Resolution::Done) => {}
            Ok(Resolution::KeptExisting(message)) => {
                let warning: Warning = diagnostic(message, &entry.location, loaded);
                loaded.warnings.push(warning);
            }
            Err(message) => {
                return Err(LoadError::Invalid(Box::new(diagnostic(message, &entry.location, loaded))))
            }
        }
    }
    Ok(())
}
