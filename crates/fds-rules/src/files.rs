//! A rule pack as plain files: relative path → text. This is the form a pack takes in
//! the store (versioned file by file), in drafts and in `fds rules import|export`;
//! [`RulePack::from_files`] compiles it. Three kinds of file make a pack:
//! `<family>/<id>.rhai` (a rule), `<family>/<id>.test.toml` (its fixtures) and
//! `lists/<name>.txt` (a named list). Anything else under a rules directory
//! (`features.toml`, READMEs) is not part of the pack.

use crate::error::LoadError;
use crate::pack::{RulePack, RuleSource, LISTS_DIR};
use crate::parse_list;
use chrono::FixedOffset;
use fds_core::Family;
use similar::TextDiff;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The suffix of a rule file.
pub const RULE_SUFFIX: &str = ".rhai";
/// The suffix of a rule's fixture file, next to its rule file.
pub const FIXTURE_SUFFIX: &str = ".test.toml";
/// The suffix of a list file under `lists/`.
pub const LIST_SUFFIX: &str = ".txt";

/// What a pack file is, from its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Rule,
    Fixture,
    List,
}

/// One file that differs between two packs: `before` is `None` for a new file,
/// `after` is `None` for a removed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange<'a> {
    pub path: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

impl FileChange<'_> {
    /// The change as a unified diff (three lines of context), headed by the path.
    pub fn unified_diff(&self) -> String {
        let before = self.before.unwrap_or("");
        let after = self.after.unwrap_or("");
        let old = if self.before.is_some() { format!("a/{}", self.path) } else { "/dev/null".to_string() };
        let new = if self.after.is_some() { format!("b/{}", self.path) } else { "/dev/null".to_string() };
        TextDiff::from_lines(before, after).unified_diff().context_radius(3).header(&old, &new).to_string()
    }
}

/// A pack's files by relative path (`/`-separated), in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackFiles {
    files: BTreeMap<String, String>,
}

impl PackFiles {
    pub fn new() -> PackFiles {
        PackFiles::default()
    }

    /// What `path` names, or why it cannot be part of a pack.
    pub fn kind(path: &str) -> Result<FileKind, String> {
        let parts: Vec<&str> = path.split('/').collect();
        let [dir, name] = parts.as_slice() else {
            return Err(format!(
                "{path:?}: pack files are <family>/<id>.rhai, <family>/<id>.test.toml or lists/<name>.txt"
            ));
        };
        let stem_ok = |stem: &str| {
            !stem.is_empty()
                && stem.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        if *dir == LISTS_DIR {
            return match name.strip_suffix(LIST_SUFFIX) {
                Some(stem) if stem_ok(stem) => Ok(FileKind::List),
                _ => Err(format!("{path:?}: a list is lists/<name>.txt, the name in a-z, 0-9, _ and -")),
            };
        }
        if Family::parse(dir).is_none() {
            return Err(format!("{path:?}: {dir:?} is neither a fraud family nor {LISTS_DIR}"));
        }
        if let Some(stem) = name.strip_suffix(FIXTURE_SUFFIX) {
            if stem_ok(stem) {
                return Ok(FileKind::Fixture);
            }
        } else if let Some(stem) = name.strip_suffix(RULE_SUFFIX) {
            if stem_ok(stem) {
                return Ok(FileKind::Rule);
            }
        }
        Err(format!("{path:?}: a rule is <family>/<id>.rhai with fixtures in <family>/<id>.test.toml, the id in a-z, 0-9, _ and -"))
    }

    /// Adds or replaces a file; refuses a path that is not a pack file.
    pub fn insert(&mut self, path: impl Into<String>, text: impl Into<String>) -> Result<(), String> {
        let path = path.into();
        PackFiles::kind(&path)?;
        self.files.insert(path, text.into());
        Ok(())
    }

    /// Removes a file; whether it was there.
    pub fn remove(&mut self, path: &str) -> bool {
        self.files.remove(path).is_some()
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(p, t)| (p.as_str(), t.as_str()))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The path of rule `id` in this pack, if it has one.
    pub fn rule_path(&self, id: &str) -> Option<&str> {
        let name = format!("/{id}{RULE_SUFFIX}");
        self.files.keys().map(String::as_str).find(|p| p.ends_with(&name) && !p.starts_with(LISTS_DIR))
    }

    /// Every file that differs from `self` (before) to `other` (after), in path order.
    pub fn changes_to<'a>(&'a self, other: &'a PackFiles) -> Vec<FileChange<'a>> {
        let mut paths: Vec<&str> = self.files.keys().chain(other.files.keys()).map(String::as_str).collect();
        paths.sort_unstable();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|path| {
                let (before, after) = (self.get(path), other.get(path));
                (before != after).then_some(FileChange { path, before, after })
            })
            .collect()
    }

