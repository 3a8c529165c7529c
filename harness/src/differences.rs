//! The table of deliberate differences between strait and nginx (`differences.toml` beside
//! the suites): for a named block and binary, replaced expectations or a skip, each with
//! its reason. The runner applies an entry only on the binary it names, so a block whose
//! result differs and is not listed fails.
//!
//! A `.t` file's table is the nearest one: `differences.toml` in the file's directory, else
//! in the closest parent directory that has one ([`nearest_table`]). Entries name files
//! relative to their table's directory, so an entry applies however the file is named on
//! the command line (`t/`, `t/sub/x.t`, `./t/../t/sub/x.t`). An entry naming a file that
//! does not exist, or one that a nearer table governs, is dropped with a warning.
//!
//! ```toml
//! [[difference]]
//! file = "upstream-mtls.t"        # relative to the table's directory
//! block = "TEST 4: session reuse" # the block name, as after `===`
//! binary = "strait"               # "strait" or "nginx": where the expectation differs
//! reason = "why the behaviour differs on purpose"
//! [difference.sections]           # replaced sections: "name [filters]" = "body"
//! "stream_response eval" = 'qr/^$/'
//! ```
//!
//! `skip = true` instead of `sections` reports the block as skipped with the reason.

use std::path::{Path, PathBuf};

/// The file name of a table.
pub const TABLE_NAME: &str = "differences.toml";

use serde::Deserialize;

use crate::error::BailOut;
use crate::spec::{parse_spec, Block};

/// The binary a run drives, as far as differences go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// strait itself.
    Strait,
    /// nginx (or any other nginx-compatible binary).
    Nginx,
}

impl Flavour {
    /// The name used in the table.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Strait => "strait",
            Flavour::Nginx => "nginx",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(default)]
    difference: Vec<Entry>,
}

/// One deliberate difference.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The `.t` file, relative to the table's directory.
    pub file: String,
    /// The block name.
    pub block: String,
    /// The binary on which the expectation differs.
    pub binary: Flavour,
    /// Why.
    pub reason: String,
    /// Report the block as skipped on that binary.
    #[serde(default)]
    pub skip: bool,
    /// Replaced sections: `"name [filters]" = "body"`.
    #[serde(default)]
    pub sections: toml::Table,
    /// The table the entry was read from.
    #[serde(skip)]
    pub table: PathBuf,
}

/// The loaded tables, with each entry's file made canonical, and the warnings about
/// entries that were dropped.
#[derive(Debug, Clone, Default)]
pub struct Differences {
    entries: Vec<(PathBuf, Entry)>,
    warnings: Vec<String>,
}

/// What the table says about one block on one binary.
#[derive(Debug, Clone)]
pub enum Applied {
    /// Nothing: run the block as written.
    None,
    /// Run the block with replaced sections.
    Replaced {
        /// The entry's reason.
        reason: String,
    },
    /// Skip the block.
    Skip {
        /// The entry's reason.
        reason: String,
    },
}

impl Differences {
    /// Loads `path` (a missing file is an empty table). Entries whose file does not exist,
    /// or whose file's nearest table is another one, are dropped with a warning.
    pub fn load(path: &Path) -> Result<Differences, BailOut> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Differences::default()),
            Err(source) => {
                return Err(BailOut::Io { what: "cannot read", path: path.into(), source })
            }
        };
        let table: Table = toml::from_str(&text)
            .map_err(|e| BailOut::Differences { path: path.into(), message: e.to_string() })?;
        let table_path = canonical(path);
        let dir = table_path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut entries = Vec::new();
        let mut warnings = Vec::new();
        for mut entry in table.difference {
            if entry.reason.trim().is_empty() {
                return Err(BailOut::Differences {
                    path: path.into(),
                    message: format!(
                        "{} {}: every difference needs a reason",
                        entry.file, entry.block
                    ),
                });
            }
            if !entry.skip && entry.sections.is_empty() {
                return Err(BailOut::Differences {
                    path: path.into(),
                    message: format!(
                        "{} {}: give `sections` or `skip = true`",
                        entry.file, entry.block
                    ),
                });
            }

            // The entry's file must exist, and this table must be the one that governs it.
            let file = canonical(&dir.join(&entry.file));
            if !file.is_file() {
                warnings.push(format!(
                    "{}: no file {} (the entry for block {:?} applies to nothing)",
                    path.display(),
                    entry.file,
                    entry.block
                ));
                continue;
            }
            match nearest_table(&file) {
                Some(nearest) if nearest == table_path => {}
                nearest => {
                    let nearest = nearest.map(|t| t.display().to_string()).unwrap_or_default();
                    warnings.push(format!(
                        "{}: the entry for {} {:?} is ignored: {nearest} is the nearest \
                         table to that file and governs it",
                        path.display(),
                        entry.file,
                        entry.block
                    ));
                    continue;
                }
            }
            entry.table = table_path.clone();
            entries.push((file, entry));
        }
        Ok(Differences { entries, warnings })
    }

    /// Adds the entries (and warnings) of another table.
    pub fn extend(&mut self, other: Differences) {
        self.entries.extend(other.entries);
        self.warnings.extend(other.warnings);
    }

    /// Why entries were dropped while loading: a file that does not exist, a file that a
    /// nearer table governs.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The entries, with their absolute file paths.
    pub fn entries(&self) -> impl Iterator<Item = (&Path, &Entry)> {
        self.entries.iter().map(|(p, e)| (p.as_path(), e))
    }

    /// Applies the entry for `block` of `file` on `flavour`, if any, to the block.
    pub fn apply(
        &self,
        file: &Path,
        flavour: Flavour,
        block: &mut Block,
    ) -> Result<Applied, String> {
        let file = canonical(file);
        let Some((_, entry)) = self.entries.iter().find(|(f, e)| {
            *f == file && e.block.trim_end() == block.name.trim_end() && e.binary == flavour
        }) else {
            return Ok(Applied::None);
        };
        if entry.skip {
            return Ok(Applied::Skip { reason: entry.reason.clone() });
        }
        for (header, body) in &entry.sections {
            let body =
                body.as_str().ok_or_else(|| format!("differences: {header}: not a string"))?;
            let text = format!("=== override\n--- {header}\n{body}\n");
            let spec =
                parse_spec(Path::new("differences.toml"), &text, 1).map_err(|e| e.to_string())?;
            for section in spec.blocks.into_iter().flat_map(|b| b.sections) {
                block.set(&section.name, section.value);
            }
        }
        Ok(Applied::Replaced { reason: entry.reason.clone() })
    }
}

