//! The state every agent draws on: the one random stream, the identifiers, the legit
//! population's size, the victims already taken and the current mule account; plus
//! the catalogues (handsets, plans, merchants, countries) events are made of.

use crate::draft::{Merchant, Number};
use crate::ids::{Ids, Line};
use fds_core::MerchantCategory;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashSet, VecDeque};

/// Flagship handsets (model, price in KRW): what handset fraud finances, and what some
/// legit customers buy too.
pub(crate) const FLAGSHIPS: [(&str, i64); 6] = [
    ("SM-S938N", 1_698_400),
    ("SM-F966N", 2_379_300),
    ("SM-F766N", 1_485_000),
    ("SM-S936N", 1_353_000),
    ("A3296", 1_900_000),
    ("A3295", 1_550_000),
];

/// Mid-range and budget handsets (model, price in KRW).
pub(crate) const EVERYDAY_HANDSETS: [(&str, i64); 6] = [
    ("SM-A566N", 599_500),
    ("SM-A366N", 499_400),
    ("SM-A165N", 319_000),
    ("SM-S931N", 1_155_000),
    ("A3287", 990_000),
    ("SM-A256N", 449_900),
];

/// Plans: the first two are what a financed flagship usually requires.
pub(crate) const PREMIUM_PLANS: [&str; 2] = ["5G-premium", "5G-unlimited"];
pub(crate) const CHEAP_PLANS: [&str; 3] = ["LTE-basic", "prepaid-data", "5G-slim"];
pub(crate) const EVERYDAY_PLANS: [&str; 4] = ["5G-standard", "LTE-basic", "5G-slim", "5G-premium"];

pub(crate) const OTHER_CARRIERS: [&str; 3] = ["KT", "LG U+", "MVNO"];

/// Legit international contacts: (prefix, national digits, leading national digits,
/// country). US numbers use ordinary mainland area codes, never a Caribbean `+1 876`-style
/// code that sits on the IRSF hotlist.
pub(crate) const FAMILY_ABROAD: [(&str, u8, u64, &str); 4] = [
    ("1", 10, 2_120_000_000, "US"),
    ("81", 10, 9_000_000_000, "JP"),
    ("86", 11, 13_000_000_000, "CN"),
    ("84", 9, 900_000_000, "VN"),
];

/// Where voice-phishing call centres call from, or forward to, abroad.
pub(crate) const PHISHING_ABROAD: [(&str, u8, u64, &str); 3] =
    [("86", 11, 15_000_000_000, "CN"), ("63", 10, 9_000_000_000, "PH"), ("855", 8, 10_000_000, "KH")];

/// How many merchants each category has.
fn merchants_in(category: MerchantCategory) -> u16 {
    match category {
        MerchantCategory::GiftCard => 40,
        MerchantCategory::Game => 80,
        MerchantCategory::DigitalContent => 60,
        MerchantCategory::Transport => 12,
        MerchantCategory::Retail => 400,
        MerchantCategory::Other => 120,
    }
}

/// How many stores, agencies and telemarketing vendors sell lines.
pub(crate) const SALES_POINTS: u16 = 400;

pub(crate) struct World {
    rng: ChaCha8Rng,
    pub(crate) ids: Ids,
    /// The legit population present from the start: lines `0..population`.
    pub(crate) population: u32,
    /// Expected victims per voice-phishing actor.
    victims_per_actor: f64,
    victims_taken: HashSet<u32>,
    /// The mule account victims currently transfer to, and how many already did.
    mule: Option<(u64, u32)>,
    /// Handsets legit subscribers retired, for others to buy second-hand.
    retired: VecDeque<u64>,
    /// Seeds values derived by hash rather than drawn (shared number pools).
    pub(crate) salt: u64,
}

/// Retired handsets kept for the second-hand market; older ones are gone abroad.
const RETIRED_KEPT: usize = 1_000;

/// Victims sharing one mule account before the ring moves to a fresh one.
const VICTIMS_PER_MULE: u32 = 3;

