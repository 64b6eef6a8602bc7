//! The `// key: value` header at the top of every rule file.
//!
//! The header is the run of `// key: value` lines at the top of the file; it ends at
//! the first line that is blank, a bare `//`, or not a `//` comment. Everything after
//! it is the condition (free comments included).

use fds_core::Family;
use fds_core::{BlockScope, EventType, RuleAction};

/// The default block length when a block rule does not say (three days: long enough
/// for an analyst to look, short enough that a wrong block heals itself).
pub(crate) const DEFAULT_BLOCK_HOURS: u32 = 72;

/// Blocks are kept for one year; a longer block could outlive its own record.
const MAX_BLOCK_HOURS: u32 = 24 * 366;

const KEYS: [&str; 9] =
    ["id", "name", "family", "action", "score", "events", "scope", "block_hours", "description"];

const REQUIRED: [&str; 7] = ["id", "name", "family", "action", "score", "events", "description"];

/// A parsed, checked header.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Header {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) family: Family,
    pub(crate) action: RuleAction,
    pub(crate) score: f64,
    pub(crate) events: Vec<EventType>,
    pub(crate) scope: BlockScope,
    pub(crate) block_hours: u32,
}

/// Whether `id` is a valid rule id: lowercase ASCII letter first, then lowercase
/// letters, digits and `_`.
pub(crate) fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Parses the header of `text`, or returns every problem found (without the path;
/// the caller adds it).
pub(crate) fn parse(text: &str) -> Result<Header, Vec<String>> {
    let mut problems = Vec::new();
    let mut values: Vec<(&str, &str, usize)> = Vec::new();

    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let Some(rest) = line.trim_start().strip_prefix("//") else { break };
        let rest = rest.trim();
        if rest.is_empty() {
            break;
        }
        let Some((key, value)) = rest.split_once(':') else {
            problems.push(format!("line {line_no}: header lines read `// key: value`, got {line:?}"));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if !KEYS.contains(&key) {
            problems.push(format!(
                "line {line_no}: unknown header key {key:?} (known: {}); end the header with a blank line before free comments",
                KEYS.join(", ")
            ));
        } else if values.iter().any(|(k, _, _)| *k == key) {
            problems.push(format!("line {line_no}: header key {key:?} appears twice"));
        } else if value.is_empty() {
            problems.push(format!("line {line_no}: header key {key:?} has no value"));
        } else {
            values.push((key, value, line_no));
        }
    }

    let get = |key: &str| values.iter().find(|(k, _, _)| *k == key).map(|&(_, v, n)| (v, n));
    for key in REQUIRED {
        // A key reported above (duplicate, empty) is not also reported missing.
        let reported = problems.iter().any(|p| p.contains(&format!("header key {key:?}")));
        if get(key).is_none() && !reported {
            problems.push(format!("header key {key:?} is missing"));
        }
    }

    let id = get("id").and_then(|(v, n)| {
        if is_valid_id(v) {
            Some(v.to_string())
        } else {
            problems.push(format!(
                "line {n}: id {v:?} must be lowercase letters, digits and _, starting with a letter"
            ));
            None
        }
    });
    let family = get("family").and_then(|(v, n)| {
        let family = Family::parse(v);
        if family.is_none() {
            let known: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
            problems.push(format!("line {n}: unknown family {v:?} (known: {})", known.join(", ")));
        }
        family
    });
    let action = get("action").and_then(|(v, n)| {
        let action = RuleAction::parse(v);
        if action.is_none() {
            problems.push(format!("line {n}: unknown action {v:?} (block, review or tag)"));
        }
        action
    });
    let score = get("score").and_then(|(v, n)| match v.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=100.0).contains(&s) => Some(s),
        Ok(_) => {
            problems.push(format!("line {n}: score {v} is outside 0..100"));
            None
        }
        Err(_) => {
            problems.push(format!("line {n}: score {v:?} is not a number"));
            None
        }
    });
    let events = get("events").and_then(|(v, n)| parse_events(v, n, &mut problems));
    let scope = match get("scope") {
        None => Some(BlockScope::Payments),
        Some((v, n)) => {
            let scope = BlockScope::parse(v);
            if scope.is_none() {
                problems.push(format!("line {n}: unknown scope {v:?} (payments or all)"));
            }
            scope
        }
    };
    let block_hours = match get("block_hours") {
        None => Some(DEFAULT_BLOCK_HOURS),
        Some((v, n)) => match v.parse::<u32>() {
            Ok(h) if (1..=MAX_BLOCK_HOURS).contains(&h) => Some(h),
            _ => {
                problems.push(format!(
                    "line {n}: block_hours {v:?} must be a whole number of hours from 1 to {MAX_BLOCK_HOURS}"
                ));
                None
            }
        },
    };
    if action.is_some_and(|a| a != RuleAction::Block) {
        for key in ["scope", "block_hours"] {
            if let Some((_, n)) = get(key) {
                problems.push(format!("line {n}: {key} only applies to block rules"));
            }
        }
    }

    let name = get("name").map(|(v, _)| v.to_string());
    let description = get("description").map(|(v, _)| v.to_string());
    match (id, name, description, family, action, score, events, scope, block_hours) {
        (
            Some(id),
            Some(name),
            Some(description),
            Some(family),
            Some(action),
            Some(score),
            Some(events),
            Some(scope),
            Some(block_hours),
        ) if problems.is_empty() => {
            Ok(Header { id, name, description, family, action, score, events, scope, block_hours })
        }
        _ => Err(problems),
    }
}

