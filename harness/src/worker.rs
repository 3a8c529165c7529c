//! One worker of a run: its server root, stream port and running server, and the steps of
//! a block (Test::Nginx's order): skip or run, assemble the config, restart the server,
//! talk to the stream servers, check the response, then the logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::binary::BinaryInfo;
use crate::check::{self, show, Check};
use crate::client::{self, Exchange, Outcome, Timeout};
use crate::conf::{self, ConfParams};
use crate::differences::{self, Applied, Differences};
use crate::env::Expander;
use crate::error::BailOut;
use crate::preamble::{read_controls, Controls};
use crate::report::{FileReport, Tap};
use crate::run::Options;
use crate::sections::{self, mark_todo};
use crate::server::{self, Server, ServerRoot, Started};
use crate::spec::{read_spec, Block};
use crate::sys;
use crate::value::Value;

/// Test::Nginx's sleep unit (`TEST_NGINX_SLEEP`): it waits one after a start and three
/// before reading the logs.
const SLEEP_UNIT: Duration = Duration::from_millis(15);

/// How often a start that found its port in use is retried (about 3 s in all).
const START_RETRIES: u32 = 6;

/// A block's configuration, assembled and expanded.
struct BlockConf {
    /// The whole `nginx.conf`.
    text: String,
    /// The error log it writes.
    error_log: PathBuf,
    /// Whether the block brings a config at all (stream sections or `main_config`); a block
    /// without one reuses the running server, as in Test::Nginx.
    has_config: bool,
}

/// Where a block's log checks start.
struct LogStart {
    /// Offset in the error log (0 after a restart: the log is new).
    offset: u64,
    /// What the start command wrote to stderr (where a failed start reports why).
    stderr: String,
}

/// After the start step: go on with the block, or it is finished.
enum Start {
    /// The server runs the block's config.
    Ready(LogStart),
    /// The block ended at the start (must_die, or a server that did not start).
    Finished(Vec<Check>),
}

/// What a round's exchange with the stream servers gave.
enum Exchanged {
    /// What the stream servers sent, or the client's timeout.
    Outcome(Outcome),
    /// No exchange: the block defines no stream server (neither `stream_server_config` nor
    /// `stream_config`) and no `stream_tls_request`, so there is nothing to send the request
    /// to. Test::Nginx, which then has no `--- request` either, bails out ("Request line
    /// should be non-empty"); the runner fails the block instead.
    NoStreamServer,
}

/// One worker: files run one after the other on its own root and ports.
pub(crate) struct Worker {
    info: Arc<BinaryInfo>,
    differences: Arc<Differences>,
    /// The run's variables plus the worker's (ports, root).
    base_env: BTreeMap<String, String>,
    /// The variables of the file being run: `base_env`, the file's directory, and the
    /// preamble's `$ENV{...}` literals.
    env: BTreeMap<String, String>,
    /// The preamble controls of the file being run.
    controls: Controls,
    /// Ports random ports must not take: every worker's stream ports.
    reserved_ports: BTreeSet<u16>,
    port: u16,
    root: ServerRoot,
    scratch: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    server: Option<Server>,
    previous_conf: Option<String>,
    force_restart: bool,
    /// Warnings of the block being run (severe log lines), printed as TAP comments.
    warnings: Vec<String>,
}