    /// Reads the pack files under `dir` (see the module docs); other files are not
    /// part of a pack and are left out. Every problem is reported at once.
    pub fn read_dir(dir: &Path) -> Result<PackFiles, LoadError> {
        let mut pack = PackFiles::new();
        let mut problems = Vec::new();
        let entries = match sorted_dirs(dir) {
            Ok(e) => e,
            Err(e) => {
                return Err(LoadError { problems: vec![format!("{}: cannot list: {e}", dir.display())] })
            }
        };
        for sub in entries.into_iter().filter(|p| p.is_dir()) {
            let Some(dir_name) = sub.file_name().and_then(|n| n.to_str()) else { continue };
            let files = match sorted_dirs(&sub) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{}: cannot list: {e}", sub.display()));
                    continue;
                }
            };
            for file in files.into_iter().filter(|p| p.is_file()) {
                let Some(name) = file.file_name().and_then(|n| n.to_str()) else { continue };
                let relative = format!("{dir_name}/{name}");
                let is_pack_file = name.ends_with(RULE_SUFFIX)
                    || name.ends_with(FIXTURE_SUFFIX)
                    || (dir_name == LISTS_DIR && name.ends_with(LIST_SUFFIX));
                if !is_pack_file {
                    continue;
                }
                match std::fs::read_to_string(&file) {
                    Ok(text) => {
                        if let Err(problem) = pack.insert(relative, text) {
                            problems.push(problem);
                        }
                    }
                    Err(e) => problems.push(format!("{}: cannot read: {e}", file.display())),
                }
            }
        }
        if problems.is_empty() {
            Ok(pack)
        } else {
            Err(LoadError { problems })
        }
    }

    /// Writes every file under `dir` (creating the family and list directories).
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        for (path, text) in self.iter() {
            let target = dir.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, text)?;
        }
        Ok(())
    }
}

impl RulePack {
    /// Compiles a pack held as files (see [`PackFiles`]): its rules and lists; the
    /// fixtures are for `fds_scoring::fixtures`. Rule paths in errors and in
    /// [`crate::RuleMeta::path`] are the files' relative paths.
    pub fn from_files(
        files: &PackFiles,
        feature_names: &[String],
        utc_offset: FixedOffset,
    ) -> Result<RulePack, LoadError> {
        let mut sources = Vec::new();
        let mut lists = BTreeMap::new();
        for (path, text) in files.iter() {
            match PackFiles::kind(path) {
                Ok(FileKind::Rule) => {
                    sources.push(RuleSource { path: PathBuf::from(path), text: text.to_string() })
                }
                Ok(FileKind::List) => {
                    let name = path.trim_start_matches("lists/").trim_end_matches(LIST_SUFFIX);
                    lists.insert(name.to_string(), parse_list(text));
                }
                Ok(FileKind::Fixture) | Err(_) => {}
            }
        }
        RulePack::from_sources(sources, lists, feature_names, utc_offset)
    }
}

fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths =
        std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect::<std::io::Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rules_fixtures_and_lists_are_pack_files() {
        assert_eq!(PackFiles::kind("sim_swap_takeover/ss_new.rhai"), Ok(FileKind::Rule));
        assert_eq!(PackFiles::kind("sim_swap_takeover/ss_new.test.toml"), Ok(FileKind::Fixture));
        assert_eq!(PackFiles::kind("lists/irsf.txt"), Ok(FileKind::List));
        for bad in [
            "features.toml",
            "../x.rhai",
            "sim_swap/../x.rhai",
            "nope/x.rhai",
            "sim_swap/X.rhai",
            "lists/a/b.txt",
            "sim_swap/x.txt",
        ] {
            assert!(PackFiles::kind(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn changes_name_added_changed_and_removed_files_with_a_unified_diff() {
        let mut before = PackFiles::new();
        before.insert("lists/deny.txt", "a\nb\n").unwrap();
        before.insert("lists/old.txt", "x\n").unwrap();
        let mut after = before.clone();
        after.insert("lists/deny.txt", "a\nc\n").unwrap();
        after.remove("lists/old.txt");
        after.insert("lists/new.txt", "y\n").unwrap();
        let changes = before.changes_to(&after);
        let paths: Vec<_> = changes.iter().map(|c| c.path).collect();
        assert_eq!(paths, ["lists/deny.txt", "lists/new.txt", "lists/old.txt"]);
        let diff = changes[0].unified_diff();
        assert!(
            diff.contains("--- a/lists/deny.txt") && diff.contains("-b\n") && diff.contains("+c\n"),
            "{diff}"
        );
        assert!(changes[1].unified_diff().contains("--- /dev/null"));
        assert!(changes[2].unified_diff().contains("+++ /dev/null"));
    }

    #[test]
    fn the_shipped_library_reads_as_rules_each_with_its_fixtures_and_lists() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
        let files = PackFiles::read_dir(&dir).unwrap();
        assert!(files.iter().all(|(p, _)| !p.ends_with("features.toml")));
        assert!(files.iter().any(|(p, _)| p.starts_with("lists/")));
        let rules: Vec<&str> = files.iter().map(|(p, _)| p).filter(|p| p.ends_with(RULE_SUFFIX)).collect();
        assert!(rules.len() >= 100, "{} rules", rules.len());
        for rule in rules {
            let fixture = rule.replace(RULE_SUFFIX, FIXTURE_SUFFIX);
            assert!(files.get(&fixture).is_some(), "{rule} has no {fixture}");
        }
    }
}
