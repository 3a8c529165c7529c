//! `-s stop|quit|reopen|reload`: signals the running instance through its pid file.

use super::serve::{report, ServeOptions};
use std::process::ExitCode;
use strait_runtime::log::Level;

/// Loads the configuration to find the pid file, then sends the signal.
pub(crate) fn run(options: &ServeOptions, signal: &str) -> ExitCode {
    let early = options.early_log();
    let plan = match options.loader()() {
        Ok(plan) => plan,
        Err(e) => {
            report(&early, Level::Emerg, &e.to_string());
            return ExitCode::FAILURE;
        }
    };
    match strait_runtime::server::signal_running(&plan.main.pid, signal) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&early, Level::Error, &e.to_string());
            ExitCode::FAILURE
        }
    }
}
