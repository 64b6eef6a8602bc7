//! Scheduled retention inside the long-running commands (`fds serve`, and any
//! other process that holds the store): runs the store's retention once at start
//! and then every `[retention] interval`, logs each report, and stops when its
//! shutdown future resolves.
//!
//! A run that fails is logged and retried at the next interval; a run cut short by
//! shutdown is safe to abandon, because the store removes rows in transactions (on
//! Postgres one per partition) and the next run continues with what is left.

use crate::config::RetentionSettings;
use fds_store::retention::{DECISIONS, EVENTS};
use fds_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// Runs the store's retention as `settings` say until `shutdown` resolves; returns
/// at once when scheduled retention is disabled. Spawn it beside the server.
pub(crate) async fn retention_task(
    store: Arc<dyn Store>,
    settings: RetentionSettings,
    shutdown: impl Future<Output = ()> + Send,
) {
    if !settings.enabled {
        tracing::info!("scheduled retention is disabled ([retention] enabled = false)");
        return;
    }
    tracing::info!(
        interval_secs = settings.interval.as_secs(),
        decisions_months = settings.policy.decisions_months,
        events_days = settings.policy.events_days,
        dry_run = settings.dry_run,
        "scheduled retention started"
    );
    let runs = every(settings.interval, shutdown, || run_once(store.as_ref(), &settings)).await;
    tracing::info!(runs, "scheduled retention stopped");
}

/// One retention run at the wall clock's now, its report logged.
async fn run_once(store: &dyn Store, settings: &RetentionSettings) {
    match store.retention(settings.policy, chrono::Utc::now(), settings.dry_run).await {
        Ok(report) => tracing::info!(
            dry_run = report.dry_run,
            decisions_cutoff = %report.decisions_cutoff,
            events_cutoff = %report.events_cutoff,
            decisions_removed = report.rows_removed(DECISIONS),
            events_removed = report.rows_removed(EVENTS),
            decisions_held = report.rows_held(DECISIONS),
            events_held = report.rows_held(EVENTS),
            partitions_dropped = report.partitions_dropped.len(),
            "retention run"
        ),
        Err(error) => {
            tracing::warn!(error = %error, "retention run failed; the next interval tries again")
        }
    }
}

/// Calls `job` at once and then every `interval` (measured from the start of one
/// run to the next; a run longer than the interval delays the next instead of
/// bunching them up) until `shutdown` resolves, also in the middle of a run, which
/// is then dropped. Returns how many runs finished.
pub(crate) async fn every<F, Fut>(interval: Duration, shutdown: impl Future<Output = ()>, mut job: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut finished = 0;
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => return finished,
            _ = ticker.tick() => {}
        }
        tokio::select! {
            biased;
            () = &mut shutdown => {
                tracing::info!("retention run interrupted by shutdown; the next run continues");
                return finished;
            }
            () = job() => finished += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;
    use tokio::time::Instant;

    const HOUR: Duration = Duration::from_secs(3600);

    /// Starts [`every`] with a job that records when it started (relative to the
    /// test's start) and takes `takes`; returns the records, the stop switch and the
    /// task.
    fn start(
        interval: Duration,
        takes: Duration,
    ) -> (Arc<starts::Log>, oneshot::Sender<()>, tokio::task::JoinHandle<u64>) {
        let log = Arc::new(starts::Log::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let begin = Instant::now();
        let task = tokio::spawn({
            let log = log.clone();
            async move {
                every(interval, async { drop(stopped.await) }, move || {
                    let log = log.clone();
                    async move {
                        log.push(Instant::now() - begin);
                        tokio::time::sleep(takes).await;
                    }
                })
                .await
            }
        });
        (log, stop, task)
    }

    /// Tiny shared log of start times (std only).
    mod starts {
        use std::sync::Mutex;
        use std::time::Duration;

        #[derive(Default)]
        pub(super) struct Log(Mutex<Vec<Duration>>);

        impl Log {
            pub(super) fn push(&self, at: Duration) {
                self.0.lock().expect("not poisoned").push(at);
            }

            pub(super) fn starts(&self) -> Vec<Duration> {
                self.0.lock().expect("not poisoned").clone()
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_job_runs_at_once_and_then_once_per_interval() {
        let (log, stop, task) = start(24 * HOUR, Duration::from_secs(5));

        tokio::time::sleep(24 * HOUR * 3 + HOUR).await;

        assert_eq!(log.starts(), [Duration::ZERO, 24 * HOUR, 48 * HOUR, 72 * HOUR]);
        stop.send(()).expect("the task is running");
        assert_eq!(task.await.expect("the task ends"), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_longer_than_the_interval_delays_the_next_instead_of_bunching_them() {
        let (log, stop, task) = start(HOUR, HOUR * 3 / 2);

        tokio::time::sleep(HOUR * 5).await;

        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(log.starts(), [Duration::ZERO, minutes(90), minutes(180), minutes(270)]);
        stop.send(()).expect("the task is running");
        task.await.expect("the task ends");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_the_schedule_also_in_the_middle_of_a_run() {
        let (log, stop, task) = start(HOUR, Duration::from_secs(600));
        tokio::time::sleep(HOUR + Duration::from_secs(60)).await;
        assert_eq!(log.starts().len(), 2, "the second run is under way");

        stop.send(()).expect("the task is running");

        assert_eq!(task.await.expect("the task ends"), 1, "only the first run finished");
        tokio::time::sleep(HOUR * 10).await;
        assert_eq!(log.starts().len(), 2, "nothing runs after shutdown");
    }

    #[tokio::test]
    async fn a_disabled_schedule_returns_without_running_or_waiting_for_shutdown() {
        let store: Arc<dyn Store> = Arc::new(
            fds_store::SqliteStore::open(
                "sqlite::memory:",
                Arc::new(fds_vault::Vault::new(fds_vault::KeyRing::generate_local())),
            )
            .await
            .expect("an in-memory store"),
        );
        let settings = RetentionSettings { enabled: false, ..RetentionSettings::default() };

        retention_task(store.clone(), settings, std::future::pending()).await;

        let audit = store.audit_records(0, 10).await.expect("the audit log reads");
        assert!(audit.is_empty(), "no retention.run record: nothing ran");
    }

    #[tokio::test]
    async fn an_enabled_schedule_runs_retention_at_start_and_stops_on_shutdown() {
        let store: Arc<dyn Store> = Arc::new(
            fds_store::SqliteStore::open(
                "sqlite::memory:",
                Arc::new(fds_vault::Vault::new(fds_vault::KeyRing::generate_local())),
            )
            .await
            .expect("an in-memory store"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(retention_task(store.clone(), RetentionSettings::default(), async {
            drop(stopped.await)
        }));

        // The first run appends its audit record; wait for it, then stop.
        let mut audit = Vec::new();
        for _ in 0..100_000 {
            audit = store.audit_records(0, 10).await.expect("the audit log reads");
            if !audit.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        stop.send(()).expect("the task is running");
        task.await.expect("the task ends");

        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].entry.action, fds_store::audit::actions::RETENTION_RUN);
    }
}
