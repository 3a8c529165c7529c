//! nginx's command line (`src/core/nginx.c`, `ngx_get_options`), parsed by hand because it
//! is a compatibility surface: grouped flags (`-tq`), attached values (`-pDIR`), and nginx's
//! exact error lines (`invalid option: "x"`, `option "-p" requires directory name`).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// The signals `-s` sends to a running master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// `-s stop`: TERM, fast shutdown.
    Stop,
    /// `-s quit`: QUIT, graceful shutdown.
    Quit,
    /// `-s reopen`: USR1, reopen log files.
    Reopen,
    /// `-s reload`: HUP, re-read the configuration.
    Reload,
}

impl Signal {
    /// The name `-s` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Stop => "stop",
            Signal::Quit => "quit",
            Signal::Reopen => "reopen",
            Signal::Reload => "reload",
        }
    }
}

/// Everything nginx's flags can say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NginxArgs {
    /// `-?` / `-h`: version and usage.
    pub help: bool,
    /// `-v`, `-V`, `-?`, `-h`: print the version line.
    pub version: bool,
    /// `-V`: also the build details.
    pub configure: bool,
    /// `-t` / `-T`: test the configuration and exit.
    pub test: bool,
    /// `-T`: also dump every configuration file to stdout.
    pub dump: bool,
    /// `-q`: no success lines while testing.
    pub quiet: bool,
    /// `-p PREFIX`.
    pub prefix: Option<PathBuf>,
    /// `-e FILE` (`stderr` means stderr).
    pub error_log: Option<PathBuf>,
    /// `-c FILE`.
    pub conf: Option<PathBuf>,
    /// `-g DIRECTIVES`.
    pub globals: Option<Vec<u8>>,
    /// `-s SIGNAL`.
    pub signal: Option<Signal>,
}

/// A command line nginx refuses; the text is what nginx prints after `nginx: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CliError(pub Vec<u8>);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for CliError {}

/// The prefix strait uses without `-p` (nginx's compiled-in `--prefix`). strait is not
/// installed under nginx's paths, so it has its own.
pub(crate) const DEFAULT_PREFIX: &str = "/etc/strait/";

/// The configuration file without `-c`, relative to the prefix as nginx resolves `-c`.
pub(crate) const DEFAULT_CONF: &str = "nginx.conf";

impl NginxArgs {
    /// The prefix as nginx keeps it (`ngx_prefix`): `-p` (or [`DEFAULT_PREFIX`]) with a
    /// trailing `/`. A relative one stays relative: nginx names the files under it so
    /// (`the configuration file pre/nginx.conf syntax is ok`, `... in pre/nginx.conf:3`).
    pub(crate) fn prefix_name(&self) -> PathBuf {
        let prefix = self.prefix.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_PREFIX));
        let mut bytes = prefix.into_os_string().into_vec();
        if bytes.last() != Some(&b'/') {
            bytes.push(b'/');
        }
        PathBuf::from(OsString::from_vec(bytes))
    }

    /// [`NginxArgs::prefix_name`] made absolute against the working directory, for serving:
    /// the runtime may change its working directory (`working_directory`), nginx's master
    /// never does.
    pub(crate) fn prefix(&self) -> PathBuf {
        let prefix = self.prefix_name();
        if prefix.is_absolute() {
            prefix
        } else {
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")).join(prefix)
        }
    }

    /// The configuration file as nginx names it: `-c` (or [`DEFAULT_CONF`]) after
    /// [`NginxArgs::prefix_name`] when relative (so relative with a relative prefix).
    pub(crate) fn conf_name(&self) -> PathBuf {
        under(self.prefix_name(), self.conf.as_deref())
    }

    /// The configuration file made absolute: [`NginxArgs::conf_name`] under
    /// [`NginxArgs::prefix`], for serving.
    pub(crate) fn conf_file(&self) -> PathBuf {
        under(self.prefix(), self.conf.as_deref())
    }
}

/// `-c` (or [`DEFAULT_CONF`]) as given when absolute, else after `prefix` (which ends in `/`).
fn under(prefix: PathBuf, conf: Option<&std::path::Path>) -> PathBuf {
    let conf = conf.unwrap_or(std::path::Path::new(DEFAULT_CONF));
    if conf.is_absolute() {
        return conf.to_path_buf();
    }
    let mut bytes = prefix.into_os_string().into_vec();
    bytes.extend_from_slice(conf.as_os_str().as_bytes());
    PathBuf::from(OsString::from_vec(bytes))
}

/// Parses nginx's flags (`args` without the program name), as `ngx_get_options` does.
pub(crate) fn parse(args: &[OsString]) -> Result<NginxArgs, CliError> {
    let mut out = NginxArgs::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();

        // Step: every argument is a group of flags after a `-`.
        let Some(mut flags) = arg.strip_prefix(b"-") else {
            return Err(invalid(arg));
        };

        while let Some((&flag, rest)) = flags.split_first() {
            flags = rest;
            match flag {
                b'?' | b'h' => {
                    out.version = true;
                    out.help = true;
                }
                b'v' => out.version = true,
                b'V' => {
                    out.version = true;
                    out.configure = true;
                }
                b't' => out.test = true,
                b'T' => {
                    out.test = true;
                    out.dump = true;
                }
                b'q' => out.quiet = true,

                // Step: a flag with a value takes the rest of the group or the next argument.
                b'p' | b'e' | b'c' | b'g' | b's' => {
                    let value = if !flags.is_empty() {
                        flags.to_vec()
                    } else if let Some(next) = args.get(i + 1) {
                        i += 1;
                        next.as_bytes().to_vec()
                    } else {
                        return Err(requires(flag));
                    };
                    let path = || PathBuf::from(OsString::from_vec(value.clone()));
                    match flag {
                        b'p' => out.prefix = Some(path()),
                        b'e' => out.error_log = Some(path()),
                        b'c' => out.conf = Some(path()),
                        b'g' => out.globals = Some(value.clone()),
                        _ => out.signal = Some(signal(&value)?),
                    }
                    flags = b"";
                }
                other => return Err(invalid(&[other])),
            }
        }
        i += 1;
    }
    Ok(out)
}

