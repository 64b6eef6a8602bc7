//! The rule library written as native Rust closures: the floor the rule engine is
//! measured against in `benches/scoring.rs` (`rules/native_closures`).
//!
//! Generated from `rules/` by `RulePack::native_rust` (crates/fds-rules/src/codegen.rs).
//! Do not edit: `tests/native_floor_source.rs` fails when this file is not what the
//! shipped library generates (`FDS_BLESS=1 cargo test --test native_floor_source`
//! rewrites it), and `tests/native_floor.rs` checks that these closures decide exactly
//! as the rule engine does.
#![allow(unused_variables, unused_imports, unused_parens, dead_code, clippy::all)]

use chrono::{FixedOffset, Timelike};
use fds_core::{Channel, Direction, Event, EventBody, EventType, FeatureValue, MerchantCategory, PaymentMethod, Pii};
use fds_rules::Lists;

/// A rule's condition: the event, its feature values in pack order, the pack's lists
/// and its UTC offset.
pub type Check = Box<dyn Fn(&Event, &[FeatureValue], &Lists, FixedOffset) -> bool + Send + Sync>;

pub struct NativeRule {
    pub id: &'static str,
    pub events: &'static [EventType],
    pub check: Check,
}

fn num(v: &FeatureValue) -> f64 {
    match v {
        FeatureValue::Int(i) => *i as f64,
        FeatureValue::Float(x) => *x,
    }
}

fn local_hour(e: &Event, off: FixedOffset) -> i64 {
    i64::from(e.occurred_at.with_timezone(&off).hour())
}

