//! `where` filters: parsing a feature's filter table and testing events against it.
//!
//! Conditions are interned across the whole spec (`direction = "out"` is one condition
//! however many features use it), so each is evaluated at most once per event.

use crate::contract::{self, FieldId, ValueKind};
use crate::spec::Report;
use fds_core::{Event, EventType, Field};
use toml::Value;

/// The pseudo field for the event's hour of day at the spec's `utc_offset`.
pub(crate) const LOCAL_HOUR: &str = "local_hour";

/// What a condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A contract field.
    Field(FieldId),
    /// The hour of day (0–23) of `occurred_at` at the spec's `utc_offset`.
    LocalHour,
}

/// A literal a field is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Scalar {
    fn equals(&self, value: Field<'_>) -> bool {
        match (self, value) {
            (Scalar::Str(a), Field::Str(b)) => a == b,
            (Scalar::Int(a), Field::Int(b)) => *a == b,
            (Scalar::Bool(a), Field::Bool(b)) => *a == b,
            _ => false,
        }
    }
}

/// How a field's value is tested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Test {
    /// Equal to one of these (a single value is a list of one).
    OneOf(Vec<Scalar>),
    /// Every bound that is set holds, and the value is none of `ne`.
    Compare { lt: Option<i64>, le: Option<i64>, gt: Option<i64>, ge: Option<i64>, ne: Vec<Scalar> },
}

impl Test {
    fn holds(&self, value: Field<'_>) -> bool {
        match self {
            Test::OneOf(options) => options.iter().any(|o| o.equals(value)),
            Test::Compare { lt, le, gt, ge, ne } => {
                let bounded = lt.is_some() || le.is_some() || gt.is_some() || ge.is_some();
                if bounded {
                    let Field::Int(x) = value else { return false };
                    let ok = lt.is_none_or(|b| x < b)
                        && le.is_none_or(|b| x <= b)
                        && gt.is_none_or(|b| x > b)
                        && ge.is_none_or(|b| x >= b);
                    if !ok {
                        return false;
                    }
                }
                !ne.iter().any(|o| o.equals(value))
            }
        }
    }
}

/// One filter clause: `subject` passes `test`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Condition {
    pub(crate) subject: Subject,
    pub(crate) test: Test,
}

impl Condition {
    /// Whether `event` passes. A field the event does not carry never passes, not even
    /// a `ne` test: a filter speaks only about events that have the field.
    pub(crate) fn holds(&self, event: &Event, utc_offset_secs: i64) -> bool {
        let value = match self.subject {
            Subject::LocalHour => Field::Int(local_hour(event, utc_offset_secs)),
            Subject::Field(field) => match field.get(event) {
                Some(v) => v,
                None => return false,
            },
        };
        self.test.holds(value)
    }
}

/// The hour of day of `event.occurred_at` at `utc_offset_secs` east of UTC.
pub(crate) fn local_hour(event: &Event, utc_offset_secs: i64) -> i64 {
    (event.occurred_at.timestamp() + utc_offset_secs).rem_euclid(86_400) / 3_600
}

/// Parses a feature's `where` value into interned condition ids (indices into
/// `conditions`). `None` when something was wrong (reported through `r`).
pub(crate) fn parse_where(
    value: Option<&Value>,
    types: &[EventType],
    conditions: &mut Vec<Condition>,
    r: &mut Report<'_>,
) -> Option<Vec<usize>> {
    let Some(value) = value else { return Some(Vec::new()) };
    let Value::Table(table) = value else {
        r.add(format!("where must be a table of field filters, got {}", value.type_str()));
        return None;
    };
    let mut ids = Vec::new();
    let mut ok = true;
    for (name, spec) in table {
        let (subject, kind) = if name == LOCAL_HOUR {
            (Subject::LocalHour, ValueKind::Int)
        } else if let Some(field) = contract::field_of(name, types) {
            (Subject::Field(field), contract::field_kind(field.name()))
        } else {
            r.add(format!("where: unknown field {name:?} for {}", contract::describe_types(types)));
            ok = false;
            continue;
        };
        let vocab = match subject {
            Subject::Field(f) => contract::vocabulary(f.name(), types),
            Subject::LocalHour => None,
        };
        let clause = Clause { name, kind, vocab: vocab.as_deref() };
        match clause.test(spec, r) {
            Some(test) => {
                let condition = Condition { subject, test };
                let id = match conditions.iter().position(|c| *c == condition) {
                    Some(id) => id,
                    None => {
                        conditions.push(condition);
                        conditions.len() - 1
                    }
                };
                ids.push(id);
            }
            None => ok = false,
        }
    }
    ok.then_some(ids)
}

/// The field a filter clause is about, for parsing its test.
struct Clause<'a> {
    name: &'a str,
    kind: ValueKind,
    vocab: Option<&'a [&'static str]>,
}