impl Worker {
    /// A worker whose first stream server listens on `port`.
    pub(crate) fn new(
        options: &Options,
        info: Arc<BinaryInfo>,
        differences: Arc<Differences>,
        port: u16,
        index: usize,
    ) -> Result<Worker, BailOut> {
        // The server root: TEST_NGINX_SERVROOT when set, else a fresh temporary directory;
        // TEST_NGINX_NO_CLEAN keeps it.
        let tempdir =
            tempfile::Builder::new().prefix("strait-prove-").tempdir().map_err(|source| {
                BailOut::Io { what: "cannot create", path: std::env::temp_dir(), source }
            })?;
        let root_dir = match options.env.get("TEST_NGINX_SERVROOT") {
            Some(dir) if index == 0 => differences::absolute(Path::new(dir)),
            Some(dir) => differences::absolute(Path::new(&format!("{dir}_{index}"))),
            None => tempdir.path().join("servroot"),
        };
        let scratch = tempdir.path().to_path_buf();
        let keep =
            options.env.get("TEST_NGINX_NO_CLEAN").is_some_and(|v| !v.is_empty() && v != "0");
        let force_restart =
            options.env.get("TEST_NGINX_FORCE_RESTART_ON_TEST").is_none_or(|v| v != "0");

        // Variables every block sees besides the environment's.
        let root = ServerRoot { dir: root_dir };
        let mut env = options.env.clone();
        let server_port = crate::run::server_port(&env).to_string();
        env.entry("TEST_NGINX_SERVER_PORT".into()).or_insert(server_port);
        env.insert("TEST_NGINX_STREAM_PORT".into(), port.to_string());
        env.insert("TEST_NGINX_SERVER_ROOT".into(), root.dir.display().to_string());
        env.entry("TEST_NGINX_HTML_DIR".into())
            .or_insert_with(|| root.html_dir().display().to_string());

        let tempdir = if keep {
            let _kept = tempdir.keep();
            None
        } else {
            Some(tempdir)
        };
        Ok(Worker {
            info,
            differences,
            base_env: env.clone(),
            env,
            controls: Controls::default(),
            reserved_ports: [port, port + 1, port + 2].into(),
            port,
            root,
            scratch,
            _tempdir: tempdir,
            server: None,
            previous_conf: None,
            force_restart,
            warnings: Vec::new(),
        })
    }

    /// Adds ports that random ports must not take (other workers' stream ports).
    pub(crate) fn reserve_ports(&mut self, ports: &BTreeSet<u16>) {
        self.reserved_ports.extend(ports);
    }

    /// Stops the server, if one runs.
    pub(crate) fn finish(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        self.previous_conf = None;
    }

    /// Runs one file and returns its report; a bail-out ends the file (and the run) after
    /// the checks of the blocks before it, which the report keeps.
    pub(crate) fn run_file(&mut self, path: &Path) -> (FileReport, Option<BailOut>) {
        let display = path.display().to_string();
        let mut tap = Tap::new(&display);

        // A spec fault ends this file (Test::Base dies), not the run.
        let spec = match read_spec(path) {
            Ok(spec) => spec,
            Err(e) => {
                tap.push(&display, &Check::fail("parse", vec![e.to_string()]));
                return (tap.finish(path), None);
            }
        };
        if spec.found_only {
            tap.note("I found ONLY: maybe you're debugging?");
        }

        // The file's variables: its directory (for fixtures beside it) and the preamble's
        // literal $ENV{...} assignments; the preamble's controls.
        self.controls = read_controls(&spec.preamble);
        self.env = self.base_env.clone();
        let file_dir = differences::absolute(path.parent().unwrap_or(Path::new(".")));
        self.env.insert("TEST_NGINX_FILE_DIR".into(), file_dir.display().to_string());
        for (name, default) in &self.controls.env {
            if default.overrides || !self.env.contains_key(name) {
                self.env.insert(name.clone(), default.value.clone());
            }
        }

        // Each block, with the table of differences applied for this binary.
        for block in &spec.blocks {
            let name = format!("{display} {}", block.name);
            let mut block = block.clone();
            let checks = match self.differences.apply(path, self.info.flavour, &mut block) {
                Ok(Applied::Skip { reason }) => {
                    Ok(vec![Check::skip("block", format!("deliberate difference: {reason}"))])
                }
                Ok(Applied::Replaced { reason }) => {
                    tap.note(&format!(
                        "{name}: expectations replaced (deliberate difference: {reason})"
                    ));
                    self.run_block(&display, &name, &block)
                }
                Ok(Applied::None) => self.run_block(&display, &name, &block),
                Err(message) => Ok(vec![Check::fail("differences", vec![message])]),
            };

            // A bail-out stops here: the blocks before it have run and been reported.
            let checks = match checks {
                Ok(checks) => checks,
                Err(bail_out) => {
                    self.finish();
                    return (tap.bail_out(path, &bail_out.to_string()), Some(bail_out));
                }
            };
            for check in &checks {
                tap.push_block(&name, &block, check);
            }
            for warning in self.warnings.drain(..) {
                tap.note(&format!("{name}: {warning}"));
            }
        }
        self.finish();
        (tap.finish(path), None)
    }

