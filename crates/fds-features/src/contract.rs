//! What this crate needs to know about the event contract beyond what `fds_core`
//! exposes as data: the kind of each field's value, which event types carry which
//! entity kind, the closed vocabularies of enumerated fields, and [`FieldId`], a field
//! resolved once when the spec is compiled so the hot path reads it without matching
//! names.
//!
//! The tables are small and hand-written; the tests at the bottom build fully populated
//! events of every type through `fds_core` and check the tables against them, so a
//! contract change that makes them stale fails here rather than silently.

use fds_core::{
    Channel, Direction, EntityKind, Event, EventBody, EventType, Field, MerchantCategory, PaymentMethod, Pii,
};

/// The kind of value a contract field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Str,
    Int,
    Bool,
}

impl ValueKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ValueKind::Str => "a string",
            ValueKind::Int => "an integer",
            ValueKind::Bool => "a boolean",
        }
    }
}

/// The kind of value of the contract field `name` (every field not listed is text).
pub(crate) fn field_kind(name: &str) -> ValueKind {
    match name {
        "duration_s" | "device_price" | "installment_months" | "amount" => ValueKind::Int,
        "forwarded" | "contains_url" => ValueKind::Bool,
        _ => ValueKind::Str,
    }
}

/// Whether events of type `t` can carry a key of `kind` (see [`EntityKind`]'s docs).
pub(crate) fn carries(t: EventType, kind: EntityKind) -> bool {
    use EntityKind as K;
    use EventType as T;
    match kind {
        K::Subscriber => true,
        K::Identity => t == T::Subscription,
        K::Imei => matches!(t, T::Subscription | T::Payment | T::DeviceChange),
        K::Card | K::Account | K::Merchant => t == T::Payment,
        K::Callee => matches!(t, T::Call | T::Sms),
    }
}

/// The contract field `name`, when at least one of `types` has it.
pub(crate) fn field_of(name: &str, types: &[EventType]) -> Option<FieldId> {
    let declared = types.iter().any(|t| Event::field_names(*t).contains(&name));
    if declared {
        FieldId::parse(name)
    } else {
        None
    }
}

/// A contract field, resolved from its name when the spec is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldId {
    EventId,
    Subscriber,
    Type,
    Source,
    Callee,
    Direction,
    DurationS,
    CalleeCountry,
    Forwarded,
    CellId,
    Recipient,
    RecipientCountry,
    ContainsUrl,
    Identity,
    Channel,
    AgencyId,
    DeviceImei,
    DevicePrice,
    InstallmentMonths,
    Plan,
    NewIccid,
    Imei,
    DeviceModel,
    ToCarrier,
    Amount,
    Method,
    MerchantId,
    MerchantCategory,
    CardNumber,
    Account,
}

