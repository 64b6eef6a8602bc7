//! Analysts' suppressions as the scorer reads them: which rule is silenced for
//! which entity, and until when. Built by the caller from the store; looked up
//! only for rules that hit, so an empty set costs one branch per event.

use fds_core::{EntityKind, Event, Timestamp};
use std::collections::HashMap;

/// One silenced (rule, entity) pair: the suppression's id, its start and its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    id: i64,
    from: Timestamp,
    until: Timestamp,
}

/// Suppressions by rule id, then by entity.
#[derive(Clone, Debug, Default)]
pub struct Suppressions {
    by_rule: HashMap<String, HashMap<(EntityKind, String), Vec<Window>>>,
}

impl Suppressions {
    /// Adds suppression `id`: rule `rule_id` silenced for `kind` = `value` from
    /// `from` until `until` (exclusive).
    pub fn insert(
        &mut self,
        id: i64,
        rule_id: &str,
        kind: EntityKind,
        value: &str,
        from: Timestamp,
        until: Timestamp,
    ) {
        self.by_rule
            .entry(rule_id.to_string())
            .or_default()
            .entry((kind, value.to_string()))
            .or_default()
            .push(Window { id, from, until });
    }

    pub fn is_empty(&self) -> bool {
        self.by_rule.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_rule.values().flat_map(|m| m.values()).map(Vec::len).sum()
    }

    /// The suppression (id, end) that silences `rule_id` for an entity of `event`
    /// at `at`, if any (the one ending last when several do).
    pub fn silencing(&self, rule_id: &str, event: &Event, at: Timestamp) -> Option<(i64, Timestamp)> {
        let by_entity = self.by_rule.get(rule_id)?;
        let mut found: Option<Window> = None;
        for ((kind, value), windows) in by_entity {
            if event.entity(*kind) != Some(value.as_str()) {
                continue;
            }
            for w in windows.iter().filter(|w| w.from <= at && at < w.until) {
                if found.is_none_or(|f| w.until > f.until) {
                    found = Some(*w);
                }
            }
        }
        found.map(|w| (w.id, w.until))
    }
}
