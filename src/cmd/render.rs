//! `strait render`: APISIX-style routes and config to an nginx configuration (strait-render).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strait_render::{EndFlag, RenderError, RenderOptions, Rendered};

/// `strait render` flags.
#[derive(Debug, clap::Args)]
pub(crate) struct RenderArgs {
    /// The routes document: stream_routes, upstreams, ssls (APISIX standalone YAML or JSON).
    #[arg(long, default_value = "conf/apisix.yaml")]
    pub(crate) routes: PathBuf,
    /// The config document (APISIX config.yaml); defaults apply when absent.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Where to write the configuration; `-` (the default) prints it. Files it refers to
    /// (long certificates, keys) go into the same directory (the current one for `-`).
    #[arg(short = 'o', long = "output", default_value = "-")]
    pub(crate) output: PathBuf,
    /// Also run strait's configuration checks (`strait -t`) on the result: nginx's checks,
    /// then the runtime plan (certificates, what strait cannot run yet), as starting would.
    #[arg(long)]
    pub(crate) check: bool,
    /// Begin the configuration with `load_module PATH;` (repeatable), for an nginx whose
    /// stream module is dynamic: Debian's needs
    /// `--load-module /usr/lib/nginx/modules/ngx_stream_module.so`. strait takes that line.
    #[arg(long = "load-module", value_name = "PATH")]
    pub(crate) load_modules: Vec<PathBuf>,
}

/// Runs `strait render`; exit 1 with every fault on stderr when the input is invalid.
pub(crate) fn run(args: &RenderArgs) -> ExitCode {
    match render(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report("render", &error);
            ExitCode::FAILURE
        }
    }
}

fn render(args: &RenderArgs) -> Result<(), RenderError> {
    // Step: where the configuration and its files go.
    let to_stdout = args.output.as_os_str() == "-";
    let config_path = if to_stdout { cwd()?.join("nginx.conf") } else { absolute(&args.output)? };
    let files_dir = config_path.parent().map(Path::to_path_buf).unwrap_or_else(|| "/".into());

    // Step: read, validate and render.
    let mut options = RenderOptions::new(&files_dir);
    options.load_modules = args.load_modules.iter().map(|m| m.display().to_string()).collect();
    // A YAML file without the end flag is rendered with a warning: the user asked for this
    // file now, so it is not one caught half-written (`strait up` does not load it).
    let config = args.config.as_deref();
    let rendered = strait_render::render_paths(&args.routes, config, EndFlag::Warn, &options)?;
    warn("render", &rendered);
    if args.check {
        strait_render::check_config(&rendered.config, &config_path)?;
    }

    // Step: the files the configuration refers to, then (--check) the runtime plan, which
    // loads them; the configuration itself is written only when it passed.
    if to_stdout {
        write_files(&rendered, &files_dir)?;
    } else {
        rendered.write_files(&files_dir)?;
    }
    if args.check {
        check_runtime(&rendered.config, &config_path)?;
    }

    // Step: output.
    if to_stdout {
        print!("{}", rendered.config);
    } else {
        rendered.write(&config_path, &files_dir)?;
        eprintln!("strait render: wrote {}", config_path.display());
    }
    if args.check {
        eprintln!("strait render: the configuration passes strait -t's checks");
    }
    Ok(())
}

/// Compiles the runtime plan of a rendered configuration, as `strait -t` does after nginx's
/// checks. Log files open under a scratch prefix (with its `logs/`), removed afterwards:
/// where the server will run is not known here.
fn check_runtime(config: &str, config_path: &Path) -> Result<(), RenderError> {
    let failed = |message: String| RenderError::Check { message };
    let parsed = strait_parser::parse_bytes(config.as_bytes(), config_path, &Default::default())
        .map_err(|e| failed(e.to_string()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch =
        std::env::temp_dir().join(format!("strait-render-check-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(scratch.join("logs"))
        .map_err(|source| RenderError::Read { path: scratch.clone(), source })?;
    let paths = strait_runtime::Paths {
        prefix: scratch.clone(),
        conf_prefix: config_path.parent().map(Path::to_path_buf).unwrap_or_else(|| "/".into()),
        default_error_log: strait_runtime::plan::LogPath::Stderr,
    };
    let compiled = strait_runtime::Plan::compile(&parsed, &paths);
    let _ = std::fs::remove_dir_all(&scratch);
    compiled.map(|_| ()).map_err(|e| failed(e.to_string()))
}

/// Writes only the files a printed configuration refers to, saying so on stderr.
fn write_files(rendered: &Rendered, dir: &Path) -> Result<(), RenderError> {
    rendered.write_files(dir)?;
    for file in &rendered.files {
        eprintln!("strait render: wrote {}", dir.join(&file.name).display());
    }
    Ok(())
}

/// Prints the warnings of a render, one per line, under the name of the `command` that
/// rendered (`render`, `up`).
pub(crate) fn warn(command: &str, rendered: &Rendered) {
    for warning in &rendered.warnings {
        eprintln!("strait {command}: warning: {warning}");
    }
}

/// Prints an error of `command`: one fault per line.
pub(crate) fn report(command: &str, error: &RenderError) {
    match error {
        RenderError::Invalid(faults) => {
            for fault in &faults.0 {
                eprintln!("strait {command}: {fault}");
            }
        }
        other => eprintln!("strait {command}: {other}"),
    }
}

fn cwd() -> Result<PathBuf, RenderError> {
    std::env::current_dir().map_err(|source| RenderError::Read { path: ".".into(), source })
}

/// The path made absolute against the current directory (socket and file paths in the
/// configuration must not depend on where nginx or strait is started).
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, RenderError> {
    if path.is_absolute() {
        Ok(path.to_owned())
    } else {
        Ok(cwd()?.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_check_refuses_what_strait_cannot_run() {
        let path = std::env::temp_dir().join("strait-render-check.conf");
        let runnable = "events {}\nstream {\n    server { listen 127.0.0.1:1; return x; }\n}\n";
        check_runtime(runnable, &path).unwrap();
        let config =
            "events {}\nstream {\n    server { listen 127.0.0.1:1; pass 127.0.0.1:2; }\n}\n";
        let error = check_runtime(config, &path).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "the rendered configuration fails the checks: \"pass\" directive is not \
                 supported by strait yet in {}:3",
                path.display()
            )
        );
    }
}
