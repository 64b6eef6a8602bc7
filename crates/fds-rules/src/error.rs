//! The two ways rules fail: a pack that cannot be loaded, and a rule that fails on
//! one event.

use std::fmt;

/// A rule pack that cannot be loaded, with every problem found in every file (each
/// message starts with the file's path), so an author fixes them all in one pass.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub problems: Vec<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "rule pack has {n} problem{}", if n == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// One rule that failed on one event: it threw, exceeded a sandbox limit, or returned
/// something other than a bool. The rule is skipped for that event; the others still
/// run. Messages never contain a value the script threw (it could carry PII).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule_id}: {message}")]
pub struct RuleError {
    pub rule_id: String,
    pub message: String,
}
