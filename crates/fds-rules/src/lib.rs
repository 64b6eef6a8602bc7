//! The rule engine: blocking patterns written as Rhai scripts, one file per rule.
//!
//! This crate owns the rule file format (a `// key: value` header and a Rhai
//! condition over the event `e` and its features `f`), loading and checking a pack
//! (every problem in every file reported at once, with its path), compiling each rule
//! once, the sandbox (operation, depth and size limits; no `eval`, modules, printing or
//! I/O), named lists (`in_list`, `has_prefix_in`), and evaluation: an index by event
//! type, a native evaluator for conditions in the common subset of Rhai (with Rhai's
//! exact semantics, deferring to Rhai whenever it cannot decide), and batched Rhai runs
//! over per-event views of the event and features for the rest. `evaluate_naive` is
//! the plain-Rhai reference and benchmark baseline.
//!
//! It must never do I/O during evaluation (files are read by [`RulePack::load_dir`]
//! only), log, count metrics or read the clock: callers turn [`Evaluation::errors`]
//! into logs and metrics. It knows nothing about decisions, stores or HTTP.
//!
//! The authoring guide is `docs/rules.md`.

mod codegen;
mod context;
mod error;
mod files;
mod header;
mod lists;
mod native;
mod pack;
mod sandbox;
mod scan;

pub use codegen::NativeSource;
pub use error::{LoadError, RuleError};
pub use fds_core::Family;
pub use files::{FileChange, FileKind, PackFiles, FIXTURE_SUFFIX, LIST_SUFFIX, RULE_SUFFIX};
pub use lists::{normalise_number, parse_list, Lists};
pub use pack::{Evaluation, RuleMeta, RulePack, RuleSource, LISTS_DIR};
pub use sandbox::{
    MAX_ARRAY_SIZE, MAX_CALL_LEVELS, MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH, MAX_MAP_SIZE, MAX_OPERATIONS,
    MAX_STRING_SIZE, MAX_VARIABLES,
};

#[cfg(test)]
mod tests;