    /// Runs one block of `file` (`name` is the file and the block name) and returns its checks.
    fn run_block(&mut self, file: &str, name: &str, block: &Block) -> Result<Vec<Check>, BailOut> {
        // Sections nobody knows are ignored, as Test::Nginx ignores them, with a note each.
        for section in sections::unknown_sections(block) {
            self.warnings.push(format!("unknown section --- {section} ignored"));
        }

        // Sections the runner could not evaluate fail the block; sections Test::Nginx knows
        // but the runner cannot serve skip it: never passed.
        if !block.faults.is_empty() {
            return Ok(vec![Check::fail("sections", block.faults.clone())]);
        }
        if let Some(reason) = sections::unsupported_reason(block) {
            return Ok(vec![Check::skip("block", reason)]);
        }

        // APISIX files: blocks that rely on t::APISIX's Lua stream setup are skipped; the
        // others get its implicit `no_error_log: [error]`.
        if self.controls.apisix {
            if let Some(reason) = sections::apisix_reason(block) {
                return Ok(vec![Check::skip("block", reason)]);
            }
        }

        // Stream.pm's preprocessing: stream_response(_like) become the response checks.
        let mut block = match sections::with_response_checks(block) {
            Ok(block) => block,
            Err(check) => return Ok(vec![check]),
        };
        let requests =
            ["stream_request", "stream_request2", "stream_request3", "stream_tls_request"];
        for section in requests {
            if block.get(section).is_some_and(|v| v.as_bytes().is_none()) {
                let message =
                    format!("--- {section}: a request must be a string, not a list or regex");
                return Ok(vec![Check::fail("sections", vec![message])]);
            }
        }
        let log_sections = ["error_log", "no_error_log", "grep_error_log", "ignore_error_log"];
        if self.controls.apisix && !log_sections.iter().any(|s| block.has(s)) {
            block.set("no_error_log", Value::Str(b"[error]".to_vec()));
        }

        // Version skips, as Test::Nginx evaluates them.
        match sections::skip_reason(&block, &self.info) {
            Ok(Some((count, reason))) => {
                return Ok((0..count.max(1))
                    .map(|_| Check::skip("block", reason.clone()))
                    .collect())
            }
            Ok(None) => {}
            Err(message) => return Ok(vec![Check::fail("skip spec", vec![message])]),
        }
        let todo = block.text("todo");

        // The config, with $TEST_NGINX_* expanded where Test::Nginx expands them.
        let env = self.env.clone();
        let mut expander = Expander {
            vars: &env,
            rand_ports: BTreeMap::new(),
            reserved: self.reserved_ports.clone(),
            file: file.to_string(),
            block: block.name.clone(),
        };
        let conf = self.assemble_conf(&block, &mut expander)?;

        // (Re)start the server; must_die and a failed start end the block here.
        let start = match self.start(&block, &conf, &mut expander)? {
            Start::Ready(start) => start,
            Start::Finished(checks) => return Ok(mark_todo(checks, todo.as_deref())),
        };

        // Each round (`repeat_each`): talk to the stream servers, check what came back,
        // then the logs written since the previous read.
        let default_timeout = self.controls.timeout.clone();
        let default_timeout =
            default_timeout.as_deref().or(self.env.get("TEST_NGINX_TIMEOUT").map(String::as_str));
        let timeout = Timeout {
            limit: sections::parse_timeout(&block, default_timeout),
            abort: block.has("abort"),
        };
        let rounds = self.controls.repeat_each.unwrap_or(1).max(1);
        let mut log_start = start;
        let mut checks = Vec::new();
        for round in 0..rounds {
            let exchanged = self.exchange(&block, timeout);
            let mut round_checks =
                response_checks(name, &block, exchanged, timeout, &mut expander)?;
            if let Some(wait) = block.text("wait") {
                let seconds: f64 = wait.trim().parse().unwrap_or(0.0);
                thread::sleep(Duration::from_secs_f64(seconds.clamp(0.0, 60.0)));
            }
            let (log_checks, read_to) = self.log_checks(&block, &conf.error_log, &log_start);
            round_checks.extend(log_checks);
            round_checks.extend(self.access_log_checks(&block));
            log_start = LogStart { offset: read_to, stderr: String::new() };
            if rounds > 1 {
                for check in &mut round_checks {
                    check.description.push_str(&format!(" (repeated req {round})"));
                }
            }
            checks.extend(round_checks);
        }
        Ok(mark_todo(checks, todo.as_deref()))
    }

