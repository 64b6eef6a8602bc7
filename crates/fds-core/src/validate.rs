//! Validation of incoming events: every problem is reported at once, with the field it
//! concerns, so a sender can fix a payload in one round trip.

use crate::event::*;
use crate::pii::Pii;
use crate::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// The largest event payload accepted, in bytes. Real events are well under 2 KiB;
/// anything bigger is a broken or hostile sender.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// How far in the future `occurred_at` may be (clock skew between systems).
const MAX_FUTURE_SKEW_SECONDS: i64 = 5 * 60;

/// Free-text fields (ids, plans, models) longer than this are refused.
const MAX_TEXT_CHARS: usize = 128;

/// One thing wrong with an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field concerned (`"$"` for the payload as a whole).
    pub field: String,
    pub reason: String,
}

/// An event that failed validation, with every problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid event:")?;
        for (i, p) in self.problems.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            write!(f, "{sep}{}: {}", p.field, p.reason)?;
        }
        Ok(())
    }
}

impl Invalid {
    fn whole(reason: impl Into<String>) -> Self {
        Invalid { problems: vec![Problem { field: "$".into(), reason: reason.into() }] }
    }
}

impl Event {
    /// Parses and validates one event from its JSON bytes. `now` bounds how far in
    /// the future `occurred_at` may lie.
    pub fn parse(bytes: &[u8], now: Timestamp) -> Result<Event, Invalid> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(Invalid::whole(format!(
                "payload is {} bytes, the limit is {MAX_EVENT_BYTES}",
                bytes.len()
            )));
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| Invalid::whole(format!("not valid JSON: {e}")))?;
        Event::from_value(value, Some(now))
    }

    /// Validates an already-decoded JSON value. With `now = None` the future-time check
    /// is skipped (used when reading back events that were validated on the way in).
    pub fn from_value(value: Value, now: Option<Timestamp>) -> Result<Event, Invalid> {
        let Value::Object(mut obj) = value else {
            return Err(Invalid::whole("an event must be a JSON object"));
        };
        let mut v = Fields { obj: &mut obj, problems: Vec::new() };

        let event_id = v.text("event_id", 1, 128);
        let occurred_at = v.timestamp("occurred_at", now);
        let subscriber = v.digits("subscriber", 8, 15, false).map(Pii::new);
        let source = v.opt_text("source", 64);
        let type_name = v.required_str("type");
        let event_type = match type_name.as_deref() {
            None => None,
            Some(name) => match EventType::parse(name) {
                Some(t) => Some(t),
                None => {
                    v.problem("type", format!("unknown event type {name:?}"));
                    None
                }
            },
        };
        let body = event_type.and_then(|t| body(t, &mut v));

        let problems = v.problems;
        match (event_id, occurred_at, subscriber, body) {
            (Some(event_id), Some(occurred_at), Some(subscriber), Some(body)) if problems.is_empty() => {
                Ok(Event { event_id, occurred_at, subscriber, source, body, extra: obj })
            }
            _ => Err(Invalid { problems }),
        }
    }
}

