//! `-s stop|quit|reopen|reload`: signals the running instance through its pid file.

use super::serve::{report, ServeOptions};
use std::process::ExitCode;
use strait_runtime::log::Level;
use strait_runtime::server::ServeError;

/// Loads the configuration to find the pid file, then sends the signal. As nginx's signaller,
/// it opens none of the log files the configuration names: a log path the running instance
/// cannot open is its reload's fault to report, not a reason to keep the signal back.
pub(crate) fn run(options: &ServeOptions, signal: &str) -> ExitCode {
    let early = options.early_log();
    let plan = match options.loader_with(strait_runtime::Plan::compile_for_signal)() {
        Ok(plan) => plan,
        Err(e) => {
            report(&early, Level::Emerg, &e.to_string());
            return ExitCode::FAILURE;
        }
    };
    // A notice goes to the log only (nginx copies to stderr only warn and worse).
    early.write(Level::Notice, None, "signal process started");
    match strait_runtime::server::signal_running(&plan.main.pid, signal) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // nginx's levels for `-s`: a failed kill() is an alert, the pid file's faults
            // (missing, not a number) are errors.
            let level = match e {
                ServeError::Kill { .. } => Level::Alert,
                _ => Level::Error,
            };
            report(&early, level, &e.to_string());
            ExitCode::FAILURE
        }
    }
}
