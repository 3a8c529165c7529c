//! `strait render`: APISIX-style routes and config to an nginx configuration (strait-render).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strait_render::{RenderError, RenderOptions, Rendered};

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
    /// Also run strait's configuration checks (`strait -t`) on the result.
    #[arg(long)]
    pub(crate) check: bool,
}

/// Runs `strait render`; exit 1 with every fault on stderr when the input is invalid.
pub(crate) fn run(args: &RenderArgs) -> ExitCode {
    match render(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
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
    let options = RenderOptions { files_dir: files_dir.clone() };
    let rendered = strait_render::render_paths(&args.routes, args.config.as_deref(), &options)?;
    if args.check {
        strait_render::check_config(&rendered.config, &config_path)?;
    }

    // Step: output.
    if to_stdout {
        write_files(&rendered, &files_dir)?;
        print!("{}", rendered.config);
    } else {
        rendered.write(&config_path, &files_dir)?;
    }
    Ok(())
}

/// Writes only the files a printed configuration refers to, saying so on stderr.
fn write_files(rendered: &Rendered, dir: &Path) -> Result<(), RenderError> {
    rendered.write_files(dir)?;
    for file in &rendered.files {
        eprintln!("strait render: wrote {}", dir.join(&file.name).display());
    }
    Ok(())
}

/// Prints an error: one fault per line.
pub(crate) fn report(error: &RenderError) {
    match error {
        RenderError::Invalid(faults) => {
            for fault in &faults.0 {
                eprintln!("strait render: {fault}");
            }
        }
        other => eprintln!("strait render: {other}"),
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