fn body(t: EventType, v: &mut Fields<'_>) -> Option<EventBody> {
    Some(match t {
        EventType::Call => {
            let callee = v.phone("callee");
            let direction = v.direction("direction");
            let duration_s = v.int("duration_s", 0, 86_400);
            let callee_country = v.country("callee_country");
            let forwarded = v.opt_bool("forwarded");
            let cell_id = v.opt_text("cell_id", MAX_TEXT_CHARS);
            EventBody::Call(Call {
                callee: callee?,
                direction: direction?,
                duration_s: duration_s?,
                callee_country: callee_country?,
                forwarded,
                cell_id,
            })
        }
        EventType::Sms => {
            let recipient = v.phone("recipient");
            let direction = v.direction("direction");
            let recipient_country = v.country("recipient_country");
            let contains_url = v.opt_bool("contains_url");
            EventBody::Sms(Sms {
                recipient: recipient?,
                direction: direction?,
                recipient_country: recipient_country?,
                contains_url,
            })
        }
        EventType::Subscription => {
            let identity = v.text("identity", 1, 64).map(Pii::new);
            let channel = v.channel("channel");
            let agency_id = v.opt_text("agency_id", 64);
            let device_imei = v.opt_imei("device_imei");
            let device_price = v.opt_int("device_price", 0, 100_000_000);
            let installment_months = v.opt_int("installment_months", 0, 60);
            let plan = v.opt_text("plan", 64);
            EventBody::Subscription(Subscription {
                identity: identity?,
                channel: channel?,
                agency_id,
                device_imei,
                device_price,
                installment_months,
                plan,
            })
        }
        EventType::SimSwap => {
            let channel = v.channel("channel");
            let new_iccid = if v.obj.contains_key("new_iccid") {
                v.digits("new_iccid", 18, 22, false).map(Pii::new)
            } else {
                None
            };
            EventBody::SimSwap(SimSwap { channel: channel?, new_iccid })
        }
        EventType::DeviceChange => {
            let imei = v.digits("imei", 14, 16, false).map(Pii::new);
            let device_model = v.opt_text("device_model", 64);
            EventBody::DeviceChange(DeviceChange { imei: imei?, device_model })
        }
        EventType::PortOut => {
            let to_carrier = v.text("to_carrier", 1, 64);
            EventBody::PortOut(PortOut { to_carrier: to_carrier? })
        }
        EventType::Payment => {
            let amount = v.amount("amount");
            let method = v.one_of(
                "method",
                &[
                    ("carrier_billing", PaymentMethod::CarrierBilling),
                    ("card", PaymentMethod::Card),
                    ("transfer", PaymentMethod::Transfer),
                ],
            );
            let merchant_id = v.text("merchant_id", 1, 64);
            let merchant_category = v.one_of(
                "merchant_category",
                &[
                    ("gift_card", MerchantCategory::GiftCard),
                    ("game", MerchantCategory::Game),
                    ("digital_content", MerchantCategory::DigitalContent),
                    ("transport", MerchantCategory::Transport),
                    ("retail", MerchantCategory::Retail),
                    ("other", MerchantCategory::Other),
                ],
            );
            let card_number = if v.obj.contains_key("card_number") {
                v.digits("card_number", 12, 19, false).map(Pii::new)
            } else {
                None
            };
            let account =
                if v.obj.contains_key("account") { v.account("account").map(Pii::new) } else { None };
            let device_imei = v.opt_imei("device_imei");
            let channel = v.opt_text("channel", 32);
            EventBody::Payment(Payment {
                amount: amount?,
                method: method?,
                merchant_id: merchant_id?,
                merchant_category: merchant_category?,
                card_number,
                account,
                device_imei,
                channel,
            })
        }
    })
}

