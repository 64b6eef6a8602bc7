//! Rule fixtures: every rule in the library ships `<id>.test.toml` next to its
//! `<id>.rhai`, with cases that must hit and cases that must not. Each case replays its
//! history and event through a fresh, real feature store (no hand-made feature values
//! unless the case overrides one), then runs the rule.
//!
//! ```toml
//! [[case]]
//! name = "three lines on one identity within a month"
//! expect = "hit"                                  # hit | no_hit
//! features = { lines_per_identity_30d = 3 }       # optional overrides
//! [case.event]                                    # event_id, occurred_at, subscriber default
//! type = "subscription"
//! identity = "ID-100"
//! channel = "online"
//! [[case.history]]                                # optional earlier events, applied first
//! type = "sim_swap"
//! channel = "store"
//! ```
//!
//! Defaults: `event_id` = `<rule id>-<case number>` (`-h<n>` for history events),
//! `occurred_at` = [`DEFAULT_OCCURRED_AT`], `subscriber` = [`DEFAULT_SUBSCRIBER`]; history
//! events without `occurred_at` are one minute apart, the last one a minute before the
//! event. A case also fails when the native fast path and the plain Rhai path of the
//! rule engine disagree on it.
//!
//! File reads happen here (this is tooling: `fds rules test` and
//! `tests/rule_fixtures.rs`), never on the scoring path.

use chrono::{DateTime, Duration, FixedOffset};
use fds_core::{Event, FeatureValue};
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use fds_rules::{PackFiles, RuleMeta, RulePack};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `occurred_at` of a fixture event that does not set one.
pub const DEFAULT_OCCURRED_AT: &str = "2026-11-21T12:00:00+09:00";
/// `subscriber` of a fixture event that does not set one.
pub const DEFAULT_SUBSCRIBER: &str = "01012345678";
pub use fds_rules::FIXTURE_SUFFIX;

/// How far apart history events without `occurred_at` are.
const HISTORY_STEP_MINUTES: i64 = 1;

/// The outcome of one fixture case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub rule_id: String,
    pub case: String,
    /// `Err` says why the case failed.
    pub outcome: Result<(), String>,
}

/// One fixture case's event and the feature values a rule sees for it (history
/// replayed, overrides applied): for checking another implementation of the rules
/// against the same cases.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseInput {
    pub rule_id: String,
    pub case: String,
    pub expect_hit: bool,
    pub event: Event,
    pub values: Vec<FeatureValue>,
}

/// The outcome of a fixture run: every case, and every problem with the fixtures
/// themselves (missing or unreadable files, cases that cannot run).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixtureReport {
    pub results: Vec<CaseResult>,
    pub problems: Vec<String>,
}

impl FixtureReport {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_ok()).count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Whether every case passed and there is no problem.
    pub fn is_ok(&self) -> bool {
        self.failed() == 0 && self.problems.is_empty()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expect: Expect,
    #[serde(default)]
    features: BTreeMap<String, toml::Value>,
    event: toml::Table,
    #[serde(default)]
    history: Vec<toml::Table>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Expect {
    Hit,
    NoHit,
}

impl Expect {
    fn as_str(self) -> &'static str {
        match self {
            Expect::Hit => "hit",
            Expect::NoHit => "no_hit",
        }
    }
}

/// Runs the fixtures of every rule in `pack` (whose files are under `rules_dir`) with
/// the features of `features`. `pack` must have been loaded with `features.names()`.
pub fn run_fixtures(rules_dir: &Path, pack: &RulePack, features: &Arc<FeatureSet>) -> FixtureReport {
    let mut report = FixtureReport::default();
    if pack.feature_names() != features.names() {
        report
            .problems
            .push("the rule pack was loaded with other feature names than the feature set".to_string());
        return report;
    }
    let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| e.to_string());
    for (index, rule) in pack.rules().iter().enumerate() {
        run_rule(index, rule, pack, features, &read, &mut report, &mut Vec::new());
    }
    let mut found = BTreeSet::new();
    collect_fixture_files(rules_dir, &mut found);
    report.problems.extend(orphan_fixtures(found, pack));
    report
}