impl World {
    pub(crate) fn new(seed: u64, population: u32, victims_per_actor: f64) -> World {
        World {
            rng: ChaCha8Rng::seed_from_u64(seed),
            ids: Ids::new(seed, population),
            population,
            victims_per_actor,
            victims_taken: HashSet::new(),
            mule: None,
            retired: VecDeque::new(),
            salt: crate::ids::mix(seed ^ 0x1F2E_3D4C_5B6A_7988),
        }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.rng.gen::<f64>()
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `lo..=hi` (`hi < lo` reads as `lo`).
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.gen_range(lo..=hi)
        }
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.rng.gen_range(0..n)
        }
    }

    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Log-uniform in `[lo, hi)`: as many values between 1,000 and 10,000 as between
    /// 10,000 and 100,000.
    pub(crate) fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo * (hi / lo).powf(self.unit())
    }

    /// Exponentially distributed with this mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// A whole number of seconds in `lo..=hi`.
    pub(crate) fn secs(&mut self, lo: i64, hi: i64) -> i64 {
        self.int(lo, hi)
    }

    /// One element of a non-empty catalogue.
    pub(crate) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.rng.gen_range(0..xs.len())]
    }

    /// An amount rounded to `step` KRW, at least `step`.
    pub(crate) fn krw(&mut self, lo: f64, hi: f64, step: i64) -> i64 {
        let x = self.log_uniform(lo, hi);
        ((x / step as f64).round() as i64).max(1) * step
    }

    /// A mobile number of someone (usually) outside this carrier.
    pub(crate) fn stranger(&mut self) -> Number {
        Number::Mobile(self.rng.gen_range(0..100_000_000))
    }

    /// A number abroad from one of `places`.
    pub(crate) fn abroad(&mut self, places: &[(&'static str, u8, u64, &'static str)]) -> Number {
        let (prefix, digits, lead, country) = self.pick(places);
        let span = 10u64.pow(u32::from(digits) - 2);
        Number::Intl { prefix, national: lead + self.below(span), digits, country }
    }

    /// A merchant of `category`, uniformly (fraud spreads over many merchants).
    pub(crate) fn any_merchant(&mut self, category: MerchantCategory) -> Merchant {
        let n = merchants_in(category);
        Merchant::Shop(self.rng.gen_range(0..n))
    }

    /// A merchant of `category`, popular ones more often (how legit customers shop).
    pub(crate) fn popular_merchant(&mut self, category: MerchantCategory) -> Merchant {
        let n = f64::from(merchants_in(category));
        let u = self.unit();
        Merchant::Shop((n * u * u) as u16)
    }

    /// A random line of the legit population, if there is one.
    pub(crate) fn random_legit(&mut self) -> Option<Line> {
        (self.population > 0).then(|| self.rng.gen_range(0..self.population))
    }

    /// The legit subscribers one voice-phishing actor defrauds: `victims_per_actor` on
    /// average, never the same subscriber twice in a run.
    pub(crate) fn victims_for_actor(&mut self) -> Vec<Line> {
        let whole = self.victims_per_actor.floor();
        let n = whole as usize + usize::from(self.chance(self.victims_per_actor - whole));
        let mut victims = Vec::with_capacity(n);
        for _ in 0..n {
            // A few tries: in a small population most subscribers may already be taken.
            for _ in 0..8 {
                match self.random_legit() {
                    Some(v) if self.victims_taken.insert(v) => {
                        victims.push(v);
                        break;
                    }
                    Some(_) => continue,
                    None => break,
                }
            }
        }
        victims
    }

    /// Puts a handset a legit subscriber stopped using on the second-hand market.
    pub(crate) fn retire(&mut self, imei: u64) {
        if self.retired.len() == RETIRED_KEPT {
            self.retired.pop_front();
        }
        self.retired.push_back(imei);
    }

    /// A second-hand handset, if any is on the market.
    pub(crate) fn second_hand(&mut self) -> Option<u64> {
        let i = self.below(self.retired.len() as u64) as usize;
        self.retired.swap_remove_back(i)
    }

    /// The mule account the next victim transfers to: a few victims share each one.
    pub(crate) fn mule_account(&mut self) -> u64 {
        match self.mule {
            Some((account, uses)) if uses < VICTIMS_PER_MULE => {
                self.mule = Some((account, uses + 1));
                account
            }
            _ => {
                let account = self.ids.new_accounts(1);
                self.mule = Some((account, 1));
                account
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_victims_share_a_mule_account() {
        let mut w = World::new(1, 100, 1.0);
        let accounts: Vec<u64> = (0..7).map(|_| w.mule_account()).collect();
        assert_eq!(accounts[0], accounts[2]);
        assert_ne!(accounts[2], accounts[3]);
        assert_eq!(accounts[3], accounts[5]);
    }

    #[test]
    fn a_retired_handset_is_sold_second_hand_once() {
        let mut w = World::new(1, 10, 0.0);
        assert_eq!(w.second_hand(), None);
        w.retire(7);
        assert_eq!(w.second_hand(), Some(7));
        assert_eq!(w.second_hand(), None);
        for imei in 0..(RETIRED_KEPT as u64 + 5) {
            w.retire(imei);
        }
        assert_eq!(w.retired.len(), RETIRED_KEPT);
        assert!(!w.retired.contains(&0), "the oldest handsets leave the market");
    }

    #[test]
    fn victims_are_distinct_legit_subscribers() {
        let mut w = World::new(1, 50, 2.0);
        let mut seen = HashSet::new();
        for _ in 0..10 {
            for v in w.victims_for_actor() {
                assert!(v < 50);
                assert!(seen.insert(v), "victim {v} chosen twice");
            }
        }
        assert!(seen.len() >= 15);
    }

    #[test]
    fn numbers_abroad_have_their_declared_length() {
        let mut w = World::new(4, 0, 0.0);
        for _ in 0..50 {
            let Number::Intl { national, digits, .. } = w.abroad(&FAMILY_ABROAD) else {
                panic!("not international");
            };
            assert!(national < 10u64.pow(u32::from(digits)));
            assert!(national >= 10u64.pow(u32::from(digits) - 1));
        }
    }
}
