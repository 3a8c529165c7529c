//! Running `.t` files against a binary: per block, assemble the config, (re)start the
//! server, talk to the stream servers, check the response and the error log; TAP output
//! per check, a summary per file and a closing count.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::check::{self, show, Check, Verdict};
use crate::client::{self, Exchange, Outcome, Timeout};
use crate::conf::{self, ConfParams};
use crate::differences::{self, Applied, Differences, Flavour};
use crate::env::{self, Expander};
use crate::error::BailOut;
use crate::server::{self, Server, ServerRoot, Started};
use crate::spec::{read_spec, Block};
use crate::sys;
use crate::value::Value;

/// Test::Nginx's sleep unit (`TEST_NGINX_SLEEP`): log checks wait three of them.
const SLEEP_UNIT: Duration = Duration::from_millis(15);

/// Sections that need Test::Nginx's HTTP server: a block with one is skipped.
const HTTP_SECTIONS: &[&str] = &[
    "config",
    "http_config",
    "request",
    "more_headers",
    "raw_request",
    "pipelined_requests",
    "response_headers",
    "response_headers_like",
    "raw_response_headers_like",
    "raw_response_headers_unlike",
    "error_code_like",
    "curl",
    "curl_options",
    "http2",
    "http3",
    "exec",
    "request_eval",
    "response_body_unlike",
    "response_body_filters",
];

/// Sections that need something else the runner does not provide, with what it is.
const UNSUPPORTED_SECTIONS: &[(&str, &str)] = &[
    ("init", "Perl code"),
    ("post_setup_server_root", "Perl code"),
    ("tcp_listen", "the embedded TCP mock server"),
    ("udp_listen", "the embedded UDP mock server"),
    ("stap", "systemtap"),
    ("shutdown_error_log", "checks at server shutdown"),
    ("no_shutdown_error_log", "checks at server shutdown"),
    ("log_stream_response", "Lua's print"),
    ("stream_upstream_code", "Lua"),
    ("stream_enable", "APISIX's Lua stream setup"),
    ("yaml_config", "APISIX"),
    ("apisix_yaml", "APISIX"),
    ("extra_stream_config", "APISIX's Lua stream setup"),
    ("todo_nginx", "todo by version"),
    ("skip_slave", "build slaves"),
];

/// Sections the runner understands.
const KNOWN_SECTIONS: &[&str] = &[
    "ONLY",
    "SKIP",
    "LAST",
    "main_config",
    "post_main_config",
    "stream_config",
    "stream_server_config",
    "stream_server_config2",
    "stream_server_config3",
    "steam_listen_option",
    "steam_listen_option2",
    "steam_listen_option3",
    "stream_request",
    "stream_request2",
    "stream_request3",
    "stream_response",
    "stream_response_like",
    "response_body",
    "response_body_like",
    "error_code",
    "error_log",
    "no_error_log",
    "grep_error_log",
    "grep_error_log_out",
    "access_log",
    "no_access_log",
    "timeout",
    "wait",
    "abort",
    "log_level",
    "must_die",
    "user_files",
    "error_log_file",
    "skip_nginx",
    "skip_nginx2",
    "skip_openssl",
    "skip_eval",
    "todo",
    "stream_tls_request",
    "stream_sni",
    "stream_session_reuse",
    "stream_conf_enable",
    "suppress_stderr",
    "no_check_leak",
    "ignore_response",
    "ignore_response_body",
    "ignore_error_log",
    "server_name",
    "server_addr_for_client",
    "wait_etcd_sync",
    "no_long_string",
];

/// How the first stream server's port is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// A fixed port P (servers on P, P+1, P+2); worker k of a parallel run adds 3k.
    Fixed(u16),
    /// Free ports drawn for each worker, so that parallel runs do not clash.
    Free,
}

/// What a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The binary under test.
    pub binary: PathBuf,
    /// Files run at once.
    pub jobs: usize,
    /// The stream port.
    pub stream_port: PortChoice,
    /// `TEST_NGINX_*` variables (the process environment's, usually).
    pub env: BTreeMap<String, String>,
    /// Deliberate differences; `differences.toml` beside each file is added to it.
    pub differences: Differences,
}

impl Options {
    /// Options from the process environment: `TEST_NGINX_STREAM_PORT` (else 1985 for one
    /// job, free ports for several).
    pub fn from_env(binary: PathBuf, jobs: usize) -> Options {
        let env: BTreeMap<String, String> =
            std::env::vars().filter(|(k, _)| k.starts_with("TEST_NGINX_")).collect();
        let stream_port = match env.get("TEST_NGINX_STREAM_PORT").and_then(|p| p.parse().ok()) {
            Some(port) => PortChoice::Fixed(port),
            None if jobs > 1 => PortChoice::Free,
            None => PortChoice::Fixed(1985),
        };
        Options { binary, jobs: jobs.max(1), stream_port, env, differences: Differences::default() }
    }
}

