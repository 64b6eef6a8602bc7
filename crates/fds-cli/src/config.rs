//! Configuration: built-in defaults → optional TOML file (`--config`) → `FDS__SECTION__KEY`
//! environment variables. The raw layers are parsed per section, then validated into a
//! typed [`Config`]; every problem is reported at once. The environment is passed in,
//! so tests never touch the process environment.

use anyhow::Context as _;
use fds_scoring::ScoringConfig;
use fds_store::RetentionPolicy;
use fds_vault::KeyRing;
use fds_web::{ApiKeys, Degraded};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated configuration.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) store_url: String,
    pub(crate) api_keys: Secret<Vec<String>>,
    pub(crate) deadline: Duration,
    pub(crate) on_deadline: Degraded,
    pub(crate) rules_dir: PathBuf,
    pub(crate) scoring: ScoringConfig,
    pub(crate) log: LogConfig,
    /// The PII vault's keys (`Debug` shows key ids only, never key material).
    pub(crate) vault: KeyRing,
    /// `[kafka]`: what `fds worker` consumes and where it publishes.
    pub(crate) kafka: crate::kafka_config::KafkaSettings,
    /// `[retention]`: the retention schedule of the long-running commands.
    pub(crate) retention: RetentionSettings,
    /// `[models]`: how the model registry is followed.
    pub(crate) models: crate::model_config::ModelSettings,
    /// `[console]`: the analyst console's cookies and session timeouts.
    pub(crate) console: fds_web::console::ConsoleConfig,
    /// `[features]`: where the velocity state lives (this process, or Redis).
    pub(crate) features: crate::features_config::FeatureBackend,
}

impl Config {
    pub(crate) fn keys(&self) -> ApiKeys {
        ApiKeys::new(&self.api_keys.0)
    }

    /// What the console's settings page shows of `fds serve`'s configuration: the
    /// effective values, secrets hidden (the API keys counted, the store password
    /// replaced, the vault's key ids only).
    pub(crate) fn settings_lines(&self) -> Vec<(String, String)> {
        let secs = |d: Duration| format!("{}s", d.as_secs());
        let vault_ids: Vec<&str> = self.vault.key_ids().map(|id| id.as_str()).collect();
        vec![
            ("server.listen".into(), self.listen.to_string()),
            ("store.url".into(), redacted_url(&self.store_url)),
            ("api.keys".into(), format!("{} configured (hidden)", self.api_keys.0.len())),
            ("api.deadline_ms".into(), self.deadline.as_millis().to_string()),
            (
                "api.on_deadline".into(),
                match self.on_deadline {
                    Degraded::Allow => "allow".into(),
                    Degraded::Error => "error".into(),
                },
            ),
            ("rules.dir".into(), self.rules_dir.display().to_string()),
            ("log.level".into(), self.log.level.clone()),
            ("log.json".into(), self.log.json.to_string()),
            ("vault.active_key".into(), self.vault.active_key_id().as_str().to_string()),
            ("vault.keys".into(), format!("{} (key material hidden)", vault_ids.join(", "))),
            ("retention.enabled".into(), self.retention.enabled.to_string()),
            ("retention.interval".into(), secs(self.retention.interval)),
            ("retention.dry_run".into(), self.retention.dry_run.to_string()),
            ("models.poll_every".into(), secs(self.models.poll_every)),
            ("models.drift_every".into(), secs(self.models.drift_every)),
            ("models.psi_alert".into(), self.models.psi_alert.to_string()),
            ("console.secure_cookies".into(), self.console.secure_cookies.to_string()),
            ("console.idle_timeout".into(), secs(self.console.idle_timeout)),
            ("console.absolute_timeout".into(), secs(self.console.absolute_timeout)),
        ]
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub(crate) fn redacted_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((credentials, host)) = rest.rsplit_once('@') {
            let user = credentials.split(':').next().unwrap_or_default();
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.to_string()
}

/// A secret whose `Debug` is redacted.
#[derive(Clone)]
pub(crate) struct Secret<T>(pub(crate) T);

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogConfig {
    pub(crate) json: bool,
    pub(crate) level: String,
}

/// `[server]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    /// Address the HTTP API listens on, e.g. `127.0.0.1:8080` (`0.0.0.0:8080` in a container).
    listen: Option<String>,
}

/// `[store]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// `sqlite://path/file.db` (embedded default) or, later, `postgres://...`.
    url: Option<String>,
}