impl FieldId {
    const ALL: [FieldId; 30] = [
        FieldId::EventId,
        FieldId::Subscriber,
        FieldId::Type,
        FieldId::Source,
        FieldId::Callee,
        FieldId::Direction,
        FieldId::DurationS,
        FieldId::CalleeCountry,
        FieldId::Forwarded,
        FieldId::CellId,
        FieldId::Recipient,
        FieldId::RecipientCountry,
        FieldId::ContainsUrl,
        FieldId::Identity,
        FieldId::Channel,
        FieldId::AgencyId,
        FieldId::DeviceImei,
        FieldId::DevicePrice,
        FieldId::InstallmentMonths,
        FieldId::Plan,
        FieldId::NewIccid,
        FieldId::Imei,
        FieldId::DeviceModel,
        FieldId::ToCarrier,
        FieldId::Amount,
        FieldId::Method,
        FieldId::MerchantId,
        FieldId::MerchantCategory,
        FieldId::CardNumber,
        FieldId::Account,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldId::EventId => "event_id",
            FieldId::Subscriber => "subscriber",
            FieldId::Type => "type",
            FieldId::Source => "source",
            FieldId::Callee => "callee",
            FieldId::Direction => "direction",
            FieldId::DurationS => "duration_s",
            FieldId::CalleeCountry => "callee_country",
            FieldId::Forwarded => "forwarded",
            FieldId::CellId => "cell_id",
            FieldId::Recipient => "recipient",
            FieldId::RecipientCountry => "recipient_country",
            FieldId::ContainsUrl => "contains_url",
            FieldId::Identity => "identity",
            FieldId::Channel => "channel",
            FieldId::AgencyId => "agency_id",
            FieldId::DeviceImei => "device_imei",
            FieldId::DevicePrice => "device_price",
            FieldId::InstallmentMonths => "installment_months",
            FieldId::Plan => "plan",
            FieldId::NewIccid => "new_iccid",
            FieldId::Imei => "imei",
            FieldId::DeviceModel => "device_model",
            FieldId::ToCarrier => "to_carrier",
            FieldId::Amount => "amount",
            FieldId::Method => "method",
            FieldId::MerchantId => "merchant_id",
            FieldId::MerchantCategory => "merchant_category",
            FieldId::CardNumber => "card_number",
            FieldId::Account => "account",
        }
    }

    fn parse(name: &str) -> Option<FieldId> {
        FieldId::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The field's value in `event`, exactly as `Event::field(self.name())` returns it
    /// (the tests below hold it to that).
    pub(crate) fn get(self, event: &Event) -> Option<Field<'_>> {
        use Field::{Bool, Int, Str};
        use FieldId as F;
        fn pii(p: &Option<Pii>) -> Option<Field<'_>> {
            p.as_ref().map(|v| Field::Str(v.expose()))
        }
        match (self, &event.body) {
            (F::EventId, _) => Some(Str(&event.event_id)),
            (F::Subscriber, _) => Some(Str(event.subscriber.expose())),
            (F::Type, _) => Some(Str(event.event_type().as_str())),
            (F::Source, _) => event.source.as_deref().map(Str),
            (F::Callee, EventBody::Call(c)) => Some(Str(c.callee.expose())),
            (F::Direction, EventBody::Call(c)) => Some(Str(c.direction.as_str())),
            (F::DurationS, EventBody::Call(c)) => Some(Int(c.duration_s)),
            (F::CalleeCountry, EventBody::Call(c)) => Some(Str(&c.callee_country)),
            (F::Forwarded, EventBody::Call(c)) => c.forwarded.map(Bool),
            (F::CellId, EventBody::Call(c)) => c.cell_id.as_deref().map(Str),
            (F::Recipient, EventBody::Sms(s)) => Some(Str(s.recipient.expose())),
            (F::Direction, EventBody::Sms(s)) => Some(Str(s.direction.as_str())),
            (F::RecipientCountry, EventBody::Sms(s)) => Some(Str(&s.recipient_country)),
            (F::ContainsUrl, EventBody::Sms(s)) => s.contains_url.map(Bool),
            (F::Identity, EventBody::Subscription(s)) => Some(Str(s.identity.expose())),
            (F::Channel, EventBody::Subscription(s)) => Some(Str(s.channel.as_str())),
            (F::AgencyId, EventBody::Subscription(s)) => s.agency_id.as_deref().map(Str),
            (F::DeviceImei, EventBody::Subscription(s)) => pii(&s.device_imei),
            (F::DevicePrice, EventBody::Subscription(s)) => s.device_price.map(Int),
            (F::InstallmentMonths, EventBody::Subscription(s)) => s.installment_months.map(Int),
            (F::Plan, EventBody::Subscription(s)) => s.plan.as_deref().map(Str),
            (F::Channel, EventBody::SimSwap(s)) => Some(Str(s.channel.as_str())),
            (F::NewIccid, EventBody::SimSwap(s)) => pii(&s.new_iccid),
            (F::Imei, EventBody::DeviceChange(d)) => Some(Str(d.imei.expose())),
            (F::DeviceModel, EventBody::DeviceChange(d)) => d.device_model.as_deref().map(Str),
            (F::ToCarrier, EventBody::PortOut(p)) => Some(Str(&p.to_carrier)),
            (F::Amount, EventBody::Payment(p)) => Some(Int(p.amount)),
            (F::Method, EventBody::Payment(p)) => Some(Str(p.method.as_str())),
            (F::MerchantId, EventBody::Payment(p)) => Some(Str(&p.merchant_id)),
            (F::MerchantCategory, EventBody::Payment(p)) => Some(Str(p.merchant_category.as_str())),
            (F::CardNumber, EventBody::Payment(p)) => pii(&p.card_number),
            (F::Account, EventBody::Payment(p)) => pii(&p.account),
            (F::DeviceImei, EventBody::Payment(p)) => pii(&p.device_imei),
            (F::Channel, EventBody::Payment(p)) => p.channel.as_deref().map(Str),
            _ => None,
        }
    }
}

