//! Resolved scheduler configuration: profiles with plugin sets per extension point, merged with
//! the defaults as upstream `mergePlugins` does (`pkg/scheduler/apis/config/v1/default_plugins.go`).

use super::args::PluginArgs;

/// A plugin reference in a plugin set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRef {
    /// Plugin name (`*` in `disabled` means all).
    pub name: String,
    /// Score weight (0 = unset ⇒ 1).
    pub weight: i32,
}

impl PluginRef {
    /// A reference with weight 0 (unset).
    pub fn new(name: &str) -> Self {
        PluginRef { name: name.to_string(), weight: 0 }
    }

    /// A reference with a weight.
    pub fn weighted(name: &str, weight: i32) -> Self {
        PluginRef { name: name.to_string(), weight }
    }
}

/// `enabled` / `disabled` of one extension point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginSet {
    /// Enabled plugins, in order.
    pub enabled: Vec<PluginRef>,
    /// Disabled plugins (`*` = all defaults).
    pub disabled: Vec<PluginRef>,
}

impl PluginSet {
    /// True if `*` or `name` is disabled.
    pub fn is_disabled(&self, name: &str) -> bool {
        self.disabled.iter().any(|p| p.name == name || p.name == "*")
    }

    /// True if `*` is disabled.
    pub fn all_disabled(&self) -> bool {
        self.disabled.iter().any(|p| p.name == "*")
    }
}

/// An extension point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExtensionPoint {
    /// PreEnqueue.
    PreEnqueue,
    /// QueueSort.
    QueueSort,
    /// PreFilter.
    PreFilter,
    /// Filter.
    Filter,
    /// PostFilter.
    PostFilter,
    /// PreScore.
    PreScore,
    /// Score.
    Score,
    /// Reserve.
    Reserve,
    /// Permit.
    Permit,
    /// PreBind.
    PreBind,
    /// Bind.
    Bind,
    /// PostBind.
    PostBind,
}

impl ExtensionPoint {
    /// All points in upstream order.
    pub const ALL: [ExtensionPoint; 12] = [
        ExtensionPoint::PreEnqueue,
        ExtensionPoint::QueueSort,
        ExtensionPoint::PreFilter,
        ExtensionPoint::Filter,
        ExtensionPoint::PostFilter,
        ExtensionPoint::PreScore,
        ExtensionPoint::Score,
        ExtensionPoint::Reserve,
        ExtensionPoint::Permit,
        ExtensionPoint::PreBind,
        ExtensionPoint::Bind,
        ExtensionPoint::PostBind,
    ];

    /// The YAML field name (`preFilter`).
    pub fn field(self) -> &'static str {
        match self {
            ExtensionPoint::PreEnqueue => "preEnqueue",
            ExtensionPoint::QueueSort => "queueSort",
            ExtensionPoint::PreFilter => "preFilter",
            ExtensionPoint::Filter => "filter",
            ExtensionPoint::PostFilter => "postFilter",
            ExtensionPoint::PreScore => "preScore",
            ExtensionPoint::Score => "score",
            ExtensionPoint::Reserve => "reserve",
            ExtensionPoint::Permit => "permit",
            ExtensionPoint::PreBind => "preBind",
            ExtensionPoint::Bind => "bind",
            ExtensionPoint::PostBind => "postBind",
        }
    }

    /// The upstream interface name (`FilterPlugin`), for errors.
    pub fn interface(self) -> &'static str {
        match self {
            ExtensionPoint::PreEnqueue => "PreEnqueuePlugin",
            ExtensionPoint::QueueSort => "QueueSortPlugin",
            ExtensionPoint::PreFilter => "PreFilterPlugin",
            ExtensionPoint::Filter => "FilterPlugin",
            ExtensionPoint::PostFilter => "PostFilterPlugin",
            ExtensionPoint::PreScore => "PreScorePlugin",
            ExtensionPoint::Score => "ScorePlugin",
            ExtensionPoint::Reserve => "ReservePlugin",
            ExtensionPoint::Permit => "PermitPlugin",
            ExtensionPoint::PreBind => "PreBindPlugin",
            ExtensionPoint::Bind => "BindPlugin",
            ExtensionPoint::PostBind => "PostBindPlugin",
        }
    }
}

/// Plugin sets of a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plugins {
    /// One set per extension point, indexed like [`ExtensionPoint::ALL`].
    pub points: [PluginSet; 12],
    /// `multiPoint`.
    pub multi_point: PluginSet,
}

impl Plugins {
    /// The set of one extension point.
    pub fn get(&self, p: ExtensionPoint) -> &PluginSet {
        &self.points[p as usize]
    }

    /// Mutable set of one extension point.
    pub fn get_mut(&mut self, p: ExtensionPoint) -> &mut PluginSet {
        &mut self.points[p as usize]
    }
}

/// The default plugins, all in `multiPoint`, in upstream order with their weights (§2). Volume
/// and DRA plugins are omitted: kubesim models no volumes or resource claims.
pub fn default_plugins() -> Plugins {
    let multi = [
        ("SchedulingGates", 0),
        ("PrioritySort", 0),
        ("NodeUnschedulable", 0),
        ("NodeName", 0),
        ("TaintToleration", 3),
        ("NodeAffinity", 2),
        ("NodePorts", 0),
        ("NodeResourcesFit", 1),
        ("PodTopologySpread", 2),
        ("InterPodAffinity", 2),
        ("DefaultPreemption", 0),
        ("NodeResourcesBalancedAllocation", 1),
        ("ImageLocality", 1),
        ("DefaultBinder", 0),
    ];
    Plugins {
        multi_point: PluginSet {
            enabled: multi.iter().map(|(n, w)| PluginRef::weighted(n, *w)).collect(),
            disabled: Vec::new(),
        },
        ..Default::default()
    }
}

