//! The velocity feature store on Redis: one state shared by every scoring replica.
//!
//! [`RedisFeatures`] implements [`FeatureStore`] with the same values as the in-memory
//! store for the same events: each entity's state is kept in Redis as the very words
//! `fds-features` packs in memory, an event is applied by a server-side Lua script that
//! ports `Entity::apply` (`fds_features::remote::APPLY_SCRIPT`), and the returned words
//! are read here by the same code the in-memory store reads with.
//!
//! # One round trip per event
//!
//! `observe` is one `EVALSHA`: the script marks the event id seen (`SET NX`), applies
//! the event to every entity it carries (at most five keys), refreshes their TTL and
//! returns their states. Scripts run atomically, so two replicas updating one entity at
//! once never lose an update, and a redelivered event (its id already seen, by this
//! replica or another) is only read: features never change twice for one event id while
//! its seen key lives (`seen_ttl`, an hour by default; the pipeline's own check against
//! the stored decisions covers anything older). The first call on a connection that
//! finds the script missing loads it (one extra round trip, once per server restart).
//!
//! # Memory
//!
//! Every key expires: an entity's state `entity_slack` (a day by default) after the
//! longest window or since-horizon of the spec once no event updated it, so idle
//! entities vanish on their own and [`FeatureStore::evict_idle`] has nothing to do (it
//! returns 0). The TTL runs on the server's clock, not event time: state is dropped
//! early only for an entity idle for longer than the TTL whose next event is older
//! than the slack, which live traffic never sends. A busy entity's state is bounded
//! as in memory (24 bucket entries per count / sum window, 64 values per distinct).
//!
//! # Keys
//!
//! `{prefix}{spec fingerprint}:{state format}:e:{kind}:{key hash}` for entity state and
//! `...:seen:{event id}` for seen ids. The key hash is an HMAC-SHA256 (128 bits) of the
//! entity key under [`RedisOptions::key_secret`], never the key itself: subscriber
//! numbers and cards do not reach Redis, and nobody without the secret can find whose
//! state a key holds by hashing every phone number. The fingerprint changes with the
//! feature spec, so replicas on a new spec start a fresh key space rather than misread
//! the old one, which expires. Distinct values inside a state are the in-memory store's
//! 32-bit fixed-seed hashes (`ahash`, pinned by `Cargo.lock`): replicas that share a
//! Redis must run the same build, as a rolling upgrade that changed that hash would
//! count a value seen before and after it twice, for a window's length.
//! Needs one Redis primary at a stable address (the client has no Sentinel or Cluster
//! support built in), not Redis Cluster: one event's entity keys lie in different slots.
//! Run it with persistence (AOF): nothing rebuilds a lost state from stored events.
//!
//! # Blocking
//!
//! The connections are blocking (`redis::Connection`, with read / write timeouts): the
//! trait is synchronous and scoring holds a lock around it. The pipeline calls it in
//! `tokio::task::block_in_place` ([`FeatureStore::is_remote`]), so a waiting call never
//! stalls the tasks of a reactor thread. Connections are pooled here: one is taken for
//! a call and put back, and a failed one is dropped.

use fds_core::{Event, FeatureValue, Timestamp};
use fds_features::remote::{RemoteEvent, RemotePlanner, STATE_FORMAT};
use fds_features::{FeatureSet, FeatureStore, StoreStats, Unavailable};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use sha2::Sha256;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// The purpose `fds` derives [`RedisOptions::key_secret`] for from the vault's index
/// key (`fds_vault::Vault::derive_key`): the same in every replica of one key ring.
pub const KEY_SECRET_PURPOSE: &str = "fds-redis/entity-keys";

