//! The feature spec: `features.toml` parsed, validated (every problem reported at once)
//! and compiled into a [`FeatureSet`] with per-event-type plans for the stores.

use crate::contract::{self, FieldId};
use crate::filter::{self, Condition};
use crate::window::{Params, BUCKETS};
use chrono::{Duration, FixedOffset, Offset};
use fds_core::{EntityKind, EventType, FeatureValue};
use std::collections::HashMap;
use std::fmt;
use toml::{Table, Value};

/// The keys a `[[feature]]` table may have.
const FEATURE_KEYS: [&str; 9] =
    ["name", "entity", "agg", "field", "window", "unit", "horizon", "types", "where"];

/// Feature names end up in rule scripts and metric labels; keep them short.
const MAX_NAME_CHARS: usize = 64;

/// The longest window: a year and a day covers "same day last year" comparisons and
/// keeps bucket widths (window / 12) within a month.
const MAX_WINDOW_DAYS: i64 = 366;

/// The longest since-horizon: ten years, longer than any line's life in the data mart.
const MAX_HORIZON_DAYS: i64 = 3_660;

/// How long `since_last` / `since_first` remember an event when the feature gives no
/// `horizon`: older events read as [`FeatureValue::NEVER`]. 90 days covers "new line",
/// "recent SIM swap" and "recent device change" rules while letting idle entities go.
pub const DEFAULT_SINCE_HORIZON_DAYS: i64 = 90;

/// How a feature aggregates the events that update it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Agg {
    /// How many events in the window.
    Count,
    /// The sum of an integer field over the window.
    Sum,
    /// How many distinct values of a field (or entity key) in the window, saturating at
    /// [`crate::DISTINCT_CAP`].
    Distinct,
    /// Elapsed time since the latest matching event.
    SinceLast,
    /// Elapsed time since the earliest matching event.
    SinceFirst,
}

impl Agg {
    pub const ALL: [Agg; 5] = [Agg::Count, Agg::Sum, Agg::Distinct, Agg::SinceLast, Agg::SinceFirst];

    pub fn as_str(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Sum => "sum",
            Agg::Distinct => "distinct",
            Agg::SinceLast => "since_last",
            Agg::SinceFirst => "since_first",
        }
    }

    pub fn parse(name: &str) -> Option<Agg> {
        Agg::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether this is an elapsed-time aggregate (`since_last`, `since_first`).
    pub fn is_since(self) -> bool {
        matches!(self, Agg::SinceLast | Agg::SinceFirst)
    }
}

/// The unit elapsed-time features report in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Hours,
    Days,
}

impl TimeUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Hours => "hours",
            TimeUnit::Days => "days",
        }
    }

    pub fn parse(name: &str) -> Option<TimeUnit> {
        [TimeUnit::Hours, TimeUnit::Days].into_iter().find(|u| u.as_str() == name)
    }

    /// Microseconds in one unit.
    pub(crate) fn micros(self) -> f64 {
        match self {
            TimeUnit::Hours => 3_600_000_000.0,
            TimeUnit::Days => 86_400_000_000.0,
        }
    }
}

/// A spec that failed validation, with every problem found, each naming its feature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid feature spec: {}", .problems.join("; "))]
pub struct SpecError {
    pub problems: Vec<String>,
}

/// Where the value an event contributes comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `count`: one per event.
    One,
    /// `sum`: an integer contract field.
    IntField(FieldId),
    /// `distinct` over a contract field.
    Field(FieldId),
    /// `distinct` over an entity key (`imei` covers `device_imei` and `imei`, ...).
    Entity(EntityKind),
    /// `since_*`: the event's time.
    Time,
}

/// One declared feature.
#[derive(Clone, Debug)]
pub struct Feature {
    name: String,
    entity: EntityKind,
    agg: Agg,
    field: Option<String>,
    window: Option<Duration>,
    horizon: Option<Duration>,
    unit: Option<TimeUnit>,
    types: Vec<EventType>,
    conditions: Vec<usize>,
    source: Source,
}

