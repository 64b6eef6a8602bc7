//! The event contract: one JSON object per event, documented in `docs/events.md`.
//!
//! Events are built only by [`Event::parse`] / [`Event::from_value`], which validate
//! every field; a value of these types is therefore always valid.

use crate::pii::Pii;
use crate::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

/// The kinds of event FDS scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Call,
    Sms,
    Subscription,
    SimSwap,
    DeviceChange,
    PortOut,
    Payment,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Call,
        EventType::Sms,
        EventType::Subscription,
        EventType::SimSwap,
        EventType::DeviceChange,
        EventType::PortOut,
        EventType::Payment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Call => "call",
            EventType::Sms => "sms",
            EventType::Subscription => "subscription",
            EventType::SimSwap => "sim_swap",
            EventType::DeviceChange => "device_change",
            EventType::PortOut => "port_out",
            EventType::Payment => "payment",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// A dense index (0..7), for per-type tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Out,
    In,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }
}

/// How a line was opened or a SIM swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Store,
    Agency,
    Telemarketing,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Store => "store",
            Channel::Agency => "agency",
            Channel::Telemarketing => "telemarketing",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    CarrierBilling,
    Card,
    Transfer,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::CarrierBilling => "carrier_billing",
            PaymentMethod::Card => "card",
            PaymentMethod::Transfer => "transfer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantCategory {
    GiftCard,
    Game,
    DigitalContent,
    Transport,
    Retail,
    Other,
}

