//! One entity's feature state, packed, and the window maths.
//!
//! # Buckets
//!
//! A window of length `W` is cut into [`BUCKETS`] buckets of width `w = W / BUCKETS`,
//! aligned to the Unix epoch; bucket `b` holds events with `b*w <= t < (b+1)*w` (whole
//! seconds). A read at time `t` (bucket `r`) sees buckets `r-BUCKETS+1 ..= r`. So an
//! event `age` before the read is
//! - always counted when `age <= W * (BUCKETS-1) / BUCKETS`,
//! - never counted when `age >= W`,
//! - counted or not in between (at most one bucket width of error),
//!
//! and an event in a bucket after the read's is never counted; one in the same bucket
//! but later (only possible for out-of-order arrivals) is.
//!
//! Bucket numbers are `u32` and compared by wrapping difference, which is exact while
//! the entries of one window lie less than 2^31 buckets apart (centuries at the
//! smallest width, five seconds).
//!
//! # Layout
//!
//! An [`Entity`] keeps every window it has state for in one `Vec<u32>`, sorted by
//! feature index: per window a header word (`feature << 16 | entries`) followed by its
//! entries, only non-empty buckets:
//!
//! | agg | entry words |
//! |---|---|
//! | count | bucket, count |
//! | sum | bucket, sum (i64 as two words) |
//! | distinct | value hash, bucket last seen |
//! | since_last | latest, previous (µs, i64 as two words each) |
//! | since_first | earliest (µs, two words) |
//!
//! One allocation per entity, read in one linear pass: a count window with one busy
//! bucket takes 12 bytes.

use crate::spec::Agg;
use fds_core::{FeatureValue, Timestamp};
use std::mem::size_of;

/// Buckets per window: the window error is at most `W / BUCKETS` (5 minutes for 1 h,
/// 2 hours for 24 h) while a busy window costs at most `BUCKETS` small entries.
pub const BUCKETS: u32 = 12;

/// The most distinct values a `distinct` window remembers. The value saturates here:
/// a read reports `min(true distinct count, DISTINCT_CAP)` because the least recently
/// seen value gives way to a new one when the window is full.
pub const DISTINCT_CAP: usize = 64;

/// Count / sum windows keep at most this many entries: `BUCKETS` live ones plus room
/// for buckets ahead of the newest event (out-of-order arrivals).
const MAX_BUCKET_ENTRIES: usize = 2 * BUCKETS as usize;

/// "No timestamp" in since-windows.
const NONE: i64 = i64::MIN;

/// Per-feature numbers the window maths needs, precomputed from the spec.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    pub(crate) agg: Agg,
    /// Bucket width in seconds (count / sum / distinct).
    pub(crate) width_secs: i64,
    /// How long since-windows remember an event, in microseconds.
    pub(crate) horizon_us: i64,
    /// Microseconds per reported unit (since-windows).
    pub(crate) unit_micros: f64,
}

impl Params {
    /// Words per entry.
    pub(crate) fn stride(&self) -> usize {
        match self.agg {
            Agg::Count | Agg::Distinct | Agg::SinceFirst => 2,
            Agg::Sum => 3,
            Agg::SinceLast => 4,
        }
    }
}

/// An event time at the two resolutions windows use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At {
    secs: i64,
    micros: i64,
}

impl At {
    pub(crate) fn of(ts: Timestamp) -> At {
        At { secs: ts.timestamp(), micros: ts.timestamp_micros() }
    }

    pub(crate) fn micros(self) -> i64 {
        self.micros
    }

    pub(crate) fn bucket(self, p: &Params) -> u32 {
        // Truncation is intended: bucket numbers are compared by wrapping difference.
        self.secs.div_euclid(p.width_secs) as u32
    }
}

/// What one event adds to a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contribution {
    Count,
    Sum(i64),
    /// A value hash for `distinct`.
    Distinct(u32),
    /// The event's time for `since_*`.
    Time,
}

/// How many buckets `bucket` lies before `current` (negative: after it).
fn age(current: u32, bucket: u32) -> i32 {
    current.wrapping_sub(bucket) as i32
}

/// Whether a read in bucket `current` sees `bucket`.
fn visible(current: u32, bucket: u32) -> bool {
    (0..BUCKETS as i32).contains(&age(current, bucket))
}

/// Whether no read in `current` or later can see `bucket` any more.
fn expired(current: u32, bucket: u32) -> bool {
    age(current, bucket) >= BUCKETS as i32
}