impl Feature {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whose state it is.
    pub fn entity(&self) -> EntityKind {
        self.entity
    }

    pub fn agg(&self) -> Agg {
        self.agg
    }

    /// The summed field or the field / entity kind whose distinct values are counted.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The window of `count`, `sum` and `distinct`.
    pub fn window(&self) -> Option<Duration> {
        self.window
    }

    /// How long `since_*` remember an event (older ones read as never).
    pub fn horizon(&self) -> Option<Duration> {
        self.horizon
    }

    /// The unit `since_*` report in.
    pub fn unit(&self) -> Option<TimeUnit> {
        self.unit
    }

    /// The event types that update it.
    pub fn types(&self) -> &[EventType] {
        &self.types
    }

    /// The value read for an entity with no state (or an event without the entity).
    pub fn empty_value(&self) -> FeatureValue {
        if self.agg.is_since() {
            FeatureValue::NEVER
        } else {
            FeatureValue::Int(0)
        }
    }
}

/// A feature an event of some type updates, with what it takes from the event.
#[derive(Clone, Debug)]
pub(crate) struct Update {
    pub(crate) feature: u16,
    pub(crate) conditions: Vec<usize>,
    pub(crate) source: Source,
}

/// The features of one entity kind, as seen by one event type.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub(crate) kind: EntityKind,
    /// Features of `kind` this event type updates (filters still apply), in feature order.
    pub(crate) updates: Vec<Update>,
}

/// What an event of one type touches.
#[derive(Clone, Debug, Default)]
pub(crate) struct TypePlan {
    /// Conditions some update of this type needs, each evaluated once per event.
    pub(crate) conditions: Vec<usize>,
    /// Entity kinds that have features and that this event type can carry.
    pub(crate) groups: Vec<Group>,
    /// The most updates of any one group, to size the per-event buffer once.
    pub(crate) most_updates: usize,
}

/// A validated, compiled set of features. Build it with [`FeatureSet::from_toml_str`].
#[derive(Clone, Debug)]
pub struct FeatureSet {
    features: Vec<Feature>,
    names: Vec<String>,
    utc_offset: FixedOffset,
    pub(crate) params: Vec<Params>,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) defaults: Vec<FeatureValue>,
    /// Indexed by [`EventType::index`].
    pub(crate) plans: Vec<TypePlan>,
}

impl FeatureSet {
    /// Parses and validates a spec in the `features.toml` format (see the crate docs).
    /// Every problem is reported at once.
    pub fn from_toml_str(text: &str) -> Result<FeatureSet, SpecError> {
        let root: Table =
            toml::from_str(text).map_err(|e| SpecError { problems: vec![syntax_message(text, &e)] })?;
        let mut problems = Vec::new();
        let mut utc_offset = chrono::Utc.fix();
        let mut raw: &[Value] = &[];
        for (key, value) in &root {
            match key.as_str() {
                "utc_offset" => match value.as_str().and_then(|s| s.parse::<FixedOffset>().ok()) {
                    Some(offset) => utc_offset = offset,
                    None => problems
                        .push(format!("utc_offset: must be an offset such as \"+09:00\", got {value}")),
                },
                "feature" => match value {
                    Value::Array(items) => raw = items,
                    other => problems.push(format!(
                        "feature: must be an array of [[feature]] tables, got {}",
                        other.type_str()
                    )),
                },
                other => {
                    problems.push(format!("unknown top-level key {other:?} (expected utc_offset, feature)"))
                }
            }
        }

        let mut conditions = Vec::new();
        let mut features = Vec::new();
        let mut first_seen: HashMap<&str, usize> = HashMap::new();
        for (pos, item) in raw.iter().enumerate() {
            let Value::Table(table) = item else {
                problems.push(format!("feature #{}: must be a table, got {}", pos + 1, item.type_str()));
                continue;
            };
            if let Some(name) = table.get("name").and_then(Value::as_str) {
                if let Some(first) = first_seen.get(name) {
                    problems.push(format!(
                        "feature {name:?}: duplicate name (first declared as feature #{})",
                        first + 1
                    ));
                } else {
                    first_seen.insert(name, pos);
                }
            }
            if let Some(feature) = parse_feature(pos, table, &mut conditions, &mut problems) {
                features.push(feature);
            }
        }
        if features.len() > usize::from(u16::MAX) {
            problems.push(format!(
                "{} features declared, at most {} are supported",
                features.len(),
                u16::MAX
            ));
        }
        if !problems.is_empty() {
            return Err(SpecError { problems });
        }
        Ok(FeatureSet::compile(features, utc_offset, conditions))
    }

