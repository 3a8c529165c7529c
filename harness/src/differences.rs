//! The table of deliberate differences between strait and nginx (`differences.toml` beside
//! the suites): for a named block and binary, replaced expectations or a skip, each with
//! its reason. The runner applies an entry only on the binary it names, so a block whose
//! result differs and is not listed fails.
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
}

/// The loaded table, with each entry's file made absolute.
#[derive(Debug, Clone, Default)]
pub struct Differences {
    entries: Vec<(PathBuf, Entry)>,
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
    /// Loads `path` (a missing file is an empty table).
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
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut entries = Vec::new();
        for entry in table.difference {
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
            let file = absolute(&dir.join(&entry.file));
            entries.push((file, entry));
        }
        Ok(Differences { entries })
    }

    /// Adds the entries of another table.
    pub fn extend(&mut self, other: Differences) {
        self.entries.extend(other.entries);
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
        let file = absolute(file);
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
        let differences = Differences::load(&table).unwrap();
        let file = dir.path().join("a.t");
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
