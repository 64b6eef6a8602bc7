//! `[features]`: where the velocity features keep their state (env `FDS__FEATURES__*`).
//! `memory` (the default) keeps it in this process, for one replica; `redis` shares it
//! between every replica that scores (`fds serve` and `fds worker`), see `fds-redis`.

use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFeatures {
    /// `memory` (default) or `redis`.
    store: Option<String>,
    /// `redis://[user:password@]host:port[/db]`, required with `store = "redis"`.
    redis_url: Option<String>,
    /// Prefix of every key (default `fds:`): replicas sharing state share it.
    redis_prefix: Option<String>,
    /// How long an applied event id is remembered against redelivery (default 1h).
    dedupe_ttl: Option<crate::config::RawDuration>,
    /// Connect, read and write timeout of one Redis call in milliseconds (default 1000).
    redis_timeout_ms: Option<u64>,
}

/// Where the velocity state lives.
#[derive(Clone, Debug)]
pub(crate) enum FeatureBackend {
    /// This process only (single replica, demo, backtests).
    Memory,
    /// Shared by every replica on one Redis.
    Redis(fds_redis::RedisOptions),
}

impl FeatureBackend {
    pub(crate) fn from_raw(raw: RawFeatures, problems: &mut Vec<String>) -> FeatureBackend {
        match raw.store.as_deref().unwrap_or("memory") {
            "memory" => {
                if raw.redis_url.is_some() {
                    problems.push("features.redis_url: only used with features.store = \"redis\"".into());
                }
                FeatureBackend::Memory
            }
            "redis" => {
                let Some(url) = raw.redis_url else {
                    problems.push(
                        "features.redis_url: required with store = \"redis\" \
                         (FDS__FEATURES__REDIS_URL=redis://host:6379/0)"
                            .into(),
                    );
                    return FeatureBackend::Memory;
                };
                if !(url.starts_with("redis://")
                    || url.starts_with("rediss://")
                    || url.starts_with("redis+unix://"))
                {
                    problems.push(format!(
                        "features.redis_url: {:?} must start with redis://, rediss:// or redis+unix://",
                        fds_redis::redacted(&url)
                    ));
                }
                let mut options = fds_redis::RedisOptions::new(url);
                if let Some(prefix) = raw.redis_prefix {
                    options.prefix = prefix;
                }
                match raw.dedupe_ttl.map(crate::config::RawDuration::resolve) {
                    None => {}
                    Some(Ok(ttl)) if ttl >= Duration::from_secs(60) => options.seen_ttl = ttl,
                    Some(Ok(ttl)) => problems
                        .push(format!("features.dedupe_ttl: must be at least 1m, got {}s", ttl.as_secs())),
                    Some(Err(why)) => problems.push(format!("features.dedupe_ttl: {why}")),
                }
                match raw.redis_timeout_ms {
                    None => {}
                    Some(ms) if (1..=60_000).contains(&ms) => options.timeout = Duration::from_millis(ms),
                    Some(ms) => {
                        problems.push(format!("features.redis_timeout_ms: must be 1..60000, got {ms}"))
                    }
                }
                FeatureBackend::Redis(options)
            }
            other => {
                problems.push(format!("features.store: must be memory or redis, got {other:?}"));
                FeatureBackend::Memory
            }
        }
    }

    /// Whether several replicas share the state (and so the blocks must be shared too).
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self, FeatureBackend::Redis(_))
    }
}