    fn compile(features: Vec<Feature>, utc_offset: FixedOffset, conditions: Vec<Condition>) -> FeatureSet {
        let params = features
            .iter()
            .map(|f| Params {
                agg: f.agg,
                width_secs: f.window.map_or(1, |w| w.num_seconds() / i64::from(BUCKETS)),
                horizon_us: f.horizon.map_or(0, |h| h.num_seconds() * 1_000_000),
                unit_micros: f.unit.map_or(1.0, TimeUnit::micros),
            })
            .collect();
        let plans = EventType::ALL
            .iter()
            .map(|&t| {
                let mut plan = TypePlan::default();
                for kind in EntityKind::ALL {
                    let has_features = features.iter().any(|f| f.entity == kind);
                    if !has_features || !contract::carries(t, kind) {
                        continue;
                    }
                    let updates: Vec<Update> = features
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.entity == kind && f.types.contains(&t))
                        .map(|(i, f)| Update {
                            // `from_toml_str` refuses more than u16::MAX features.
                            feature: u16::try_from(i).unwrap_or(u16::MAX),
                            conditions: f.conditions.clone(),
                            source: f.source,
                        })
                        .collect();
                    plan.conditions.extend(updates.iter().flat_map(|u| u.conditions.iter().copied()));
                    plan.groups.push(Group { kind, updates });
                }
                plan.most_updates = plan.groups.iter().map(|g| g.updates.len()).max().unwrap_or(0);
                plan.conditions.sort_unstable();
                plan.conditions.dedup();
                plan
            })
            .collect();
        FeatureSet {
            names: features.iter().map(|f| f.name.clone()).collect(),
            defaults: features.iter().map(Feature::empty_value).collect(),
            params,
            features,
            utc_offset,
            conditions,
            plans,
        }
    }

    /// A fingerprint of everything that gives stored state its meaning (features in
    /// order, their windows, filters and offset): a remote store keys its state by it,
    /// so replicas on a changed spec never read state written under another. Stable
    /// for a given build (FNV-1a over the compiled set's `Debug` form).
    pub fn fingerprint(&self) -> u64 {
        let text =
            format!("{:?}|{:?}|{:?}|{:?}", self.features, self.params, self.conditions, self.utc_offset);
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Feature names in file order; stores return values in this order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The declared features, in file order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The offset `local_hour` filters use.
    pub fn utc_offset(&self) -> FixedOffset {
        self.utc_offset
    }

    /// The longest window or since-horizon: how much history a replay needs before the
    /// first event whose values must be exact, and how long an idle entity is kept.
    pub fn longest_window(&self) -> Duration {
        self.features.iter().filter_map(|f| f.window.or(f.horizon)).max().unwrap_or_else(Duration::zero)
    }
}

/// Collects problems about one feature, each prefixed with the feature's label.
pub(crate) struct Report<'a> {
    label: String,
    problems: &'a mut Vec<String>,
}

impl Report<'_> {
    pub(crate) fn add(&mut self, message: impl fmt::Display) {
        self.problems.push(format!("{}: {message}", self.label));
    }

    /// The string at `key`: `None` when absent (reported when `required`) or not a string
    /// (reported).
    fn string<'t>(&mut self, table: &'t Table, key: &str, required: bool) -> Option<&'t str> {
        match table.get(key) {
            None => {
                if required {
                    self.add(format!("{key} is required"));
                }
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.add(format!("{key} must be a string, got {}", other.type_str()));
                None
            }
        }
    }
}