/// Counts over checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks skipped.
    pub skipped: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// The result of one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its TAP text.
    pub text: String,
    /// Its counts.
    pub counts: Counts,
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Per file, in the order given.
    pub files: Vec<FileReport>,
    /// Totals.
    pub counts: Counts,
}

impl Summary {
    /// The closing line: `N passed, N failed, N skipped`.
    pub fn closing_line(&self) -> String {
        let c = self.counts;
        format!("{} passed, {} failed, {} skipped", c.passed, c.failed, c.skipped)
    }
}

/// The `.t` files under `paths`: files as given, directories searched recursively, sorted.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, BailOut> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(BailOut::NotATestPath { path: path.clone() });
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), BailOut> {
    let entries = fs::read_dir(dir).map_err(|source| BailOut::Io {
        what: "cannot read directory",
        path: dir.into(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir()
            && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("servroot"))
        {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "t") {
            found.push(path);
        }
    }
    Ok(())
}

/// What `BIN -V` says.
#[derive(Debug, Clone)]
pub struct BinaryInfo {
    /// The binary.
    pub path: PathBuf,
    /// strait or nginx.
    pub flavour: Flavour,
    /// `word/X.Y.Z` from `-V`.
    pub version: Option<(u32, u32, u32)>,
    /// `built with OpenSSL X.Y.Z[letter]`.
    pub openssl: Option<(u32, u32, u32, u32)>,
    /// `load_module` paths to write.
    pub load_modules: Vec<String>,
}

impl BinaryInfo {
    /// Runs `BIN -V` and finds the dynamic stream module when the binary needs one.
    pub fn probe(binary: &Path, env: &BTreeMap<String, String>) -> Result<BinaryInfo, BailOut> {
        let output = Command::new(binary)
            .arg("-V")
            .output()
            .map_err(|source| BailOut::Binary { binary: binary.into(), source })?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));

        // strait or nginx: strait says so in -V; a silent binary is judged by its name.
        let named_strait =
            binary.file_name().is_some_and(|n| n.to_string_lossy().contains("strait"));
        let flavour =
            if text.contains("strait") || named_strait { Flavour::Strait } else { Flavour::Nginx };

        // Versions, as Test::Nginx reads them.
        let version = regex::Regex::new(r"\w+/(\d+)\.(\d+)\.(\d+)")
            .ok()
            .and_then(|re| re.captures(&text).map(|c| (num(&c[1]), num(&c[2]), num(&c[3]))));
        let openssl = regex::Regex::new(r"built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?")
            .ok()
            .and_then(|re| {
                re.captures(&text).map(|c| {
                    let letter = c.get(4).map(|m| m.as_str().as_bytes()[0] - b'a' + 1).unwrap_or(0);
                    (num(&c[1]), num(&c[2]), num(&c[3]), letter as u32)
                })
            });

        // load_module: TEST_NGINX_LOAD_MODULES, else the stream module of a binary built
        // with `--with-stream=dynamic`, from its modules path or beside it.
        let load_modules = match env.get("TEST_NGINX_LOAD_MODULES") {
            Some(list) => list.split_whitespace().map(str::to_string).collect(),
            None if text.contains("--with-stream=dynamic") => {
                find_stream_module(binary, &text).into_iter().collect()
            }
            None => Vec::new(),
        };
        Ok(BinaryInfo { path: binary.into(), flavour, version, openssl, load_modules })
    }
}

fn num(text: &str) -> u32 {
    text.parse().unwrap_or(0)
}

/// `ngx_stream_module.so` from `--modules-path`, beside the binary, or Debian's directory.
fn find_stream_module(binary: &Path, version_text: &str) -> Option<String> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(path) =
        version_text.split_whitespace().find_map(|w| w.strip_prefix("--modules-path="))
    {
        dirs.push(PathBuf::from(path));
    }
    if let Some(dir) = binary.parent() {
        dirs.push(dir.join("modules"));
        dirs.push(dir.join("../modules"));
        dirs.push(dir.join("../lib/nginx/modules"));
    }
    dirs.push(PathBuf::from("/usr/lib/nginx/modules"));
    dirs.into_iter()
        .map(|d| d.join("ngx_stream_module.so"))
        .find(|p| p.is_file())
        .map(|p| differences::absolute(&p).display().to_string())
}