fn join(hi: u32, lo: u32) -> i64 {
    (i64::from(hi as i32) << 32) | i64::from(lo)
}

pub(crate) fn split(v: i64) -> [u32; 2] {
    [(v >> 32) as u32, v as u32]
}

fn header(feature: u16, entries: usize) -> u32 {
    (u32::from(feature) << 16) | (entries as u32 & 0xffff)
}

fn feature_of(header: u32) -> u16 {
    (header >> 16) as u16
}

fn entries_of(header: u32) -> usize {
    (header & 0xffff) as usize
}

/// The heap a buffer of `len` `T`s takes, as glibc's malloc rounds it: the request plus
/// an 8-byte header, rounded up to 16, at least 32.
pub(crate) fn alloc_size<T>(len: usize) -> usize {
    let bytes = len * size_of::<T>();
    if bytes == 0 {
        0
    } else {
        ((bytes + 8).div_ceil(16) * 16).max(32)
    }
}

/// One entity's state: its windows, packed (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct Entity {
    words: Vec<u32>,
}

impl Entity {
    /// The entity whose packed state is `words` (a remote store's copy), checked to be
    /// windows of `params` in feature order that fill the buffer exactly.
    pub(crate) fn from_words(words: Vec<u32>, params: &[Params]) -> Result<Entity, String> {
        let mut pos = 0;
        let mut previous = None;
        while let Some(&h) = words.get(pos) {
            let f = feature_of(h);
            let Some(p) = params.get(usize::from(f)) else {
                return Err(format!("window of feature {f}, but the spec has {}", params.len()));
            };
            if previous.is_some_and(|g| g >= f) {
                return Err(format!("window of feature {f} out of order"));
            }
            previous = Some(f);
            pos += 1 + entries_of(h) * p.stride();
        }
        if pos != words.len() {
            return Err(format!("the last window runs {} words past the end", pos - words.len()));
        }
        Ok(Entity { words })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Heap bytes of the buffer.
    pub(crate) fn heap_bytes(&self) -> usize {
        alloc_size::<u32>(self.words.capacity())
    }

    /// `(header position, header)` of every window, in feature order.
    fn windows<'a>(&'a self, params: &'a [Params]) -> impl Iterator<Item = (usize, u32)> + 'a {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let h = *self.words.get(pos)?;
            let at = pos;
            pos += 1 + entries_of(h) * params[usize::from(feature_of(h))].stride();
            Some((at, h))
        })
    }

    /// How many windows hold state.
    pub(crate) fn window_count(&self, params: &[Params]) -> usize {
        self.windows(params).filter(|&(_, h)| entries_of(h) > 0).count()
    }

    /// Inserts `words` at `pos`. The buffer grows by half beyond the need, so a busy
    /// entity does not reallocate on every new bucket or window.
    fn insert(&mut self, pos: usize, words: &[u32]) {
        let (len, n) = (self.words.len(), words.len());
        if self.words.capacity() - len < n {
            self.words.reserve_exact(n + len / 2 + 4);
        }
        self.words.resize(len + n, 0);
        self.words.copy_within(pos..len, pos + n);
        self.words[pos..pos + n].copy_from_slice(words);
    }

    /// Appends one entry to the window whose header is at `pos`; returns its position.
    fn append(&mut self, pos: usize, stride: usize, entry: &[u32]) -> usize {
        let h = self.words[pos];
        let end = pos + 1 + entries_of(h) * stride;
        self.insert(end, entry);
        self.words[pos] = header(feature_of(h), entries_of(h) + 1);
        end
    }

    /// Applies `changes` (sorted by feature, at most one per feature), adding windows
    /// that do not exist yet.
    pub(crate) fn apply(&mut self, params: &[Params], at: At, changes: &[(u16, Contribution)]) {
        self.reserve_new_windows(params, changes);
        let mut pos = 0;
        for &(f, c) in changes {
            while let Some(&h) = self.words.get(pos) {
                if feature_of(h) >= f {
                    break;
                }
                pos += 1 + entries_of(h) * params[usize::from(feature_of(h))].stride();
            }
            let p = &params[usize::from(f)];
            if self.words.get(pos).is_some_and(|&h| feature_of(h) == f) {
                self.apply_at(pos, p, at, c);
            } else {
                let (words, n) = new_window(f, p, at, c);
                self.insert(pos, &words[..n]);
            }
        }
    }

    /// Makes room, in one reallocation, for the windows `changes` will add (a fresh
    /// entity gains a dozen or more at once).
    fn reserve_new_windows(&mut self, params: &[Params], changes: &[(u16, Contribution)]) {
        let mut needed = 0;
        {
            let mut windows = self.windows(params).map(|(_, h)| feature_of(h)).peekable();
            for &(f, _) in changes {
                while windows.next_if(|&g| g < f).is_some() {}
                if windows.peek() != Some(&f) {
                    needed += 1 + params[usize::from(f)].stride();
                }
            }
        }
        let len = self.words.len();
        if self.words.capacity() - len < needed {
            self.words.reserve_exact(needed + len / 2 + 4);
        }
    }

    /// Applies one contribution to the window whose header is at `pos`. A contribution
    /// of the wrong kind is ignored (the spec compiler never produces one).
    fn apply_at(&mut self, pos: usize, p: &Params, at: At, c: Contribution) {
        let stride = p.stride();
        let first = pos + 1;
        let n = entries_of(self.words[pos]);
        match (p.agg, c) {
            (Agg::Count, Contribution::Count) => {
                let r = at.bucket(p);
                let i = self.bucket_entry(pos, stride, r, &[r, 0]);
                self.words[i + 1] = self.words[i + 1].saturating_add(1);
            }
            (Agg::Sum, Contribution::Sum(v)) => {
                let r = at.bucket(p);
                let i = self.bucket_entry(pos, stride, r, &[r, 0, 0]);
                let total = join(self.words[i + 1], self.words[i + 2]).saturating_add(v);
                self.words[i + 1..i + 3].copy_from_slice(&split(total));
            }
            (Agg::Distinct, Contribution::Distinct(hash)) => self.add_distinct(pos, at.bucket(p), hash),
            (Agg::SinceLast, Contribution::Time) => {
                let t = at.micros;
                if n == 0 {
                    let ([t_hi, t_lo], [none_hi, none_lo]) = (split(t), split(NONE));
                    self.append(pos, stride, &[t_hi, t_lo, none_hi, none_lo]);
                    return;
                }
                let w = &mut self.words[first..first + 4];
                let (latest, previous) = (join(w[0], w[1]), join(w[2], w[3]));
                let (latest, previous) = if t > latest {
                    (t, latest)
                } else if t < latest && (previous == NONE || t > previous) {
                    (latest, t)
                } else {
                    (latest, previous)
                };
                w[..2].copy_from_slice(&split(latest));
                w[2..].copy_from_slice(&split(previous));
            }
            (Agg::SinceFirst, Contribution::Time) => {
                let t = at.micros;
                if n == 0 {
                    self.append(pos, stride, &split(t));
                    return;
                }
                let w = &mut self.words[first..first + 2];
                let earliest = join(w[0], w[1]);
                // An earliest event beyond the horizon reads as never; restarting from
                // this one keeps values the same whether or not eviction dropped it.
                if t < earliest || t - earliest > p.horizon_us {
                    w.copy_from_slice(&split(t));
                }
            }
            _ => {}
        }
    }

    /// The position of the entry for bucket `r` in the count / sum window at `pos`,
    /// made from `fresh` when absent: an expired entry is reused first, then the window
    /// grows, and at the entry limit the oldest gives way.
    fn bucket_entry(&mut self, pos: usize, stride: usize, r: u32, fresh: &[u32]) -> usize {
        let n = entries_of(self.words[pos]);
        let entries = (pos + 1..pos + 1 + n * stride).step_by(stride);
        if let Some(i) = entries.clone().find(|&i| self.words[i] == r) {
            return i;
        }
        let i = match entries.clone().find(|&i| expired(r, self.words[i])) {
            Some(i) => i,
            None if n < MAX_BUCKET_ENTRIES => return self.append(pos, stride, fresh),
            None => entries.max_by_key(|&i| age(r, self.words[i])).unwrap_or(pos + 1),
        };
        self.words[i..i + stride].copy_from_slice(fresh);
        i
    }

    fn add_distinct(&mut self, pos: usize, r: u32, hash: u32) {
        let n = entries_of(self.words[pos]);
        let entries = (pos + 1..pos + 1 + n * 2).step_by(2);
        if let Some(i) = entries.clone().find(|&i| self.words[i] == hash) {
            if age(r, self.words[i + 1]) > 0 {
                self.words[i + 1] = r;
            }
            return;
        }
        let slot = match entries.clone().find(|&i| expired(r, self.words[i + 1])) {
            Some(i) => i,
            None if n < DISTINCT_CAP => {
                self.append(pos, 2, &[hash, r]);
                return;
            }
            // Full: the least recently seen value gives way, unless every value was
            // seen after this (late) event.
            None => match entries.max_by_key(|&i| age(r, self.words[i + 1])) {
                Some(i) if age(r, self.words[i + 1]) >= 0 => i,
                _ => return,
            },
        };
        self.words[slot] = hash;
        self.words[slot + 1] = r;
    }

    /// Writes the value of every window this entity has into `out` (indexed by feature),
    /// as of `at`, ignoring state from after `at` where the state can tell.
    pub(crate) fn read(&self, params: &[Params], at: At, out: &mut [FeatureValue]) {
        for (pos, h) in self.windows(params) {
            let f = usize::from(feature_of(h));
            let p = &params[f];
            let entries = &self.words[pos + 1..pos + 1 + entries_of(h) * p.stride()];
            out[f] = read_window(p, at, entries);
        }
    }

    /// Drops what no read at `now` or later can see, compacting in place; gives memory
    /// back when over a third of the buffer is spare.
    pub(crate) fn prune(&mut self, params: &[Params], now: At) {
        let (mut read, mut write) = (0, 0);
        while let Some(&h) = self.words.get(read) {
            let f = feature_of(h);
            let p = &params[usize::from(f)];
            let stride = p.stride();
            let first = read + 1;
            read = first + entries_of(h) * stride;
            let mut kept = 0;
            for entry in (first..read).step_by(stride) {
                if keeps(p, now, &self.words[entry..entry + stride]) {
                    self.words.copy_within(entry..entry + stride, write + 1 + kept * stride);
                    kept += 1;
                }
            }
            if kept > 0 {
                self.words[write] = header(f, kept);
                write += 1 + kept * stride;
            }
        }
        self.words.truncate(write);
        if self.words.is_empty() || self.words.capacity() > self.words.len() + self.words.len() / 2 + 4 {
            self.words.shrink_to_fit();
        }
    }
}