fn parse_feature(
    pos: usize,
    table: &Table,
    conditions: &mut Vec<Condition>,
    problems: &mut Vec<String>,
) -> Option<Feature> {
    let label = match table.get("name").and_then(Value::as_str) {
        Some(name) => format!("feature {name:?}"),
        None => format!("feature #{}", pos + 1),
    };
    let before = problems.len();
    let mut r = Report { label, problems };

    for key in table.keys() {
        if !FEATURE_KEYS.contains(&key.as_str()) {
            r.add(format!("unknown key {key:?} (expected {})", FEATURE_KEYS.join(", ")));
        }
    }

    let name = r.string(table, "name", true).filter(|name| {
        let ok = valid_name(name);
        if !ok {
            r.add(format!(
                "name {name:?} must be lowercase letters, digits and _, start with a letter \
                 and have at most {MAX_NAME_CHARS} characters"
            ));
        }
        ok
    });

    let entity = r.string(table, "entity", true).and_then(|s| {
        EntityKind::parse(s).or_else(|| {
            let known: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
            r.add(format!("unknown entity {s:?} (expected {})", known.join(", ")));
            None
        })
    });

    let agg = r.string(table, "agg", true).and_then(|s| {
        Agg::parse(s).or_else(|| {
            let known: Vec<&str> = Agg::ALL.iter().map(|a| a.as_str()).collect();
            r.add(format!("unknown agg {s:?} (expected {})", known.join(", ")));
            None
        })
    });

    let types = parse_types(table.get("types"), &mut r);

    if let (Some(entity), Some(types)) = (entity, &types) {
        if !types.iter().any(|t| contract::carries(*t, entity)) {
            r.add(format!(
                "entity {:?} is never carried by {}",
                entity.as_str(),
                contract::describe_types(types)
            ));
        }
    }

    let mut window = None;
    let mut horizon = None;
    let mut unit = None;
    let mut source = None;
    match agg {
        Some(agg) if agg.is_since() => {
            let a = agg.as_str();
            if table.contains_key("window") {
                r.add(format!("{a} takes no window (horizon says how long an event is remembered)"));
            }
            if table.contains_key("field") {
                r.add(format!("{a} takes no field"));
            }
            if !table.contains_key("unit") {
                r.add(format!("unit is required for {a} (hours or days)"));
            }
            unit = r.string(table, "unit", false).and_then(|s| {
                TimeUnit::parse(s).or_else(|| {
                    r.add(format!("unknown unit {s:?} (expected hours or days)"));
                    None
                })
            });
            horizon = match r.string(table, "horizon", false) {
                None => Duration::try_days(DEFAULT_SINCE_HORIZON_DAYS),
                Some(s) => parse_span(s, MAX_HORIZON_DAYS).or_else(|| {
                    r.add(format!(
                        "horizon {s:?} must be a whole number of minutes, hours or days such as \
                         \"30d\" (at most {MAX_HORIZON_DAYS}d)"
                    ));
                    None
                }),
            };
            source = Some(Source::Time);
        }
        Some(agg) => {
            let a = agg.as_str();
            for key in ["unit", "horizon"] {
                if table.contains_key(key) {
                    r.add(format!("{key} only applies to since_last and since_first, not {a}"));
                }
            }
            if !table.contains_key("window") {
                r.add(format!("window is required for {a}"));
            }
            window = r.string(table, "window", false).and_then(|s| {
                parse_span(s, MAX_WINDOW_DAYS).or_else(|| {
                    r.add(format!(
                        "window {s:?} must be a whole number of minutes, hours or days such as \
                         \"10m\", \"24h\" or \"30d\" (at most {MAX_WINDOW_DAYS}d)"
                    ));
                    None
                })
            });
            source = match agg {
                Agg::Count => {
                    if table.contains_key("field") {
                        r.add("count takes no field");
                    }
                    Some(Source::One)
                }
                _ => match (r.string(table, "field", true), &types) {
                    (Some(field), Some(types)) => field_source(agg, field, entity, types, &mut r),
                    _ => None,
                },
            };
        }
        None => {}
    }

    let conditions = match &types {
        Some(types) => filter::parse_where(table.get("where"), types, conditions, &mut r),
        None => None,
    };

    let incomplete = r.problems.len() > before;
    match (name, entity, agg, types, conditions, source) {
        (Some(name), Some(entity), Some(agg), Some(types), Some(conditions), Some(source)) if !incomplete => {
            Some(Feature {
                name: name.to_string(),
                entity,
                agg,
                field: table.get("field").and_then(Value::as_str).map(str::to_string),
                window,
                horizon,
                unit,
                types,
                conditions,
                source,
            })
        }
        _ => {
            if !incomplete {
                r.add("is incomplete");
            }
            None
        }
    }
}