impl Clause<'_> {
    fn test(&self, spec: &Value, r: &mut Report<'_>) -> Option<Test> {
        let name = self.name;
        match spec {
            Value::Array(items) => {
                if items.is_empty() {
                    r.add(format!("where.{name}: an empty list matches nothing"));
                    return None;
                }
                self.scalars(items, r).map(Test::OneOf)
            }
            Value::Table(ops) => {
                if ops.is_empty() {
                    r.add(format!("where.{name}: an empty comparison table"));
                    return None;
                }
                let (mut lt, mut le, mut gt, mut ge, mut ne) = (None, None, None, None, Vec::new());
                let mut ok = true;
                for (op, operand) in ops {
                    let slot = match op.as_str() {
                        "lt" => &mut lt,
                        "le" => &mut le,
                        "gt" => &mut gt,
                        "ge" => &mut ge,
                        "ne" => {
                            let values = match operand {
                                Value::Array(items) => self.scalars(items, r),
                                single => self.scalar(single, r).map(|s| vec![s]),
                            };
                            match values {
                                Some(v) => ne = v,
                                None => ok = false,
                            }
                            continue;
                        }
                        other => {
                            r.add(format!(
                                "where.{name}: unknown comparison {other:?} (expected lt, le, gt, ge, ne)"
                            ));
                            ok = false;
                            continue;
                        }
                    };
                    if self.kind != ValueKind::Int {
                        r.add(format!(
                            "where.{name}: {op} needs an integer field, {name} holds {}",
                            self.kind.describe()
                        ));
                        ok = false;
                    } else if let Value::Integer(bound) = operand {
                        *slot = Some(*bound);
                    } else {
                        r.add(format!("where.{name}.{op}: expected an integer, got {}", operand.type_str()));
                        ok = false;
                    }
                }
                ok.then_some(Test::Compare { lt, le, gt, ge, ne })
            }
            single => self.scalar(single, r).map(|s| Test::OneOf(vec![s])),
        }
    }

    fn scalars(&self, items: &[Value], r: &mut Report<'_>) -> Option<Vec<Scalar>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.scalar(item, r) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn scalar(&self, value: &Value, r: &mut Report<'_>) -> Option<Scalar> {
        let name = self.name;
        let scalar = match (self.kind, value) {
            (ValueKind::Str, Value::String(s)) => Scalar::Str(s.clone()),
            (ValueKind::Int, Value::Integer(i)) => Scalar::Int(*i),
            (ValueKind::Bool, Value::Boolean(b)) => Scalar::Bool(*b),
            _ => {
                r.add(format!("where.{name}: expected {}, got {}", self.kind.describe(), value.type_str()));
                return None;
            }
        };
        match (&scalar, self.vocab) {
            (Scalar::Str(s), Some(vocab)) if !vocab.contains(&s.as_str()) => {
                r.add(format!("where.{name}: {s:?} is not one of {}", vocab.join(", ")));
                None
            }
            (Scalar::Int(h), _) if name == LOCAL_HOUR && !(0..24).contains(h) => {
                r.add(format!("where.{name}: {h} is not an hour of day (0 to 23)"));
                None
            }
            _ => Some(scalar),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(x: i64) -> Field<'static> {
        Field::Int(x)
    }

    #[test]
    fn one_of_matches_equal_values_of_the_same_kind_only() {
        let t = Test::OneOf(vec![Scalar::Str("out".into()), Scalar::Str("in".into())]);
        assert!(t.holds(Field::Str("in")));
        assert!(!t.holds(Field::Str("sideways")));
        assert!(!Test::OneOf(vec![Scalar::Int(1)]).holds(Field::Str("1")));
        assert!(Test::OneOf(vec![Scalar::Bool(true)]).holds(Field::Bool(true)));
    }

    #[test]
    fn comparisons_combine_every_bound_and_exclusion() {
        let t =
            Test::Compare { lt: Some(600), le: None, gt: None, ge: Some(300), ne: vec![Scalar::Int(400)] };
        assert!(!t.holds(int(299)));
        assert!(t.holds(int(300)));
        assert!(!t.holds(int(400)));
        assert!(t.holds(int(599)));
        assert!(!t.holds(int(600)));
        assert!(!t.holds(Field::Str("300")), "a bound never holds for text");
        let le_gt = Test::Compare { lt: None, le: Some(5), gt: Some(1), ge: None, ne: vec![] };
        assert!(!le_gt.holds(int(1)));
        assert!(le_gt.holds(int(5)));
        assert!(!le_gt.holds(int(6)));
    }

    #[test]
    fn ne_alone_works_on_text() {
        let t = Test::Compare { lt: None, le: None, gt: None, ge: None, ne: vec![Scalar::Str("KR".into())] };
        assert!(t.holds(Field::Str("US")));
        assert!(!t.holds(Field::Str("KR")));
    }
}
