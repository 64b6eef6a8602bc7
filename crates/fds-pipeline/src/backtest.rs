//! Backtests: replay stored events in event-time order through a fresh velocity
//! state, so every feature is what it was when the event happened, and score each
//! event of the window with the live pack and with a draft. The replay starts one
//! longest feature window before the backtest window so the first events of the
//! window see their full history. Suppressions do not apply (a backtest compares
//! packs); a decision's time is its event's time.

use fds_core::{Action, Decision, Event, Outcome, Timestamp};
use fds_features::{FeatureStore, InMemoryFeatures};
use fds_scoring::Scorer;
use fds_store::{Store, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Events read per page.
const PAGE: u32 = 5_000;

/// How the two packs fared on labelled events (an event is labelled by its own
/// label, else by a label on its subscriber).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelTally {
    /// Labelled events in the window: fraud, legit.
    pub fraud: u64,
    pub legit: u64,
    /// Fraud events reviewed or blocked (caught) by the live pack and the draft.
    pub caught_live: u64,
    pub caught_draft: u64,
    /// Legit events reviewed or blocked (false positives) by the live pack and the draft.
    pub false_positives_live: u64,
    pub false_positives_draft: u64,
}

/// What a backtest found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BacktestReport {
    /// Events replayed before the window to rebuild the features.
    pub warm_up_events: u64,
    /// Events of the window, scored by both packs.
    pub events: u64,
    /// Decisions by (live action, draft action), the changed ones where they differ.
    pub transitions: BTreeMap<(Action, Action), u64>,
    /// Subscribers the draft blocks at least once and the live pack never does.
    pub newly_blocked: u64,
    /// Subscribers the live pack blocks at least once and the draft never does.
    pub released: u64,
    /// Hits per rule id: (live, draft).
    pub rule_hits: BTreeMap<String, (u64, u64)>,
    pub labels: LabelTally,
    pub elapsed: Duration,
    /// Stopped before the end of the window.
    pub cancelled: bool,
}

impl BacktestReport {
    /// Decisions whose action the draft changes.
    pub fn changed(&self) -> u64 {
        self.transitions.iter().filter(|((a, b), _)| a != b).map(|(_, n)| n).sum()
    }

    /// Events of the window scored per second of the whole run (warm-up included).
    pub fn events_per_second(&self) -> f64 {
        (self.events + self.warm_up_events) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Where a running backtest is, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub warm_up_events: u64,
    pub events: u64,
    /// The event time reached.
    pub at: Timestamp,
}

/// Replays `[from, to)` (see the module docs). `progress` is called after every
/// page; setting `cancel` stops at the next page with the report so far.
/// `on_decision` sees every event of the window with its live and draft decisions.
pub async fn backtest(
    store: &dyn Store,
    (live, draft): (&Scorer, &Scorer),
    (from, to): (Timestamp, Timestamp),
    cancel: &AtomicBool,
    mut progress: impl FnMut(Progress),
    mut on_decision: impl FnMut(&Event, &Decision, &Decision),
) -> Result<BacktestReport, StoreError> {
    let started = Instant::now();
    let features = InMemoryFeatures::new(live.features().clone());
    let labels = Labels::load(store).await?;
    let mut report = BacktestReport::default();
    let mut blocked_live: HashSet<String> = HashSet::new();
    let mut blocked_draft: HashSet<String> = HashSet::new();
    let mut cursor = (from - live.features().longest_window(), String::new());
    'pages: loop {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        let page = store.events_after((cursor.0, &cursor.1), PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = (last.occurred_at, last.event_id.clone());
        for event in &page {
            if event.occurred_at >= to {
                break 'pages;
            }
            let values = features.observe(event);
            if event.occurred_at < from {
                report.warm_up_events += 1;
                continue;
            }
            report.events += 1;
            let at = event.occurred_at;
            let (a, b) = (live.score(event, &values, at), draft.score(event, &values, at));
            for (hits, scorer, slot) in [(&a.rule_hits, live, 0), (&b.rule_hits, draft, 1)] {
                for &i in hits {
                    let counts = report.rule_hits.entry(scorer.rules().rules()[i].id.clone()).or_default();
                    if slot == 0 {
                        counts.0 += 1;
                    } else {
                        counts.1 += 1;
                    }
                }
            }
            let (a, b) = (a.decision, b.decision);
            *report.transitions.entry((a.action, b.action)).or_default() += 1;
            let subscriber = event.subscriber.expose();
            if a.action == Action::Block {
                blocked_live.insert(subscriber.to_string());
            }
            if b.action == Action::Block {
                blocked_draft.insert(subscriber.to_string());
            }
            labels.tally(event, a.action, b.action, &mut report.labels);
            on_decision(event, &a, &b);
        }
        progress(Progress { warm_up_events: report.warm_up_events, events: report.events, at: cursor.0 });
        // Let the runtime run other tasks (a cancel request, a progress reader).
        tokio::task::yield_now().await;
    }
    report.newly_blocked = blocked_draft.difference(&blocked_live).count() as u64;
    report.released = blocked_live.difference(&blocked_draft).count() as u64;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Analysts' outcomes by event id and by subscriber.
struct Labels {
    events: HashMap<String, Outcome>,
    subscribers: HashMap<String, Outcome>,
}

impl Labels {
    async fn load(store: &dyn Store) -> Result<Labels, StoreError> {
        let mut labels = Labels { events: HashMap::new(), subscribers: HashMap::new() };
        // Newest first: the first label seen for an event or subscriber is the one that stands.
        for label in store.labels(u32::MAX).await? {
            if let Some(id) = label.event_id {
                labels.events.entry(id).or_insert(label.outcome);
            } else if let Some(subscriber) = label.subscriber {
                labels.subscribers.entry(subscriber.expose().to_string()).or_insert(label.outcome);
            }
        }
        Ok(labels)
    }

    fn tally(&self, event: &Event, live: Action, draft: Action, out: &mut LabelTally) {
        let outcome = self
            .events
            .get(&event.event_id)
            .or_else(|| self.subscribers.get(event.subscriber.expose()))
            .copied();
        let flagged = |a: Action| u64::from(a != Action::Allow);
        match outcome {
            Some(Outcome::Fraud) => {
                out.fraud += 1;
                out.caught_live += flagged(live);
                out.caught_draft += flagged(draft);
            }
            Some(Outcome::Legit) => {
                out.legit += 1;
                out.false_positives_live += flagged(live);
                out.false_positives_draft += flagged(draft);
            }
            None => {}
        }
    }
}