/// Runs `files` and writes TAP to `out`, each file's text once the file is done, in order.
pub fn run(options: &Options, files: &[PathBuf], out: &mut dyn Write) -> Result<Summary, BailOut> {
    let info = Arc::new(BinaryInfo::probe(&options.binary, &options.env)?);
    let _ = writeln!(
        out,
        "# binary {} ({}){}",
        info.path.display(),
        info.flavour.name(),
        if info.load_modules.is_empty() {
            String::new()
        } else {
            format!(", load_module {}", info.load_modules.join(" "))
        }
    );

    // The table of differences: the given one plus differences.toml beside each file.
    let mut differences = options.differences.clone();
    let mut tables = BTreeSet::new();
    for file in files {
        tables.insert(file.parent().unwrap_or(Path::new(".")).join("differences.toml"));
    }
    for table in &tables {
        differences.extend(Differences::load(table)?);
    }
    let differences = Arc::new(differences);

    // Workers take files from a queue; reports come back tagged with the file's index.
    let queue: Arc<Mutex<VecDeque<(usize, PathBuf)>>> =
        Arc::new(Mutex::new(files.iter().cloned().enumerate().collect()));
    let (sender, receiver) = mpsc::channel::<Result<(usize, FileReport), BailOut>>();
    let mut used_ports = BTreeSet::new();
    let mut handles = Vec::new();
    for k in 0..options.jobs.min(files.len()).max(1) {
        let port = match options.stream_port {
            PortChoice::Fixed(port) => port + 3 * k as u16,
            PortChoice::Free => env::free_port_triple(&used_ports)?,
        };
        used_ports.extend([port, port + 1, port + 2]);
        let mut worker =
            Worker::new(options, Arc::clone(&info), Arc::clone(&differences), port, k)?;
        let queue = Arc::clone(&queue);
        let sender = sender.clone();
        handles.push(thread::spawn(move || {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some((index, path)) = next else { break };
                let report = worker.run_file(&path).map(|r| (index, r));
                let stop = report.is_err();
                if sender.send(report).is_err() || stop {
                    break;
                }
            }
            worker.finish();
        }));
    }
    drop(sender);

    // Print in file order as reports arrive.
    let mut pending: BTreeMap<usize, FileReport> = BTreeMap::new();
    let mut next = 0;
    let mut summary = Summary::default();
    let mut bail = None;
    for report in receiver {
        match report {
            Ok((index, report)) => {
                pending.insert(index, report);
            }
            Err(e) => {
                if let Ok(mut q) = queue.lock() {
                    q.clear();
                }
                bail = Some(e);
            }
        }
        while let Some(report) = pending.remove(&next) {
            let _ = out.write_all(report.text.as_bytes());
            let _ = out.flush();
            summary.counts.add(report.counts);
            summary.files.push(report);
            next += 1;
        }
    }
    for handle in handles {
        let _ = handle.join();
    }
    if let Some(e) = bail {
        return Err(e);
    }

    // Entries of the table that matched no block of the files run are stale.
    for (file, entry) in differences.entries() {
        if entry.binary != info.flavour || !files.iter().any(|f| differences::absolute(f) == file) {
            continue;
        }
        let found = read_spec(file)
            .map(|s| s.blocks.iter().any(|b| b.name.trim_end() == entry.block.trim_end()))
            .unwrap_or(false);
        if !found {
            let _ = writeln!(
                out,
                "# WARNING: differences.toml: no block {:?} in {}",
                entry.block, entry.file
            );
        }
    }
    Ok(summary)
}

/// One worker: its server root, port and running server.
struct Worker {
    info: Arc<BinaryInfo>,
    differences: Arc<Differences>,
    env: BTreeMap<String, String>,
    port: u16,
    root: ServerRoot,
    scratch: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    server: Option<Server>,
    previous_conf: Option<String>,
    force_restart: bool,
}

impl Worker {
    fn new(
        options: &Options,
        info: Arc<BinaryInfo>,
        differences: Arc<Differences>,
        port: u16,
        index: usize,
    ) -> Result<Worker, BailOut> {
        // The server root: TEST_NGINX_SERVROOT when set, else a fresh temporary directory.
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

        // Variables every block sees, besides the environment's.
        let root = ServerRoot { dir: root_dir };
        let mut env = options.env.clone();
        env.entry("TEST_NGINX_SERVER_PORT".into()).or_insert_with(|| "1984".into());
        env.insert("TEST_NGINX_STREAM_PORT".into(), port.to_string());
        env.insert("TEST_NGINX_SERVER_ROOT".into(), root.dir.display().to_string());
        env.entry("TEST_NGINX_HTML_DIR".into())
            .or_insert_with(|| root.html_dir().display().to_string());
        Ok(Worker {
            info,
            differences,
            env,
            port,
            root,
            scratch,
            _tempdir: if keep {
                let _kept = tempdir.keep();
                None
            } else {
                Some(tempdir)
            },
            server: None,
            previous_conf: None,
            force_restart,
        })
    }