/// `invalid option: "X"`.
fn invalid(what: &[u8]) -> CliError {
    let mut text = b"invalid option: \"".to_vec();
    text.extend_from_slice(what);
    text.push(b'"');
    CliError(text)
}

/// `option "-X" requires ...`.
fn requires(flag: u8) -> CliError {
    let what = match flag {
        b'p' => "directory name",
        b'e' | b'c' => "file name",
        _ => "parameter",
    };
    CliError(format!("option \"-{}\" requires {what}", flag as char).into_bytes())
}

/// The `-s` names nginx knows.
fn signal(name: &[u8]) -> Result<Signal, CliError> {
    match name {
        b"stop" => Ok(Signal::Stop),
        b"quit" => Ok(Signal::Quit),
        b"reopen" => Ok(Signal::Reopen),
        b"reload" => Ok(Signal::Reload),
        _ => {
            let mut what = b"-s ".to_vec();
            what.extend_from_slice(name);
            Err(invalid(&what))
        }
    }
}

/// The usage text of `-h`, after the version line (nginx's, with strait's defaults).
pub(crate) fn usage() -> String {
    format!(
        "Usage: nginx [-?hvVtTq] [-s signal] [-p prefix]\n\
         \x20            [-e filename] [-c filename] [-g directives]\n\
         \n\
         Options:\n\
         \x20 -?,-h         : this help\n\
         \x20 -v            : show version and exit\n\
         \x20 -V            : show version and configure options then exit\n\
         \x20 -t            : test configuration and exit\n\
         \x20 -T            : test configuration, dump it and exit\n\
         \x20 -q            : suppress non-error messages during configuration testing\n\
         \x20 -s signal     : send signal to a master process: stop, quit, reopen, reload\n\
         \x20 -p prefix     : set prefix path (default: {DEFAULT_PREFIX})\n\
         \x20 -e filename   : set error log file (default: stderr)\n\
         \x20 -c filename   : set configuration file (default: {DEFAULT_CONF})\n\
         \x20 -g directives : set global directives out of configuration file\n\
         \n\
         strait's own commands (strait help COMMAND for their options):\n\
         \x20 demo          : an mTLS upstream and strait in front of it, on loopback\n\
         \x20 render, up    : APISIX-style stream routes to nginx configuration, served\n\
         \x20 prove         : run Test::Nginx-style .t suites on strait or nginx\n\
         \x20 fmt, parse    : print a configuration indented, or as crossplane JSON\n\
         \n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<NginxArgs, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&args).map_err(|e| e.to_string())
    }

    #[test]
    fn grouped_and_attached() {
        let args = run(&["-tq", "-p/tmp/x/", "-c", "a.conf", "-gdaemon off;"]).unwrap();
        assert!(args.test && args.quiet && !args.dump);
        assert_eq!(args.prefix, Some(PathBuf::from("/tmp/x/")));
        assert_eq!(args.conf_file(), PathBuf::from("/tmp/x/a.conf"));
        assert_eq!(args.globals.as_deref(), Some(&b"daemon off;"[..]));
        let args = run(&["-p", "pre", "-c", "a.conf"]).unwrap();
        assert_eq!(args.conf_name(), PathBuf::from("pre/a.conf"));
        assert_eq!(args.prefix_name(), PathBuf::from("pre/"));
        assert!(args.conf_file().is_absolute() && args.conf_file().ends_with("pre/a.conf"));
        let args = run(&["-Tqc", "/a.conf"]).unwrap();
        assert!(args.dump && args.test && args.quiet);
        assert_eq!(args.conf_file(), PathBuf::from("/a.conf"));
    }

    #[test]
    fn nginx_error_texts() {
        assert_eq!(run(&["-x"]).unwrap_err(), "invalid option: \"x\"");
        assert_eq!(run(&["-tx"]).unwrap_err(), "invalid option: \"x\"");
        assert_eq!(run(&["foo"]).unwrap_err(), "invalid option: \"foo\"");
        assert_eq!(run(&["-s", "bogus"]).unwrap_err(), "invalid option: \"-s bogus\"");
        assert_eq!(run(&["-p"]).unwrap_err(), "option \"-p\" requires directory name");
        assert_eq!(run(&["-e"]).unwrap_err(), "option \"-e\" requires file name");
        assert_eq!(run(&["-c"]).unwrap_err(), "option \"-c\" requires file name");
        assert_eq!(run(&["-g"]).unwrap_err(), "option \"-g\" requires parameter");
        assert_eq!(run(&["-s"]).unwrap_err(), "option \"-s\" requires parameter");
        assert_eq!(run(&["-sreload"]).unwrap().signal, Some(Signal::Reload));
    }
}
