//! The binary under test: what `BIN -V` says (strait or nginx, versions for the skip
//! specs) and the `load_module` lines a dynamic stream module needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::differences::{self, Flavour};
use crate::error::BailOut;

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

pub(crate) fn num(text: &str) -> u32 {
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
