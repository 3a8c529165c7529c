//! `strait -t` / `-T`: parse and check the configuration and report it in `nginx -t`'s exact
//! lines and exit codes, then (`-T`) dump every file read.
//!
//! Where the lines go follows nginx. With the error log on stderr (the default, as Debian
//! builds nginx), a fault is printed as an error log line
//! (`2026/12/03 18:00:00 [emerg] 123#123: MESSAGE`); with `-e FILE` the log line goes to the
//! file and stderr gets `nginx: [emerg] MESSAGE`. The other lines are `nginx: ...` on stderr.
//! The `nginx: ` prefix is kept (not `strait: `): tools and the `.t` harness parse these
//! lines, and strait is a drop-in.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strait_parser::check::{review, CheckOptions, CycleFault, CycleStep};
use strait_parser::{ParseError, ParseOptions};

use crate::nginx_cli::NginxArgs;

/// Where error log lines go during the test.
enum ErrorLog {
    /// stderr: the log line format.
    Stderr,
    /// A file: the log line there, `nginx: [level] ...` on stderr.
    File(PathBuf),
}

/// Runs the test; exit 0 when the configuration is fine, 1 otherwise.
pub(crate) fn run(args: &NginxArgs) -> ExitCode {
    // nginx names the file as given: under a relative prefix it stays relative.
    let conf = args.conf_name();
    let log = error_log(args);
    let shown = conf.display();
    let failed = || {
        eprintln!("nginx: configuration file {shown} test failed");
        ExitCode::FAILURE
    };

    // Step: parse (with -g) and check, as nginx reads the configuration.
    let options = ParseOptions { globals: args.globals.clone().unwrap_or_default() };
    let outcome = strait_parser::parse_file_partial(&conf, &options);
    let check_options = CheckOptions {
        conf_prefix: conf.parent().map(Path::to_path_buf).unwrap_or_else(|| "/".into()),
        prefix: args.prefix_name(),
        ..CheckOptions::default()
    };
    let review = review(&outcome, &check_options);

    // Step: the warnings, printed while reading; a fault found while reading ends the test
    // before `syntax is ok`.
    for warning in &review.warnings {
        log_line(&log, "warn", warning);
    }
    if let Some(fault) = &review.fault {
        log_line(&log, fault.kind.level(), fault);
        return failed();
    }

    // Step: compile the runtime plan, as starting would (certificates, unimplemented
    // directives): a configuration strait cannot run does not pass its test. Its faults of
    // the steps after reading join the checks' in nginx's step order; the pid file is tried
    // only when no earlier step failed, as nginx stops at the first.
    let mut cycle_faults = review.cycle_faults;
    let paths = serve_options(args).paths();
    let compiled = if cycle_faults.iter().any(|fault| fault.step < CycleStep::PidFile) {
        strait_runtime::Plan::compile(&outcome.config, &paths)
    } else {
        strait_runtime::Plan::compile_for_test(&outcome.config, &paths)
    };
    match compiled {
        // Step: the last step, binding the listening sockets, when none before it failed.
        Ok(plan) if cycle_faults.is_empty() => {
            if let Err(error) = strait_runtime::server::test_bind(&plan) {
                let step = error.step.unwrap_or(CycleStep::Listening);
                cycle_faults.push(CycleFault { step, error: nowhere(&error) });
            }
        }
        Ok(_) => {}
        Err(error) => {
            let Some(step) = error.step else {
                log_line(&log, "emerg", &nowhere(&error));
                return failed();
            };
            cycle_faults.push(CycleFault { step, error: nowhere(&error) });
            cycle_faults.sort_by_key(|fault| fault.step);
        }
    }

    // Step: the verdict, the first fault of the steps after reading following `syntax is ok`.
    if !args.quiet {
        eprintln!("nginx: the configuration file {shown} syntax is ok");
    }
    if let Some(fault) = cycle_faults.first() {
        log_line(&log, fault.error.kind.level(), &fault.error);
        return failed();
    }
    if !args.quiet {
        eprintln!("nginx: configuration file {shown} test is successful");
    }
    if args.dump {
        dump(&outcome.config);
    }
    ExitCode::SUCCESS
}

/// A runtime compile fault in the parser's error shape, its text already placed.
fn nowhere(error: &strait_runtime::ConfigError) -> ParseError {
    ParseError::nowhere(strait_parser::ErrorKind::Message(error.to_string().into_bytes()))
}

/// The paths the runtime compiles against, from the same command line.
fn serve_options(args: &NginxArgs) -> crate::cmd::serve::ServeOptions {
    crate::cmd::serve::ServeOptions {
        prefix: args.prefix(),
        conf: args.conf_file(),
        // Without -e the test logs to stderr (strait's default, as Debian builds nginx).
        error_log: Some(
            args.error_log.as_ref().map_or("stderr".into(), |p| p.to_string_lossy().into_owned()),
        ),
        globals: args.globals.clone().unwrap_or_default(),
    }
}

/// The error log of the test: `-e` (relative to the prefix) or stderr.
fn error_log(args: &NginxArgs) -> ErrorLog {
    match &args.error_log {
        Some(path) if path.as_os_str() != "stderr" => {
            if path.is_absolute() {
                ErrorLog::File(path.clone())
            } else {
                ErrorLog::File(args.prefix().join(path))
            }
        }
        _ => ErrorLog::Stderr,
    }
}

/// Writes one message at `level` the way nginx's error log does during a test.
fn log_line(log: &ErrorLog, level: &str, error: &ParseError) {
    let mut line =
        format!("{} [{level}] {}#{}: ", timestamp(), std::process::id(), std::process::id())
            .into_bytes();
    // The message is cut for the log line's 2048 bytes, on stderr too (nginx's copy).
    let message = error.log_message(line.len());
    line.extend_from_slice(&message);
    line.push(b'\n');
    match log {
        ErrorLog::Stderr => {
            let _ = std::io::stderr().write_all(&line);
        }
        ErrorLog::File(path) => {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
            if let Ok(mut file) = file {
                let _ = file.write_all(&line);
            }
            let mut short = format!("nginx: [{level}] ").into_bytes();
            short.extend_from_slice(&message);
            short.push(b'\n');
            let _ = std::io::stderr().write_all(&short);
        }
    }
}

/// `-T`: every file read, main first, each once, under `# configuration file PATH:`.
fn dump(config: &strait_parser::Config) {
    let mut out = std::io::stdout().lock();
    let mut seen = std::collections::HashSet::new();
    for file in &config.files {
        if !seen.insert(&file.path) {
            continue;
        }
        let _ = writeln!(out, "# configuration file {}:", file.path.display());
        let _ = out.write_all(&file.content);
        let _ = out.write_all(b"\n");
    }
}

/// nginx's log time, `YYYY/MM/DD HH:MM:SS`, in UTC (nginx uses local time; strait's test
/// lines are compared without it).
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);

    // Step: the civil date of a day count (Howard Hinnant's days-to-civil).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);

    format!(
        "{year:04}/{month:02}/{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