/// Upstream `mergePluginSet`: defaults minus disabled (all if `*`), with re-configured defaults
/// replaced in place, then the remaining custom plugins appended.
pub fn merge_plugin_set(default: &PluginSet, custom: &PluginSet) -> PluginSet {
    let mut replaced = vec![false; custom.enabled.len()];
    let mut enabled = Vec::new();
    if !custom.all_disabled() {
        for d in &default.enabled {
            if custom.is_disabled(&d.name) {
                continue;
            }
            match custom.enabled.iter().position(|c| c.name == d.name) {
                Some(i) => {
                    replaced[i] = true;
                    enabled.push(custom.enabled[i].clone());
                }
                None => enabled.push(d.clone()),
            }
        }
    }
    for (i, c) in custom.enabled.iter().enumerate() {
        if !replaced[i] {
            enabled.push(c.clone());
        }
    }
    PluginSet { enabled, disabled: custom.disabled.clone() }
}

/// Upstream `mergePlugins(defaults, custom)` for every extension point and multiPoint.
pub fn merge_plugins(default: &Plugins, custom: &Plugins) -> Plugins {
    let mut out = Plugins {
        multi_point: merge_plugin_set(&default.multi_point, &custom.multi_point),
        ..Default::default()
    };
    for p in ExtensionPoint::ALL {
        *out.get_mut(p) = merge_plugin_set(default.get(p), custom.get(p));
    }
    out
}

/// One scheduling profile, resolved and defaulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileConfig {
    /// `schedulerName`: pods with this `spec.schedulerName` use the profile.
    pub scheduler_name: String,
    /// Profile-level percentageOfNodesToScore (overrides the global value).
    pub percentage_of_nodes_to_score: Option<i32>,
    /// Plugin sets, already merged with the defaults.
    pub plugins: Plugins,
    /// Args by plugin name, defaulted, in the order given then defaults appended.
    pub plugin_config: Vec<(String, PluginArgs)>,
}

impl ProfileConfig {
    /// The default profile (`default-scheduler`) with default args.
    pub fn default_profile() -> Self {
        ProfileConfig::with_plugins(kubesim_api::pod::DEFAULT_SCHEDULER_NAME, Plugins::default())
    }

    /// A profile whose plugins are `custom` merged over the defaults, with default args for all.
    pub fn with_plugins(scheduler_name: &str, custom: Plugins) -> Self {
        let plugins = merge_plugins(&default_plugins(), &custom);
        let mut p = ProfileConfig {
            scheduler_name: scheduler_name.to_string(),
            percentage_of_nodes_to_score: None,
            plugins,
            plugin_config: Vec::new(),
        };
        p.default_plugin_args();
        p
    }

    /// Adds default args for every enabled plugin that has args and none configured
    /// (upstream `setDefaults_KubeSchedulerProfile`).
    pub fn default_plugin_args(&mut self) {
        let mut names: Vec<String> = Vec::new();
        for set in self.plugins.points.iter().chain(std::iter::once(&self.plugins.multi_point)) {
            for p in &set.enabled {
                if !names.contains(&p.name) {
                    names.push(p.name.clone());
                }
            }
        }
        for n in names {
            let args = PluginArgs::default_for(&n);
            if args != PluginArgs::None && !self.plugin_config.iter().any(|(name, _)| *name == n) {
                self.plugin_config.push((n, args));
            }
        }
    }

    /// The args configured for a plugin (or its defaults).
    pub fn args_for(&self, plugin: &str) -> PluginArgs {
        self.plugin_config
            .iter()
            .find(|(n, _)| n == plugin)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| PluginArgs::default_for(plugin))
    }
}

/// The whole configuration (`KubeSchedulerConfiguration`), resolved and defaulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// `parallelism` (recorded; the simulator is sequential).
    pub parallelism: i32,
    /// Global percentageOfNodesToScore (`None`/0 = adaptive).
    pub percentage_of_nodes_to_score: Option<i32>,
    /// `podInitialBackoffSeconds` (default 1).
    pub pod_initial_backoff_seconds: i64,
    /// `podMaxBackoffSeconds` (default 10).
    pub pod_max_backoff_seconds: i64,
    /// Profiles (at least one).
    pub profiles: Vec<ProfileConfig>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            parallelism: 16,
            percentage_of_nodes_to_score: None,
            pod_initial_backoff_seconds: 1,
            pod_max_backoff_seconds: 10,
            profiles: vec![ProfileConfig::default_profile()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &PluginSet) -> Vec<&str> {
        set.enabled.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn disabling_star_drops_every_default_and_keeps_custom_plugins() {
        let custom = PluginSet {
            enabled: vec![PluginRef::new("NodeResourcesFit")],
            disabled: vec![PluginRef::new("*")],
        };
        let merged = merge_plugin_set(&default_plugins().multi_point, &custom);
        assert_eq!(names(&merged), ["NodeResourcesFit"]);
    }

    #[test]
    fn a_reconfigured_default_keeps_its_position_with_the_new_weight() {
        let custom = PluginSet {
            enabled: vec![PluginRef::weighted("MyPlugin", 4), PluginRef::weighted("TaintToleration", 7)],
            disabled: vec![PluginRef::new("ImageLocality")],
        };
        let merged = merge_plugin_set(&default_plugins().multi_point, &custom);
        let n = names(&merged);
        assert_eq!(n[4], "TaintToleration");
        assert_eq!(merged.enabled[4].weight, 7);
        assert!(!n.contains(&"ImageLocality"));
        assert_eq!(*n.last().unwrap(), "MyPlugin");
    }
}