/// The table that governs `file`: `differences.toml` in the file's directory, else in the
/// closest parent directory that has one.
pub fn nearest_table(file: &Path) -> Option<PathBuf> {
    let file = canonical(file);
    file.ancestors().skip(1).map(|dir| dir.join(TABLE_NAME)).find(|table| table.is_file())
}

/// `path` with symbolic links resolved when it exists, else made absolute: the same file
/// gives the same path however it was named.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path))
}

/// `path` made absolute against the current directory, with `.` and `..` folded.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_file;
    use crate::value::Value;

    #[test]
    fn replaces_sections_for_the_named_binary_only() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("differences.toml");
        std::fs::write(
            &table,
            "[[difference]]\nfile = \"a.t\"\nblock = \"TEST 1: x\"\nbinary = \"strait\"\n\
             reason = \"on purpose\"\n[difference.sections]\n\"stream_response chomp\" = \"new\"\n",
        )
        .unwrap();
        let file = dir.path().join("a.t");
        std::fs::write(&file, "__DATA__\n").unwrap();
        let differences = Differences::load(&table).unwrap();
        let spec =
            parse_file(&file, "__DATA__\n=== TEST 1: x\n--- stream_response\nold\n").unwrap();

        let mut block = spec.blocks[0].clone();
        let applied = differences.apply(&file, Flavour::Nginx, &mut block).unwrap();
        assert!(matches!(applied, Applied::None));
        assert_eq!(block.bytes("stream_response"), Some(&b"old\n"[..]));

        let applied = differences.apply(&file, Flavour::Strait, &mut block).unwrap();
        assert!(matches!(applied, Applied::Replaced { .. }));
        assert_eq!(block.get("stream_response"), Some(&Value::Str(b"new".to_vec())));
    }

    /// A file's table is the nearest one up its directories, whatever the file is called;
    /// entries for missing files, or for files a nearer table governs, are dropped.
    #[test]
    fn the_nearest_table_governs_a_file_however_it_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("sub/own")).unwrap();
        for file in ["sub/a.t", "sub/own/b.t"] {
            std::fs::write(root.join(file), "__DATA__\n=== T\n--- x\n").unwrap();
        }
        let entry = |file: &str| {
            format!(
                "[[difference]]\nfile = \"{file}\"\nblock = \"T\"\nbinary = \"strait\"\n\
                 reason = \"r\"\nskip = true\n"
            )
        };
        let top = format!("{}{}{}", entry("sub/a.t"), entry("sub/own/b.t"), entry("gone.t"));
        std::fs::write(root.join(TABLE_NAME), top).unwrap();
        std::fs::write(root.join("sub/own").join(TABLE_NAME), "").unwrap();

        // The nearest table, from the file's directory up.
        assert_eq!(nearest_table(&root.join("sub/a.t")), Some(root.join(TABLE_NAME)));
        let roundabout = root.join("sub/own/../a.t");
        assert_eq!(nearest_table(&roundabout), Some(root.join(TABLE_NAME)));
        let own = Some(root.join("sub/own").join(TABLE_NAME));
        assert_eq!(nearest_table(&root.join("sub/own/b.t")), own);

        // Only sub/a.t's entry stays; the two others are warned about.
        let differences = Differences::load(&root.join(TABLE_NAME)).unwrap();
        let files: Vec<&Path> = differences.entries().map(|(f, _)| f).collect();
        assert_eq!(files, [root.join("sub/a.t")]);
        let warnings = differences.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("is ignored") && warnings[0].contains("sub/own/b.t"));
        assert!(warnings[1].contains("no file gone.t"), "{warnings:?}");

        // The entry applies to the file under any of its names.
        let spec = parse_file(&roundabout, "__DATA__\n=== T\n--- x\n").unwrap();
        let mut block = spec.blocks[0].clone();
        let applied = differences.apply(&roundabout, Flavour::Strait, &mut block).unwrap();
        assert!(matches!(applied, Applied::Skip { .. }));
    }

    #[test]
    fn an_entry_needs_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("differences.toml");
        std::fs::write(
            &table,
            "[[difference]]\nfile = \"a.t\"\nblock = \"T\"\nbinary = \"nginx\"\n\
             reason = \"\"\nskip = true\n",
        )
        .unwrap();
        assert!(Differences::load(&table).is_err());
    }
}
