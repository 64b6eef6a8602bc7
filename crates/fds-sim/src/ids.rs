//! Identifiers the simulator hands out: subscriber numbers, identities, IMEIs, ICCIDs,
//! card and account numbers. Each kind is a counter passed through a seeded bijection, so
//! values never repeat within a kind yet look scattered, and a run with another seed
//! uses other numbers.

/// SplitMix64's finaliser: a cheap, well-mixed hash of a `u64`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A bijection on `0..modulus` (`modulus` a power of ten): `x * mul + add`, with `mul`
/// coprime to the modulus.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scatter {
    mul: u64,
    add: u64,
    modulus: u64,
}

impl Scatter {
    pub(crate) fn new(modulus: u64, salt: u64) -> Scatter {
        let mut mul = (mix(salt) % modulus) | 1;
        if mul.is_multiple_of(5) {
            // Odd and not a multiple of 5: coprime to every power of ten.
            mul += 2;
        }
        let add = mix(salt ^ 0x5DEE_CE66_D1CE_4E5B) % modulus;
        Scatter { mul, add, modulus }
    }

    pub(crate) fn apply(self, x: u64) -> u64 {
        let m = u128::from(self.modulus);
        let y = (u128::from(x % self.modulus) * u128::from(self.mul) + u128::from(self.add)) % m;
        // `y < modulus <= u64::MAX`.
        y as u64
    }
}

/// A line of this carrier: an index into the subscriber number space. Legit population
/// lines are `0..subscribers`; lines opened later take the next indices.
pub(crate) type Line = u32;

/// Counters and bijections for every kind of identifier.
pub(crate) struct Ids {
    lines: Scatter,
    next_line: u64,
    identities: Scatter,
    next_identity: u64,
    imeis: Scatter,
    next_imei: u64,
    iccids: Scatter,
    next_iccid: u64,
    cards: Scatter,
    next_card: u64,
    accounts: Scatter,
    next_account: u64,
}

const LINE_SPACE: u64 = 100_000_000;
const IDENTITY_SPACE: u64 = 10_000_000_000;
const IMEI_SPACE: u64 = 10_000_000_000_000;
const ICCID_SPACE: u64 = 10_000_000_000_000;
const CARD_SPACE: u64 = 1_000_000_000_000_000;
const ACCOUNT_SPACE: u64 = 100_000_000_000_000;

impl Ids {
    /// Identifiers for a run with `seed`, lines `0..population` being the legit population.
    pub(crate) fn new(seed: u64, population: u32) -> Ids {
        let salt = |kind: u64| mix(seed ^ kind.wrapping_mul(0xA24B_AED4_963E_E407));
        Ids {
            lines: Scatter::new(LINE_SPACE, salt(1)),
            next_line: u64::from(population),
            identities: Scatter::new(IDENTITY_SPACE, salt(2)),
            next_identity: 0,
            imeis: Scatter::new(IMEI_SPACE, salt(3)),
            // The legit population's handsets are serials 0..population.
            next_imei: u64::from(population),
            iccids: Scatter::new(ICCID_SPACE, salt(4)),
            next_iccid: 0,
            cards: Scatter::new(CARD_SPACE, salt(5)),
            next_card: 0,
            accounts: Scatter::new(ACCOUNT_SPACE, salt(6)),
            next_account: 0,
        }
    }

    pub(crate) fn new_line(&mut self) -> Line {
        let line = self.next_line % LINE_SPACE;
        self.next_line += 1;
        // `line < LINE_SPACE < u32::MAX`.
        line as Line
    }

    pub(crate) fn new_identity(&mut self) -> u64 {
        self.next_identity += 1;
        self.next_identity
    }

    pub(crate) fn new_imei(&mut self) -> u64 {
        self.next_imei += 1;
        self.next_imei
    }

    pub(crate) fn new_iccid(&mut self) -> u64 {
        self.next_iccid += 1;
        self.next_iccid
    }

    /// `n` consecutive new card serials; returns the first.
    pub(crate) fn new_cards(&mut self, n: u64) -> u64 {
        let first = self.next_card;
        self.next_card += n;
        first
    }

    /// `n` consecutive new account serials; returns the first.
    pub(crate) fn new_accounts(&mut self, n: u64) -> u64 {
        let first = self.next_account;
        self.next_account += n;
        first
    }

    /// The 8 digits after `010` of a line's number.
    pub(crate) fn line_digits(&self, line: Line) -> u64 {
        self.lines.apply(u64::from(line))
    }

    /// A Korean mobile number: `010` + 8 digits.
    pub(crate) fn msisdn(&self, line: Line) -> String {
        format!("010{:08}", self.line_digits(line))
    }

    pub(crate) fn identity(&self, serial: u64) -> String {
        format!("ID{:010}", self.identities.apply(serial))
    }

    /// 15 digits, starting with a GSMA reporting-body prefix.
    pub(crate) fn imei(&self, serial: u64) -> String {
        format!("35{:013}", self.imeis.apply(serial))
    }

    /// 19 digits: `89` (telecom), `82` (Korea), issuer `05`, then the serial.
    pub(crate) fn iccid(&self, serial: u64) -> String {
        format!("898205{:013}", self.iccids.apply(serial))
    }

    /// 16 digits.
    pub(crate) fn card(&self, serial: u64) -> String {
        format!("9{:015}", self.cards.apply(serial))
    }

    /// A bank account such as `088-123456-78901`: bank code, then the account number.
    pub(crate) fn account(&self, serial: u64) -> String {
        let v = self.accounts.apply(serial);
        format!("{:03}-{:06}-{:05}", self.bank(serial), (v / 100_000) % 1_000_000, v % 100_000)
    }

    /// The bank code (1..=99) of an account.
    pub(crate) fn bank(&self, serial: u64) -> u64 {
        self.accounts.apply(serial) / 100_000_000_000 % 99 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn scatter_is_a_bijection() {
        let s = Scatter::new(1_000, 42);
        let images: HashSet<u64> = (0..1_000).map(|x| s.apply(x)).collect();
        assert_eq!(images.len(), 1_000);
        assert!(images.iter().all(|&y| y < 1_000));
    }

    #[test]
    fn identifiers_have_the_contract_shapes() {
        let mut ids = Ids::new(9, 10);
        let line = ids.new_line();
        assert_eq!(line, 10);
        let n = ids.msisdn(line);
        assert!(n.starts_with("010") && n.len() == 11 && n.bytes().all(|b| b.is_ascii_digit()));
        let (imei, iccid, card, account, identity) =
            (ids.new_imei(), ids.new_iccid(), ids.new_cards(1), ids.new_accounts(1), ids.new_identity());
        assert_eq!(ids.imei(imei).len(), 15);
        assert_eq!(ids.iccid(iccid).len(), 19);
        assert_eq!(ids.card(card).len(), 16);
        let account = ids.account(account);
        assert_eq!(account.len(), 16);
        assert_eq!(&account[..3], &format!("{:03}", ids.bank(0)));
        assert_eq!(ids.identity(identity).len(), 12);
    }

    #[test]
    fn different_seeds_number_lines_differently() {
        assert_ne!(Ids::new(1, 5).msisdn(0), Ids::new(2, 5).msisdn(0));
    }
}