pub fn rules() -> Vec<NativeRule> {
    vec![
        NativeRule {
            id: "cba_blocked_merchant_payment",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (l.contains("blocked_merchants", b.merchant_id.as_str()) == Some(true)),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_burst_1h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::CarrierBilling && num(&f[4]) /* carrier_billing_count_1h */ >= 4.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_cap_used_in_one_day",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::CarrierBilling && num(&f[5]) /* carrier_billing_sum_24h */ >= 500000.0) && num(&f[6]) /* carrier_billing_sum_30d */ >= 700000.0) && !(l.contains("allow_test_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_carrier_billing_count_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::CarrierBilling && num(&f[56]) /* carrier_billing_count_24h */ >= 10.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_deny_listed_subscriber_payment",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (l.contains("deny_subscribers", e.subscriber.expose()) == Some(true)),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_device_payment_velocity_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.device_imei.as_ref().map(Pii::expose).is_some() && num(&f[48]) /* payments_per_imei_24h */ >= 8.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_game_spend_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && b.merchant_category == MerchantCategory::Game) && num(&f[10]) /* game_sum_24h */ >= 300000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_gift_card_burst_1h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.merchant_category == MerchantCategory::GiftCard && num(&f[7]) /* gift_card_payments_1h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_gift_card_velocity_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.merchant_category == MerchantCategory::GiftCard && num(&f[8]) /* gift_card_payments_24h */ >= 4.0) && num(&f[9]) /* gift_card_sum_24h */ >= 150000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_high_value_carrier_gift_card",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && b.merchant_category == MerchantCategory::GiftCard) && b.amount >= 100000_i64),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_many_merchants_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && num(&f[12]) /* distinct_merchants_24h */ >= 4.0) && num(&f[5]) /* carrier_billing_sum_24h */ >= 150000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_monthly_cap_near",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::CarrierBilling && num(&f[6]) /* carrier_billing_sum_30d */ >= 800000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_new_device_gift_game",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::CarrierBilling && (b.merchant_category == MerchantCategory::GiftCard || b.merchant_category == MerchantCategory::Game)) && num(&f[36]) /* hours_since_device_change */ < 24.0_f64) && num(&f[5]) /* carrier_billing_sum_24h */ >= 100000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_new_device_night_burst",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::CarrierBilling && local_hour(e, off) < 6_i64) && num(&f[36]) /* hours_since_device_change */ < 24.0_f64) && num(&f[4]) /* carrier_billing_count_1h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_new_line_carrier_billing_6h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::CarrierBilling && num(&f[33]) /* line_age_days */ < 0.25_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_new_line_spend_3d",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && num(&f[33]) /* line_age_days */ < 3.0_f64) && num(&f[5]) /* carrier_billing_sum_24h */ >= 200000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_night_gift_game_burst",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::CarrierBilling && (b.merchant_category == MerchantCategory::GiftCard || b.merchant_category == MerchantCategory::Game)) && local_hour(e, off) < 5_i64) && num(&f[11]) /* night_payments_24h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_night_gift_game_payment",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && (b.merchant_category == MerchantCategory::GiftCard || b.merchant_category == MerchantCategory::Game)) && local_hour(e, off) < 5_i64),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_night_spend_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::CarrierBilling && num(&f[57]) /* night_carrier_billing_sum_24h */ >= 150000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "cba_stolen_imei_payment",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => b.device_imei.as_ref().map(Pii::expose).is_some_and(|v0| (l.contains("stolen_imeis", v0) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_collector_line_financed_handsets",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => ((num(&f[37]) /* device_changes_30d */ >= 2.0 && num(&f[47]) /* financed_subscriptions_per_imei_30d */ >= 1.0) && num(&f[46]) /* subscribers_per_imei_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_imei_on_other_line_30d",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => (num(&f[46]) /* subscribers_per_imei_30d */ >= 2.0 && num(&f[47]) /* financed_subscriptions_per_imei_30d */ >= 1.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_imei_on_other_line_7d",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => (num(&f[45]) /* subscribers_per_imei_7d */ >= 2.0 && num(&f[47]) /* financed_subscriptions_per_imei_30d */ >= 1.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_imei_payment_other_line",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (num(&f[47]) /* financed_subscriptions_per_imei_30d */ >= 1.0 && num(&f[45]) /* subscribers_per_imei_7d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_imei_resold_72h",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => (num(&f[66]) /* hours_since_imei_financed */ < 72.0_f64 && num(&f[45]) /* subscribers_per_imei_7d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_line_new_handset_72h",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => (num(&f[65]) /* hours_since_financed_subscription */ < 72.0_f64 && num(&f[38]) /* distinct_imeis_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_line_port_out_30d",
            events: &[EventType::PortOut],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::PortOut(b) => num(&f[65]) /* hours_since_financed_subscription */ < 720.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_value_per_identity_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => ((b.installment_months.is_some() && b.installment_months.is_some_and(|v0| v0 >= 12_i64)) && num(&f[44]) /* financed_device_value_per_identity_30d */ >= 4000000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_financed_value_two_lines_7d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => ((b.channel != Channel::Store && num(&f[40]) /* lines_per_identity_7d */ >= 2.0) && num(&f[44]) /* financed_device_value_per_identity_30d */ >= 3000000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_imei_many_subscribers_7d",
            events: &[EventType::Subscription, EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => num(&f[45]) /* subscribers_per_imei_7d */ >= 3.0,
                EventBody::DeviceChange(b) => num(&f[45]) /* subscribers_per_imei_7d */ >= 3.0,
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_imei_refinanced_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (((b.device_imei.as_ref().map(Pii::expose).is_some() && b.installment_months.is_some()) && b.installment_months.is_some_and(|v0| v0 >= 12_i64)) && num(&f[47]) /* financed_subscriptions_per_imei_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_imei_three_subscribers_30d",
            events: &[EventType::Subscription, EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => num(&f[46]) /* subscribers_per_imei_30d */ >= 3.0,
                EventBody::DeviceChange(b) => num(&f[46]) /* subscribers_per_imei_30d */ >= 3.0,
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_multi_agency_financing_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (((b.installment_months.is_some() && b.installment_months.is_some_and(|v0| v0 >= 12_i64)) && num(&f[43]) /* financed_lines_per_identity_30d */ >= 2.0) && num(&f[68]) /* agencies_per_identity_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_new_line_device_change_14d",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => num(&f[33]) /* line_age_days */ < 14.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_premium_handset_remote_channel",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (((((b.channel == Channel::Agency || b.channel == Channel::Telemarketing) && b.device_price.is_some()) && b.device_price.is_some_and(|v0| v0 >= 1200000_i64)) && b.installment_months.is_some()) && b.installment_months.is_some_and(|v1| v1 >= 24_i64)),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_silent_new_line_device_change",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => ((num(&f[33]) /* line_age_days */ >= 1.0_f64 && num(&f[33]) /* line_age_days */ < 30.0_f64) && num(&f[30]) /* outbound_activity_7d */ <= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_stolen_imei_device_change",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => (l.contains("stolen_imeis", b.imei.expose()) == Some(true)),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_stolen_imei_subscription",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => b.device_imei.as_ref().map(Pii::expose).is_some_and(|v0| (l.contains("stolen_imeis", v0) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_three_financed_lines_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => ((b.installment_months.is_some() && b.installment_months.is_some_and(|v0| v0 >= 12_i64)) && num(&f[43]) /* financed_lines_per_identity_30d */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "hst_two_financed_lines_remote_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (((b.channel != Channel::Store && b.installment_months.is_some()) && b.installment_months.is_some_and(|v0| v0 >= 12_i64)) && num(&f[43]) /* financed_lines_per_identity_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_deny_listed_identity",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (l.contains("deny_identities", b.identity.expose()) == Some(true)),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_five_lines_one_identity_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (b.channel != Channel::Store && num(&f[41]) /* lines_per_identity_30d */ >= 5.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_four_lines_one_identity_7d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => num(&f[40]) /* lines_per_identity_7d */ >= 4.0,
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_lines_at_several_points_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (num(&f[41]) /* lines_per_identity_30d */ >= 3.0 && num(&f[68]) /* agencies_per_identity_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_carrier_billing_count_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && num(&f[33]) /* line_age_days */ < 7.0_f64) && num(&f[56]) /* carrier_billing_count_24h */ >= 6.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_carrier_billing_first_day",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && num(&f[33]) /* line_age_days */ < 1.0_f64) && num(&f[5]) /* carrier_billing_sum_24h */ >= 100000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_gift_card_first_day",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::CarrierBilling && b.merchant_category == MerchantCategory::GiftCard) && num(&f[33]) /* line_age_days */ < 1.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_gift_game_spend_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.merchant_category == MerchantCategory::GiftCard || b.merchant_category == MerchantCategory::Game) && num(&f[33]) /* line_age_days */ < 7.0_f64) && (num(&f[9]) /* gift_card_sum_24h */ >= 100000.0 || num(&f[10]) /* game_sum_24h */ >= 100000.0)),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_many_gift_merchants",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.merchant_category == MerchantCategory::GiftCard || b.merchant_category == MerchantCategory::Game) && num(&f[33]) /* line_age_days */ < 7.0_f64) && num(&f[12]) /* distinct_merchants_24h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_micro_payment_burst",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((((b.merchant_category == MerchantCategory::GiftCard || b.merchant_category == MerchantCategory::Game) && b.method == PaymentMethod::CarrierBilling) && num(&f[33]) /* line_age_days */ < 7.0_f64) && num(&f[4]) /* carrier_billing_count_1h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_night_payments",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((local_hour(e, off) < 6_i64 && num(&f[33]) /* line_age_days */ < 7.0_f64) && num(&f[11]) /* night_payments_24h */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_pays_never_calls",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((num(&f[33]) /* line_age_days */ < 5.0_f64 && num(&f[1]) /* payments_count_24h */ >= 3.0) && num(&f[30]) /* outbound_activity_7d */ == 0.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_port_out_7d",
            events: &[EventType::PortOut],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::PortOut(b) => num(&f[33]) /* line_age_days */ < 7.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_new_line_remote_sim_swap_3d",
            events: &[EventType::SimSwap],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::SimSwap(b) => (b.channel != Channel::Store && num(&f[33]) /* line_age_days */ < 3.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_repeat_online_openings_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (b.channel == Channel::Online && num(&f[42]) /* online_lines_per_identity_30d */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_second_online_line_24h",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => ((b.channel == Channel::Online && b.device_imei.as_ref().map(Pii::expose).is_none()) && num(&f[67]) /* lines_per_identity_24h */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_three_lines_one_identity_24h",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (b.channel != Channel::Store && num(&f[67]) /* lines_per_identity_24h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_three_lines_one_identity_30d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => (num(&f[41]) /* lines_per_identity_30d */ >= 3.0 && num(&f[40]) /* lines_per_identity_7d */ < 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "idt_three_lines_one_identity_7d",
            events: &[EventType::Subscription],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Subscription(b) => num(&f[40]) /* lines_per_identity_7d */ >= 3.0,
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_forwarded_to_hotlist",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.forwarded.is_some_and(|v0| v0) && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_high_risk_country_call",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.direction == Direction::Out && (l.contains("high_risk_countries", b.callee_country.as_str()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_hotlist_burst_1h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && num(&f[58]) /* international_calls_1h */ >= 3.0) && !(l.contains("allow_test_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_hotlist_call",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_hotlist_call_after_remote_swap",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((b.direction == Direction::Out && num(&f[64]) /* hours_since_remote_sim_swap */ < 72.0_f64) && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_hotlist_call_new_line",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && num(&f[33]) /* line_age_days */ < 30.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_hotlist_long_call",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && b.duration_s >= 300_i64),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_international_call_burst_1h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && b.duration_s >= 180_i64) && num(&f[58]) /* international_calls_1h */ >= 4.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_international_call_count_24h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && num(&f[23]) /* international_calls_24h */ >= 10.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_international_minutes_24h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && num(&f[23]) /* international_calls_24h */ >= 3.0) && num(&f[24]) /* international_call_seconds_24h */ >= 3600.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_many_destination_countries_24h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && num(&f[59]) /* distinct_callee_countries_24h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_new_line_long_international_call",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && b.duration_s >= 600_i64) && num(&f[33]) /* line_age_days */ < 7.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_night_hotlist_session",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && local_hour(e, off) < 6_i64) && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && num(&f[58]) /* international_calls_1h */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_night_long_international_call",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && local_hour(e, off) < 6_i64) && b.duration_s >= 300_i64),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_repeated_hotlist_long_calls",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((((((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && b.duration_s >= 300_i64) && num(&f[23]) /* international_calls_24h */ >= 3.0) && num(&f[24]) /* international_call_seconds_24h */ >= 1800.0) && !(l.contains("allow_test_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_shared_hotlist_number_1h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && num(&f[54]) /* callers_per_callee_1h */ >= 3.0) && !(l.contains("allow_test_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_shared_hotlist_number_24h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))) && num(&f[55]) /* callers_per_callee_24h */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_sms_pumping_hotlist",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => (((b.direction == Direction::Out && b.recipient_country.as_str() != "KR") && (l.has_prefix("irsf_prefixes", b.recipient.expose()) == Some(true))) && num(&f[27]) /* outbound_sms_1h */ >= 5.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_wangiri_callback",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && num(&f[62]) /* hours_since_short_international_inbound_call */ < 2.0_f64) && (l.has_prefix("irsf_prefixes", b.callee.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "irs_wangiri_ring_campaign",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::In && b.duration_s < 10_i64) && b.callee_country.as_str() != "KR") && num(&f[63]) /* short_inbound_targets_per_number_1h */ >= 5.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_carrier_gift_card_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::CarrierBilling && b.merchant_category == MerchantCategory::GiftCard) && b.amount >= 100000_i64) && num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_device_change_soon_after_swap",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => num(&f[34]) /* hours_since_sim_swap */ < 6.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_gift_card_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.merchant_category == MerchantCategory::GiftCard && num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_large_payment_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.amount >= 200000_i64 && num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_large_transfer_after_remote_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::Transfer && b.amount >= 500000_i64) && num(&f[64]) /* hours_since_remote_sim_swap */ < 12.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_many_cards_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::Card && b.amount >= 100000_i64) && num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64) && num(&f[17]) /* distinct_cards_24h */ >= 2.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_new_accounts_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::Transfer && num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64) && num(&f[16]) /* distinct_accounts_24h */ >= 2.0) && num(&f[14]) /* transfers_sum_24h */ >= 500000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_new_device_right_after_remote_swap",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => num(&f[64]) /* hours_since_remote_sim_swap */ < 1.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_payment_after_remote_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.amount >= 300000_i64 && num(&f[64]) /* hours_since_remote_sim_swap */ < 24.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_payment_burst_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.amount >= 100000_i64 && num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64) && num(&f[0]) /* payments_count_1h */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_payment_drain_after_remote_swap_1h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (num(&f[64]) /* hours_since_remote_sim_swap */ < 12.0_f64 && num(&f[2]) /* payments_sum_1h */ >= 1000000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_payment_drain_after_swap",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((num(&f[34]) /* hours_since_sim_swap */ < 24.0_f64 && num(&f[1]) /* payments_count_24h */ >= 2.0) && num(&f[3]) /* payments_sum_24h */ >= 1000000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_port_out_after_remote_swap",
            events: &[EventType::PortOut],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::PortOut(b) => num(&f[64]) /* hours_since_remote_sim_swap */ < 24.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_port_out_after_swap",
            events: &[EventType::PortOut],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::PortOut(b) => num(&f[34]) /* hours_since_sim_swap */ < 72.0_f64,
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_remote_sim_swap",
            events: &[EventType::SimSwap],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::SimSwap(b) => (b.channel == Channel::Online || b.channel == Channel::Telemarketing),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_repeat_sim_swap_30d",
            events: &[EventType::SimSwap],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::SimSwap(b) => num(&f[35]) /* sim_swaps_30d */ >= 2.0,
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_stolen_imei_after_swap",
            events: &[EventType::DeviceChange],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::DeviceChange(b) => ((l.contains("stolen_imeis", b.imei.expose()) == Some(true)) && num(&f[34]) /* hours_since_sim_swap */ < 72.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_swap_then_new_device_payment",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.amount >= 100000_i64 && num(&f[34]) /* hours_since_sim_swap */ < 12.0_f64) && num(&f[36]) /* hours_since_device_change */ <= num(&f[34]) /* hours_since_sim_swap */),
                _ => false,
            }),
        },
        NativeRule {
            id: "sst_transfer_after_new_device",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::Transfer && num(&f[36]) /* hours_since_device_change */ < 6.0_f64) && num(&f[14]) /* transfers_sum_24h */ >= 1000000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_call_from_reported_number",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((b.direction == Direction::In && b.duration_s >= 60_i64) && (l.contains("deny_phishing_numbers", b.callee.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_deny_listed_line_activity",
            events: &[EventType::Call, EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.direction == Direction::Out && (l.contains("deny_subscribers", e.subscriber.expose()) == Some(true))),
                EventBody::Sms(b) => (b.direction == Direction::Out && (l.contains("deny_subscribers", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_distinct_callees_10m",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.direction == Direction::Out && num(&f[20]) /* distinct_callees_10m */ >= 10.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_distinct_callees_1h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.direction == Direction::Out && num(&f[21]) /* distinct_callees_1h */ >= 15.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_distinct_callees_24h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.direction == Direction::Out && num(&f[22]) /* distinct_callees_24h */ >= 60.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_forwarded_calls_24h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (b.forwarded.is_some_and(|v0| v0) && num(&f[25]) /* forwarded_calls_24h */ >= 20.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_forwarded_short_call_burst",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.forwarded.is_some_and(|v0| v0)) && b.duration_s < 30_i64) && num(&f[19]) /* short_outbound_calls_1h */ >= 10.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_international_call_burst_1h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && num(&f[58]) /* international_calls_1h */ >= 5.0) && num(&f[21]) /* distinct_callees_1h */ >= 10.0) && !(l.contains("allow_corporate_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_international_short_call_burst",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && b.callee_country.as_str() != "KR") && b.duration_s < 30_i64) && num(&f[19]) /* short_outbound_calls_1h */ >= 10.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_link_sms_during_call_burst",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => (((b.direction == Direction::Out && b.contains_url.is_some_and(|v0| v0)) && num(&f[21]) /* distinct_callees_1h */ >= 10.0) && !(l.contains("allow_corporate_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_mule_account_inflow_24h",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::Transfer && num(&f[51]) /* subscribers_per_account_7d */ == 2.0) && num(&f[52]) /* transfers_into_account_24h */ >= 5000000.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_mule_account_many_senders",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::Transfer && num(&f[51]) /* subscribers_per_account_7d */ >= 3.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_new_line_call_burst",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => ((b.direction == Direction::Out && num(&f[33]) /* line_age_days */ < 3.0_f64) && num(&f[21]) /* distinct_callees_1h */ >= 10.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_new_line_url_sms",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => (((b.direction == Direction::Out && b.contains_url.is_some_and(|v0| v0)) && num(&f[33]) /* line_age_days */ < 3.0_f64) && num(&f[29]) /* url_sms_1h */ >= 5.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_one_way_call_burst",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && num(&f[21]) /* distinct_callees_1h */ >= 12.0) && num(&f[26]) /* inbound_calls_24h */ == 0.0) && !(l.contains("allow_corporate_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_short_call_burst_1h",
            events: &[EventType::Call],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Call(b) => (((b.direction == Direction::Out && num(&f[19]) /* short_outbound_calls_1h */ >= 20.0) && num(&f[21]) /* distinct_callees_1h */ >= 20.0) && !(l.contains("allow_corporate_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_smishing_from_reported_number",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => ((b.direction == Direction::In && b.contains_url.is_some_and(|v0| v0)) && (l.contains("deny_phishing_numbers", b.recipient.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_transfer_to_reported_mule_account",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (b.method == PaymentMethod::Transfer && b.account.as_ref().map(Pii::expose).is_some_and(|v0| (l.contains("deny_accounts", v0) == Some(true)))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_url_sms_blast_1h",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => ((((b.direction == Direction::Out && b.contains_url.is_some_and(|v0| v0)) && num(&f[29]) /* url_sms_1h */ >= 20.0) && num(&f[28]) /* distinct_sms_recipients_1h */ >= 20.0) && !(l.contains("allow_corporate_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_url_sms_blast_24h",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => ((((b.direction == Direction::Out && b.contains_url.is_some_and(|v0| v0)) && num(&f[60]) /* url_sms_24h */ >= 30.0) && num(&f[61]) /* distinct_sms_recipients_24h */ >= 25.0) && !(l.contains("allow_corporate_lines", e.subscriber.expose()) == Some(true))),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_url_sms_spread_1h",
            events: &[EventType::Sms],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Sms(b) => (((b.direction == Direction::Out && b.contains_url.is_some_and(|v0| v0)) && num(&f[29]) /* url_sms_1h */ >= 8.0) && num(&f[28]) /* distinct_sms_recipients_1h */ >= 8.0),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_victim_transfer_after_intl_call",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => ((b.method == PaymentMethod::Transfer && b.amount >= 500000_i64) && num(&f[31]) /* hours_since_long_international_inbound_call */ < 24.0_f64),
                _ => false,
            }),
        },
        NativeRule {
            id: "vph_victim_transfer_after_long_call",
            events: &[EventType::Payment],
            check: Box::new(|e, f, l, off| match &e.body {
                EventBody::Payment(b) => (((b.method == PaymentMethod::Transfer && b.amount >= 1000000_i64) && num(&f[32]) /* hours_since_long_inbound_call */ < 6.0_f64) && num(&f[31]) /* hours_since_long_international_inbound_call */ >= 24.0_f64),
                _ => false,
            }),
        },
    ]
}