/// `[api]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawApi {
    /// API keys for machine clients: a list, or one comma-separated string (env).
    keys: Option<Keys>,
    /// Deadline for `POST /v1/score`, in milliseconds.
    deadline_ms: Option<u64>,
    /// What a request past its deadline gets: `allow` (fail open) or `error` (fail closed).
    on_deadline: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Keys {
    List(Vec<String>),
    Joined(String),
}

/// `[rules]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    /// The rule library directory (with `features.toml` and `lists/`).
    dir: Option<PathBuf>,
}

/// `[log]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    /// `text` (default) or `json` (production).
    format: Option<String>,
    /// A tracing filter, e.g. `info` or `fds_pipeline=debug,info`.
    level: Option<String>,
}

/// `[vault]`: the PII vault's keys (a k8s Secret in production, never the database).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVault {
    /// The id of the data key that encrypts new values.
    active_key: Option<String>,
    /// Every data key, `id = key` (a table) or `"id:key,id:key"` (env); 32 bytes as
    /// 64 hex digits or base64.
    keys: Option<VaultKeys>,
    /// The separate blind-index key (32 bytes, hex or base64).
    index_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VaultKeys {
    Table(std::collections::BTreeMap<String, String>),
    Joined(String),
}

/// The validated key ring of `[vault]`; its problems are added to `problems`
/// (never with key material).
fn key_ring(raw: RawVault, problems: &mut Vec<String>) -> Option<KeyRing> {
    let (Some(active), Some(keys), Some(index_key)) = (raw.active_key, raw.keys, raw.index_key) else {
        problems.push(
            "vault: active_key, keys and index_key are required (FDS__VAULT__ACTIVE_KEY, \
             FDS__VAULT__KEYS=id:key,id:key, FDS__VAULT__INDEX_KEY)"
                .into(),
        );
        return None;
    };
    let pairs: Vec<(String, String)> = match keys {
        VaultKeys::Table(table) => table.into_iter().collect(),
        VaultKeys::Joined(joined) => {
            let mut pairs = Vec::new();
            for (i, entry) in joined.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
                match entry.split_once(':') {
                    Some((id, key)) => pairs.push((id.trim().to_string(), key.trim().to_string())),
                    None => problems.push(format!("vault.keys[{i}]: expected id:key")),
                }
            }
            pairs
        }
    };
    match KeyRing::from_config(&active, pairs, &index_key) {
        Ok(ring) => Some(ring),
        Err(e) => {
            problems.extend(e.problems.into_iter().map(|p| format!("vault: {p}")));
            None
        }
    }
}

/// The retention schedule of the long-running commands (`fds serve`): whether it
/// runs, how often, the policy, and whether runs only report (dry run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RetentionSettings {
    pub(crate) enabled: bool,
    pub(crate) interval: Duration,
    pub(crate) policy: RetentionPolicy,
    pub(crate) dry_run: bool,
}

impl Default for RetentionSettings {
    /// Daily, with the one-year policy (12 full months of decisions plus the
    /// current one, 90 days of events), really removing.
    fn default() -> Self {
        RetentionSettings {
            enabled: true,
            interval: Duration::from_secs(24 * 3600),
            policy: RetentionPolicy::default(),
            dry_run: false,
        }
    }
}

/// `[retention]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    /// Run retention inside the process (default true).
    enabled: Option<bool>,
    /// Time between runs: `24h` (default), `30m`, `1h30m`, `7d`, or seconds as a number.
    interval: Option<RawDuration>,
    /// Full months of decisions kept besides the current one (default 12).
    decisions_months: Option<i64>,
    /// Days of events (the data mart) kept (default 90).
    events_days: Option<i64>,
    /// Only log what would be removed (default false).
    dry_run: Option<bool>,
}