/// Takes contract fields out of the object one by one (what remains is `extra`),
/// collecting problems as it goes.
struct Fields<'a> {
    obj: &'a mut Map<String, Value>,
    problems: Vec<Problem>,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Fields<'_> {
    fn problem(&mut self, field: &str, reason: impl Into<String>) {
        self.problems.push(Problem { field: field.into(), reason: reason.into() });
    }

    /// Removes `field`; reports it missing when `required`. `null` counts as absent.
    fn take(&mut self, field: &str, required: bool) -> Option<Value> {
        match self.obj.remove(field) {
            Some(Value::Null) | None => {
                if required {
                    self.problem(field, "is required");
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    fn string(&mut self, field: &str, required: bool) -> Option<String> {
        match self.take(field, required)? {
            Value::String(s) => Some(s),
            other => {
                let reason = format!("must be a string, got {}", kind_of(&other));
                self.problem(field, reason);
                None
            }
        }
    }

    fn required_str(&mut self, field: &str) -> Option<String> {
        self.string(field, true)
    }

    fn check_text(&mut self, field: &str, s: String, min: usize, max: usize) -> Option<String> {
        let n = s.chars().count();
        if n < min {
            self.problem(field, format!("must be at least {min} characters"));
            None
        } else if n > max {
            self.problem(field, format!("must be at most {max} characters, got {n}"));
            None
        } else if s.chars().any(char::is_control) {
            self.problem(field, "must not contain control characters");
            None
        } else {
            Some(s)
        }
    }

    fn text(&mut self, field: &str, min: usize, max: usize) -> Option<String> {
        let s = self.string(field, true)?;
        self.check_text(field, s, min, max)
    }

    fn opt_text(&mut self, field: &str, max: usize) -> Option<String> {
        let s = self.string(field, false)?;
        self.check_text(field, s, 1, max)
    }

    fn digits(&mut self, field: &str, min: usize, max: usize, plus: bool) -> Option<String> {
        let s = self.string(field, true)?;
        let body = if plus { s.strip_prefix('+').unwrap_or(&s) } else { &s };
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            let what = if plus { "digits, optionally after a leading +" } else { "digits only" };
            self.problem(field, format!("must be {what}"));
            None
        } else if body.len() < min || body.len() > max {
            self.problem(field, format!("must have {min} to {max} digits, got {}", body.len()));
            None
        } else {
            Some(s)
        }
    }

    /// A dialled number: national or international (`+` or `00` prefix), 3–20 digits.
    fn phone(&mut self, field: &str) -> Option<Pii> {
        self.digits(field, 3, 20, true).map(Pii::new)
    }

    fn opt_imei(&mut self, field: &str) -> Option<Pii> {
        if self.obj.get(field).is_some_and(|v| !v.is_null()) {
            self.digits(field, 14, 16, false).map(Pii::new)
        } else {
            self.obj.remove(field);
            None
        }
    }

    fn account(&mut self, field: &str) -> Option<String> {
        let s = self.string(field, true)?;
        let ok = (6..=34).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Some(s)
        } else {
            self.problem(field, "must be 6 to 34 letters, digits or dashes");
            None
        }
    }

    fn country(&mut self, field: &str) -> Option<String> {
        let s = self.string(field, true)?;
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(s)
        } else {
            self.problem(field, "must be an ISO 3166 alpha-2 code such as \"KR\"");
            None
        }
    }

    fn one_of<T: Copy>(&mut self, field: &str, options: &[(&str, T)]) -> Option<T> {
        let s = self.string(field, true)?;
        match options.iter().find(|(name, _)| *name == s) {
            Some((_, t)) => Some(*t),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.problem(field, format!("must be one of {}, got {s:?}", names.join(", ")));
                None
            }
        }
    }

    fn direction(&mut self, field: &str) -> Option<Direction> {
        self.one_of(field, &[("out", Direction::Out), ("in", Direction::In)])
    }

    fn channel(&mut self, field: &str) -> Option<Channel> {
        self.one_of(
            field,
            &[
                ("online", Channel::Online),
                ("store", Channel::Store),
                ("agency", Channel::Agency),
                ("telemarketing", Channel::Telemarketing),
            ],
        )
    }

    fn integer(&mut self, field: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        let value = self.take(field, required)?;
        match value.as_i64() {
            Some(n) if n < min || n > max => {
                self.problem(field, format!("must be between {min} and {max}, got {n}"));
                None
            }
            Some(n) => Some(n),
            None => {
                let reason = match &value {
                    Value::Number(_) => "must be a whole number".to_string(),
                    other => format!("must be an integer, got {}", kind_of(other)),
                };
                self.problem(field, reason);
                None
            }
        }
    }

    fn int(&mut self, field: &str, min: i64, max: i64) -> Option<i64> {
        self.integer(field, true, min, max)
    }

    fn opt_int(&mut self, field: &str, min: i64, max: i64) -> Option<i64> {
        self.integer(field, false, min, max)
    }

    fn amount(&mut self, field: &str) -> Option<i64> {
        let value = self.take(field, true)?;
        match value.as_i64() {
            Some(n) if n <= 0 => {
                self.problem(field, format!("must be a positive amount in KRW, got {n}"));
                None
            }
            Some(n) if n > 10_000_000_000 => {
                self.problem(field, "must be at most 10,000,000,000 KRW");
                None
            }
            Some(n) => Some(n),
            None => {
                let reason = match &value {
                    Value::Number(_) => "must be a whole number of KRW".to_string(),
                    other => format!("must be an integer, got {}", kind_of(other)),
                };
                self.problem(field, reason);
                None
            }
        }
    }

    fn opt_bool(&mut self, field: &str) -> Option<bool> {
        match self.take(field, false)? {
            Value::Bool(b) => Some(b),
            other => {
                let reason = format!("must be a boolean, got {}", kind_of(&other));
                self.problem(field, reason);
                None
            }
        }
    }

    fn timestamp(&mut self, field: &str, now: Option<Timestamp>) -> Option<Timestamp> {
        let s = self.string(field, true)?;
        let ts = match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => t.with_timezone(&chrono::Utc),
            Err(_) => {
                self.problem(field, "must be an RFC 3339 timestamp such as 2026-11-21T09:30:00+09:00");
                return None;
            }
        };
        if let Some(now) = now {
            let ahead = (ts - now).num_seconds();
            if ahead > MAX_FUTURE_SKEW_SECONDS {
                self.problem(field, format!("is {ahead} s in the future; at most {MAX_FUTURE_SKEW_SECONDS} s of clock skew is accepted"));
                return None;
            }
        }
        Some(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).single().expect("valid time")
    }

    /// Validates `input` and compares the problems found (as `field: reason` lines,
    /// in order) with `expected`; an empty `expected` means the event is valid.
    fn check(input: Value, expected: &[&str]) {
        let got = match Event::from_value(input, Some(now())) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| format!("{}: {}", p.field, p.reason)).collect(),
        };
        assert_eq!(got, expected);
    }

    fn payment() -> Value {
        json!({
            "event_id": "p-1", "occurred_at": "2026-11-21T20:59:00+09:00",
            "subscriber": "01012345678", "type": "payment", "amount": 50000,
            "method": "carrier_billing", "merchant_id": "m-77", "merchant_category": "gift_card"
        })
    }

    #[test]
    fn a_complete_payment_is_valid() {
        check(payment(), &[]);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut p = payment();
        p["amount"] = json!(-5);
        p["method"] = json!("cash");
        p["subscriber"] = json!("12ab");
        p["occurred_at"] = json!("yesterday");
        check(
            p,
            &[
                "occurred_at: must be an RFC 3339 timestamp such as 2026-11-21T09:30:00+09:00",
                "subscriber: must be digits only",
                "amount: must be a positive amount in KRW, got -5",
                "method: must be one of carrier_billing, card, transfer, got \"cash\"",
            ],
        );
    }

    #[test]
    fn missing_and_unknown_types_are_refused() {
        let mut p = payment();
        p.as_object_mut().expect("object").remove("type");
        check(p, &["type: is required"]);
        let mut p = payment();
        p["type"] = json!("teleport");
        check(p, &["type: unknown event type \"teleport\""]);
    }

    #[test]
    fn wrong_json_types_are_named() {
        let mut p = payment();
        p["amount"] = json!("50000");
        check(p, &["amount: must be an integer, got a string"]);
        let mut p = payment();
        p["amount"] = json!(12.5);
        check(p, &["amount: must be a whole number of KRW"]);
        let mut p = payment();
        p["amount"] = json!(0);
        check(p, &["amount: must be a positive amount in KRW, got 0"]);
    }

    #[test]
    fn timestamps_too_far_in_the_future_are_refused() {
        let mut p = payment();
        p["occurred_at"] = json!("2026-11-21T12:04:59Z");
        check(p.clone(), &[]);
        p["occurred_at"] = json!("2026-11-21T12:06:00Z");
        check(p, &["occurred_at: is 360 s in the future; at most 300 s of clock skew is accepted"]);
    }

    #[test]
    fn oversized_strings_and_payloads_are_refused() {
        let mut p = payment();
        p["event_id"] = json!("x".repeat(129));
        check(p, &["event_id: must be at most 128 characters, got 129"]);
        let big = format!("{{\"pad\":\"{}\"}}", "a".repeat(MAX_EVENT_BYTES));
        let err = Event::parse(big.as_bytes(), now()).expect_err("too big");
        assert!(err.problems[0].reason.contains("limit is 65536"));
    }

    #[test]
    fn non_objects_and_bad_json_are_refused() {
        assert!(Event::parse(b"[1,2]", now()).is_err());
        let err = Event::parse(b"{not json", now()).expect_err("bad json");
        assert!(err.problems[0].reason.starts_with("not valid JSON"));
    }

    #[test]
    fn extra_fields_are_kept_but_not_exposed_as_fields() {
        let mut p = payment();
        p["loyalty_tier"] = json!("gold");
        let e = Event::from_value(p, Some(now())).expect("valid");
        assert_eq!(e.extra.get("loyalty_tier"), Some(&json!("gold")));
        assert_eq!(e.field("loyalty_tier"), None);
        assert_eq!(e.to_json()["loyalty_tier"], json!("gold"));
    }

    #[test]
    fn events_round_trip_through_json() {
        let e = Event::from_value(payment(), Some(now())).expect("valid");
        let again = Event::from_value(e.to_json(), None).expect("still valid");
        assert_eq!(e, again);
        assert_eq!(e.to_json()["type"], json!("payment"));
    }

    #[test]
    fn call_fields_and_entities_are_reachable() {
        let call = json!({
            "event_id": "c-1", "occurred_at": "2026-11-21T11:00:00Z", "subscriber": "01099998888",
            "type": "call", "callee": "+882161234", "direction": "out", "duration_s": 12,
            "callee_country": "XX", "forwarded": true
        });
        let e = Event::from_value(call, Some(now())).expect("valid");
        assert_eq!(e.field("duration_s"), Some(Field::Int(12)));
        assert_eq!(e.field("direction"), Some(Field::Str("out")));
        assert_eq!(e.field("forwarded"), Some(Field::Bool(true)));
        assert_eq!(e.entity(EntityKind::Callee), Some("+882161234"));
        assert_eq!(e.entity(EntityKind::Card), None);
    }

    #[test]
    fn every_type_requires_its_own_fields() {
        let base = |t: &str| json!({"event_id": "x", "occurred_at": "2026-11-21T11:00:00Z", "subscriber": "01012345678", "type": t});
        check(
            base("call"),
            &[
                "callee: is required",
                "direction: is required",
                "duration_s: is required",
                "callee_country: is required",
            ],
        );
        check(
            base("sms"),
            &["recipient: is required", "direction: is required", "recipient_country: is required"],
        );
        check(base("subscription"), &["identity: is required", "channel: is required"]);
        check(base("sim_swap"), &["channel: is required"]);
        check(base("device_change"), &["imei: is required"]);
        check(base("port_out"), &["to_carrier: is required"]);
    }
}
