//! Named lists (`rules/lists/<name>.txt`) that rules test values against:
//! `in_list(name, value)` for exact membership, `has_prefix_in(name, value)` for
//! number ranges.

use std::collections::{BTreeMap, HashMap, HashSet};

/// Parses a list file: one entry per line, surrounding whitespace trimmed, `#` starts
/// a comment (whole line or after an entry), blank lines ignored.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(entry, _)| entry).trim())
        .filter(|entry| !entry.is_empty())
        .map(str::to_string)
        .collect()
}

/// A dialled number without its international prefix: a leading `+` or `00` is
/// removed, so `+882`, `00882` and `882` compare equal.
pub fn normalise_number(value: &str) -> &str {
    value.strip_prefix('+').or_else(|| value.strip_prefix("00")).unwrap_or(value)
}

/// Whether `name` is a valid list name (the file stem): lowercase letters, digits, `_`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One list, indexed both ways.
#[derive(Debug, Default)]
struct List {
    /// entries as written, for `in_list`
    exact: HashSet<String>,
    /// normalised entries, for `has_prefix_in`
    prefixes: HashSet<String>,
    /// the longest normalised entry, bounding the prefixes worth looking up
    longest: usize,
}

/// Every list of a pack, read-only once built.
#[derive(Debug, Default)]
pub struct Lists {
    by_name: HashMap<String, List>,
}

impl Lists {
    /// Builds the lists, with the problems found: bad list names, and entries that
    /// cannot work as a prefix (empty once normalised, e.g. a lone `+`, which would match
    /// every number). Bad entries are left out; the lists are still returned so rules
    /// naming them are checked against the real set of names.
    pub(crate) fn build(raw: &BTreeMap<String, Vec<String>>) -> (Lists, Vec<String>) {
        let mut problems = Vec::new();
        let mut by_name = HashMap::new();
        for (name, entries) in raw {
            if !is_valid_name(name) {
                problems.push(format!("list {name:?}: list names are lowercase letters, digits and _"));
            }
            let mut list = List::default();
            for entry in entries {
                let entry = entry.trim();
                let normalised = normalise_number(entry);
                if normalised.is_empty() {
                    problems.push(format!(
                        "lists/{name}.txt: entry {entry:?} is empty once a leading + or 00 is removed"
                    ));
                    continue;
                }
                list.longest = list.longest.max(normalised.len());
                list.prefixes.insert(normalised.to_string());
                list.exact.insert(entry.to_string());
            }
            by_name.insert(name.clone(), list);
        }
        (Lists { by_name }, problems)
    }

    pub(crate) fn contains_name(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// `in_list`: exact membership. `None` when there is no such list.
    pub fn contains(&self, name: &str, value: &str) -> Option<bool> {
        self.by_name.get(name).map(|l| l.exact.contains(value))
    }

    /// `has_prefix_in`: whether the normalised `value` starts with any normalised
    /// entry. Looks up each prefix of the value (at most the longest entry's length),
    /// so the cost does not grow with the list. `None` when there is no such list.
    pub fn has_prefix(&self, name: &str, value: &str) -> Option<bool> {
        let list = self.by_name.get(name)?;
        let value = normalise_number(value);
        let hit = value
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|&end| end <= list.longest)
            .any(|end| list.prefixes.contains(&value[..end]));
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(name: &str, text: &str) -> Lists {
        let raw = BTreeMap::from([(name.to_string(), parse_list(text))]);
        let (lists, problems) = Lists::build(&raw);
        assert!(problems.is_empty(), "{problems:?}");
        lists
    }

    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let entries =
            parse_list("# premium ranges\n\n 88216 \n+37155 # Latvia premium\n   # indented comment\n");
        assert_eq!(entries, vec!["88216", "+37155"]);
    }

    #[test]
    fn prefix_matching_ignores_plus_and_double_zero_on_both_sides() {
        let l = lists("hot", "+88216\n0037155\n677");
        for number in ["+882161234567", "00882161234567", "882161234", "+3715512345", "6771234"] {
            assert_eq!(l.has_prefix("hot", number), Some(true), "{number}");
        }
        for number in ["+8821", "01012345678", "+1677", ""] {
            assert_eq!(l.has_prefix("hot", number), Some(false), "{number}");
        }
    }

    #[test]
    fn exact_membership_does_not_normalise() {
        let l = lists("agencies", "AG-7\n+1234");
        assert_eq!(l.contains("agencies", "AG-7"), Some(true));
        assert_eq!(l.contains("agencies", "AG-77"), Some(false));
        assert_eq!(l.contains("agencies", "1234"), Some(false));
        assert_eq!(l.contains("nope", "AG-7"), None);
    }

    #[test]
    fn an_entry_that_normalises_to_nothing_is_refused() {
        let raw = BTreeMap::from([("bad".to_string(), vec!["+".to_string(), "00".to_string()])]);
        let (lists, problems) = Lists::build(&raw);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("lists/bad.txt: entry \"+\""), "{problems:?}");
        assert!(lists.contains_name("bad"));
    }
}
