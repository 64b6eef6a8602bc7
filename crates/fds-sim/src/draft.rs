//! A planned event in compact form, and its rendering as contract JSON.
//!
//! Agents plan [`Draft`]s (a few dozen bytes each); the simulator renders one only when
//! it is emitted, with its event id, in a fixed field order.

use crate::ids::{Ids, Line};
use fds_core::{Channel, Direction, MerchantCategory, PaymentMethod};
use serde_json::{Map, Value};

/// Telecom events come from legacy system A, payments from the payment API.
const TELECOM_SOURCE: &str = "system_a";
const PAYMENT_SOURCE: &str = "payment_api";

/// A number at the other end of a call or SMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Number {
    /// One of this carrier's lines.
    Line(Line),
    /// Another mobile number: `010` + 8 digits.
    Mobile(u32),
    /// A Seoul landline: `02` + 8 digits.
    Landline(u32),
    /// A business service number: `1588` + 4 digits.
    Service(u16),
    /// An international number: `+<prefix><national>` in `country`.
    Intl { prefix: &'static str, national: u64, digits: u8, country: &'static str },
}

impl Number {
    pub(crate) fn country(self) -> &'static str {
        match self {
            Number::Intl { country, .. } => country,
            _ => "KR",
        }
    }

    fn render(self, ids: &Ids) -> String {
        match self {
            Number::Line(line) => ids.msisdn(line),
            Number::Mobile(n) => format!("010{n:08}"),
            Number::Landline(n) => format!("02{n:08}"),
            Number::Service(n) => format!("1588{n:04}"),
            Number::Intl { prefix, national, digits, .. } => {
                format!("+{prefix}{national:0width$}", width = usize::from(digits))
            }
        }
    }
}

/// A handset sold with a subscription.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handset {
    pub(crate) imei: u64,
    pub(crate) price: i64,
    pub(crate) months: i64,
}

/// Who was paid.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Merchant {
    /// Merchant `id` of the payment's category.
    Shop(u16),
    /// A bank transfer: the merchant is the receiving account's bank.
    Bank,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Pay {
    pub(crate) amount: i64,
    pub(crate) method: PaymentMethod,
    pub(crate) category: MerchantCategory,
    pub(crate) merchant: Merchant,
    pub(crate) card: Option<u64>,
    pub(crate) account: Option<u64>,
    pub(crate) imei: Option<u64>,
    pub(crate) channel: &'static str,
}

/// The type-specific part of a planned event. Identifiers are serials rendered by [`Ids`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body {
    Call {
        other: Number,
        direction: Direction,
        duration_s: i64,
        forwarded: Option<bool>,
        cell: Option<u16>,
    },
    Sms {
        other: Number,
        direction: Direction,
        contains_url: bool,
    },
    /// `point`: the store, agency or telemarketing vendor (none online).
    Subscription {
        identity: u64,
        channel: Channel,
        point: Option<u16>,
        handset: Option<Handset>,
        plan: &'static str,
    },
    SimSwap {
        channel: Channel,
        iccid: u64,
    },
    DeviceChange {
        imei: u64,
        model: &'static str,
    },
    PortOut {
        to: &'static str,
    },
    Payment(Pay),
}

/// One planned event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Draft {
    /// Unix seconds.
    pub(crate) at: i64,
    pub(crate) line: Line,
    pub(crate) body: Body,
}

impl Draft {
    pub(crate) fn new(at: i64, line: Line, body: Body) -> Draft {
        Draft { at, line, body }
    }