/// How a [`RedisFeatures`] connects and keeps its keys.
#[derive(Clone)]
pub struct RedisOptions {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS where built).
    pub url: String,
    /// The secret entity keys are pseudonymised with (HMAC-SHA256): every replica
    /// sharing the state must use the same one; `fds` derives it from the vault's index
    /// key. Required (`connect` refuses an empty one); never shown by `Debug`.
    pub key_secret: Vec<u8>,
    /// Prepended to every key, e.g. `fds:` (a test isolates itself with its own).
    pub prefix: String,
    /// How long after the longest window an idle entity's state stays.
    pub entity_slack: Duration,
    /// How long an event id is remembered as applied.
    pub seen_ttl: Duration,
    /// Connect, read and write timeout of one call.
    pub timeout: Duration,
    /// Idle connections kept for reuse.
    pub pool: usize,
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redacted(&self.url))
            .field("key_secret", &"***")
            .field("prefix", &self.prefix)
            .field("entity_slack", &self.entity_slack)
            .field("seen_ttl", &self.seen_ttl)
            .field("timeout", &self.timeout)
            .field("pool", &self.pool)
            .finish()
    }
}

impl RedisOptions {
    /// Defaults for `url`: prefix `fds:`, a day of slack, an hour of seen ids, 1 s
    /// timeouts, 16 pooled connections; no key secret yet (set `key_secret`).
    pub fn new(url: impl Into<String>) -> RedisOptions {
        RedisOptions {
            url: url.into(),
            key_secret: Vec::new(),
            prefix: "fds:".into(),
            entity_slack: Duration::from_secs(86_400),
            seen_ttl: Duration::from_secs(3_600),
            timeout: Duration::from_secs(1),
            pool: 16,
        }
    }
}