    /// Assembles `nginx.conf`: `main_config` with the stream block, `post_main_config`,
    /// the error log and level, modules and user.
    fn assemble_conf(
        &self,
        block: &Block,
        expander: &mut Expander<'_>,
    ) -> Result<BlockConf, BailOut> {
        let stream = conf::stream_block(block, self.port);
        let has_config = stream.is_some() || block.has("main_config");
        let main_config = format!(
            "{}{}",
            block.text("main_config").unwrap_or_default(),
            stream.unwrap_or_default()
        );
        let main_config = expander.expand(&main_config)?;
        let post_main_config =
            expander.expand(&block.text("post_main_config").unwrap_or_default())?;
        let error_log = match block.text("error_log_file") {
            Some(path) if !path.trim().is_empty() => PathBuf::from(expander.expand(path.trim())?),
            _ => self.root.error_log(),
        };
        let log_level = block
            .text("log_level")
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .or_else(|| self.controls.log_level.clone())
            .or_else(|| self.env.get("TEST_NGINX_LOG_LEVEL").cloned())
            .unwrap_or_else(|| "debug".into());
        let params = ConfParams {
            root: &self.root.dir,
            error_log: &error_log,
            log_level: &log_level,
            load_modules: &self.info.load_modules,
            master_process: self
                .env
                .get("TEST_NGINX_MASTER_PROCESS")
                .map(String::as_str)
                .unwrap_or("off"),
            event_type: self.env.get("TEST_NGINX_EVENT_TYPE").map(String::as_str),
            user: sys::is_root().then_some("root"),
        };
        let text = conf::nginx_conf(&params, &main_config, &post_main_config);
        Ok(BlockConf { text, error_log, has_config })
    }

    /// Restarts the server with the block's config when it changed (or always, with
    /// `TEST_NGINX_FORCE_RESTART_ON_TEST`, the default); checks `must_die`.
    fn start(
        &mut self,
        block: &Block,
        conf: &BlockConf,
        expander: &mut Expander<'_>,
    ) -> Result<Start, BailOut> {
        let log_len = || fs::metadata(&conf.error_log).map(|m| m.len()).unwrap_or(0);

        // No config: the running server serves the block, as in Test::Nginx.
        if !conf.has_config {
            let problem = if block.has("must_die") {
                Some("must_die needs a config to start")
            } else if self.server.is_none() {
                Some("the block has no stream or main config and no server is running")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(Start::Finished(vec![Check::fail("config", vec![problem.into()])]));
            }
            return Ok(Start::Ready(LogStart { offset: log_len(), stderr: String::new() }));
        }
        let unchanged = self.previous_conf.as_deref() == Some(conf.text.as_str());
        if unchanged && !self.force_restart && self.server.is_some() && !block.has("must_die") {
            return Ok(Start::Ready(LogStart { offset: log_len(), stderr: String::new() }));
        }

        // Stop, recreate the root, write user_files and the config, start.
        self.finish();
        self.write_root(block, &conf.text, expander)?;
        let stderr_path = self.scratch.join("start.stderr");
        let mut started = server::start(&self.info.path, &self.root, &stderr_path)
            .map_err(|source| BailOut::Binary { binary: self.info.path.clone(), source })?;

        // A port still held (a previous server's, or another program's) is retried for a
        // while, as Test::Nginx retries a failed start.
        for attempt in 1..=START_RETRIES {
            let busy = matches!(&started, Started::Failed { stderr, .. }
                if stderr.contains("Address already in use"));
            if !busy || block.has("must_die") {
                break;
            }
            thread::sleep(SLEEP_UNIT * 10 * attempt);
            self.write_root(block, &conf.text, expander)?;
            started = server::start(&self.info.path, &self.root, &stderr_path)
                .map_err(|source| BailOut::Binary { binary: self.info.path.clone(), source })?;
        }

        // must_die: the server must fail to start; then only the log checks run.
        if let Some(must_die) = block.get("must_die") {
            let (check, stderr) = must_die_check(must_die, started);
            let mut checks = vec![check];
            let start = LogStart { offset: 0, stderr };
            checks.extend(self.log_checks(block, &conf.error_log, &start).0);
            return Ok(Start::Finished(checks));
        }
        match started {
            Started::Running(server) => {
                self.server = Some(server);
                self.previous_conf = Some(conf.text.clone());
                thread::sleep(SLEEP_UNIT);
                Ok(Start::Ready(LogStart { offset: 0, stderr: String::new() }))
            }
            Started::Failed { code, reason, stderr } => {
                let log = fs::read_to_string(&conf.error_log).unwrap_or_default();
                let mut detail = vec![
                    "section:  (server start)".into(),
                    format!(
                        "expected: {} starts with the block's config",
                        self.info.path.display()
                    ),
                    format!("got:      {reason} (exit code {code:?})"),
                ];
                detail.extend(stderr.lines().map(|l| format!("stderr:   {l}")));
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                detail.extend(tail.into_iter().rev().map(|l| format!("log:      {l}")));
                Ok(Start::Finished(vec![Check::fail("server starts", detail)]))
            }
        }
    }

