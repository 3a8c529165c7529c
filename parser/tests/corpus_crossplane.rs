//! strait's JSON payload against crossplane's own (`crossplane parse`, when installed): the
//! same files, directives, lines, arguments and includes for every corpus file crossplane
//! accepts. Arguments holding a backslash are skipped: crossplane keeps escapes as written,
//! strait gives the value nginx stores (see `strait_parser::json`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use strait_parser::{parse_file_partial, ParseOptions};

/// The `.conf` files of the valid and parse-only corpus.
fn files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus");
    let mut out = Vec::new();
    for folder in ["valid", "parse"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "conf") {
                out.push(path.canonicalize().unwrap());
            }
        }
    }
    out.sort();
    out
}

/// Compares two `parsed` lists; differences are appended to `diffs`.
fn compare(ours: &Value, theirs: &Value, at: &str, diffs: &mut Vec<String>) {
    let (Some(ours), Some(theirs)) = (ours.as_array(), theirs.as_array()) else {
        diffs.push(format!("{at}: not lists"));
        return;
    };
    if ours.len() != theirs.len() {
        diffs.push(format!("{at}: {} directives, crossplane {}", ours.len(), theirs.len()));
        return;
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let at = format!("{at}/{i}");
        for key in ["directive", "line", "includes"] {
            if a.get(key) != b.get(key) {
                diffs.push(format!("{at}: {key} {:?} vs crossplane {:?}", a.get(key), b.get(key)));
            }
        }
        let (args_a, args_b) = (a["args"].as_array().unwrap(), b["args"].as_array().unwrap());
        if args_a.len() != args_b.len() {
            diffs.push(format!("{at}: args {args_a:?} vs crossplane {args_b:?}"));
        } else {
            for (x, y) in args_a.iter().zip(args_b) {
                if x != y && !y.as_str().unwrap_or_default().contains('\\') {
                    diffs.push(format!("{at}: arg {x} vs crossplane {y}"));
                }
            }
        }
        match (a.get("block"), b.get("block")) {
            (Some(x), Some(y)) => compare(x, y, &at, diffs),
            (None, None) => {}
            _ => diffs.push(format!("{at}: block presence differs")),
        }
    }
}

#[test]
fn payload_matches_crossplane() {
    let Ok(probe) = Command::new("crossplane").arg("--help").output() else {
        eprintln!("NOTICE: crossplane is not installed (pip install crossplane); skipped");
        return;
    };
    assert!(probe.status.success());
    let mut compared = 0;
    let mut diffs = Vec::new();
    for conf in files() {
        let output = Command::new("crossplane").arg("parse").arg(&conf).output().unwrap();
        let theirs: Value = serde_json::from_slice(&output.stdout).unwrap();
        // crossplane's directive table is older than nginx 1.22: it fails some files.
        if theirs["status"] != "ok" {
            continue;
        }
        let outcome = parse_file_partial(&conf, &ParseOptions::default());
        let ours = strait_parser::json::payload(&outcome.config, outcome.error.as_ref());
        assert_eq!(ours["status"], "ok");
        let (ours, theirs) =
            (ours["config"].as_array().unwrap(), theirs["config"].as_array().unwrap());
        assert_eq!(ours.len(), theirs.len(), "{}: file count", conf.display());
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            let at = format!("{}#{i}", conf.display());
            compare(&a["parsed"], &b["parsed"], &at, &mut diffs);
        }
        compared += 1;
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert!(compared >= 4, "crossplane accepted only {compared} files");
}
