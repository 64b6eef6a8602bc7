//! The legit population, and new legit subscriptions.
//!
//! Each legit subscriber draws its own daily means, uniformly: 5-30 calls, 2-20 SMS and
//! 0-3 payments, so 7-53 events on an average day; plus a device change about once a
//! year (one in five to a second-hand handset another subscriber retired) and a SIM swap
//! (at a store, mostly) about once every two years. Activity follows
//! the KST daily rhythm (quiet 01:00-07:00, peaks at lunch and in the evening); 6 % are
//! night owls, busiest around midnight.
//!
//! Calls (58 % outbound) and SMS go mostly to a personal set of 20-80 contacts (30 % of
//! them subscribers of this carrier), some to business service numbers; calls last
//! 20-600 s, 3 % are long (600-3,600 s). 12 % of subscribers have someone abroad (US, JP,
//! CN or VN) who gets 3-15 % of their calls, lasting a few minutes; 2 % have their calls
//! forwarded now and then. Payments are carrier billing (40 %: digital content, games,
//! sometimes gift cards, 1,000-50,000 KRW), card (40 %: retail, transport, digital
//! content, sometimes gift cards, 1,000-150,000) or transfer (20 %: to one to four own
//! payees, 5,000-150,000); 3-5 % of card payments and transfers are larger, up to
//! 2,000,000.
//!
//! New subscriptions: about one identity per 2,000 subscribers a day opens a line (20 %
//! two, for the family), mostly at a store, usually with a handset on 24-month
//! instalments (a fifth of them flagships, as handset fraud buys); the new subscriber then
//! behaves like everyone else.

use crate::draft::{Body, Draft, Handset, Merchant, Number, Pay};
use crate::ids::{mix, Line};
use crate::rhythm::HOUR;
use crate::world::{World, EVERYDAY_HANDSETS, EVERYDAY_PLANS, FAMILY_ABROAD, FLAGSHIPS, SALES_POINTS};
use fds_core::{Channel, Direction, MerchantCategory, PaymentMethod};

/// Device changes per subscriber per day: about one a year.
const DEVICE_CHANGES_PER_DAY: f64 = 1.0 / 365.0;
/// SIM swaps per subscriber per day: about one every two years.
const SIM_SWAPS_PER_DAY: f64 = 1.0 / 730.0;
/// New legit identities per existing subscriber per day.
pub(crate) const SIGNUPS_PER_SUBSCRIBER_DAY: f64 = 1.0 / 2_000.0;
/// Business numbers (`1588xxxx`): delivery, banks, restaurants.
const SERVICE_NUMBERS: f64 = 300.0;

/// One legit subscriber. About 64 bytes: contacts, cards and payees are derived from
/// `key` and serial ranges rather than stored.
#[derive(Clone, Debug)]
pub(crate) struct Legit {
    pub(crate) line: Line,
    key: u64,
    calls_per_day: f32,
    sms_per_day: f32,
    payments_per_day: f32,
    pub(crate) night_owl: bool,
    forwards_calls: bool,
    contacts: u8,
    /// Share of calls to the one number abroad (0 for most).
    abroad_share: f32,
    abroad_place: u8,
    cards: u64,
    card_count: u8,
    payees: u64,
    payee_count: u8,
    /// The handset in use (an IMEI serial).
    pub(crate) imei: u64,
    cell: u16,
}

impl Legit {
    pub(crate) fn new(w: &mut World, line: Line, imei: u64) -> Legit {
        let key = mix(u64::from(line) ^ mix(w.below(u64::MAX)));
        let card_count = w.int(1, 2) as u8;
        let payee_count = w.int(1, 4) as u8;
        let has_abroad = w.chance(0.12);
        Legit {
            line,
            key,
            calls_per_day: w.uniform(5.0, 30.0) as f32,
            sms_per_day: w.uniform(2.0, 20.0) as f32,
            payments_per_day: w.uniform(0.0, 3.0) as f32,
            night_owl: w.chance(0.06),
            forwards_calls: w.chance(0.02),
            contacts: w.int(20, 80) as u8,
            abroad_share: if has_abroad { w.uniform(0.03, 0.15) as f32 } else { 0.0 },
            abroad_place: w.below(FAMILY_ABROAD.len() as u64) as u8,
            cards: w.ids.new_cards(u64::from(card_count)),
            card_count,
            payees: w.ids.new_accounts(u64::from(payee_count)),
            payee_count,
            imei,
            cell: w.below(50_000) as u16,
        }
    }

    /// Mean events per day.
    pub(crate) fn daily_rate(&self) -> f64 {
        f64::from(self.calls_per_day + self.sms_per_day + self.payments_per_day)
            + DEVICE_CHANGES_PER_DAY
            + SIM_SWAPS_PER_DAY
    }