    /// The contract JSON of this event, fields in a fixed order.
    pub(crate) fn render(&self, event_id: String, ids: &Ids) -> Value {
        let mut m = Map::new();
        let is_payment = matches!(self.body, Body::Payment(_));
        m.insert("event_id".into(), event_id.into());
        m.insert("occurred_at".into(), rfc3339(self.at, !is_payment).into());
        m.insert("subscriber".into(), ids.msisdn(self.line).into());
        let kind = match self.body {
            Body::Call { .. } => "call",
            Body::Sms { .. } => "sms",
            Body::Subscription { .. } => "subscription",
            Body::SimSwap { .. } => "sim_swap",
            Body::DeviceChange { .. } => "device_change",
            Body::PortOut { .. } => "port_out",
            Body::Payment(_) => "payment",
        };
        m.insert("type".into(), kind.into());
        m.insert("source".into(), if is_payment { PAYMENT_SOURCE } else { TELECOM_SOURCE }.into());
        match self.body {
            Body::Call { other, direction, duration_s, forwarded, cell } => {
                m.insert("callee".into(), other.render(ids).into());
                m.insert("direction".into(), direction.as_str().into());
                m.insert("duration_s".into(), duration_s.into());
                m.insert("callee_country".into(), other.country().into());
                if let Some(f) = forwarded {
                    m.insert("forwarded".into(), f.into());
                }
                if let Some(c) = cell {
                    m.insert("cell_id".into(), format!("KR-{c:05}").into());
                }
            }
            Body::Sms { other, direction, contains_url } => {
                m.insert("recipient".into(), other.render(ids).into());
                m.insert("direction".into(), direction.as_str().into());
                m.insert("recipient_country".into(), other.country().into());
                m.insert("contains_url".into(), contains_url.into());
            }
            Body::Subscription { identity, channel, point, handset, plan } => {
                m.insert("identity".into(), ids.identity(identity).into());
                m.insert("channel".into(), channel.as_str().into());
                if let Some(p) = point {
                    let prefix = match channel {
                        Channel::Store => "ST",
                        Channel::Agency => "AG",
                        Channel::Telemarketing => "TM",
                        Channel::Online => "WEB",
                    };
                    m.insert("agency_id".into(), format!("{prefix}-{p:04}").into());
                }
                if let Some(h) = handset {
                    m.insert("device_imei".into(), ids.imei(h.imei).into());
                    m.insert("device_price".into(), h.price.into());
                    m.insert("installment_months".into(), h.months.into());
                }
                m.insert("plan".into(), plan.into());
            }
            Body::SimSwap { channel, iccid } => {
                m.insert("channel".into(), channel.as_str().into());
                m.insert("new_iccid".into(), ids.iccid(iccid).into());
            }
            Body::DeviceChange { imei, model } => {
                m.insert("imei".into(), ids.imei(imei).into());
                m.insert("device_model".into(), model.into());
            }
            Body::PortOut { to } => {
                m.insert("to_carrier".into(), to.into());
            }
            Body::Payment(p) => {
                m.insert("amount".into(), p.amount.into());
                m.insert("method".into(), p.method.as_str().into());
                let merchant = match (p.merchant, p.account) {
                    (Merchant::Bank, Some(account)) => format!("bank-{:03}", ids.bank(account)),
                    (Merchant::Bank, None) => "bank-000".to_string(),
                    (Merchant::Shop(id), _) => format!("{}-{id:04}", merchant_prefix(p.category)),
                };
                m.insert("merchant_id".into(), merchant.into());
                m.insert("merchant_category".into(), p.category.as_str().into());
                if let Some(card) = p.card {
                    m.insert("card_number".into(), ids.card(card).into());
                }
                if let Some(account) = p.account {
                    m.insert("account".into(), ids.account(account).into());
                }
                if let Some(imei) = p.imei {
                    m.insert("device_imei".into(), ids.imei(imei).into());
                }
                m.insert("channel".into(), p.channel.into());
            }
        }
        Value::Object(m)
    }
}

fn merchant_prefix(category: MerchantCategory) -> &'static str {
    match category {
        MerchantCategory::GiftCard => "gc",
        MerchantCategory::Game => "gm",
        MerchantCategory::DigitalContent => "dc",
        MerchantCategory::Transport => "tr",
        MerchantCategory::Retail => "rt",
        MerchantCategory::Other => "ot",
    }
}

/// RFC 3339 with whole seconds: in KST (`+09:00`, as system A writes it) or in UTC (`Z`,
/// as the payment API does).
fn rfc3339(at: i64, kst: bool) -> String {
    let utc = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
    if kst {
        let offset = chrono::FixedOffset::east_opt(crate::rhythm::KST_OFFSET_S as i32);
        if let Some(offset) = offset {
            return utc.with_timezone(&offset).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        }
    }
    utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fds_core::Event;

    const MONDAY: i64 = 1_772_377_200;

    fn render(body: Body) -> Value {
        let ids = Ids::new(3, 10);
        Draft::new(MONDAY + 3600, 4, body).render("sim-3-1".into(), &ids)
    }

    #[test]
    fn telecom_times_are_written_in_kst_and_payment_times_in_utc() {
        let call = render(Body::Call {
            other: Number::Intl { prefix: "882", national: 1234, digits: 8, country: "XX" },
            direction: Direction::Out,
            duration_s: 600,
            forwarded: None,
            cell: Some(12),
        });
        assert_eq!(call["occurred_at"], "2026-03-02T01:00:00+09:00");
        assert_eq!(call["callee"], "+88200001234");
        assert_eq!(call["source"], "system_a");
        let pay = render(Body::Payment(Pay {
            amount: 30_000,
            method: PaymentMethod::Transfer,
            category: MerchantCategory::Other,
            merchant: Merchant::Bank,
            card: None,
            account: Some(3),
            imei: None,
            channel: "app",
        }));
        assert_eq!(pay["occurred_at"], "2026-03-01T16:00:00Z");
        assert_eq!(pay["source"], "payment_api");
        assert!(pay["merchant_id"].as_str().is_some_and(|m| m.starts_with("bank-")));
        for v in [call, pay] {
            Event::from_value(v, None).expect("rendered drafts follow the contract");
        }
    }

    #[test]
    fn subscriptions_carry_the_sales_point_and_handset() {
        let sub = render(Body::Subscription {
            identity: 1,
            channel: Channel::Agency,
            point: Some(17),
            handset: Some(Handset { imei: 5, price: 1_500_000, months: 36 }),
            plan: "5G-premium",
        });
        assert_eq!(sub["agency_id"], "AG-0017");
        assert_eq!(sub["installment_months"], 36);
        let event = Event::from_value(sub, None).expect("valid subscription");
        assert!(event.entity(fds_core::EntityKind::Imei).is_some());
    }
}