/// A duration: seconds as a number, or text such as `24h` ([`parse_duration`]).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDuration {
    Seconds(i64),
    Text(String),
}

impl RawDuration {
    pub(crate) fn resolve(self) -> Result<Duration, String> {
        match self {
            RawDuration::Seconds(n) => {
                u64::try_from(n).map(Duration::from_secs).map_err(|_| format!("{n} is negative"))
            }
            RawDuration::Text(text) => parse_duration(&text),
        }
    }
}

/// The shortest and longest retention interval: more often than every minute only
/// loads the database; less often than yearly defeats the policy.
const RETENTION_INTERVAL: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(366 * 24 * 3600));

/// The validated `[retention]` section; its problems are added to `problems`.
fn retention_settings(raw: RawRetention, problems: &mut Vec<String>) -> RetentionSettings {
    let mut settings = RetentionSettings::default();
    if let Some(enabled) = raw.enabled {
        settings.enabled = enabled;
    }
    if let Some(dry_run) = raw.dry_run {
        settings.dry_run = dry_run;
    }
    let interval = raw.interval.map_or(Ok(settings.interval), RawDuration::resolve);
    match interval {
        Ok(interval) if (RETENTION_INTERVAL.0..=RETENTION_INTERVAL.1).contains(&interval) => {
            settings.interval = interval
        }
        Ok(interval) => problems
            .push(format!("retention.interval: must be between 1m and 366d, got {}s", interval.as_secs())),
        Err(why) => problems.push(format!("retention.interval: {why}")),
    }
    let mut bounded =
        |name: &str, value: Option<i64>, range: std::ops::RangeInclusive<i64>, into: &mut u32| {
            let Some(value) = value else { return };
            match u32::try_from(value) {
                Ok(v) if range.contains(&value) => *into = v,
                _ => problems.push(format!(
                    "retention.{name}: must be {}..={}, got {value}",
                    range.start(),
                    range.end()
                )),
            }
        };
    bounded("decisions_months", raw.decisions_months, 1..=1200, &mut settings.policy.decisions_months);
    bounded("events_days", raw.events_days, 1..=36_500, &mut settings.policy.events_days);
    settings
}

/// A duration written as a sequence of `<number><unit>` with units `s`, `m`, `h`
/// and `d`: `24h`, `90m`, `1h30m`, `7d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("{text:?} is not a duration such as 24h, 30m, 1h30m or 7d");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(invalid()),
        };
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        digits.clear();
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(invalid)?;
    }
    if !digits.is_empty() {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

/// All problems found in a configuration.
#[derive(Debug)]
pub(crate) struct ConfigErrors(pub(crate) Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problem(s)):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

const SECTIONS: [&str; 12] = [
    "server",
    "store",
    "api",
    "rules",
    "scoring",
    "log",
    "vault",
    "kafka",
    "retention",
    "models",
    "console",
    "features",
];

/// Values that `env` overrides are written in: numbers and booleans as such, anything
/// else as a string.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(f) = raw.parse::<f64>() {
        toml::Value::Float(f)
    } else if let Ok(b) = raw.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(raw.to_string())
    }
}

pub(crate) fn section<T: DeserializeOwned + Default>(
    table: &toml::Table,
    name: &str,
    problems: &mut Vec<String>,
) -> T {
    match table.get(name) {
        None => T::default(),
        Some(value) => match value.clone().try_into::<T>() {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("[{name}]: {}", e.message().trim()));
                T::default()
            }
        },
    }
}

impl Config {
    /// Loads the layers: `file` (if any) then the `FDS__*` entries of `env`.
    pub(crate) fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut problems = Vec::new();
        let table = layers(file, env, &mut problems);