    fn finish(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    /// Runs one file and returns its TAP text.
    fn run_file(&mut self, path: &Path) -> Result<FileReport, BailOut> {
        let display = path.display().to_string();
        let mut tap = Tap::new(&display);

        // A spec fault ends this file (Test::Base dies), not the run.
        let spec = match read_spec(path) {
            Ok(spec) => spec,
            Err(e) => {
                tap.push(&display, &Check::fail("parse", vec![e.to_string()]));
                return Ok(tap.finish(path));
            }
        };
        if spec.found_only {
            tap.note("I found ONLY: maybe you're debugging?");
        }

        // The file's directory, for suites that reach fixtures beside them.
        let file_dir = differences::absolute(path.parent().unwrap_or(Path::new(".")));
        self.env.insert("TEST_NGINX_FILE_DIR".into(), file_dir.display().to_string());

        for block in &spec.blocks {
            let name = format!("{display} {}", block.name);
            let mut block = block.clone();
            let checks = match self.differences.apply(path, self.info.flavour, &mut block) {
                Ok(Applied::Skip { reason }) => {
                    vec![Check::skip("block", format!("deliberate difference: {reason}"))]
                }
                Ok(Applied::Replaced { reason }) => {
                    tap.note(&format!(
                        "{name}: expectations replaced (deliberate difference: {reason})"
                    ));
                    self.run_block(&name, &block)?
                }
                Ok(Applied::None) => self.run_block(&name, &block)?,
                Err(message) => vec![Check::fail("differences", vec![message])],
            };
            for check in &checks {
                tap.push_block(&name, &block, check);
            }
        }
        if let Some(server) = self.server.take() {
            server.stop();
        }
        self.previous_conf = None;
        Ok(tap.finish(path))
    }

    /// Runs one block and returns its checks.
    fn run_block(&mut self, name: &str, block: &Block) -> Result<Vec<Check>, BailOut> {
        // Sections the runner cannot serve: the block is skipped, never passed.
        if let Some(reason) = unsupported_reason(block) {
            return Ok(vec![Check::skip("block", reason)]);
        }
        let mut block = block.clone();

        // Stream.pm's preprocessing: stream_response(_like) become the response checks.
        for (from, to) in
            [("stream_response", "response_body"), ("stream_response_like", "response_body_like")]
        {
            if let Some(value) = block.get(from).cloned() {
                if block.has(to) {
                    return Ok(vec![Check::fail(
                        "sections",
                        vec![format!("conflicting {from} and {to} sections")],
                    )]);
                }
                block.set(to, value);
            }
        }

        // Version skips, as Test::Nginx evaluates them.
        match self.skip_reason(&block) {
            Ok(Some((count, reason))) => {
                return Ok((0..count.max(1))
                    .map(|_| Check::skip("block", reason.clone()))
                    .collect());
            }
            Ok(None) => {}
            Err(message) => return Ok(vec![Check::fail("skip spec", vec![message])]),
        }
        let todo = block.text("todo");

        // The config: main_config with the stream block, expanded.
        let file = name.split(' ').next().unwrap_or(name).to_string();
        let mut expander = Expander {
            vars: &self.env,
            rand_ports: BTreeMap::new(),
            reserved: [self.port, self.port + 1, self.port + 2].into(),
            file,
            block: block.name.clone(),
        };
        let tls = block.is_true("stream_tls_request");
        let stream = conf::stream_block(&block, self.port);
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
            .or_else(|| self.env.get("TEST_NGINX_LOG_LEVEL").cloned())
            .unwrap_or_else(|| "debug".into());
        let user = sys::is_root().then_some("root");
        let params = ConfParams {
            root: &self.root.dir,
            error_log: &error_log,
            stream_port: self.port,
            log_level: &log_level,
            load_modules: &self.info.load_modules,
            master_process: self
                .env
                .get("TEST_NGINX_MASTER_PROCESS")
                .map(String::as_str)
                .unwrap_or("off"),
            event_type: self.env.get("TEST_NGINX_EVENT_TYPE").map(String::as_str),
            user,
        };
        let conf_text = conf::nginx_conf(&params, &main_config, &post_main_config);

        // Restart when the config changed (or always, TEST_NGINX_FORCE_RESTART_ON_TEST).
        let mut checks = Vec::new();
        let restart =
            has_config && (self.force_restart || self.previous_conf.as_deref() != Some(&conf_text));
        if !has_config && self.server.is_none() {
            return Ok(vec![Check::fail(
                "config",
                vec!["the block has no stream or main config and no server is running".into()],
            )]);
        }
        let mut startup_stderr = String::new();
        let mut log_start = 0u64;
        if restart {
            if let Some(server) = self.server.take() {
                server.stop();
            }
            self.previous_conf = Some(conf_text.clone());
            self.write_root(&block, &conf_text, &mut expander)?;
            let stderr_path = self.scratch.join("start.stderr");
            let started = server::start(&self.info.path, &self.root, &stderr_path)
                .map_err(|source| BailOut::Binary { binary: self.info.path.clone(), source })?;

            // must_die: the server must fail to start; then only the log checks run.
            if let Some(must_die) = block.get("must_die") {
                let expected_code = must_die
                    .as_bytes()
                    .and_then(|b| String::from_utf8_lossy(b).trim().parse::<i32>().ok());
                let check = match started {
                    Started::Running(server) => {
                        server.stop();
                        Check::fail(
                            "must_die - die as expected",
                            vec![
                                "section:  --- must_die".into(),
                                "expected: the server fails to start".into(),
                                "got:      it started".into(),
                            ],
                        )
                    }
                    Started::Failed { code, stderr, .. } => {
                        startup_stderr = stderr;
                        match expected_code {
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
                        }
                    }
                };
                checks.push(check);
                self.previous_conf = None;
                checks.extend(self.log_checks(&block, &error_log, 0, &startup_stderr));
                return Ok(mark_todo(checks, todo.as_deref()));
            }

            match started {
                Started::Running(server) => self.server = Some(server),
                Started::Failed { code, reason, stderr } => {
                    self.previous_conf = None;
                    let log = fs::read_to_string(&error_log).unwrap_or_default();
                    let mut detail = vec![
                        "section:  (server start)".into(),
                        format!(
                            "expected: {} starts with the block's config",
                            self.info.path.display()
                        ),
                        format!("got:      {reason} (exit code {code:?})"),
                    ];
                    detail.extend(stderr.lines().map(|l| format!("stderr:   {l}")));
                    detail.extend(
                        log.lines()
                            .rev()
                            .take(5)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .map(|l| format!("log:      {l}")),
                    );
                    checks.push(Check::fail("server starts", detail));
                    return Ok(mark_todo(checks, todo.as_deref()));
                }
            }
            thread::sleep(SLEEP_UNIT);
        } else if block.has("must_die") {
            return Ok(vec![Check::fail(
                "must_die",
                vec!["must_die needs a config to start".into()],
            )]);
        } else {
            log_start = fs::metadata(&error_log).map(|m| m.len()).unwrap_or(0);
        }

        // Talk to the stream servers.
        let timeout =
            Timeout { limit: parse_timeout(&block, &self.env), abort: block.has("abort") };
        let prints = block.has("response_body") || block.has("response_body_like");
        let outcome = if tls {
            let request = block.bytes("stream_tls_request").unwrap_or_default();
            let request = client::lua_unescape(request.strip_suffix(b"\n").unwrap_or(request));
            let sni = block.text("stream_sni").filter(|s| !s.is_empty() && s != "0");
            let sni = sni.as_deref().map(|s| s.strip_suffix('\n').unwrap_or(s));
            let rounds = if block.has("stream_session_reuse") { 2 } else { 1 };
            Some(client::tls_exchanges(self.port, &request, sni, rounds, timeout))
        } else if block.has("stream_server_config") || block.has("stream_config") {
            let mut exchanges = vec![Exchange {
                port: self.port,
                request: block.bytes("stream_request").map(<[u8]>::to_vec),
            }];
            for (i, (config, request)) in [
                ("stream_server_config2", "stream_request2"),
                ("stream_server_config3", "stream_request3"),
            ]
            .iter()
            .enumerate()
            {
                if block.has(config) {
                    exchanges.push(Exchange {
                        port: self.port + 1 + i as u16,
                        request: block.bytes(request).map(<[u8]>::to_vec),
                    });
                }
            }
            Some(client::plain_exchanges(&exchanges, prints, timeout))
        } else {
            None
        };

        // The response.
        let ignore = block.has("ignore_response") || block.has("ignore_response_body");
        match outcome {
            Some(Outcome::ClientTimeout { partial }) => checks.push(Check::fail(
                "response",
                vec![
                    format!("ERROR: client socket timed out - {name}"),
                    format!("section:  --- timeout ({:?})", timeout.limit),
                    "expected: the server closes the connection within the timeout".into(),
                    format!("got:      {} before the timeout", show(&partial)),
                ],
            )),
            Some(Outcome::Body(body)) if !ignore => {
                if let Some(expected) = block.get("response_body") {
                    let section = if block.has("stream_response") {
                        "stream_response"
                    } else {
                        "response_body"
                    };
                    let expected = match expected {
                        Value::Str(text) => Value::Str(
                            expander.expand(&String::from_utf8_lossy(text))?.into_bytes(),
                        ),
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
                    checks.push(check::response_body_like(section, pattern, &body));
                }
            }
            _ => {}
        }

        // The error log written since the block began.
        if let Some(wait) = block.text("wait") {
            let seconds: f64 = wait.trim().parse().unwrap_or(0.0);
            thread::sleep(Duration::from_secs_f64(seconds.clamp(0.0, 60.0)));
        }
        checks.extend(self.log_checks(&block, &error_log, log_start, &startup_stderr));
        checks.extend(self.access_log_checks(&block, &mut expander)?);
        Ok(mark_todo(checks, todo.as_deref()))
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
            for (name, body) in user_files(&files) {
                let path = if name.starts_with('/') {
                    PathBuf::from(&name)
                } else {
                    self.root.html_dir().join(&name)
                };
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
                }
                let body = expander.expand(&body)?;
                fs::write(&path, body).map_err(io("cannot write", &path))?;
            }
        }
        let conf = self.root.conf_file();
        fs::write(&conf, conf_text).map_err(io("cannot write", &conf))
    }

