//! Kubernetes version and feature gates: inputs that switch version-dependent behaviour.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A Kubernetes minor version (`1.35`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major (1).
    pub major: u32,
    /// Minor.
    pub minor: u32,
}

impl KubeVersion {
    /// `1.minor`.
    pub const fn v1(minor: u32) -> Self {
        KubeVersion { major: 1, minor }
    }

    /// The default baseline (v1.35, see the reference §0).
    pub const DEFAULT: KubeVersion = KubeVersion::v1(35);

    /// True if this version is at least `1.minor`.
    pub fn at_least(self, minor: u32) -> bool {
        self >= KubeVersion::v1(minor)
    }
}

impl Default for KubeVersion {
    fn default() -> Self {
        KubeVersion::DEFAULT
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A version string that is not `1.N`, `v1.N` or `v1.N.P`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Kubernetes version {0:?}: expected MAJOR.MINOR such as 1.35")]
pub struct ParseVersionError(pub String);

impl FromStr for KubeVersion {
    type Err = ParseVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let major = parts.next().and_then(|p| p.parse().ok());
        let minor = parts.next().and_then(|p| p.parse().ok());
        let patch_ok = parts.next().is_none_or(|p| p.chars().next().is_some_and(|c| c.is_ascii_digit()));
        match (major, minor, patch_ok, parts.next()) {
            (Some(major), Some(minor), true, None) => Ok(KubeVersion { major, minor }),
            _ => Err(ParseVersionError(s.to_string())),
        }
    }
}

/// Feature gates the scheduler reads, with the release where each became on by default.
/// `None`: off by default in every release modelled.
const GATE_DEFAULT_ON_SINCE: &[(&str, Option<u32>)] = &[
    ("SchedulerPopFromBackoffQ", Some(33)),
    ("PodLevelResources", Some(34)),
    ("SidecarContainers", Some(29)),
    ("TaintTolerationComparisonOperators", None),
    ("SchedulerQueueingHints", Some(32)),
    ("MatchLabelKeysInPodTopologySpread", Some(27)),
    ("NodeInclusionPolicyInPodTopologySpread", Some(26)),
    ("DynamicResourceAllocation", Some(34)),
];

/// Inputs that select version-dependent behaviour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// The Kubernetes release to imitate.
    pub kubernetes_version: KubeVersion,
    /// Explicit feature-gate settings (`--feature-gates Name=true`); others take the version's default.
    pub feature_gates: BTreeMap<String, bool>,
}

impl SchedulerOptions {
    /// Whether a feature gate is on: the explicit setting, else the default for the version.
    pub fn feature_enabled(&self, gate: &str) -> bool {
        if let Some(v) = self.feature_gates.get(gate) {
            return *v;
        }
        GATE_DEFAULT_ON_SINCE
            .iter()
            .find(|(n, _)| *n == gate)
            .and_then(|(_, since)| *since)
            .is_some_and(|since| self.kubernetes_version.at_least(since))
    }

    /// True if the gate is one the scheduler knows (for warning on typos).
    pub fn is_known_gate(gate: &str) -> bool {
        GATE_DEFAULT_ON_SINCE.iter().any(|(n, _)| *n == gate)
    }

    /// Parses `Name=true,Other=false` (the `--feature-gates` syntax).
    pub fn parse_feature_gates(spec: &str) -> Result<BTreeMap<String, bool>, String> {
        let mut out = BTreeMap::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("feature gate {item:?}: expected Name=true|false"))?;
            let value = match value.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(format!(
                        "feature gate {name}: invalid value {other:?}, expected true or false"
                    ))
                }
            };
            out.insert(name.trim().to_string(), value);
        }
        Ok(out)
    }

    /// BalancedAllocation uses the v1.36 "with vs without the pod" formula.
    pub fn balanced_allocation_v136(&self) -> bool {
        self.kubernetes_version.at_least(36)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_in_the_usual_spellings() {
        assert_eq!("1.35".parse::<KubeVersion>().unwrap(), KubeVersion::v1(35));
        assert_eq!("v1.36.2".parse::<KubeVersion>().unwrap(), KubeVersion::v1(36));
        assert!("1".parse::<KubeVersion>().is_err());
        assert!("1.x".parse::<KubeVersion>().is_err());
    }

    #[test]
    fn gates_default_by_version_and_explicit_settings_win() {
        let mut o = SchedulerOptions { kubernetes_version: KubeVersion::v1(32), ..Default::default() };
        assert!(!o.feature_enabled("SchedulerPopFromBackoffQ"));
        o.kubernetes_version = KubeVersion::v1(35);
        assert!(o.feature_enabled("SchedulerPopFromBackoffQ"));
        o.feature_gates = SchedulerOptions::parse_feature_gates("SchedulerPopFromBackoffQ=false").unwrap();
        assert!(!o.feature_enabled("SchedulerPopFromBackoffQ"));
        assert!(SchedulerOptions::parse_feature_gates("X=maybe").is_err());
    }
}