        let server: RawServer = section(&table, "server", &mut problems);
        let store: RawStore = section(&table, "store", &mut problems);
        let api: RawApi = section(&table, "api", &mut problems);
        let rules: RawRules = section(&table, "rules", &mut problems);
        let scoring: ScoringConfig = section(&table, "scoring", &mut problems);
        let log: RawLog = section(&table, "log", &mut problems);
        let vault: RawVault = section(&table, "vault", &mut problems);
        let retention = retention_settings(section(&table, "retention", &mut problems), &mut problems);
        let models = crate::model_config::ModelSettings::from_raw(
            section(&table, "models", &mut problems),
            &mut problems,
        );
        let kafka = crate::kafka_config::KafkaSettings::from_raw(
            section(&table, "kafka", &mut problems),
            &mut problems,
        );
        let console =
            crate::console_config::console_settings(section(&table, "console", &mut problems), &mut problems);
        let features = crate::features_config::FeatureBackend::from_raw(
            section(&table, "features", &mut problems),
            &mut problems,
        );

        let listen_text = server.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!("server.listen: {listen_text:?} is not an address such as 127.0.0.1:8080"));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });

        let store_url = store_url(store, &mut problems);

        let keys: Vec<String> = match api.keys {
            None => Vec::new(),
            Some(Keys::List(list)) => list,
            Some(Keys::Joined(s)) => s.split(',').map(|k| k.trim().to_string()).collect(),
        };
        if keys.is_empty() {
            problems.push("api.keys: at least one API key is required (FDS__API__KEYS=key1,key2)".into());
        }
        for (i, k) in keys.iter().enumerate() {
            if k.len() < 16 {
                problems.push(format!("api.keys[{i}]: keys must be at least 16 characters"));
            }
        }

        let deadline_ms = api.deadline_ms.unwrap_or(250);
        if !(1..=60_000).contains(&deadline_ms) {
            problems.push(format!("api.deadline_ms: must be 1..60000, got {deadline_ms}"));
        }
        let on_deadline = match api.on_deadline.as_deref().unwrap_or("allow") {
            "allow" => Degraded::Allow,
            "error" => Degraded::Error,
            other => {
                problems.push(format!("api.on_deadline: must be allow or error, got {other:?}"));
                Degraded::Allow
            }
        };

        problems.extend(scoring.problems());

        let json = match log.format.as_deref().unwrap_or("text") {
            "text" => false,
            "json" => true,
            other => {
                problems.push(format!("log.format: must be text or json, got {other:?}"));
                false
            }
        };

        let vault = key_ring(vault, &mut problems);

        let (Some(vault), true) = (vault, problems.is_empty()) else {
            return Err(ConfigErrors(problems));
        };
        Ok(Config {
            listen,
            store_url,
            api_keys: Secret(keys),
            deadline: Duration::from_millis(deadline_ms),
            on_deadline,
            rules_dir: rules.dir.unwrap_or_else(|| PathBuf::from("rules")),
            scoring,
            log: LogConfig { json, level: log.level.unwrap_or_else(|| "info".into()) },
            vault,
            kafka,
            retention,
            models,
            console,
            features,
        })
    }
}

/// The configuration table: `file` (if any), then the `FDS__*` entries of `env`;
/// problems (unreadable file, bad keys, unknown sections) are added to `problems`.
pub(crate) fn layers(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<String>,
) -> toml::Table {
    let mut table = match file {
        None => toml::Table::new(),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text.parse::<toml::Table>().unwrap_or_else(|e| {
                problems.push(format!("{}: {}", path.display(), e.message()));
                toml::Table::new()
            }),
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                toml::Table::new()
            }
        },
    };
    for (key, value) in env {
        let Some(rest) = key.strip_prefix("FDS__") else { continue };
        let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        let [section, field] = parts.as_slice() else {
            problems.push(format!("{key}: expected FDS__SECTION__KEY"));
            continue;
        };
        let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(Default::default()));
        match entry.as_table_mut() {
            Some(t) => {
                // Keys stay strings even when they look like numbers.
                let value = if section == "vault" { toml::Value::String(value) } else { env_value(&value) };
                t.insert(field.clone(), value);
            }
            None => problems.push(format!("{key}: [{section}] is not a section")),
        }
    }
    for name in table.keys() {
        if !SECTIONS.contains(&name.as_str()) {
            problems.push(format!("unknown section [{name}]; known: {}", SECTIONS.join(", ")));
        }
    }
    table
}