    /// `error_log`, `no_error_log`, `grep_error_log`: against the log since `start` (and the
    /// start command's stderr, where a server that fails to start reports why).
    fn log_checks(&self, block: &Block, log_path: &Path, start: u64, stderr: &str) -> Vec<Check> {
        let wants_log = ["error_log", "no_error_log", "grep_error_log", "grep_error_log_out"]
            .iter()
            .any(|s| block.has(s));
        thread::sleep(SLEEP_UNIT * 3);
        let mut log = stderr.as_bytes().to_vec();
        let file = fs::read(log_path).unwrap_or_default();
        log.extend_from_slice(file.get(start as usize..).unwrap_or_default());
        let lines = check::log_lines(&log);
        let mut checks = Vec::new();
        if wants_log {
            if let Some(value) = block.get("error_log") {
                checks.extend(check::log_has("error_log", "error.log", value, &lines));
            }
            if let Some(value) = block.get("no_error_log") {
                checks.extend(check::log_lacks("no_error_log", "error.log", value, &lines));
            }
            match (block.get("grep_error_log"), block.get("grep_error_log_out")) {
                (Some(pattern), Some(expected)) => {
                    let check = match check::grep_log(pattern, &lines) {
                        Ok(got) => {
                            let expected = match expected {
                                Value::Str(text) => {
                                    let mut ex = Expander {
                                        vars: &self.env,
                                        rand_ports: BTreeMap::new(),
                                        reserved: BTreeSet::new(),
                                        file: String::new(),
                                        block: block.name.clone(),
                                    };
                                    match ex.expand(&String::from_utf8_lossy(text)) {
                                        Ok(text) => Value::Str(text.into_bytes()),
                                        Err(e) => Value::Str(e.to_string().into_bytes()),
                                    }
                                }
                                Value::List(items) => {
                                    items.first().cloned().unwrap_or(Value::Str(Vec::new()))
                                }
                                other => other.clone(),
                            };
                            let mut check =
                                check::response_body("grep_error_log_out", &expected, &got);
                            check.description =
                                "grep_error_log_out - grep_error_log matches".into();
                            check
                        }
                        Err(e) => Check::fail("grep_error_log", vec![e]),
                    };
                    checks.push(check);
                }
                (None, None) => {}
                _ => checks.push(Check::fail(
                    "grep_error_log",
                    vec!["grep_error_log and grep_error_log_out go together".into()],
                )),
            }
        }

        // Failed assertions fail the block; severe lines not asked about are warned about.
        let failures = check::assertion_failures(&lines);
        if !failures.is_empty() {
            checks.push(Check::fail(
                "error.log - no assertion failures",
                failures.iter().map(|l| format!("got:      {}", show(l))).collect(),
            ));
        }
        checks
    }