    /// This subscriber's next event, at `at`.
    pub(crate) fn act(&mut self, w: &mut World, at: i64) -> Draft {
        let mut roll = w.unit() * self.daily_rate();
        let body = if roll < f64::from(self.calls_per_day) {
            self.call(w)
        } else {
            roll -= f64::from(self.calls_per_day);
            if roll < f64::from(self.sms_per_day) {
                self.sms(w)
            } else {
                roll -= f64::from(self.sms_per_day);
                if roll < f64::from(self.payments_per_day) {
                    self.payment(w)
                } else if roll - f64::from(self.payments_per_day) < DEVICE_CHANGES_PER_DAY {
                    self.device_change(w)
                } else {
                    sim_swap(w)
                }
            }
        };
        Draft::new(at, self.line, body)
    }

    /// Contact `k` of this subscriber's personal set.
    fn contact(&self, w: &World, k: u64) -> Number {
        let h = mix(self.key ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        match h % 100 {
            0..=29 if w.population > 0 => Number::Line((h >> 8) as u32 % w.population),
            0..=87 => Number::Mobile(((h >> 8) % 100_000_000) as u32),
            _ => Number::Landline(((h >> 8) % 100_000_000) as u32),
        }
    }

    /// A contact, favourites more often.
    fn someone(&self, w: &mut World) -> Number {
        let u = w.unit();
        let k = (f64::from(self.contacts) * u * u) as u64;
        self.contact(w, k)
    }

    fn abroad(&self) -> Number {
        let (prefix, digits, lead, country) =
            FAMILY_ABROAD[usize::from(self.abroad_place) % FAMILY_ABROAD.len()];
        let span = 10u64.pow(u32::from(digits) - 2);
        Number::Intl { prefix, national: lead + mix(self.key ^ 0xAB) % span, digits, country }
    }

    fn call(&self, w: &mut World) -> Body {
        let direction = if w.chance(0.58) { Direction::Out } else { Direction::In };
        let (other, duration_s) = if self.abroad_share > 0.0 && w.chance(f64::from(self.abroad_share)) {
            (self.abroad(), w.secs(60, 900))
        } else {
            let other = if w.chance(0.08) { service_number(w) } else { self.someone(w) };
            let duration_s =
                if w.chance(0.03) { w.secs(600, 3_600) } else { w.log_uniform(20.0, 600.0) as i64 };
            (other, duration_s)
        };
        let forwarded = (self.forwards_calls && direction == Direction::In && w.chance(0.5)).then_some(true);
        let cell = Some(self.cell.wrapping_add(w.below(20) as u16));
        Body::Call { other, direction, duration_s, forwarded, cell }
    }

    fn sms(&self, w: &mut World) -> Body {
        if w.chance(0.45) {
            let other = self.someone(w);
            Body::Sms { other, direction: Direction::Out, contains_url: w.chance(0.02) }
        } else if w.chance(0.25) {
            // Delivery notices, bank alerts, advertising.
            let other = service_number(w);
            Body::Sms { other, direction: Direction::In, contains_url: w.chance(0.4) }
        } else {
            let other = self.someone(w);
            Body::Sms { other, direction: Direction::In, contains_url: w.chance(0.05) }
        }
    }

    fn payment(&self, w: &mut World) -> Body {
        let roll = w.unit();
        let pay = if roll < 0.4 {
            let category = weighted(
                w,
                &[
                    (MerchantCategory::DigitalContent, 35.0),
                    (MerchantCategory::Game, 35.0),
                    (MerchantCategory::GiftCard, 10.0),
                    (MerchantCategory::Other, 20.0),
                ],
            );
            let amount = if category == MerchantCategory::GiftCard {
                w.pick(&[10_000, 30_000, 50_000])
            } else {
                w.krw(1_000.0, 50_000.0, 100)
            };
            Pay {
                amount,
                method: PaymentMethod::CarrierBilling,
                category,
                merchant: w.popular_merchant(category),
                card: None,
                account: None,
                imei: Some(self.imei),
                channel: if w.chance(0.7) { "app" } else { "web" },
            }
        } else if roll < 0.8 {
            let category = weighted(
                w,
                &[
                    (MerchantCategory::Retail, 50.0),
                    (MerchantCategory::Transport, 25.0),
                    (MerchantCategory::DigitalContent, 10.0),
                    (MerchantCategory::Other, 10.0),
                    (MerchantCategory::GiftCard, 5.0),
                ],
            );
            let amount = if w.chance(0.03) {
                w.krw(150_000.0, 2_000_000.0, 1_000)
            } else {
                w.krw(1_000.0, 150_000.0, 100)
            };
            Pay {
                amount,
                method: PaymentMethod::Card,
                category,
                merchant: w.popular_merchant(category),
                card: Some(self.cards + w.below(u64::from(self.card_count))),
                account: None,
                imei: None,
                channel: if w.chance(0.6) { "pos" } else { "online" },
            }
        } else {
            let amount = if w.chance(0.05) {
                w.krw(150_000.0, 2_000_000.0, 10_000)
            } else {
                w.krw(5_000.0, 150_000.0, 1_000)
            };
            Pay {
                amount,
                method: PaymentMethod::Transfer,
                category: MerchantCategory::Other,
                merchant: Merchant::Bank,
                card: None,
                account: Some(self.payees + w.below(u64::from(self.payee_count))),
                imei: None,
                channel: "app",
            }
        };
        Body::Payment(pay)
    }

    /// A new handset, or (one time in five) a second-hand one another legit subscriber
    /// retired; the old one goes on the second-hand market.
    fn device_change(&mut self, w: &mut World) -> Body {
        let used = if w.chance(0.2) { w.second_hand() } else { None };
        let imei = used.unwrap_or_else(|| w.ids.new_imei());
        let (model, _) = if w.chance(0.3) { w.pick(&FLAGSHIPS) } else { w.pick(&EVERYDAY_HANDSETS) };
        w.retire(self.imei);
        self.imei = imei;
        Body::DeviceChange { imei, model }
    }
}

fn sim_swap(w: &mut World) -> Body {
    let roll = w.unit();
    let channel = if roll < 0.85 {
        Channel::Store
    } else if roll < 0.95 {
        Channel::Online
    } else {
        Channel::Telemarketing
    };
    Body::SimSwap { channel, iccid: w.ids.new_iccid() }
}

fn service_number(w: &mut World) -> Number {
    let u = w.unit();
    Number::Service((SERVICE_NUMBERS * u * u) as u16)
}

/// One of `options` (a non-empty catalogue), in proportion to its weight.
fn weighted<T: Copy>(w: &mut World, options: &[(T, f64)]) -> T {
    let total: f64 = options.iter().map(|o| o.1).sum();
    let mut roll = w.unit() * total;
    let mut chosen = options[0].0;
    for &(value, weight) in options {
        chosen = value;
        if roll < weight {
            break;
        }
        roll -= weight;
    }
    chosen
}

/// A new legit identity opening one or two lines at `at`.
pub(crate) struct Signup {
    /// The subscription events.
    pub(crate) drafts: Vec<Draft>,
    /// The new subscribers and when each first acts.
    pub(crate) newcomers: Vec<(Legit, i64)>,
}

pub(crate) fn signup(w: &mut World, at: i64) -> Signup {
    let identity = w.ids.new_identity();
    let roll = w.unit();
    let channel = if roll < 0.7 {
        Channel::Store
    } else if roll < 0.85 {
        Channel::Online
    } else if roll < 0.95 {
        Channel::Agency
    } else {
        Channel::Telemarketing
    };
    let point = (channel != Channel::Online).then(|| w.below(u64::from(SALES_POINTS)) as u16);
    let lines = if w.chance(0.2) { 2 } else { 1 };
    let mut signup = Signup { drafts: Vec::new(), newcomers: Vec::new() };
    let mut opened = at;
    for _ in 0..lines {
        let line = w.ids.new_line();
        let imei = w.ids.new_imei();
        let handset = if channel != Channel::Online && w.chance(0.85) {
            let (_, price) = if w.chance(0.2) { w.pick(&FLAGSHIPS) } else { w.pick(&EVERYDAY_HANDSETS) };
            let months = weighted(w, &[(24, 75.0), (36, 15.0), (0, 10.0)]);
            Some(Handset { imei, price, months })
        } else {
            None
        };
        let plan = w.pick(&EVERYDAY_PLANS);
        signup.drafts.push(Draft::new(
            opened,
            line,
            Body::Subscription { identity, channel, point, handset, plan },
        ));
        let first = opened + w.secs(10 * 60, 3 * HOUR);
        signup.newcomers.push((Legit::new(w, line, imei), first));
        opened += w.secs(60, 20 * 60);
    }
    signup
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_stable_per_subscriber() {
        let mut w = World::new(5, 100, 1.0);
        let a = Legit::new(&mut w, 3, 3);
        assert_eq!(a.contact(&w, 7), a.contact(&w, 7));
        let distinct: std::collections::HashSet<Number> = (0..80).map(|k| a.contact(&w, k)).collect();
        assert!(distinct.len() > 70);
    }

    #[test]
    fn legit_rates_lie_in_the_documented_ranges() {
        let mut w = World::new(5, 100, 1.0);
        for line in 0..200 {
            let l = Legit::new(&mut w, line, u64::from(line));
            assert!((5.0..=30.0).contains(&l.calls_per_day));
            assert!((2.0..=20.0).contains(&l.sms_per_day));
            assert!((0.0..=3.0).contains(&l.payments_per_day));
            assert!((7.0..=54.0).contains(&l.daily_rate()));
        }
    }

    #[test]
    fn new_subscriptions_open_one_or_two_lines_for_one_identity() {
        let mut w = World::new(5, 100, 1.0);
        for i in 0..50 {
            let s = signup(&mut w, 1_772_377_200 + i * 1000);
            assert!(matches!(s.drafts.len(), 1 | 2));
            assert_eq!(s.drafts.len(), s.newcomers.len());
            for (d, (l, first)) in s.drafts.iter().zip(&s.newcomers) {
                assert_eq!(d.line, l.line);
                assert!(*first > d.at);
            }
        }
    }
}