impl MerchantCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantCategory::GiftCard => "gift_card",
            MerchantCategory::Game => "game",
            MerchantCategory::DigitalContent => "digital_content",
            MerchantCategory::Transport => "transport",
            MerchantCategory::Retail => "retail",
            MerchantCategory::Other => "other",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    pub callee: Pii,
    pub direction: Direction,
    pub duration_s: i64,
    pub callee_country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sms {
    pub recipient: Pii,
    pub direction: Direction,
    pub recipient_country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains_url: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Subscription {
    pub identity: Pii,
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_imei: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installment_months: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimSwap {
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_iccid: Option<Pii>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceChange {
    pub imei: Pii,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PortOut {
    pub to_carrier: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Payment {
    /// Integer KRW, always > 0.
    pub amount: i64,
    pub method: PaymentMethod,
    pub merchant_id: String,
    pub merchant_category: MerchantCategory,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_number: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_imei: Option<Pii>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// The type-specific part of an event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Call(Call),
    Sms(Sms),
    Subscription(Subscription),
    SimSwap(SimSwap),
    DeviceChange(DeviceChange),
    PortOut(PortOut),
    Payment(Payment),
}

/// A validated event. Serialises back to the contract's flat JSON form, unknown extra
/// fields included.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub event_id: String,
    #[serde(with = "rfc3339")]
    pub occurred_at: Timestamp,
    pub subscriber: Pii,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(flatten)]
    pub body: EventBody,
    /// Fields the contract does not know: kept for the data mart (forward
    /// compatibility) but never read by features, rules or models.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

mod rfc3339 {
    use crate::Timestamp;
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// The entities velocity features are kept for. Each names where its key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// `subscriber` (every event).
    Subscriber,
    /// `identity` (subscription).
    Identity,
    /// `device_imei` (subscription, payment) or `imei` (device_change).
    Imei,
    /// `card_number` (payment).
    Card,
    /// `account` (payment).
    Account,
    /// `merchant_id` (payment).
    Merchant,
    /// `callee` (call) or `recipient` (sms).
    Callee,
}

impl EntityKind {
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Subscriber,
        EntityKind::Identity,
        EntityKind::Imei,
        EntityKind::Card,
        EntityKind::Account,
        EntityKind::Merchant,
        EntityKind::Callee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Subscriber => "subscriber",
            EntityKind::Identity => "identity",
            EntityKind::Imei => "imei",
            EntityKind::Card => "card",
            EntityKind::Account => "account",
            EntityKind::Merchant => "merchant",
            EntityKind::Callee => "callee",
        }
    }

    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A borrowed field value, for declarative feature filters and the rule engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match &self.body {
            EventBody::Call(_) => EventType::Call,
            EventBody::Sms(_) => EventType::Sms,
            EventBody::Subscription(_) => EventType::Subscription,
            EventBody::SimSwap(_) => EventType::SimSwap,
            EventBody::DeviceChange(_) => EventType::DeviceChange,
            EventBody::PortOut(_) => EventType::PortOut,
            EventBody::Payment(_) => EventType::Payment,
        }
    }

    /// The key of `kind` in this event, when the event carries one.
    pub fn entity(&self, kind: EntityKind) -> Option<&str> {
        match (kind, &self.body) {
            (EntityKind::Subscriber, _) => Some(self.subscriber.expose()),
            (EntityKind::Identity, EventBody::Subscription(s)) => Some(s.identity.expose()),
            (EntityKind::Imei, EventBody::Subscription(s)) => s.device_imei.as_ref().map(Pii::expose),
            (EntityKind::Imei, EventBody::DeviceChange(d)) => Some(d.imei.expose()),
            (EntityKind::Imei, EventBody::Payment(p)) => p.device_imei.as_ref().map(Pii::expose),
            (EntityKind::Card, EventBody::Payment(p)) => p.card_number.as_ref().map(Pii::expose),
            (EntityKind::Account, EventBody::Payment(p)) => p.account.as_ref().map(Pii::expose),
            (EntityKind::Merchant, EventBody::Payment(p)) => Some(p.merchant_id.as_str()),
            (EntityKind::Callee, EventBody::Call(c)) => Some(c.callee.expose()),
            (EntityKind::Callee, EventBody::Sms(s)) => Some(s.recipient.expose()),
            _ => None,
        }
    }

    /// A contract field by name (`"amount"`, `"direction"`, `"type"`, ...), or `None`
    /// when this event's type has no such field or it is absent. Extra fields are
    /// never returned.
    pub fn field(&self, name: &str) -> Option<Field<'_>> {
        use Field::{Bool, Int, Str};
        let common = match name {
            "event_id" => Some(Str(&self.event_id)),
            "subscriber" => Some(Str(self.subscriber.expose())),
            "type" => Some(Str(self.event_type().as_str())),
            "source" => self.source.as_deref().map(Str),
            _ => None,
        };
        if common.is_some() {
            return common;
        }
        match &self.body {
            EventBody::Call(c) => match name {
                "callee" => Some(Str(c.callee.expose())),
                "direction" => Some(Str(c.direction.as_str())),
                "duration_s" => Some(Int(c.duration_s)),
                "callee_country" => Some(Str(&c.callee_country)),
                "forwarded" => c.forwarded.map(Bool),
                "cell_id" => c.cell_id.as_deref().map(Str),
                _ => None,
            },
            EventBody::Sms(s) => match name {
                "recipient" => Some(Str(s.recipient.expose())),
                "direction" => Some(Str(s.direction.as_str())),
                "recipient_country" => Some(Str(&s.recipient_country)),
                "contains_url" => s.contains_url.map(Bool),
                _ => None,
            },
            EventBody::Subscription(s) => match name {
                "identity" => Some(Str(s.identity.expose())),
                "channel" => Some(Str(s.channel.as_str())),
                "agency_id" => s.agency_id.as_deref().map(Str),
                "device_imei" => pii_field(&s.device_imei),
                "device_price" => s.device_price.map(Int),
                "installment_months" => s.installment_months.map(Int),
                "plan" => s.plan.as_deref().map(Str),
                _ => None,
            },
            EventBody::SimSwap(s) => match name {
                "channel" => Some(Str(s.channel.as_str())),
                "new_iccid" => pii_field(&s.new_iccid),
                _ => None,
            },
            EventBody::DeviceChange(d) => match name {
                "imei" => Some(Str(d.imei.expose())),
                "device_model" => d.device_model.as_deref().map(Str),
                _ => None,
            },
            EventBody::PortOut(p) => match name {
                "to_carrier" => Some(Str(&p.to_carrier)),
                _ => None,
            },
            EventBody::Payment(p) => match name {
                "amount" => Some(Int(p.amount)),
                "method" => Some(Str(p.method.as_str())),
                "merchant_id" => Some(Str(&p.merchant_id)),
                "merchant_category" => Some(Str(p.merchant_category.as_str())),
                "card_number" => pii_field(&p.card_number),
                "account" => pii_field(&p.account),
                "device_imei" => pii_field(&p.device_imei),
                "channel" => p.channel.as_deref().map(Str),
                _ => None,
            },
        }
    }

    /// The contract field names an event of type `t` may carry, common ones first.
    pub fn field_names(t: EventType) -> &'static [&'static str] {
        match t {
            EventType::Call => &[
                "event_id",
                "subscriber",
                "type",
                "source",
                "callee",
                "direction",
                "duration_s",
                "callee_country",
                "forwarded",
                "cell_id",
            ],
            EventType::Sms => &[
                "event_id",
                "subscriber",
                "type",
                "source",
                "recipient",
                "direction",
                "recipient_country",
                "contains_url",
            ],
            EventType::Subscription => &[
                "event_id",
                "subscriber",
                "type",
                "source",
                "identity",
                "channel",
                "agency_id",
                "device_imei",
                "device_price",
                "installment_months",
                "plan",
            ],
            EventType::SimSwap => &["event_id", "subscriber", "type", "source", "channel", "new_iccid"],
            EventType::DeviceChange => &["event_id", "subscriber", "type", "source", "imei", "device_model"],
            EventType::PortOut => &["event_id", "subscriber", "type", "source", "to_carrier"],
            EventType::Payment => &[
                "event_id",
                "subscriber",
                "type",
                "source",
                "amount",
                "method",
                "merchant_id",
                "merchant_category",
                "card_number",
                "account",
                "device_imei",
                "channel",
            ],
        }
    }

    /// Contract fields whose JSON type is an integer. Formats without types (CSV)
    /// use this to give a cell its contract type before validation.
    pub const INTEGER_FIELDS: &'static [&'static str] =
        &["amount", "duration_s", "device_price", "installment_months"];

    /// Contract fields whose JSON type is a boolean.
    pub const BOOLEAN_FIELDS: &'static [&'static str] = &["contains_url", "forwarded"];

    /// The event as the contract's JSON object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn pii_field(p: &Option<Pii>) -> Option<Field<'_>> {
    p.as_ref().map(|v| Field::Str(v.expose()))
}