    /// Recreates the server root and writes `user_files` and the config.
    fn write_root(
        &self,
        block: &Block,
        conf_text: &str,
        expander: &mut Expander<'_>,
    ) -> Result<(), BailOut> {
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| BailOut::Io { what, path, source }
        };
        self.root.reset().map_err(io("cannot set up the server root", &self.root.dir))?;
        if let Some(files) = block.text("user_files") {
            for file in sections::user_files(&files) {
                let path = if file.name.starts_with('/') {
                    PathBuf::from(&file.name)
                } else {
                    self.root.html_dir().join(&file.name)
                };
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
                }
                let body = expander.expand(&file.body)?;
                fs::write(&path, body).map_err(io("cannot write", &path))?;

                // The modification time, as Test::Nginx's `TZ=GMT touch -t`.
                if let Some(spec) = &file.mtime {
                    let seconds = sections::touch_time(spec).ok_or_else(|| BailOut::Io {
                        what: "bad user_files time for",
                        path: path.clone(),
                        source: std::io::Error::other(format!("not a touch -t time: {spec}")),
                    })?;
                    let time = std::time::UNIX_EPOCH + Duration::from_secs(seconds);
                    fs::File::options()
                        .write(true)
                        .open(&path)
                        .and_then(|f| f.set_modified(time))
                        .map_err(io("cannot set the time of", &path))?;
                }
            }
        }
        let conf = self.root.conf_file();
        fs::write(&conf, conf_text).map_err(io("cannot write", &conf))
    }

    /// Talks to the stream servers: APISIX's TLS request, or Stream.pm's plain exchanges
    /// with servers 1 to 3; nothing for a block with no stream server.
    fn exchange(&self, block: &Block, timeout: Timeout) -> Exchanged {
        if block.is_true("stream_tls_request") {
            let request = block.bytes("stream_tls_request").unwrap_or_default();
            let request = client::lua_unescape(request.strip_suffix(b"\n").unwrap_or(request));
            let sni = block.text("stream_sni").filter(|s| !s.is_empty() && s != "0");
            let sni = sni.as_deref().map(|s| s.strip_suffix('\n').unwrap_or(s));
            let rounds = if block.has("stream_session_reuse") { 2 } else { 1 };
            let outcome = client::tls_exchanges(self.port, &request, sni, rounds, timeout);
            return Exchanged::Outcome(outcome);
        }
        if !block.has("stream_server_config") && !block.has("stream_config") {
            return Exchanged::NoStreamServer;
        }
        let servers = [
            ("stream_server_config", "stream_request"),
            ("stream_server_config2", "stream_request2"),
            ("stream_server_config3", "stream_request3"),
        ];
        let exchanges: Vec<Exchange> = servers
            .iter()
            .enumerate()
            .filter(|(i, (config, _))| *i == 0 || block.has(config))
            .map(|(i, (_, request))| Exchange {
                port: self.port + i as u16,
                request: block.bytes(request).map(<[u8]>::to_vec),
            })
            .collect();
        let prints = block.has("response_body") || block.has("response_body_like");
        Exchanged::Outcome(client::plain_exchanges(&exchanges, prints, timeout))
    }

    /// `error_log`, `no_error_log`, `grep_error_log`: against the log since the block
    /// began (and the start command's stderr, where a failed start reports why).
    ///
    /// Returns the checks and the log offset read to (where the next round starts).
    fn log_checks(
        &mut self,
        block: &Block,
        log_path: &Path,
        start: &LogStart,
    ) -> (Vec<Check>, u64) {
        thread::sleep(SLEEP_UNIT * 3);
        let mut log = start.stderr.as_bytes().to_vec();
        let file = fs::read(log_path).unwrap_or_default();
        let offset = if self.controls.accumulate_error_log { 0 } else { start.offset as usize };
        log.extend_from_slice(file.get(offset..).unwrap_or_default());
        let lines = check::log_lines(&log);

        // The pattern sections.
        let mut checks = Vec::new();
        if let Some(value) = block.get("error_log") {
            checks.extend(check::log_has("error_log", "error.log", value, &lines));
        }
        if let Some(value) = block.get("no_error_log") {
            checks.extend(check::log_lacks("no_error_log", "error.log", value, &lines));
        }
        match (block.get("grep_error_log"), block.get("grep_error_log_out")) {
            (Some(pattern), Some(expected)) => {
                checks.push(self.grep_check(block, pattern, expected, &lines));
            }
            (None, None) => {}
            _ => checks.push(Check::fail(
                "grep_error_log",
                vec!["grep_error_log and grep_error_log_out go together".into()],
            )),
        }

        // Severe lines no pattern mentions are warned about; failed assertions fail the
        // block, as in Test::Nginx.
        let mentioned: String = ["error_log", "no_error_log", "grep_error_log"]
            .iter()
            .filter_map(|s| block.get(s))
            .map(Value::to_text)
            .collect();
        self.warnings.extend(check::severe_line_warnings(&lines, &mentioned));
        let failures = check::assertion_failures(&lines);
        if !failures.is_empty() {
            checks.push(Check::fail(
                "error.log - no assertion failures",
                failures.iter().map(|l| format!("got:      {}", show(l))).collect(),
            ));
        }
        (checks, file.len() as u64)
    }

    /// `grep_error_log` compared with `grep_error_log_out` (a string is env-expanded).
    fn grep_check(
        &self,
        block: &Block,
        pattern: &Value,
        expected: &Value,
        lines: &[&[u8]],
    ) -> Check {
        let got = match check::grep_log(pattern, lines) {
            Ok(got) => got,
            Err(e) => return Check::fail("grep_error_log", vec![e]),
        };
        let expected = match expected {
            Value::Str(text) => {
                let mut expander = Expander {
                    vars: &self.env,
                    rand_ports: BTreeMap::new(),
                    reserved: BTreeSet::new(),
                    file: String::new(),
                    block: block.name.clone(),
                };
                match expander.expand(&String::from_utf8_lossy(text)) {
                    Ok(text) => Value::Str(text.into_bytes()),
                    Err(e) => return Check::fail("grep_error_log_out", vec![e.to_string()]),
                }
            }
            Value::List(items) => items.first().cloned().unwrap_or(Value::Str(Vec::new())),
            other => other.clone(),
        };
        let mut check = check::response_body("grep_error_log_out", &expected, &got);
        check.description = "grep_error_log_out - grep_error_log matches".into();
        check
    }

    /// `access_log` / `no_access_log` against the whole access log.
    fn access_log_checks(&self, block: &Block) -> Vec<Check> {
        if !block.has("access_log") && !block.has("no_access_log") {
            return Vec::new();
        }
        let log = fs::read(self.root.access_log()).unwrap_or_default();
        let lines = check::log_lines(&log);
        let mut checks = Vec::new();
        if let Some(value) = block.get("access_log") {
            checks.extend(check::log_has("access_log", "access.log", value, &lines));
        }
        if let Some(value) = block.get("no_access_log") {
            checks.extend(check::log_lacks("no_access_log", "access.log", value, &lines));
        }
        checks
    }
}