/// The values an enumerated text field can take, or `None` for free text. `channel` is
/// enumerated for subscriptions and SIM swaps but free text on payments.
pub(crate) fn vocabulary(field: &str, types: &[EventType]) -> Option<Vec<&'static str>> {
    match field {
        "type" => Some(EventType::ALL.iter().map(|t| t.as_str()).collect()),
        "direction" => Some(vec![Direction::Out.as_str(), Direction::In.as_str()]),
        "method" => Some(
            [PaymentMethod::CarrierBilling, PaymentMethod::Card, PaymentMethod::Transfer]
                .iter()
                .map(|m| m.as_str())
                .collect(),
        ),
        "merchant_category" => Some(
            [
                MerchantCategory::GiftCard,
                MerchantCategory::Game,
                MerchantCategory::DigitalContent,
                MerchantCategory::Transport,
                MerchantCategory::Retail,
                MerchantCategory::Other,
            ]
            .iter()
            .map(|c| c.as_str())
            .collect(),
        ),
        "channel" if !types.contains(&EventType::Payment) => Some(
            [Channel::Online, Channel::Store, Channel::Agency, Channel::Telemarketing]
                .iter()
                .map(|c| c.as_str())
                .collect(),
        ),
        _ => None,
    }
}

/// `types` as text for messages: "call, sms events" or "any event type".
pub(crate) fn describe_types(types: &[EventType]) -> String {
    if types.len() == EventType::ALL.len() {
        "any event type".to_string()
    } else {
        let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        format!("{} events", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fds_core::Field;
    use serde_json::{json, Value};

    /// An event of type `t` with every optional field present.
    fn full_event(t: EventType) -> Event {
        let mut v = json!({
            "event_id": "e-1", "occurred_at": "2026-11-21T11:00:00Z",
            "subscriber": "01012345678", "source": "a", "type": t.as_str(),
        });
        let body: Value = match t {
            EventType::Call => json!({"callee": "01099998888", "direction": "out", "duration_s": 5,
                "callee_country": "KR", "forwarded": false, "cell_id": "c-1"}),
            EventType::Sms => json!({"recipient": "01099998888", "direction": "out",
                "recipient_country": "KR", "contains_url": true}),
            EventType::Subscription => json!({"identity": "id-1", "channel": "online",
                "agency_id": "ag-1", "device_imei": "356789012345678", "device_price": 1_200_000,
                "installment_months": 24, "plan": "5g"}),
            EventType::SimSwap => json!({"channel": "store", "new_iccid": "8982301234567890123"}),
            EventType::DeviceChange => json!({"imei": "356789012345678", "device_model": "x"}),
            EventType::PortOut => json!({"to_carrier": "other"}),
            EventType::Payment => json!({"amount": 1000, "method": "card", "merchant_id": "m-1",
                "merchant_category": "game", "card_number": "4111111111111111",
                "account": "acct-0001", "device_imei": "356789012345678", "channel": "app"}),
        };
        for (k, x) in body.as_object().expect("object").clone() {
            v[k] = x;
        }
        Event::from_value(v, None).expect("a valid full event")
    }

    #[test]
    fn field_kinds_match_what_events_return() {
        for t in EventType::ALL {
            let e = full_event(t);
            for name in Event::field_names(t) {
                let got = match e.field(name) {
                    Some(Field::Str(_)) => ValueKind::Str,
                    Some(Field::Int(_)) => ValueKind::Int,
                    Some(Field::Bool(_)) => ValueKind::Bool,
                    None => panic!("{name} missing from the full {t:?} event"),
                };
                assert_eq!(got, field_kind(name), "{name} on {t:?}");
            }
        }
    }

    #[test]
    fn field_ids_read_what_event_field_reads() {
        for t in EventType::ALL {
            let e = full_event(t);
            for name in Event::field_names(t) {
                let id = FieldId::parse(name).unwrap_or_else(|| panic!("no FieldId for {name}"));
                assert_eq!(id.get(&e), e.field(name), "{name} on {t:?}");
            }
            for id in FieldId::ALL {
                assert_eq!(id.get(&e), e.field(id.name()), "{} on {t:?}", id.name());
            }
        }
    }

    #[test]
    fn the_carriage_table_matches_what_events_carry() {
        for t in EventType::ALL {
            let e = full_event(t);
            for kind in EntityKind::ALL {
                assert_eq!(carries(t, kind), e.entity(kind).is_some(), "{kind:?} on {t:?}");
            }
        }
    }

    #[test]
    fn vocabularies_contain_the_values_events_hold() {
        for t in EventType::ALL {
            let e = full_event(t);
            for name in Event::field_names(t) {
                if let (Some(vocab), Some(Field::Str(s))) = (vocabulary(name, &[t]), e.field(name)) {
                    assert!(vocab.contains(&s), "{s:?} of {name} on {t:?}");
                }
            }
        }
        assert_eq!(vocabulary("channel", &[EventType::Payment]), None);
    }

    #[test]
    fn types_are_described_for_messages() {
        assert_eq!(describe_types(&EventType::ALL), "any event type");
        assert_eq!(describe_types(&[EventType::Call, EventType::Sms]), "call, sms events");
    }
}
