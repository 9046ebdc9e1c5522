//! `kubesim validate-scenario`: checks a scenario file without running it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use kubesim_scenarios::Scenario;

use super::{fail, CliError};

/// Arguments of `kubesim validate-scenario`.
#[derive(Debug, Args)]
pub struct ValidateScenarioArgs {
    /// The scenario file.
    pub scenario: PathBuf,
}

/// Loads and validates a scenario, printing its warnings to stderr; invalid → exit code 2.
pub fn load_scenario(path: &Path) -> Result<Scenario, CliError> {
    match kubesim_scenarios::load(path) {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            Ok(s)
        }
        Err(e) => {
            let lines: Vec<String> = match e.diagnostics() {
                [] => vec![e.to_string()],
                diags => diags.iter().map(ToString::to_string).collect(),
            };
            Err(CliError::invalid(lines.join("\nerror: ")))
        }
    }
}

/// Runs the command.
pub fn run(args: &ValidateScenarioArgs) -> ExitCode {
    match load_scenario(&args.scenario) {
        Ok(s) => {
            outln!(
                "{}: valid — {} nodes, {} deployments, {} pods, {} events, {} expectations, duration {}",
                s.name,
                s.nodes.len(),
                s.deployments.len(),
                s.pods.len(),
                s.actions.len(),
                s.expectations.len(),
                s.duration
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