/// Runs the fixtures of every rule in `pack`, compiled from `files` (see
/// `RulePack::from_files`), reading each rule's fixtures from `files`: how a pack held
/// in the store is checked before it is published.
pub fn run_fixtures_in(files: &PackFiles, pack: &RulePack, features: &Arc<FeatureSet>) -> FixtureReport {
    let mut report = FixtureReport::default();
    if pack.feature_names() != features.names() {
        report
            .problems
            .push("the rule pack was loaded with other feature names than the feature set".to_string());
        return report;
    }
    let read = |path: &Path| {
        path.to_str()
            .and_then(|p| files.get(p))
            .map(str::to_string)
            .ok_or_else(|| "no such file in the pack".to_string())
    };
    for (index, rule) in pack.rules().iter().enumerate() {
        run_rule(index, rule, pack, features, &read, &mut report, &mut Vec::new());
    }
    let found = files
        .iter()
        .map(|(p, _)| PathBuf::from(p))
        .filter(|p| p.to_str().is_some_and(|p| p.ends_with(FIXTURE_SUFFIX)))
        .collect();
    report.problems.extend(orphan_fixtures(found, pack));
    report
}

/// The event and feature values of every fixture case of every rule in `pack` (loaded
/// from files on disk), as [`run_fixtures`] prepares them; cases that cannot be
/// prepared are left out (`run_fixtures` reports them).
pub fn fixture_inputs(pack: &RulePack, features: &Arc<FeatureSet>) -> Vec<CaseInput> {
    let mut inputs = Vec::new();
    let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| e.to_string());
    let mut report = FixtureReport::default();
    for (index, rule) in pack.rules().iter().enumerate() {
        run_rule(index, rule, pack, features, &read, &mut report, &mut inputs);
    }
    inputs
}

/// The fixture file of a rule: `<id>.test.toml` next to its `.rhai`.
pub fn fixture_path(rule: &RuleMeta) -> PathBuf {
    rule.path.with_file_name(format!("{}{FIXTURE_SUFFIX}", rule.id))
}

fn run_rule(
    index: usize,
    rule: &RuleMeta,
    pack: &RulePack,
    features: &Arc<FeatureSet>,
    read: &dyn Fn(&Path) -> Result<String, String>,
    report: &mut FixtureReport,
    inputs: &mut Vec<CaseInput>,
) {
    let path = fixture_path(rule);
    let shown = path.display();
    let text = match read(&path) {
        Ok(text) => text,
        Err(e) => {
            report.problems.push(format!("{shown}: cannot read the fixtures of rule {}: {e}", rule.id));
            return;
        }
    };
    let file: FixtureFile = match toml::from_str(&text) {
        Ok(file) => file,
        Err(e) => {
            report.problems.push(format!("{shown}: {}", e.to_string().trim_end()));
            return;
        }
    };
    for expect in [Expect::Hit, Expect::NoHit] {
        if !file.case.iter().any(|c| c.expect == expect) {
            report.problems.push(format!("{shown}: needs at least one case expecting {}", expect.as_str()));
        }
    }
    for (n, case) in file.case.iter().enumerate() {
        let case_id = format!("{}-{}", rule.id, n + 1);
        let overrides = match overrides(case, features) {
            Ok(o) => o,
            Err(problems) => {
                report
                    .problems
                    .extend(problems.into_iter().map(|p| format!("{shown}: case {:?}: {p}", case.name)));
                continue;
            }
        };
        let outcome = match case_input(case, &case_id, &overrides, features) {
            Ok((event, values)) => {
                let outcome = judge(index, case, &event, &values, pack, features);
                inputs.push(CaseInput {
                    rule_id: rule.id.clone(),
                    case: case.name.clone(),
                    expect_hit: case.expect == Expect::Hit,
                    event,
                    values,
                });
                outcome
            }
            Err(why) => Err(why),
        };
        report.results.push(CaseResult { rule_id: rule.id.clone(), case: case.name.clone(), outcome });
    }
}