/// The `must_die` check for a start, and the start command's stderr.
fn must_die_check(must_die: &Value, started: Started) -> (Check, String) {
    let expected_code =
        must_die.as_bytes().and_then(|b| String::from_utf8_lossy(b).trim().parse::<i32>().ok());
    match started {
        Started::Running(server) => {
            server.stop();
            let detail = vec![
                "section:  --- must_die".into(),
                "expected: the server fails to start".into(),
                "got:      it started".into(),
            ];
            (Check::fail("must_die - die as expected", detail), String::new())
        }
        Started::Failed { code, stderr, .. } => {
            let check = match expected_code {
                Some(want) => Check::new(
                    "must_die - die with the expected exit code",
                    code == Some(want),
                    vec![
                        "section:  --- must_die".into(),
                        format!("expected: exit code {want}"),
                        format!("got:      {code:?}"),
                    ],
                ),
                None => Check::new(
                    "must_die - die as expected",
                    code != Some(0),
                    vec![
                        "section:  --- must_die".into(),
                        "expected: a non-zero exit".into(),
                        "got:      exit 0".into(),
                    ],
                ),
            };
            (check, stderr)
        }
    }
}

/// The response checks: a block with no stream server fails (Test::Nginx bails out on
/// it); a client timeout fails the block (Test::Nginx's "client socket timed out");
/// otherwise `response_body` (exact, `$ServerPort` and `$TEST_NGINX_*` substituted in a
/// string) and `response_body_like`.
fn response_checks(
    name: &str,
    block: &Block,
    exchanged: Exchanged,
    timeout: Timeout,
    expander: &mut Expander<'_>,
) -> Result<Vec<Check>, BailOut> {
    let ignore = block.has("ignore_response") || block.has("ignore_response_body");
    let outcome = match exchanged {
        Exchanged::Outcome(outcome) => outcome,
        Exchanged::NoStreamServer => {
            let detail = vec![
                "section:  (none of --- stream_server_config, stream_config, \
                 stream_tls_request)"
                    .into(),
                "expected: a stream server to send the request to".into(),
                "got:      no stream server to send the request to: nothing was sent or \
                 checked (Test::Nginx bails out on such a block, which has no --- request)"
                    .into(),
            ];
            return Ok(vec![Check::fail("stream request - a stream server to send it to", detail)]);
        }
    };
    let body = match outcome {
        Outcome::ClientTimeout { partial } => {
            let detail = vec![
                format!("ERROR: client socket timed out - {name}"),
                format!("section:  --- timeout ({:?})", timeout.limit),
                "expected: the server closes the connection within the timeout".into(),
                format!("got:      {} before the timeout", show(&partial)),
            ];
            return Ok(vec![Check::fail("response", detail)]);
        }
        Outcome::Body(_) if ignore => return Ok(Vec::new()),
        Outcome::Body(body) => body,
    };
    let server_port = expander.vars.get("TEST_NGINX_SERVER_PORT").cloned().unwrap_or_default();

    let mut checks = Vec::new();
    if let Some(expected) = block.get("response_body") {
        let section =
            if block.has("stream_response") { "stream_response" } else { "response_body" };
        let expected = match expected {
            Value::Str(text) => {
                let text = substitute_server_port(&String::from_utf8_lossy(text), &server_port);
                Value::Str(expander.expand(&text)?.into_bytes())
            }
            other => other.clone(),
        };
        checks.push(check::response_body(section, &expected, &body));
    }
    if let Some(pattern) = block.get("response_body_like") {
        let section = if block.has("stream_response_like") {
            "stream_response_like"
        } else {
            "response_body_like"
        };
        let pattern = match pattern {
            Value::Str(text) => Value::Str(
                substitute_server_port(&String::from_utf8_lossy(text), &server_port).into_bytes(),
            ),
            other => other.clone(),
        };
        checks.push(check::response_body_like(section, &pattern, &body));
    }
    Ok(checks)
}

/// `$ServerPort` and `$ServerPortForClient` replaced, as Test::Nginx does in expected
/// response bodies.
fn substitute_server_port(text: &str, port: &str) -> String {
    let re = regex::Regex::new(r"\$ServerPort(?:ForClient)?\b").expect("a valid regex");
    re.replace_all(text, regex::NoExpand(port)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_port_is_substituted_in_expected_bodies() {
        assert_eq!(
            substitute_server_port("a $ServerPort b $ServerPortForClient $ServerPorts", "1984"),
            "a 1984 b 1984 $ServerPorts"
        );
    }
}