/// The validated `store.url` (default: `sqlite://data/fds.db`).
fn store_url(store: RawStore, problems: &mut Vec<String>) -> String {
    let store_url = store.url.unwrap_or_else(|| "sqlite://data/fds.db".into());
    if !(store_url.starts_with("sqlite:")
        || store_url.starts_with("postgres://")
        || store_url.starts_with("postgresql://"))
    {
        problems.push(format!(
            "store.url: {:?} must start with sqlite:// or postgres://",
            redacted_url(&store_url)
        ));
    }
    store_url
}

/// The store URL and the vault keys alone, from the same layers as
/// [`Config::load`], for commands that only open the store (`fds migrate`, `fds
/// audit verify`, `fds retention`): they need no API keys, but the vault keys are
/// required. The whole table is still checked for unknown sections and env keys,
/// and `[store]` and `[vault]` for unknown fields.
pub(crate) fn load_store(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(String, KeyRing), ConfigErrors> {
    let mut problems = Vec::new();
    let table = layers(file, env, &mut problems);
    let store: RawStore = section(&table, "store", &mut problems);
    let vault: RawVault = section(&table, "vault", &mut problems);
    let url = store_url(store, &mut problems);
    let vault = key_ring(vault, &mut problems);
    match (vault, problems.is_empty()) {
        (Some(vault), true) => Ok((url, vault)),
        _ => Err(ConfigErrors(problems)),
    }
}

/// Runs `work` on the store named by `config` and the FDS__ variables, in a runtime of
/// its own; a configuration problem is printed and gives exit code 2.
pub(crate) fn with_store(
    config: Option<&std::path::Path>,
    work: impl AsyncFnOnce(&dyn fds_store::Store) -> anyhow::Result<std::process::ExitCode>,
) -> anyhow::Result<std::process::ExitCode> {
    let (url, keys) = match load_store(config, std::env::vars()) {
        Ok(store) => store,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(std::process::ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = fds_store::open(&url, std::sync::Arc::new(fds_vault::Vault::new(keys)))
            .await
            .with_context(|| format!("opening the store at {}", redacted_url(&url)))?;
        work(store.as_ref()).await
    })
}

/// What a batch command that scores needs (`fds import`): the store and its vault
/// keys, the rule library and the scoring settings, exactly as `fds serve` reads
/// them, without the API's own settings.
pub(crate) struct ScoringSetup {
    pub(crate) store_url: String,
    pub(crate) vault: KeyRing,
    pub(crate) rules_dir: PathBuf,
    pub(crate) scoring: ScoringConfig,
}

pub(crate) fn load_scoring(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<ScoringSetup, ConfigErrors> {
    let mut problems = Vec::new();
    let table = layers(file, env, &mut problems);
    let store: RawStore = section(&table, "store", &mut problems);
    let vault: RawVault = section(&table, "vault", &mut problems);
    let rules: RawRules = section(&table, "rules", &mut problems);
    let scoring: ScoringConfig = section(&table, "scoring", &mut problems);
    problems.extend(scoring.problems());
    let store_url = store_url(store, &mut problems);
    let vault = key_ring(vault, &mut problems);
    match (vault, problems.is_empty()) {
        (Some(vault), true) => Ok(ScoringSetup {
            store_url,
            vault,
            rules_dir: rules.dir.unwrap_or_else(|| PathBuf::from("rules")),
            scoring,
        }),
        _ => Err(ConfigErrors(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Valid test vault keys (not secret: tests only).
    const VAULT: [(&str, &str); 3] = [
        ("FDS__VAULT__ACTIVE_KEY", "k1"),
        (
            "FDS__VAULT__KEYS",
            "k0:0000000000000000000000000000000000000000000000000000000000000000,\
             k1:1111111111111111111111111111111111111111111111111111111111111111",
        ),
        ("FDS__VAULT__INDEX_KEY", "2222222222222222222222222222222222222222222222222222222222222222"),
    ];

    /// `pairs` and the test vault keys.
    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        VAULT.iter().chain(pairs).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn vault_keys_are_read_from_env_and_never_shown() {
        let config = Config::load(None, env(&[("FDS__API__KEYS", "env-key-0123456789")])).expect("valid");
        assert_eq!(config.vault.active_key_id().as_str(), "k1");
        assert_eq!(config.vault.key_ids().map(|id| id.as_str()).collect::<Vec<_>>(), ["k0", "k1"]);
        let shown = format!("{config:?}");
        assert!(!shown.contains("1111111111") && !shown.contains("2222222222"), "{shown}");
    }

    #[test]
    fn the_settings_page_lines_hide_every_secret() {
        let config = Config::load(
            None,
            env(&[
                ("FDS__API__KEYS", "env-key-0123456789,env-key-9876543210"),
                ("FDS__STORE__URL", "postgres://fds:s3cret@db:5432/fds"),
            ]),
        )
        .expect("valid");
        let lines = config.settings_lines();
        let shown = format!("{lines:?}");
        for secret in ["env-key-0123456789", "s3cret", "1111111111", "2222222222"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        let value = |key: &str| lines.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(value("api.keys"), Some("2 configured (hidden)"));
        assert_eq!(value("store.url"), Some("postgres://fds:***@db:5432/fds"));
        assert_eq!(value("vault.active_key"), Some("k1"));
    }

    #[test]
    fn vault_keys_come_from_a_file_table_too() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            file,
            "[api]\nkeys = [\"file-key-0123456789\"]\n[vault]\nactive_key = \"a\"\nindex_key = \"{}\"\n[vault.keys]\na = \"{}\"",
            "3".repeat(64),
            "4".repeat(64)
        )
        .expect("write");
        let config = Config::load(Some(file.path()), Vec::new()).expect("valid");
        assert_eq!(config.vault.active_key_id().as_str(), "a");
    }

    #[test]
    fn missing_or_bad_vault_keys_are_listed_with_the_other_problems() {
        let empty: Vec<(String, String)> = Vec::new();
        let errors = Config::load(None, empty).expect_err("no keys");
        let text = errors.to_string();
        assert!(text.contains("vault: active_key, keys and index_key are required"), "{text}");
        assert!(text.contains("api.keys"), "{text}");
        let bad = [
            ("FDS__VAULT__ACTIVE_KEY", "k9"),
            ("FDS__VAULT__KEYS", "k1:tooshort"),
            ("FDS__VAULT__INDEX_KEY", "5555555555555555555555555555555555555555555555555555555555555555"),
        ];
        let errors =
            load_store(None, bad.iter().map(|(k, v)| (k.to_string(), v.to_string()))).expect_err("bad keys");
        let text = errors.to_string();
        assert!(text.contains("vault: data key \"k1\""), "{text}");
        assert!(text.contains("vault: active key id \"k9\""), "{text}");
        assert!(!text.contains("tooshort"), "{text}");
    }

    #[test]
    fn env_overrides_file_and_defaults() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "[server]\nlisten = \"127.0.0.1:9000\"\n[api]\nkeys = [\"file-key-0123456789\"]\n[scoring]\nblock_at = 90").expect("write");
        let config = Config::load(
            Some(file.path()),
            env(&[
                ("FDS__SERVER__LISTEN", "0.0.0.0:7000"),
                ("FDS__API__KEYS", "env-key-0123456789,env-key-9876543210"),
                ("HOME", "/root"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.listen.to_string(), "0.0.0.0:7000");
        assert_eq!(config.api_keys.0, vec!["env-key-0123456789", "env-key-9876543210"]);
        assert_eq!(config.scoring.block_at, 90.0);
        assert_eq!(config.scoring.review_at, 40.0);
        assert_eq!(config.store_url, "sqlite://data/fds.db");
        assert!(!format!("{config:?}").contains("env-key"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = Config::load(
            None,
            env(&[
                ("FDS__SERVER__LISTEN", "nowhere"),
                ("FDS__STORE__URL", "mysql://x"),
                ("FDS__API__KEYS", "short"),
                ("FDS__SCORING__REVIEW_AT", "90"),
                ("FDS__SCORING__BLOCK_AT", "50"),
                ("FDS__API__COLOUR", "blue"),
                ("FDS__NOPE__X", "1"),
            ]),
        )
        .expect_err("invalid");
        let text = errors.to_string();
        for expected in [
            "unknown section [nope]",
            "[api]: unknown field `colour`",
            "server.listen: \"nowhere\"",
            "store.url: \"mysql://x\"",
            "scoring.review_at (90) must not exceed scoring.block_at (50)",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redacted_url("postgres://fds:s3cret@db:5432/fds"), "postgres://fds:***@db:5432/fds");
        assert_eq!(redacted_url("sqlite://data/fds.db"), "sqlite://data/fds.db");
        let errors =
            Config::load(None, env(&[("FDS__STORE__URL", "mysql://u:s3cret@h/db")])).expect_err("invalid");
        assert!(!errors.to_string().contains("s3cret"));
    }

    #[test]
    fn keys_are_required() {
        let errors = Config::load(None, env(&[])).expect_err("no api keys");
        assert!(errors.to_string().contains("api.keys: at least one API key is required"));
    }

    #[test]
    fn the_store_url_alone_needs_no_api_keys() {
        let (url, _) = load_store(None, env(&[("FDS__STORE__URL", "sqlite://x/fds.db")])).expect("valid");
        assert_eq!(url, "sqlite://x/fds.db");
        assert_eq!(load_store(None, env(&[])).expect("default").0, "sqlite://data/fds.db");
        let errors =
            load_store(None, env(&[("FDS__STORE__URL", "mysql://u:s3cret@h/db")])).expect_err("invalid");
        assert!(errors.to_string().contains("store.url"), "{errors}");
        assert!(!errors.to_string().contains("s3cret"));
    }

    #[test]
    fn retention_defaults_to_a_daily_one_year_run() {
        let config = Config::load(None, env(&[("FDS__API__KEYS", "env-key-0123456789")])).expect("valid");
        assert_eq!(config.retention, RetentionSettings::default());
        assert!(config.retention.enabled && !config.retention.dry_run);
        assert_eq!(config.retention.interval, Duration::from_secs(86_400));
        assert_eq!(config.retention.policy, RetentionPolicy { decisions_months: 12, events_days: 90 });
    }

    #[test]
    fn retention_is_set_from_a_file_and_env() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            file,
            "[api]\nkeys = [\"file-key-0123456789\"]\n[retention]\ninterval = \"1h30m\"\ndecisions_months = 24\ndry_run = true"
        )
        .expect("write");
        let config = Config::load(
            Some(file.path()),
            env(&[("FDS__RETENTION__EVENTS_DAYS", "30"), ("FDS__RETENTION__ENABLED", "false")]),
        )
        .expect("valid");
        assert_eq!(
            config.retention,
            RetentionSettings {
                enabled: false,
                interval: Duration::from_secs(5400),
                policy: RetentionPolicy { decisions_months: 24, events_days: 30 },
                dry_run: true,
            }
        );
        let config = Config::load(
            None,
            env(&[("FDS__API__KEYS", "env-key-0123456789"), ("FDS__RETENTION__INTERVAL", "3600")]),
        )
        .expect("seconds as a number");
        assert_eq!(config.retention.interval, Duration::from_secs(3600));
    }

    #[test]
    fn features_stay_in_memory_unless_redis_is_configured() {
        use crate::features_config::FeatureBackend;
        let config = Config::load(None, env(&[("FDS__API__KEYS", "env-key-0123456789")])).expect("valid");
        assert!(matches!(config.features, FeatureBackend::Memory));

        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            file,
            "[api]\nkeys = [\"file-key-0123456789\"]\n[features]\nstore = \"redis\"\n\
             redis_url = \"redis://file-host:6379/0\"\ndedupe_ttl = \"2h\""
        )
        .expect("write");
        let config = Config::load(
            Some(file.path()),
            env(&[
                ("FDS__FEATURES__REDIS_URL", "redis://fds:s3cret@env-host:6380/1"),
                ("FDS__FEATURES__REDIS_PREFIX", "fds-prod:"),
                ("FDS__FEATURES__REDIS_TIMEOUT_MS", "250"),
            ]),
        )
        .expect("valid");
        let FeatureBackend::Redis(options) = &config.features else { panic!("redis: {:?}", config.features) };
        assert_eq!(options.url, "redis://fds:s3cret@env-host:6380/1", "env overrides the file");
        assert_eq!(options.prefix, "fds-prod:");
        assert_eq!(options.seen_ttl, Duration::from_secs(7_200));
        assert_eq!(options.timeout, Duration::from_millis(250));
        assert!(config.features.is_shared());
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn bad_feature_store_settings_are_listed_with_the_other_problems() {
        let errors = Config::load(
            None,
            env(&[("FDS__API__KEYS", "env-key-0123456789"), ("FDS__FEATURES__STORE", "redis")]),
        )
        .expect_err("redis needs a url");
        assert!(errors.0.iter().any(|p| p.contains("features.redis_url")), "{errors}");
        let errors = Config::load(
            None,
            env(&[
                ("FDS__API__KEYS", "env-key-0123456789"),
                ("FDS__FEATURES__STORE", "redis"),
                ("FDS__FEATURES__REDIS_URL", "http://u:s3cret@host"),
                ("FDS__FEATURES__DEDUPE_TTL", "10s"),
                ("FDS__FEATURES__REDIS_TIMEOUT_MS", "0"),
            ]),
        )
        .expect_err("invalid");
        for expected in ["features.redis_url", "features.dedupe_ttl", "features.redis_timeout_ms"] {
            assert!(errors.0.iter().any(|p| p.contains(expected)), "missing {expected} in {errors}");
        }
        assert!(!errors.to_string().contains("s3cret"), "{errors}");
        let errors = Config::load(
            None,
            env(&[("FDS__API__KEYS", "env-key-0123456789"), ("FDS__FEATURES__STORE", "disk")]),
        )
        .expect_err("unknown store");
        assert!(errors.0.iter().any(|p| p.contains("features.store")), "{errors}");
    }

    #[test]
    fn bad_retention_settings_are_listed_with_the_other_problems() {
        let errors = Config::load(
            None,
            env(&[
                ("FDS__API__KEYS", "short"),
                ("FDS__RETENTION__INTERVAL", "soon"),
                ("FDS__RETENTION__DECISIONS_MONTHS", "0"),
                ("FDS__RETENTION__EVENTS_DAYS", "-3"),
                ("FDS__RETENTION__COLOUR", "blue"),
            ]),
        )
        .expect_err("invalid");
        let text = errors.to_string();
        assert!(text.contains("[retention]: unknown field `colour`"), "{text}");
        assert!(text.contains("api.keys[0]"), "{text}");
        let errors = Config::load(
            None,
            env(&[
                ("FDS__API__KEYS", "env-key-0123456789"),
                ("FDS__RETENTION__INTERVAL", "soon"),
                ("FDS__RETENTION__DECISIONS_MONTHS", "0"),
                ("FDS__RETENTION__EVENTS_DAYS", "-3"),
            ]),
        )
        .expect_err("invalid");
        let text = errors.to_string();
        for expected in [
            "retention.interval: \"soon\" is not a duration",
            "retention.decisions_months: must be 1..=1200, got 0",
            "retention.events_days: must be 1..=36500, got -3",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        let errors = Config::load(
            None,
            env(&[("FDS__API__KEYS", "env-key-0123456789"), ("FDS__RETENTION__INTERVAL", "10s")]),
        )
        .expect_err("too often");
        assert!(errors.to_string().contains("retention.interval: must be between 1m and 366d, got 10s"));
    }

    #[test]
    fn durations_read_as_sums_of_units() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration(" 7d "), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        for bad in ["", "h", "24", "24x", "1h30", "-1h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