/// `url` with any password replaced by `***`.
pub fn redacted(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((credentials, host)) = rest.rsplit_once('@') {
            let user = credentials.split(':').next().unwrap_or_default();
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.to_string()
}

/// Opening the store failed: a bad URL, or no Redis answering with scripting.
#[derive(Debug, thiserror::Error)]
#[error("redis at {url}: {reason}")]
pub struct ConnectError {
    pub url: String,
    pub reason: String,
}

/// The shared velocity store (see the crate docs).
pub struct RedisFeatures {
    planner: RemotePlanner,
    client: redis::Client,
    script: redis::Script,
    idle: Mutex<Vec<redis::Connection>>,
    /// `{prefix}{fingerprint}:{format}:`
    base: String,
    entity_ttl_ms: u64,
    seen_ttl_ms: u64,
    options: RedisOptions,
}

impl std::fmt::Debug for RedisFeatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFeatures")
            .field("features", &self.planner.set().len())
            .field("base", &self.base)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisFeatures {
    /// Connects, checks the server answers and loads the script: a Redis that is not
    /// there fails here, at start, not at the first event.
    pub fn connect(set: Arc<FeatureSet>, options: RedisOptions) -> Result<RedisFeatures, ConnectError> {
        let shown = redacted(&options.url);
        let fail = |reason: String| ConnectError { url: shown.clone(), reason };
        if options.key_secret.len() < 16 {
            return Err(fail(
                "a key secret of at least 16 bytes is required to pseudonymise entity keys".into(),
            ));
        }
        let client = redis::Client::open(options.url.as_str()).map_err(|e| fail(e.to_string()))?;
        let longest = set.longest_window().to_std().unwrap_or_default();
        let entity_ttl = longest + options.entity_slack;
        let base = format!("{}{:016x}:{}:", options.prefix, set.fingerprint(), STATE_FORMAT);
        let store = RedisFeatures {
            planner: RemotePlanner::new(set),
            client,
            script: redis::Script::new(fds_features::remote::APPLY_SCRIPT),
            idle: Mutex::new(Vec::new()),
            base,
            entity_ttl_ms: millis(entity_ttl),
            seen_ttl_ms: millis(options.seen_ttl).max(1),
            options,
        };
        let mut con = store.connection().map_err(|e| fail(e.0))?;
        let pong: String = redis::cmd("PING").query(&mut con).map_err(|e| fail(e.to_string()))?;
        if pong != "PONG" {
            return Err(fail(format!("PING answered {pong:?}")));
        }
        store.script.load(&mut con).map_err(|e| fail(format!("loading the feature script: {e}")))?;
        store.put_back(con);
        Ok(store)
    }

    pub fn set(&self) -> &Arc<FeatureSet> {
        self.planner.set()
    }

    /// The prefix of every key this store writes (spec fingerprint and format included).
    pub fn key_base(&self) -> &str {
        &self.base
    }

    fn connection(&self) -> Result<redis::Connection, Unavailable> {
        if let Some(con) = self.idle.lock().pop() {
            return Ok(con);
        }
        let unavailable =
            |e: redis::RedisError| Unavailable(format!("redis at {}: {e}", redacted(&self.options.url)));
        let con = self.client.get_connection_with_timeout(self.options.timeout).map_err(unavailable)?;
        con.set_read_timeout(Some(self.options.timeout)).map_err(unavailable)?;
        con.set_write_timeout(Some(self.options.timeout)).map_err(unavailable)?;
        Ok(con)
    }

    fn put_back(&self, con: redis::Connection) {
        let mut idle = self.idle.lock();
        if idle.len() < self.options.pool {
            idle.push(con);
        }
    }

    /// The Redis key of entity (`kind`, `key`): the key base and a keyed 128-bit hash
    /// of the entity key, so Redis never holds the key itself, nor a hash that anyone
    /// without the secret could reverse by trying every phone number.
    fn entity_key(&self, out: &mut String, kind: fds_core::EntityKind, key: &str) {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.options.key_secret)
            .expect("HMAC accepts a key of any length");
        mac.update(b"fds-redis/entity/v1\0");
        mac.update(&[kind as u8]);
        mac.update(key.as_bytes());
        let digest = mac.finalize().into_bytes();
        out.clear();
        let _ = write!(out, "{}e:{}:{}", self.base, kind as u8, hex::encode(&digest[..16]));
    }

    /// Applies (or only reads) `event` in one script call; the values and whether the
    /// event id had been applied before.
    fn run(&self, event: &Event, apply: bool) -> Result<(Vec<FeatureValue>, bool), Unavailable> {
        let plan = self.planner.plan(event, apply);
        let mut invocation = self.script.prepare_invoke();
        invocation.key(format!("{}seen:{}", self.base, event.event_id));
        let mut key = String::new();
        for entity in &plan.entities {
            // The plan holds only the entities the event carries.
            self.entity_key(&mut key, entity.kind, event.entity(entity.kind).unwrap_or_default());
            invocation.key(key.as_str());
        }
        invocation
            .arg(if apply { 1 } else { 0 })
            .arg(self.entity_ttl_ms)
            .arg(self.seen_ttl_ms)
            .arg(self.planner.strides());
        for entity in &plan.entities {
            invocation.arg(entity.changes.len() / 5);
            for &n in &entity.changes {
                invocation.arg(n);
            }
        }
        // A pooled connection the server has since closed fails at once: retry once on a
        // fresh one. Safe even if the first call was applied: its seen key makes the
        // retry a read.
        let mut retried = false;
        loop {
            let mut con = self.connection()?;
            match invocation.invoke::<Vec<redis::Value>>(&mut con) {
                Ok(reply) => {
                    self.put_back(con);
                    return self.read_reply(&plan, reply);
                }
                Err(e) if !retried && (e.is_connection_dropped() || e.is_io_error()) => retried = true,
                Err(e) => return Err(Unavailable(format!("redis at {}: {e}", redacted(&self.options.url)))),
            }
        }
    }

    fn read_reply(
        &self,
        plan: &RemoteEvent,
        reply: Vec<redis::Value>,
    ) -> Result<(Vec<FeatureValue>, bool), Unavailable> {
        let mut reply = reply.into_iter();
        let duplicate = match reply.next() {
            Some(redis::Value::Int(flag)) => flag == 1,
            other => return Err(Unavailable(format!("unexpected script reply {other:?}"))),
        };
        let mut states = Vec::with_capacity(plan.entities.len());
        for value in reply {
            match value {
                redis::Value::BulkString(bytes) => states.push(bytes),
                other => return Err(Unavailable(format!("unexpected entity state {other:?}"))),
            }
        }
        let values = self.planner.values(plan, &states).map_err(|e| Unavailable(e.to_string()))?;
        Ok((values, duplicate))
    }

    /// [`FeatureStore::try_observe`], also saying whether the event id had already been
    /// applied (then nothing changed, and the values are read as of now).
    pub fn observe_once(&self, event: &Event) -> Result<(Vec<FeatureValue>, bool), Unavailable> {
        self.run(event, true)
    }

    /// [`FeatureStore::peek`], reporting failures.
    pub fn try_peek(&self, event: &Event) -> Result<Vec<FeatureValue>, Unavailable> {
        self.run(event, false).map(|(values, _)| values)
    }

    /// The keys matching `pattern`, each once, by `SCAN`: a pass over the whole key
    /// space, for tests and operators, never the scoring path.
    fn scan(&self, pattern: &str) -> Result<Vec<String>, Unavailable> {
        let unavailable =
            |e: redis::RedisError| Unavailable(format!("redis at {}: {e}", redacted(&self.options.url)));
        let mut con = self.connection()?;
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1_000)
                .query(&mut con)
                .map_err(unavailable)?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        self.put_back(con);
        // SCAN may return a key more than once (while the server rehashes).
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// [`FeatureStore::stats`], reporting failures. `heap_bytes` counts the state
    /// bytes Redis holds for the values alone (its own per-key overhead excluded).
    pub fn try_stats(&self) -> Result<StoreStats, Unavailable> {
        let keys = self.scan(&format!("{}e:*", glob_escaped(&self.base)))?;
        let mut stats = StoreStats::default();
        let mut con = self.connection()?;
        for chunk in keys.chunks(500) {
            let states: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(chunk)
                .query(&mut con)
                .map_err(|e| Unavailable(format!("redis at {}: {e}", redacted(&self.options.url))))?;
            for state in states.into_iter().flatten() {
                stats.entities += 1;
                stats.windows += self.planner.windows_in(&state).map_err(|e| Unavailable(e.to_string()))?;
                stats.heap_bytes += state.len();
            }
        }
        self.put_back(con);
        Ok(stats)
    }

    /// Deletes every key under [`RedisFeatures::key_base`] (entity states and seen
    /// ids); returns how many. For tests and for an operator resetting the state.
    pub fn delete_all(&self) -> Result<usize, Unavailable> {
        let keys = self.scan(&format!("{}*", glob_escaped(&self.base)))?;
        let mut con = self.connection()?;
        for chunk in keys.chunks(500) {
            redis::cmd("UNLINK")
                .arg(chunk)
                .query::<i64>(&mut con)
                .map_err(|e| Unavailable(format!("redis at {}: {e}", redacted(&self.options.url))))?;
        }
        self.put_back(con);
        Ok(keys.len())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl FeatureStore for RedisFeatures {
    /// Panics when Redis cannot be reached: callers that can fail use
    /// [`FeatureStore::try_observe`] (the pipeline does).
    fn observe(&self, event: &Event) -> Vec<FeatureValue> {
        match self.try_observe(event) {
            Ok(values) => values,
            Err(e) => panic!("{e}"),
        }
    }

    /// Panics when Redis cannot be reached (see [`RedisFeatures::try_peek`]).
    fn peek(&self, event: &Event) -> Vec<FeatureValue> {
        match self.try_peek(event) {
            Ok(values) => values,
            Err(e) => panic!("{e}"),
        }
    }

    /// Nothing to do: every key expires by itself (see the crate docs). Returns 0.
    fn evict_idle(&self, _now: Timestamp) -> usize {
        0
    }

    /// Scans the key space (see [`RedisFeatures::try_stats`]); all zeros, with an
    /// error logged, when Redis cannot be reached.
    fn stats(&self) -> StoreStats {
        self.try_stats().unwrap_or_else(|e| {
            tracing::error!(error = %e, "velocity store stats unavailable");
            StoreStats::default()
        })
    }

    fn try_observe(&self, event: &Event) -> Result<Vec<FeatureValue>, Unavailable> {
        self.observe_once(event).map(|(values, _)| values)
    }

    fn is_remote(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_patterns_match_the_prefix_literally() {
        // A prefix with glob characters must not widen `delete_all` to other keys.
        assert_eq!(glob_escaped("fds:*[a]?\\"), "fds:\\*\\[a\\]\\?\\\\");
        assert_eq!(glob_escaped("fds:0123:1:"), "fds:0123:1:");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redacted("redis://fds:s3cret@host:6379/0"), "redis://fds:***@host:6379/0");
        assert_eq!(redacted("redis://host:6379"), "redis://host:6379");
        let shown = format!("{:?}", RedisOptions::new("redis://:s3cret@host/1"));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