/// The words of a new window for feature `f` holding just `c`, and how many there are
/// (none for a contribution of the wrong kind, which the spec compiler never produces).
fn new_window(f: u16, p: &Params, at: At, c: Contribution) -> ([u32; 5], usize) {
    let one = header(f, 1);
    let [t_hi, t_lo] = split(at.micros);
    match (p.agg, c) {
        (Agg::Count, Contribution::Count) => ([one, at.bucket(p), 1, 0, 0], 3),
        (Agg::Sum, Contribution::Sum(v)) => {
            let [hi, lo] = split(v);
            ([one, at.bucket(p), hi, lo, 0], 4)
        }
        (Agg::Distinct, Contribution::Distinct(hash)) => ([one, hash, at.bucket(p), 0, 0], 3),
        (Agg::SinceLast, Contribution::Time) => {
            let [none_hi, none_lo] = split(NONE);
            ([one, t_hi, t_lo, none_hi, none_lo], 5)
        }
        (Agg::SinceFirst, Contribution::Time) => ([one, t_hi, t_lo, 0, 0], 3),
        _ => ([0; 5], 0),
    }
}

/// Whether a read at `now` or later can still see `entry`.
fn keeps(p: &Params, now: At, entry: &[u32]) -> bool {
    match p.agg {
        Agg::Count | Agg::Sum => !expired(now.bucket(p), entry[0]),
        Agg::Distinct => !expired(now.bucket(p), entry[1]),
        Agg::SinceLast | Agg::SinceFirst => {
            now.micros.saturating_sub(join(entry[0], entry[1])) <= p.horizon_us
        }
    }
}