    /// `access_log` / `no_access_log` against the whole access log.
    fn access_log_checks(
        &self,
        block: &Block,
        _expander: &mut Expander<'_>,
    ) -> Result<Vec<Check>, BailOut> {
        if !block.has("access_log") && !block.has("no_access_log") {
            return Ok(Vec::new());
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
        Ok(checks)
    }

    /// `skip_nginx`, `skip_nginx2`, `skip_openssl`, `skip_eval`: how many checks to report as
    /// skipped and why, when the condition holds.
    fn skip_reason(&self, block: &Block) -> Result<Option<(usize, String)>, String> {
        let version = self.info.version.map(|(a, b, c)| (a, b, c, 0));
        if let Some(spec) = block.text("skip_nginx") {
            let re = regex::Regex::new(
                r"^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*?))?\s*$",
            )
            .map_err(|e| e.to_string())?;
            let c =
                re.captures(&spec).ok_or_else(|| format!("Invalid --- skip_nginx spec: {spec}"))?;
            let want = (num(&c[3]), num(&c[4]), num(&c[5]), 0);
            if compare(version, &c[2], want) {
                let reason = c
                    .get(6)
                    .map(|m| m.as_str().to_string())
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| {
                        format!("nginx version {} {}.{}.{}", &c[2], &c[3], &c[4], &c[5])
                    });
                return Ok(Some((num(&c[1]) as usize, reason)));
            }
        } else if let Some(spec) = block.text("skip_nginx2") {
            let re = regex::Regex::new(concat!(
                r"^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)",
                r"\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*?))?\s*$"
            ))
            .map_err(|e| e.to_string())?;
            let c = re
                .captures(&spec)
                .ok_or_else(|| format!("Invalid --- skip_nginx2 spec: {spec}"))?;
            let a = compare(version, &c[2], (num(&c[3]), num(&c[4]), num(&c[5]), 0));
            let b = compare(version, &c[7], (num(&c[8]), num(&c[9]), num(&c[10]), 0));
            let hit = version.is_none() || if &c[6] == "or" { a || b } else { a && b };
            if hit {
                let reason = c
                    .get(11)
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "various reasons".into());
                return Ok(Some((num(&c[1]) as usize, reason)));
            }
        }
        if let Some(spec) = block.text("skip_openssl") {
            let re = regex::Regex::new(
                r"^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?(?:\s*:\s*(.*?))?\s*$",
            )
            .map_err(|e| e.to_string())?;
            let c = re
                .captures(&spec)
                .ok_or_else(|| format!("Invalid --- skip_openssl spec: {spec}"))?;
            let letter =
                c.get(6).map(|m| (m.as_str().as_bytes()[0] - b'a' + 1) as u32).unwrap_or(0);
            let want = (num(&c[3]), num(&c[4]), num(&c[5]), letter);
            if self.info.openssl.is_none() || compare(self.info.openssl, &c[2], want) {
                let reason = c.get(7).map(|m| m.as_str().to_string()).unwrap_or_else(|| {
                    if self.info.openssl.is_none() {
                        "Not built with OpenSSL".into()
                    } else {
                        format!("OpenSSL version {} {}.{}.{}", &c[2], &c[3], &c[4], &c[5])
                    }
                });
                return Ok(Some((num(&c[1]) as usize, reason)));
            }
        }
        if let Some(spec) = block.text("skip_eval") {
            let (count, code) = spec
                .split_once(':')
                .ok_or_else(|| format!("Invalid --- skip_eval spec: {spec}"))?;
            let count: usize =
                count.trim().parse().map_err(|_| format!("Invalid --- skip_eval spec: {spec}"))?;
            let value = crate::perl::eval(code.trim().as_bytes()).map_err(|e| {
                format!("skip_eval: Perl beyond the literals strait evaluates: {}", e.0)
            })?;
            if value.is_true() {
                return Ok(Some((count, "skip_eval".into())));
            }
        }
        Ok(None)
    }
}