/// The case's feature overrides as (index, value), or the problems with them.
fn overrides(case: &Case, features: &FeatureSet) -> Result<Vec<(usize, FeatureValue)>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in &case.features {
        let Some(index) = features.names().iter().position(|n| n == name) else {
            problems.push(format!("unknown feature override {name:?}"));
            continue;
        };
        match value {
            toml::Value::Integer(v) => out.push((index, FeatureValue::Int(*v))),
            toml::Value::Float(v) => out.push((index, FeatureValue::Float(*v))),
            other => {
                problems.push(format!("feature override {name:?} must be a number, got {}", other.type_str()))
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The case's event and the feature values the rule sees: history replayed through a
/// fresh feature store, then the overrides.
fn case_input(
    case: &Case,
    case_id: &str,
    overrides: &[(usize, FeatureValue)],
    features: &Arc<FeatureSet>,
) -> Result<(Event, Vec<FeatureValue>), String> {
    let event_json = with_defaults(&case.event, case_id.to_string(), None);
    let event_time = event_json
        .get("occurred_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .or_else(|| DateTime::parse_from_rfc3339(DEFAULT_OCCURRED_AT).ok());

    let store = InMemoryFeatures::new(Arc::clone(features));
    let n = case.history.len();
    for (j, fields) in case.history.iter().enumerate() {
        let steps_back = i64::try_from(n - j).unwrap_or(i64::MAX);
        let at = event_time
            .and_then(|t| t.checked_sub_signed(Duration::minutes(HISTORY_STEP_MINUTES * steps_back)));
        let json = with_defaults(fields, format!("{case_id}-h{}", j + 1), at);
        let event = Event::from_value(json, None)
            .map_err(|e| format!("history event {} is not a valid event: {e}", j + 1))?;
        store.observe(&event);
    }
    let event = Event::from_value(event_json, None).map_err(|e| format!("the event is not valid: {e}"))?;
    let mut values = store.observe(&event);
    for &(index, value) in overrides {
        values[index] = value;
    }
    Ok((event, values))
}

/// Whether the rule decides the case as expected (and the fast path as plain Rhai).
fn judge(
    rule: usize,
    case: &Case,
    event: &Event,
    values: &[FeatureValue],
    pack: &RulePack,
    features: &FeatureSet,
) -> Result<(), String> {
    let hit =
        pack.evaluate_one(rule, event, values).map_err(|e| format!("the rule failed: {}", e.message))?;
    let naive = pack.evaluate_naive(event, values);
    let naive_hit = naive.hits.contains(&rule);
    if naive_hit != hit {
        return Err(format!(
            "the fast path says {} but plain Rhai says {}: report this as an engine bug",
            if hit { "hit" } else { "no hit" },
            if naive_hit { "hit" } else { "no hit" }
        ));
    }
    let expected = case.expect == Expect::Hit;
    if hit == expected {
        Ok(())
    } else {
        let read: Vec<String> = pack.rules()[rule]
            .features
            .iter()
            .map(|&i| format!("{} = {}", features.names()[i], values[i]))
            .collect();
        Err(format!(
            "expected {}, got {}{}",
            case.expect.as_str(),
            if hit { "a hit" } else { "no hit" },
            if read.is_empty() { String::new() } else { format!(" (features: {})", read.join(", ")) }
        ))
    }
}

/// The fixture table as a contract JSON object, with the defaults filled in.
fn with_defaults(fields: &toml::Table, event_id: String, at: Option<DateTime<FixedOffset>>) -> Value {
    let mut obj: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
    obj.entry("event_id").or_insert(Value::String(event_id));
    let occurred_at = at.map_or_else(|| DEFAULT_OCCURRED_AT.to_string(), |t| t.to_rfc3339());
    obj.entry("occurred_at").or_insert(Value::String(occurred_at));
    obj.entry("subscriber").or_insert(Value::String(DEFAULT_SUBSCRIBER.to_string()));
    Value::Object(obj)
}

/// TOML to JSON; a TOML date-time (written without quotes) becomes its RFC 3339 text.
fn to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// Fixture files under `rules_dir` whose rule is not in the pack (renamed or deleted).
fn orphan_fixtures(found: BTreeSet<PathBuf>, pack: &RulePack) -> Vec<String> {
    found
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let id = name.strip_suffix(FIXTURE_SUFFIX)?;
            pack.rule_index(id)
                .is_none()
                .then(|| format!("{}: fixtures for a rule that does not exist ({id})", path.display()))
        })
        .collect()
}

fn collect_fixture_files(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_fixture_files(&path, out);
        } else if path.to_str().is_some_and(|p| p.ends_with(FIXTURE_SUFFIX)) {
            out.insert(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURES: &str = r#"
utc_offset = "+09:00"

[[feature]]
name = "payments_count_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]

[[feature]]
name = "hours_since_sim_swap"
entity = "subscriber"
agg = "since_last"
unit = "hours"
types = ["sim_swap"]
"#;

    const BURST: &str = "// id: cba_burst\n// name: Burst\n// family: carrier_billing_abuse\n\
        // action: review\n// score: 30\n// events: payment\n// description: Three payments in an hour.\n\
        f.payments_count_1h >= 3\n";

    const SWAP: &str = "// id: sst_after_swap\n// name: After swap\n// family: sim_swap_takeover\n\
        // action: review\n// score: 30\n// events: payment\n// description: Payment soon after a swap.\n\
        f.hours_since_sim_swap < 1.0 && e.amount >= 10_000\n";

    const PAYMENT: &str = "type = \"payment\"\namount = 20000\nmethod = \"carrier_billing\"\n\
        merchant_id = \"M-1\"\nmerchant_category = \"gift_card\"\n";

    struct Library {
        dir: tempfile::TempDir,
        features: Arc<FeatureSet>,
    }

    impl Library {
        fn new() -> Library {
            let features = Arc::new(FeatureSet::from_toml_str(FEATURES).expect("valid features"));
            Library { dir: tempfile::tempdir().expect("tempdir"), features }
        }

        fn write(&self, rel: &str, text: &str) {
            let path = self.dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }

        fn run(&self) -> FixtureReport {
            let pack = RulePack::load_dir(self.dir.path(), self.features.names(), self.features.utc_offset())
                .expect("rules load");
            run_fixtures(self.dir.path(), &pack, &self.features)
        }
    }

    fn case(name: &str, expect: &str, history: &[&str], event: &str) -> String {
        let mut text = format!("[[case]]\nname = \"{name}\"\nexpect = \"{expect}\"\n");
        text.push_str("[case.event]\n");
        text.push_str(event);
        for h in history {
            text.push_str("[[case.history]]\n");
            text.push_str(h);
        }
        text
    }

    #[test]
    fn history_is_replayed_through_the_real_feature_store() {
        let lib = Library::new();
        lib.write("carrier_billing_abuse/cba_burst.rhai", BURST);
        let fixtures = [
            case("third payment in an hour", "hit", &[PAYMENT, PAYMENT], PAYMENT),
            case("second payment only", "no_hit", &[PAYMENT], PAYMENT),
        ];
        lib.write("carrier_billing_abuse/cba_burst.test.toml", &fixtures.join("\n"));
        let report = lib.run();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!((report.passed(), report.failed()), (2, 0));
    }

    #[test]
    fn history_defaults_to_one_minute_steps_before_the_event() {
        let lib = Library::new();
        lib.write("sim_swap_takeover/sst_after_swap.rhai", SWAP);
        let swap = "type = \"sim_swap\"\nchannel = \"store\"\n";
        let early_swap =
            "type = \"sim_swap\"\nchannel = \"store\"\noccurred_at = \"2026-11-21T10:30:00+09:00\"\n";
        let fixtures = [
            case("a swap a minute ago", "hit", &[swap], PAYMENT),
            case("a swap ninety minutes ago", "no_hit", &[early_swap], PAYMENT),
        ];
        lib.write("sim_swap_takeover/sst_after_swap.test.toml", &fixtures.join("\n"));
        let report = lib.run();
        assert!(report.is_ok(), "{report:?}");
    }

    #[test]
    fn a_wrong_expectation_fails_with_the_feature_values_read() {
        let lib = Library::new();
        lib.write("carrier_billing_abuse/cba_burst.rhai", BURST);
        let fixtures = [
            case("claims a hit on one payment", "hit", &[], PAYMENT),
            case("no hit", "no_hit", &[], PAYMENT),
        ];
        lib.write("carrier_billing_abuse/cba_burst.test.toml", &fixtures.join("\n"));
        let report = lib.run();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!((report.passed(), report.failed()), (1, 1));
        let failure = report.results[0].outcome.as_ref().expect_err("fails");
        assert_eq!(failure, "expected hit, got no hit (features: payments_count_1h = 1)");
    }

    #[test]
    fn overrides_replace_feature_values_and_unknown_names_are_problems() {
        let lib = Library::new();
        lib.write("carrier_billing_abuse/cba_burst.rhai", BURST);
        let text = format!(
            "[[case]]\nname = \"forced\"\nexpect = \"hit\"\nfeatures = {{ payments_count_1h = 5 }}\n\
             [case.event]\n{PAYMENT}\n\
             [[case]]\nname = \"typo\"\nexpect = \"no_hit\"\nfeatures = {{ payments_count_9h = 5 }}\n\
             [case.event]\n{PAYMENT}"
        );
        lib.write("carrier_billing_abuse/cba_burst.test.toml", &text);
        let report = lib.run();
        assert_eq!((report.passed(), report.failed()), (1, 0));
        assert_eq!(
            report.problems,
            vec![format!(
                "{}: case \"typo\": unknown feature override \"payments_count_9h\"",
                lib.dir.path().join("carrier_billing_abuse/cba_burst.test.toml").display()
            )]
        );
    }

    #[test]
    fn invalid_events_fail_with_their_validation_problems() {
        let lib = Library::new();
        lib.write("carrier_billing_abuse/cba_burst.rhai", BURST);
        let bad = "type = \"payment\"\namount = -5\nmethod = \"cash\"\nmerchant_id = \"M-1\"\nmerchant_category = \"gift_card\"\n";
        let fixtures = [case("bad event", "hit", &[], bad), case("bad history", "no_hit", &[bad], PAYMENT)];
        lib.write("carrier_billing_abuse/cba_burst.test.toml", &fixtures.join("\n"));
        let report = lib.run();
        assert_eq!(report.failed(), 2);
        let first = report.results[0].outcome.as_ref().expect_err("invalid");
        assert!(first.contains("amount") && first.contains("method"), "{first}");
        let second = report.results[1].outcome.as_ref().expect_err("invalid");
        assert!(second.starts_with("history event 1 is not a valid event"), "{second}");
    }

    #[test]
    fn missing_files_one_sided_cases_parse_errors_and_orphans_are_problems() {
        let lib = Library::new();
        lib.write("carrier_billing_abuse/cba_burst.rhai", BURST);
        lib.write("sim_swap_takeover/sst_after_swap.rhai", SWAP);
        lib.write(
            "carrier_billing_abuse/cba_burst.test.toml",
            &case("only hits", "hit", &[PAYMENT, PAYMENT], PAYMENT),
        );
        lib.write("irsf/irs_gone.test.toml", &case("x", "hit", &[], PAYMENT));
        let report = lib.run();
        let all = report.problems.join("\n");
        assert!(all.contains("cba_burst.test.toml: needs at least one case expecting no_hit"), "{all}");
        assert!(
            all.contains("sst_after_swap.test.toml: cannot read the fixtures of rule sst_after_swap"),
            "{all}"
        );
        assert!(all.contains("irs_gone.test.toml: fixtures for a rule that does not exist"), "{all}");
        assert_eq!(report.problems.len(), 3, "{all}");

        lib.write("sim_swap_takeover/sst_after_swap.test.toml", "[[case]]\nname = 1\n");
        let report = lib.run();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("sst_after_swap.test.toml") && p.contains("invalid type")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn toml_datetimes_and_nested_values_become_json() {
        let table: toml::Table =
            toml::from_str("at = 2026-11-21T10:00:00+09:00\nn = [1, 2.5]\nb = true").expect("toml");
        let json = with_defaults(&table, "x-1".to_string(), None);
        assert_eq!(json["at"], "2026-11-21T10:00:00+09:00");
        assert_eq!(json["n"], serde_json::json!([1, 2.5]));
        assert_eq!(json["event_id"], "x-1");
        assert_eq!(json["occurred_at"], DEFAULT_OCCURRED_AT);
        assert_eq!(json["subscriber"], DEFAULT_SUBSCRIBER);
    }
}
