//! Prometheus metrics: lock-free counters and fixed-bucket histograms, rendered in the
//! text exposition format. Small on purpose: the hot path only does atomic adds.

use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters keyed by one label value (rule id, path, ...). Labels are created on
/// first use; their number is bounded by the caller's vocabulary (rule ids, routes).
#[derive(Default, Debug)]
pub struct LabelledCounter(RwLock<BTreeMap<String, Counter>>);

impl LabelledCounter {
    pub fn inc(&self, label: &str) {
        if let Some(c) = self.0.read().get(label) {
            c.inc();
            return;
        }
        self.0.write().entry(label.to_string()).or_default().inc();
    }

    pub fn get(&self, label: &str) -> u64 {
        self.0.read().get(label).map_or(0, Counter::get)
    }

    pub fn snapshot(&self) -> Vec<(String, u64)> {
        self.0.read().iter().map(|(k, v)| (k.clone(), v.get())).collect()
    }
}

/// A histogram over fixed upper bounds (seconds).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// The sum in nanoseconds, so it can be kept in an integer atomic.
    sum_nanos: AtomicU64,
}

/// Latency buckets from 10 µs to 1 s.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0,
];

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, seconds: f64) {
        if let Some(i) = self.bounds.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The sum of the observed values, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
    }

    /// The upper bound of the bucket holding quantile `q` (0 to 1) of the observed
    /// values: at least that share of them is at or below it. `None` before any
    /// observation, and when the quantile lies beyond the largest bound.
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((count as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            if cumulative >= rank {
                return Some(*bound);
            }
        }
        None
    }

    /// Appends this histogram as `name` with optional extra labels (`path="/x"`).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Writes the `# HELP` / `# TYPE` header of a metric family.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value for the exposition format.
pub fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_renders_cumulative_buckets() {
        let h = Histogram::new(&[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.5);
        h.observe(5.0);
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "");
        assert!(out.contains("x_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(out.contains("x_seconds_bucket{le=\"1\"} 2\n"));
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(out.contains("x_seconds_count 3\n"));
    }

    #[test]
    fn a_quantile_is_bounded_by_the_bucket_it_falls_in() {
        let h = Histogram::new(LATENCY_BOUNDS);
        assert_eq!(h.quantile_bound(0.5), None, "nothing observed");
        for _ in 0..98 {
            h.observe(0.003); // the (2.5 ms, 5 ms] bucket
        }
        h.observe(0.04); // (25 ms, 50 ms]
        h.observe(3.0); // beyond 1 s
        assert_eq!(h.quantile_bound(0.5), Some(0.005));
        assert_eq!(h.quantile_bound(0.98), Some(0.005));
        assert_eq!(h.quantile_bound(0.99), Some(0.05));
        assert_eq!(h.quantile_bound(1.0), None, "the slowest is past every bound");
    }

    #[test]
    fn labelled_counters_count_per_label() {
        let c = LabelledCounter::default();
        c.inc("a");
        c.inc("a");
        c.inc("b");
        assert_eq!(c.snapshot(), vec![("a".to_string(), 2), ("b".to_string(), 1)]);
        assert_eq!(label_value("x\"y"), "x\\\"y");
    }
}