/// `have OP want` for versions; an unknown version satisfies `<` and `<=`.
fn compare(have: Option<(u32, u32, u32, u32)>, op: &str, want: (u32, u32, u32, u32)) -> bool {
    let Some(have) = have else { return op.starts_with('<') };
    match op {
        "<" => have < want,
        "<=" => have <= want,
        ">" => have > want,
        ">=" => have >= want,
        _ => false,
    }
}

/// Why the runner cannot run a block, if it cannot.
fn unsupported_reason(block: &Block) -> Option<String> {
    for section in &block.sections {
        let name = section.name.as_str();
        if HTTP_SECTIONS.contains(&name) {
            return Some(format!(
                "needs http: --- {name} (strait's runner talks to stream servers only)"
            ));
        }
        if name == "error_code" && block.text("error_code").is_some_and(|c| c.trim() != "200") {
            return Some("needs http: --- error_code other than 200".into());
        }
        if let Some((_, what)) = UNSUPPORTED_SECTIONS.iter().find(|(n, _)| *n == name) {
            return Some(format!("needs {what}: --- {name}"));
        }
        if !KNOWN_SECTIONS.contains(&name) {
            return Some(format!("unsupported section --- {name}"));
        }
    }
    None
}

/// The block's client timeout: `timeout` (`N`, `Ns`, `Nms`), else `TEST_NGINX_TIMEOUT`, else 3s.
fn parse_timeout(block: &Block, env: &BTreeMap<String, String>) -> Duration {
    let text = block
        .text("timeout")
        .or_else(|| env.get("TEST_NGINX_TIMEOUT").cloned())
        .unwrap_or_default();
    let text = text.trim();
    let seconds = if let Some(ms) = text.strip_suffix("ms") {
        ms.trim().parse::<f64>().map(|v| v / 1000.0).ok()
    } else {
        text.strip_suffix('s').unwrap_or(text).trim().parse::<f64>().ok()
    };
    Duration::from_secs_f64(seconds.filter(|s| *s > 0.0).unwrap_or(3.0).min(600.0))
}

/// `user_files` entries: `>>> path [mtime]` lines start a file; the lines after are its body.
fn user_files(text: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(">>> ") {
            let name = rest.split_whitespace().next().unwrap_or_default().to_string();
            if !name.is_empty() {
                files.push((name, String::new()));
                continue;
            }
        }
        if let Some((_, body)) = files.last_mut() {
            body.push_str(line);
        }
    }
    files
}

