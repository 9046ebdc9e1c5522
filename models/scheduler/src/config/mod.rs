//! `KubeSchedulerConfiguration`: typed plugin args, resolved profiles, YAML loading with upstream
//! defaulting and validation.

pub mod args;
pub mod profile;
pub mod v1;

pub use args::PluginArgs;
pub use profile::{
    default_plugins, ExtensionPoint, PluginRef, PluginSet, Plugins, ProfileConfig, SchedulerConfig,
};
pub use v1::{parse_config, ConfigError, FieldError};