fn read_window(p: &Params, at: At, entries: &[u32]) -> FeatureValue {
    match p.agg {
        Agg::Count => {
            let r = at.bucket(p);
            let n: u64 = entries.chunks_exact(2).filter(|e| visible(r, e[0])).map(|e| u64::from(e[1])).sum();
            FeatureValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
        }
        Agg::Sum => {
            let r = at.bucket(p);
            let total = entries
                .chunks_exact(3)
                .filter(|e| visible(r, e[0]))
                .fold(0i64, |acc, e| acc.saturating_add(join(e[1], e[2])));
            FeatureValue::Int(total)
        }
        Agg::Distinct => {
            let r = at.bucket(p);
            let n = entries.chunks_exact(2).filter(|e| visible(r, e[1])).count();
            FeatureValue::Int(i64::try_from(n).unwrap_or(i64::MAX))
        }
        Agg::SinceLast => {
            let [a, b, c, d] = entries else { return FeatureValue::NEVER };
            let (latest, previous) = (join(*a, *b), join(*c, *d));
            let t = at.micros;
            let last = if latest <= t {
                latest
            } else if previous != NONE && previous <= t {
                previous
            } else {
                NONE
            };
            elapsed(p, last, t)
        }
        Agg::SinceFirst => {
            let [a, b] = entries else { return FeatureValue::NEVER };
            let earliest = join(*a, *b);
            let first = if earliest <= at.micros { earliest } else { NONE };
            elapsed(p, first, at.micros)
        }
    }
}