/// `todo: N: reason` marks the block's checks as TODO: failures then do not count.
fn mark_todo(checks: Vec<Check>, todo: Option<&str>) -> Vec<Check> {
    let Some(todo) = todo else { return checks };
    let reason = todo.split_once(':').map(|(_, r)| r.trim()).unwrap_or(todo.trim()).to_string();
    checks
        .into_iter()
        .map(|c| match c.verdict {
            Verdict::Fail(_) => Check::skip(c.description, format!("TODO {reason}")),
            _ => c,
        })
        .collect()
}

/// TAP text for one file.
struct Tap {
    text: String,
    number: usize,
    counts: Counts,
}

impl Tap {
    fn new(file: &str) -> Tap {
        Tap { text: format!("# {file}\n"), number: 0, counts: Counts::default() }
    }

    fn note(&mut self, note: &str) {
        self.text.push_str(&format!("# {note}\n"));
    }

    fn push(&mut self, prefix: &str, check: &Check) {
        self.number += 1;
        let line = format!("{prefix} - {}", check.description);
        match &check.verdict {
            Verdict::Pass => {
                self.counts.passed += 1;
                self.text.push_str(&format!("ok {} - {line}\n", self.number));
            }
            Verdict::Skip(reason) => {
                self.counts.skipped += 1;
                self.text.push_str(&format!("ok {} - {line} # SKIP {reason}\n", self.number));
            }
            Verdict::Fail(detail) => {
                self.counts.failed += 1;
                self.text.push_str(&format!("not ok {} - {line}\n", self.number));
                for d in detail {
                    self.text.push_str(&format!("#   {d}\n"));
                }
            }
        }
    }

    fn push_block(&mut self, name: &str, block: &Block, check: &Check) {
        self.push(name, check);
        if matches!(check.verdict, Verdict::Fail(_)) {
            self.text.push_str(&format!("#   block:    {name} (line {})\n", block.line));
        }
    }

    fn finish(mut self, path: &Path) -> FileReport {
        self.text.push_str(&format!("1..{}\n", self.number));
        let c = self.counts;
        let verdict = if c.failed > 0 {
            format!("FAILED {}/{} checks", c.failed, self.number)
        } else {
            "ok".into()
        };
        self.text.push_str(&format!(
            "{} .. {verdict} ({} passed, {} skipped)\n",
            path.display(),
            c.passed,
            c.skipped
        ));
        FileReport { path: path.into(), text: self.text, counts: c }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_file;

    fn block(spec: &str) -> Block {
        parse_file(Path::new("x.t"), &format!("__DATA__\n=== TEST 1\n{spec}"))
            .unwrap()
            .blocks
            .remove(0)
    }

    #[test]
    fn http_blocks_are_skipped_with_the_reason() {
        let reason =
            unsupported_reason(&block("--- config\nlocation /t {}\n--- request\nGET /t\n"));
        assert_eq!(
            reason.unwrap(),
            "needs http: --- config (strait's runner talks to stream servers only)"
        );
        assert!(unsupported_reason(&block(
            "--- stream_server_config\nreturn 1;\n--- error_code: 200\n"
        ))
        .is_none());
        assert!(unsupported_reason(&block("--- tcp_listen: 1\n")).unwrap().contains("mock server"));
        assert!(unsupported_reason(&block("--- frobnicate\n")).unwrap().contains("--- frobnicate"));
    }

    #[test]
    fn timeouts_parse_like_test_nginx() {
        let env = BTreeMap::new();
        assert_eq!(parse_timeout(&block("--- timeout: 5\n"), &env), Duration::from_secs(5));
        assert_eq!(parse_timeout(&block("--- timeout: 500ms\n"), &env), Duration::from_millis(500));
        assert_eq!(parse_timeout(&block("--- timeout: 2s\n"), &env), Duration::from_secs(2));
        assert_eq!(parse_timeout(&block("--- x\n"), &env), Duration::from_secs(3));
    }

    #[test]
    fn user_files_split_on_markers() {
        let files = user_files(">>> a.txt\nhello\n>>> ../conf/b 202001010000\nx\ny\n");
        assert_eq!(
            files,
            [("a.txt".into(), "hello\n".into()), ("../conf/b".into(), "x\ny\n".into())]
        );
    }

    #[test]
    fn version_comparisons() {
        assert!(compare(Some((1, 22, 1, 0)), "<", (1, 23, 0, 0)));
        assert!(!compare(Some((1, 22, 1, 0)), ">=", (1, 23, 0, 0)));
        assert!(compare(None, "<=", (1, 0, 0, 0)));
        assert!(!compare(None, ">", (1, 0, 0, 0)));
    }
}