/// `types`: every event type when absent.
fn parse_types(value: Option<&Value>, r: &mut Report<'_>) -> Option<Vec<EventType>> {
    let items = match value {
        None => return Some(EventType::ALL.to_vec()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            r.add(format!("types must be an array of event types, got {}", other.type_str()));
            return None;
        }
    };
    if items.is_empty() {
        r.add("types must not be empty (leave it out for every type)");
        return None;
    }
    let mut types = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match item.as_str().map(|s| (s, EventType::parse(s))) {
            Some((_, Some(t))) if types.contains(&t) => {
                r.add(format!("types lists {:?} twice", t.as_str()));
                ok = false;
            }
            Some((_, Some(t))) => types.push(t),
            Some((s, None)) => {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                r.add(format!("unknown type {s:?} (expected {})", known.join(", ")));
                ok = false;
            }
            None => {
                r.add(format!("types must be strings, got {}", item.type_str()));
                ok = false;
            }
        }
    }
    ok.then_some(types)
}

/// Where a `sum` or `distinct` feature takes its values from.
fn field_source(
    agg: Agg,
    field: &str,
    entity: Option<EntityKind>,
    types: &[EventType],
    r: &mut Report<'_>,
) -> Option<Source> {
    if agg == Agg::Distinct {
        if let Some(kind) = EntityKind::parse(field) {
            if entity == Some(kind) {
                r.add(format!("distinct {field} over its own entity is always 1"));
                return None;
            }
            if !types.iter().any(|t| contract::carries(*t, kind)) {
                r.add(format!(
                    "field {field:?}: {} never carry a {field} key",
                    contract::describe_types(types)
                ));
                return None;
            }
            return Some(Source::Entity(kind));
        }
    }
    let Some(id) = contract::field_of(field, types) else {
        r.add(format!("field {field:?} is not a field of {}", contract::describe_types(types)));
        return None;
    };
    match agg {
        Agg::Sum => {
            let kind = contract::field_kind(field);
            if kind == contract::ValueKind::Int {
                Some(Source::IntField(id))
            } else {
                r.add(format!("sum needs an integer field, {field:?} holds {}", kind.describe()));
                None
            }
        }
        _ => Some(Source::Field(id)),
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_NAME_CHARS
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `"10m"`, `"24h"`, `"30d"`: a positive whole number of minutes, hours or days, at most
/// `max_days`. Windows are whole minutes so that a twelfth of one is whole seconds.
fn parse_span(text: &str, max_days: i64) -> Option<Duration> {
    let (digits, unit_secs) = if let Some(d) = text.strip_suffix('m') {
        (d, 60)
    } else if let Some(d) = text.strip_suffix('h') {
        (d, 3_600)
    } else if let Some(d) = text.strip_suffix('d') {
        (d, 86_400)
    } else {
        return None;
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = digits.parse::<i64>().ok()?.checked_mul(unit_secs)?;
    if secs == 0 || secs > max_days * 86_400 {
        return None;
    }
    Duration::try_seconds(secs)
}

/// A TOML syntax error as one line: position and message, without the source excerpt.
fn syntax_message(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            format!("not valid TOML at line {line}: {}", error.message())
        }
        None => format!("not valid TOML: {}", error.message()),
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