/// Elapsed time from `from` to `t` in the feature's unit; never when there is no `from`
/// or it lies beyond the horizon.
fn elapsed(p: &Params, from: i64, t: i64) -> FeatureValue {
    if from == NONE {
        return FeatureValue::NEVER;
    }
    let us = t.saturating_sub(from);
    if us > p.horizon_us {
        FeatureValue::NEVER
    } else {
        FeatureValue::Float(us as f64 / p.unit_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Params for feature 0 with a `window_secs` window (90-day horizon, hours).
    fn params(agg: Agg, window_secs: i64) -> [Params; 1] {
        [Params {
            agg,
            width_secs: (window_secs / i64::from(BUCKETS)).max(1),
            horizon_us: 90 * 86_400 * 1_000_000,
            unit_micros: 3_600_000_000.0,
        }]
    }

    /// `secs` after a base time that lies 200 s past a 300-second bucket edge.
    fn at(secs: i64) -> At {
        At::of(chrono::Utc.timestamp_opt(1_790_000_000 + secs, 0).single().expect("valid"))
    }

    fn apply(e: &mut Entity, p: &[Params], secs: i64, c: Contribution) {
        e.apply(p, at(secs), &[(0, c)]);
    }

    fn read(e: &Entity, p: &[Params], secs: i64) -> FeatureValue {
        let mut out = [FeatureValue::Int(-1)];
        e.read(p, at(secs), &mut out);
        out[0]
    }

    fn int(v: FeatureValue) -> i64 {
        match v {
            FeatureValue::Int(n) => n,
            FeatureValue::Float(f) => panic!("expected an integer, got {f}"),
        }
    }

    #[test]
    fn two_words_hold_any_i64() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 10_000_000_000, -10_000_000_000] {
            let [hi, lo] = split(v);
            assert_eq!(join(hi, lo), v);
        }
    }

    #[test]
    fn counts_older_than_the_window_drop_out_at_bucket_edges() {
        // 1 h window: 300 s buckets.
        let p = params(Agg::Count, 3_600);
        let mut e = Entity::default();
        let edge = 300 - 1_790_000_000 % 300; // `at(edge)` starts a bucket
        apply(&mut e, &p, edge, Contribution::Count);
        assert_eq!(int(read(&e, &p, edge)), 1);
        assert_eq!(int(read(&e, &p, edge + 11 * 300 + 299)), 1, "still inside the last bucket");
        assert_eq!(int(read(&e, &p, edge + 12 * 300)), 0, "a full window later");
        assert_eq!(int(read(&e, &p, edge - 1)), 0, "a read before the event does not see it");
    }

    #[test]
    fn expired_buckets_are_reused_before_the_buffer_grows() {
        let p = params(Agg::Count, 3_600);
        let mut e = Entity::default();
        for i in 0..100 {
            apply(&mut e, &p, i * 300, Contribution::Count);
        }
        assert!(e.words.len() <= 1 + 2 * BUCKETS as usize, "{} words", e.words.len());
        assert_eq!(int(read(&e, &p, 99 * 300)), 12);
    }

    #[test]
    fn sums_add_up_per_bucket() {
        let p = params(Agg::Sum, 3_600);
        let mut e = Entity::default();
        apply(&mut e, &p, 0, Contribution::Sum(10_000_000_000));
        apply(&mut e, &p, 1, Contribution::Sum(5));
        apply(&mut e, &p, 400, Contribution::Sum(7));
        assert_eq!(int(read(&e, &p, 400)), 10_000_000_012);
        assert_eq!(e.words.len(), 1 + 2 * 3);
    }

    #[test]
    fn distinct_saturates_at_the_cap_and_keeps_the_latest_values() {
        let p = params(Agg::Distinct, 3_600);
        let mut e = Entity::default();
        for v in 0..100u32 {
            apply(&mut e, &p, i64::from(v), Contribution::Distinct(v));
        }
        assert_eq!(int(read(&e, &p, 100)), DISTINCT_CAP as i64);
        assert_eq!(e.words.len(), 1 + 2 * DISTINCT_CAP);
        // Re-seeing a value that gave way counts it afresh, still capped.
        apply(&mut e, &p, 101, Contribution::Distinct(0));
        assert_eq!(int(read(&e, &p, 101)), DISTINCT_CAP as i64);
        // A value seen again is one value.
        apply(&mut e, &p, 102, Contribution::Distinct(0));
        assert_eq!(int(read(&e, &p, 102)), DISTINCT_CAP as i64);
    }

    #[test]
    fn since_last_reads_the_latest_event_at_or_before_the_read() {
        let p = params(Agg::SinceLast, 0);
        let mut e = Entity::default();
        assert_eq!(read(&e, &p, 0), FeatureValue::Int(-1), "no window, nothing written");
        apply(&mut e, &p, 0, Contribution::Time);
        apply(&mut e, &p, 7_200, Contribution::Time);
        assert_eq!(read(&e, &p, 10_800), FeatureValue::Float(1.0));
        assert_eq!(read(&e, &p, 3_600), FeatureValue::Float(1.0), "a late read sees the previous one");
        assert_eq!(read(&e, &p, -1), FeatureValue::NEVER);
        // A late arrival between the two becomes the previous one.
        apply(&mut e, &p, 5_400, Contribution::Time);
        assert_eq!(read(&e, &p, 6_000), FeatureValue::Float(600.0 / 3_600.0));
    }

    #[test]
    fn since_first_forgets_beyond_the_horizon_and_restarts() {
        let p = params(Agg::SinceFirst, 0);
        let day = 86_400;
        let mut e = Entity::default();
        apply(&mut e, &p, 0, Contribution::Time);
        assert_eq!(read(&e, &p, 90 * day), FeatureValue::Float(90.0 * 24.0));
        assert_eq!(read(&e, &p, 90 * day + 1), FeatureValue::NEVER);
        apply(&mut e, &p, 100 * day, Contribution::Time);
        assert_eq!(read(&e, &p, 100 * day), FeatureValue::Float(0.0));
        // An earlier late arrival becomes the earliest.
        apply(&mut e, &p, 99 * day, Contribution::Time);
        assert_eq!(read(&e, &p, 100 * day), FeatureValue::Float(24.0));
    }

    #[test]
    fn windows_stay_sorted_by_feature_and_apart() {
        let p = [params(Agg::Count, 3_600)[0], params(Agg::Sum, 3_600)[0], params(Agg::SinceLast, 0)[0]];
        let mut e = Entity::default();
        e.apply(&p, at(0), &[(2, Contribution::Time)]);
        e.apply(&p, at(0), &[(0, Contribution::Count), (1, Contribution::Sum(4))]);
        e.apply(&p, at(400), &[(0, Contribution::Count), (1, Contribution::Sum(6)), (2, Contribution::Time)]);
        let features: Vec<u16> = e.windows(&p).map(|(_, h)| feature_of(h)).collect();
        assert_eq!(features, vec![0, 1, 2]);
        let mut out = [FeatureValue::Int(0); 3];
        e.read(&p, at(400), &mut out);
        assert_eq!(out, [FeatureValue::Int(2), FeatureValue::Int(10), FeatureValue::Float(0.0)]);
        assert_eq!(e.window_count(&p), 3);
    }

    #[test]
    fn pruning_compacts_what_no_later_read_can_see() {
        let p = [params(Agg::Sum, 3_600)[0], params(Agg::Count, 600)[0]];
        let mut e = Entity::default();
        e.apply(&p, at(0), &[(0, Contribution::Sum(5)), (1, Contribution::Count)]);
        e.apply(&p, at(1_800), &[(0, Contribution::Sum(7))]);
        e.prune(&p, at(3_600));
        assert_eq!(e.window_count(&p), 1, "the 10-minute window is gone");
        let mut out = [FeatureValue::Int(0); 2];
        e.read(&p, at(3_600), &mut out);
        assert_eq!(out, [FeatureValue::Int(7), FeatureValue::Int(0)]);
        e.prune(&p, at(1_800 + 3_600));
        assert!(e.is_empty());
        assert_eq!(e.heap_bytes(), 0);
    }

    #[test]
    fn allocation_sizes_follow_malloc_rounding() {
        assert_eq!(alloc_size::<u8>(0), 0);
        assert_eq!(alloc_size::<u8>(1), 32);
        assert_eq!(alloc_size::<u32>(6), 32);
        assert_eq!(alloc_size::<u32>(7), 48);
    }
}
