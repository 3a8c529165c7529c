//! The report of a run: counts, per-file TAP text with a summary line, and the closing
//! `N passed, N failed, N skipped` line (`(bailed out)` after it when the run stopped).

use std::path::{Path, PathBuf};

use crate::check::{Check, Verdict};
use crate::spec::Block;

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
    pub(crate) fn add(&mut self, other: Counts) {
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

/// TAP text for one file.
pub(crate) struct Tap {
    text: String,
    number: usize,
    counts: Counts,
}

impl Tap {
    /// A report for `file`, opened with a comment line naming it.
    pub(crate) fn new(file: &str) -> Tap {
        Tap { text: format!("# {file}\n"), number: 0, counts: Counts::default() }
    }

    /// A comment line.
    pub(crate) fn note(&mut self, note: &str) {
        self.text.push_str(&format!("# {note}\n"));
    }

    /// Adds one numbered TAP line (`ok`, `ok ... # SKIP`, `not ok` with its explanation).
    pub(crate) fn push(&mut self, prefix: &str, check: &Check) {
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

    /// Adds a check of a block; a failure's explanation starts with the block and its line.
    pub(crate) fn push_block(&mut self, name: &str, block: &Block, check: &Check) {
        match &check.verdict {
            Verdict::Fail(detail) => {
                let mut detail = detail.clone();
                detail.insert(0, format!("block:    {name} (line {})", block.line));
                let check = Check {
                    description: check.description.clone(),
                    verdict: Verdict::Fail(detail),
                };
                self.push(name, &check);
            }
            _ => self.push(name, check),
        }
    }

    /// Closes the file: the plan line and the file's summary line.
    pub(crate) fn finish(mut self, path: &Path) -> FileReport {
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

    /// Closes a file that stops the run: Test::More's `Bail out!` line (no plan follows),
    /// then the file's summary line.
    pub(crate) fn bail_out(mut self, path: &Path, reason: &str) -> FileReport {
        self.text.push_str(&format!("Bail out!  {reason}\n"));
        let c = self.counts;
        let checks = if self.number == 1 { "check" } else { "checks" };
        self.text.push_str(&format!(
            "{} .. bailed out after {} {checks} ({} passed, {} failed, {} skipped)\n",
            path.display(),
            self.number,
            c.passed,
            c.failed,
            c.skipped
        ));
        FileReport { path: path.into(), text: self.text, counts: c }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_file;

    #[test]
    fn tap_lines_plan_and_summary() {
        let spec = parse_file(Path::new("t/a.t"), "__DATA__\n=== TEST 1: x\n--- y\n").unwrap();
        let block = &spec.blocks[0];
        let mut tap = Tap::new("t/a.t");
        tap.push_block("t/a.t TEST 1: x", block, &Check::new("one", true, vec![]));
        tap.push_block("t/a.t TEST 1: x", block, &Check::fail("two", vec!["got: 1".into()]));
        tap.push_block("t/a.t TEST 1: x", block, &Check::skip("three", "why"));
        let report = tap.finish(Path::new("t/a.t"));
        assert_eq!(
            report.text,
            "# t/a.t\n\
             ok 1 - t/a.t TEST 1: x - one\n\
             not ok 2 - t/a.t TEST 1: x - two\n\
             #   block:    t/a.t TEST 1: x (line 2)\n\
             #   got: 1\n\
             ok 3 - t/a.t TEST 1: x - three # SKIP why\n\
             1..3\n\
             t/a.t .. FAILED 1/3 checks (1 passed, 1 skipped)\n"
        );
        let summary = Summary { files: vec![], counts: report.counts };
        assert_eq!(summary.closing_line(), "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn a_bail_out_keeps_what_ran_and_says_so() {
        let spec = parse_file(Path::new("t/a.t"), "__DATA__\n=== TEST 1: x\n--- y\n").unwrap();
        let mut tap = Tap::new("t/a.t");
        tap.push_block("t/a.t TEST 1: x", &spec.blocks[0], &Check::new("one", true, vec![]));
        let report = tap.bail_out(Path::new("t/a.t"), "t/a.t: TEST 2 - No environment X defined.");
        assert_eq!(
            report.text,
            "# t/a.t\n\
             ok 1 - t/a.t TEST 1: x - one\n\
             Bail out!  t/a.t: TEST 2 - No environment X defined.\n\
             t/a.t .. bailed out after 1 check (1 passed, 0 failed, 0 skipped)\n"
        );
        let stopped = crate::Stopped {
            ran: Summary { counts: report.counts, files: vec![report] },
            reason: crate::BailOut::NoFiles("t/".into()),
        };
        assert_eq!(stopped.closing_line(), "1 passed, 0 failed, 0 skipped (bailed out)");
    }
}
