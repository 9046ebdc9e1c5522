//! Plugin registry: upstream plugin name → factory (upstream `plugins/registry.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::args::PluginArgs;
use crate::options::SchedulerOptions;

use super::interface::Plugin;

/// What a factory gets to build a plugin.
#[derive(Debug)]
pub struct PluginContext<'a> {
    /// The plugin's args from `pluginConfig`, defaulted (`PluginArgs::None` for plugins without args).
    pub args: &'a PluginArgs,
    /// Version and feature gates.
    pub options: &'a SchedulerOptions,
    /// Name of the profile being built.
    pub profile_name: &'a str,
}

/// Builds a plugin; the error is a human-readable message (wrong args type, invalid args).
pub type PluginFactory = fn(&PluginContext<'_>) -> Result<Arc<dyn Plugin>, String>;

/// Name → factory.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    factories: BTreeMap<String, PluginFactory>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// All in-tree plugins kubesim implements.
    pub fn in_tree() -> Self {
        let mut r = Registry::new();
        crate::plugins::register_in_tree(&mut r);
        r
    }

    /// Registers (or replaces) a factory.
    pub fn register(&mut self, name: &str, factory: PluginFactory) {
        self.factories.insert(name.to_string(), factory);
    }

    /// The factory of a plugin.
    pub fn get(&self, name: &str) -> Option<PluginFactory> {
        self.factories.get(name).copied()
    }

    /// Registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }
}
