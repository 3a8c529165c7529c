//! The prefix (`-p`) the corpus is checked under, for every test that reads testdata/corpus/
//! (each includes this file with `#[path]`). Its `modules/` holds the files the corpus's
//! `load_module modules/NAME.so;` lines name: nginx's own when it is installed (a link to
//! Debian's module directory), else empty stand-ins, since strait loads no module and only
//! opens the file, as nginx's `dlopen()` would.
#![allow(dead_code)]

use std::path::Path;

/// Debian's module directory (`--modules-path`).
const NGINX_MODULES: &str = "/usr/lib/nginx/modules";

/// The modules the corpus loads.
const MODULES: [&str; 2] = ["ngx_stream_module.so", "ngx_mail_module.so"];

/// Makes `dir/modules/` hold the modules the corpus loads.
pub(crate) fn add_modules(dir: &Path) {
    let modules = dir.join("modules");
    let nginx = Path::new(NGINX_MODULES);
    if MODULES.iter().all(|module| nginx.join(module).exists()) {
        std::os::unix::fs::symlink(nginx, &modules).unwrap();
        return;
    }
    std::fs::create_dir_all(&modules).unwrap();
    for module in MODULES {
        std::fs::write(modules.join(module), "").unwrap();
    }
}

/// A scratch prefix with the corpus's `modules/` and a `logs/`, removed when dropped.
pub(crate) fn prefix() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    add_modules(dir.path());
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    dir
}

/// The `-p` argument for `dir`: its path with a trailing `/`, as nginx expects it.
pub(crate) fn prefix_arg(dir: &Path) -> String {
    format!("{}/", dir.display())
}