fn parse_events(value: &str, line_no: usize, problems: &mut Vec<String>) -> Option<Vec<EventType>> {
    let mut events = Vec::new();
    let mut ok = true;
    for name in value.split(',').map(str::trim) {
        match EventType::parse(name) {
            Some(t) if events.contains(&t) => {
                problems.push(format!("line {line_no}: event type {name:?} is listed twice"));
                ok = false;
            }
            Some(t) => events.push(t),
            None => {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                problems.push(format!(
                    "line {line_no}: unknown event type {name:?} (known: {})",
                    known.join(", ")
                ));
                ok = false;
            }
        }
    }
    ok.then_some(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
// id: idt_many_lines
// name: Many lines on one identity
// family: identity_theft
// action: block
// score: 40
// events: subscription, payment
// scope: all
// block_hours: 24
// description: Rings open several lines per stolen identity.

// free comment after the header
f.lines_per_identity_30d >= 3
";

    #[test]
    fn a_complete_header_parses_with_every_value() {
        let h = parse(GOOD).expect("valid header");
        assert_eq!(h.id, "idt_many_lines");
        assert_eq!(h.family, Family::IdentityTheft);
        assert_eq!(h.action, RuleAction::Block);
        assert_eq!(h.score, 40.0);
        assert_eq!(h.events, vec![EventType::Subscription, EventType::Payment]);
        assert_eq!(h.scope, BlockScope::All);
        assert_eq!(h.block_hours, 24);
    }

    #[test]
    fn optional_keys_take_their_defaults() {
        let text = GOOD.replace("// scope: all\n", "").replace("// block_hours: 24\n", "");
        let h = parse(&text).expect("valid header");
        assert_eq!(h.scope, BlockScope::Payments);
        assert_eq!(h.block_hours, DEFAULT_BLOCK_HOURS);
    }

    #[test]
    fn every_header_problem_is_reported_at_once() {
        let text = "\
// id: Bad-Id
// family: fraud
// action: ban
// score: 140
// events: call, fax
// colour: red
// description: x
true
";
        let problems = parse(text).expect_err("broken header");
        let all = problems.join("\n");
        for needle in [
            "\"name\" is missing",
            "id \"Bad-Id\"",
            "unknown family \"fraud\"",
            "unknown action \"ban\"",
            "score 140 is outside",
            "unknown event type \"fax\"",
            "unknown header key \"colour\"",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn scope_on_a_review_rule_is_a_problem() {
        let text = GOOD.replace("action: block", "action: review");
        let problems = parse(&text).expect_err("scope on review rule");
        assert!(problems.iter().any(|p| p.contains("scope only applies to block rules")));
        assert!(problems.iter().any(|p| p.contains("block_hours only applies to block rules")));
    }

    #[test]
    fn a_comment_line_without_a_key_inside_the_header_is_malformed() {
        let text = GOOD.replace("// scope: all\n", "// see the playbook\n");
        let problems = parse(&text).expect_err("malformed line");
        assert!(problems[0].starts_with("line 7: header lines read"), "{problems:?}");
    }
}
