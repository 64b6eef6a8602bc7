//! What a rule sees as `e` and `f`.
//!
//! The fast path hands Rhai two small custom types, [`EventView`] and [`FeatureView`],
//! built once per event and shared by every rule run for it. Each event field and each
//! feature is a property getter registered at load time that reads a slot by index:
//! no per-rule Rhai `Map`, no string keys looked up at run time.
//!
//! The naive path ([`event_map`], [`feature_map`]) builds plain Rhai maps instead; it
//! exists as the benchmark's baseline and as a cross-check of the fast path.

use chrono::{FixedOffset, Timelike};
use fds_core::{Event, EventType, FeatureValue, Field};
use rhai::{Dynamic, ImmutableString, Map};

/// `e.local_hour`: the hour of day (0–23) at the pack's UTC offset.
pub(crate) const LOCAL_HOUR: &str = "local_hour";
/// `e.ts`: the event time in unix seconds.
pub(crate) const TS: &str = "ts";

/// The fields present on every event type (besides the derived ones).
const COMMON: [&str; 4] = ["event_id", "subscriber", "type", "source"];

/// Every name `e.<name>` may read, with a dense index per name.
#[derive(Debug)]
pub(crate) struct FieldTable {
    names: Vec<&'static str>,
    /// per event type (by `EventType::index`), the field ids that type can carry
    by_type: [Vec<usize>; 7],
}

impl FieldTable {
    pub(crate) fn new() -> FieldTable {
        let mut names: Vec<&'static str> = Vec::new();
        for t in EventType::ALL {
            for name in Event::field_names(t) {
                if !names.contains(name) {
                    names.push(name);
                }
            }
        }
        names.push(LOCAL_HOUR);
        names.push(TS);
        let by_type = EventType::ALL.map(|t| {
            let mut ids: Vec<usize> =
                Event::field_names(t).iter().filter_map(|n| names.iter().position(|m| m == n)).collect();
            ids.extend([names.len() - 2, names.len() - 1]);
            ids
        });
        FieldTable { names, by_type }
    }

    pub(crate) fn names(&self) -> &[&'static str] {
        &self.names
    }

    pub(crate) fn id(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }

    /// The field ids an event of type `t` can carry.
    pub(crate) fn ids_for(&self, t: EventType) -> &[usize] {
        &self.by_type[t.index()]
    }

    /// Whether `name` can be set on any of `types` (common and derived fields always).
    pub(crate) fn carried_by_any(&self, name: &str, types: &[EventType]) -> bool {
        COMMON.contains(&name)
            || name == LOCAL_HOUR
            || name == TS
            || types.iter().any(|t| Event::field_names(*t).contains(&name))
    }
}

/// The value of one named field of `event`, as Rhai sees it: `()` when absent or not
/// part of this event's type.
fn field_value(event: &Event, name: &str, offset: FixedOffset) -> Dynamic {
    match name {
        LOCAL_HOUR => Dynamic::from_int(i64::from(event.occurred_at.with_timezone(&offset).hour())),
        TS => Dynamic::from_int(event.occurred_at.timestamp()),
        _ => match event.field(name) {
            Some(Field::Str(s)) => Dynamic::from(ImmutableString::from(s)),
            Some(Field::Int(v)) => Dynamic::from_int(v),
            Some(Field::Bool(b)) => Dynamic::from_bool(b),
            None => Dynamic::UNIT,
        },
    }
}

/// `e` on the fast path: one slot per field id, filled only for the fields the rules
/// about to run can read (the rest stay `()`).
#[derive(Clone, Debug)]
pub(crate) struct EventView {
    values: Vec<Dynamic>,
}

impl EventView {
    pub(crate) fn build(table: &FieldTable, event: &Event, ids: &[usize], offset: FixedOffset) -> EventView {
        let mut values = vec![Dynamic::UNIT; table.names.len()];
        for &id in ids {
            values[id] = field_value(event, table.names[id], offset);
        }
        EventView { values }
    }

    /// The getter behind `e.<name>` for field `id`.
    pub(crate) fn get(&self, id: usize) -> Dynamic {
        self.values.get(id).cloned().unwrap_or(Dynamic::UNIT)
    }
}

/// `f` on the fast path: the feature values, in the pack's feature-name order.
#[derive(Clone, Debug)]
pub(crate) struct FeatureView {
    values: Vec<FeatureValue>,
}

impl FeatureView {
    pub(crate) fn new(values: &[FeatureValue]) -> FeatureView {
        FeatureView { values: values.to_vec() }
    }

    /// The getter behind `f.<name>` for feature `index`.
    pub(crate) fn get(&self, index: usize) -> Dynamic {
        match self.values.get(index) {
            Some(FeatureValue::Int(v)) => Dynamic::from_int(*v),
            Some(FeatureValue::Float(v)) => Dynamic::from_float(*v),
            None => Dynamic::UNIT,
        }
    }
}

/// `e` on the naive path: a Rhai map of every field the event carries.
pub(crate) fn event_map(event: &Event, offset: FixedOffset) -> Map {
    let mut map = Map::new();
    for name in Event::field_names(event.event_type()).iter().copied().chain([LOCAL_HOUR, TS]) {
        let value = field_value(event, name, offset);
        if !value.is_unit() {
            map.insert(name.into(), value);
        }
    }
    map
}

/// `f` on the naive path: a Rhai map from feature name to value.
pub(crate) fn feature_map(names: &[String], values: &[FeatureValue]) -> Map {
    names
        .iter()
        .zip(values)
        .map(|(name, value)| {
            let v = match value {
                FeatureValue::Int(v) => Dynamic::from_int(*v),
                FeatureValue::Float(v) => Dynamic::from_float(*v),
            };
            (name.as_str().into(), v)
        })
        .collect()
}
