//! Pack-level tests: loading, the sandbox, evaluation and its agreement with the naive
//! baseline. Rules are in-memory sources (or a temporary directory for `load_dir`).

use crate::{Family, LoadError, RulePack, RuleSource};
use chrono::FixedOffset;
use fds_core::{Event, FeatureValue, RuleAction};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

const FEATURES: [&str; 4] =
    ["payments_count_1h", "payments_sum_24h", "hours_since_sim_swap", "distinct_callees_1h"];

fn feature_names() -> Vec<String> {
    FEATURES.iter().map(|s| s.to_string()).collect()
}

fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

fn rule(id: &str, events: &str, condition: &str) -> RuleSource {
    rule_in("carrier_billing_abuse", id, events, condition)
}

fn rule_in(family: &str, id: &str, events: &str, condition: &str) -> RuleSource {
    RuleSource {
        path: PathBuf::from(format!("rules/{family}/{id}.rhai")),
        text: format!(
            "// id: {id}\n// name: Test rule {id}\n// family: {family}\n// action: review\n\
             // score: 10\n// events: {events}\n// description: A rule for tests.\n{condition}\n"
        ),
    }
}

fn lists() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("irsf_ranges".to_string(), vec!["+88216".to_string(), "0037155".to_string()]),
        ("risky_agencies".to_string(), vec!["AG-7".to_string()]),
    ])
}

fn pack(rules: Vec<RuleSource>) -> RulePack {
    match RulePack::from_sources(rules, lists(), &feature_names(), kst()) {
        Ok(p) => p,
        Err(e) => panic!("pack should load: {e}"),
    }
}

fn load_err(rules: Vec<RuleSource>) -> LoadError {
    RulePack::from_sources(rules, lists(), &feature_names(), kst()).expect_err("pack should not load")
}

fn event(mut fields: Value) -> Event {
    let obj = fields.as_object_mut().expect("an object");
    obj.entry("event_id").or_insert(json!("ev-1"));
    obj.entry("occurred_at").or_insert(json!("2026-11-21T12:00:00+09:00"));
    obj.entry("subscriber").or_insert(json!("01012345678"));
    Event::from_value(fields, None).expect("valid event")
}

fn payment(amount: i64) -> Event {
    event(json!({
        "type": "payment", "amount": amount, "method": "carrier_billing",
        "merchant_id": "M-1", "merchant_category": "gift_card"
    }))
}

fn call(callee: &str) -> Event {
    event(json!({
        "type": "call", "callee": callee, "direction": "out", "duration_s": 12,
        "callee_country": "GB"
    }))
}

fn features(count_1h: i64, sum_24h: i64, since_swap: f64, callees: i64) -> Vec<FeatureValue> {
    vec![
        FeatureValue::Int(count_1h),
        FeatureValue::Int(sum_24h),
        FeatureValue::Float(since_swap),
        FeatureValue::Int(callees),
    ]
}

fn quiet() -> Vec<FeatureValue> {
    features(1, 1000, 1.0e9, 0)
}

fn hit_ids(pack: &RulePack, hits: &[usize]) -> Vec<String> {
    hits.iter().map(|&i| pack.rules()[i].id.clone()).collect()
}

#[test]
fn a_valid_rule_loads_with_its_metadata_and_feature_reads() {
    let p = pack(vec![rule(
        "cba_gift_card_burst",
        "payment",
        "f.payments_count_1h >= 3 && f.payments_sum_24h > 50000 && f.payments_count_1h < 99",
    )]);
    let meta = &p.rules()[0];
    assert_eq!(meta.id, "cba_gift_card_burst");
    assert_eq!(meta.family, Family::CarrierBillingAbuse);
    assert_eq!(meta.action, RuleAction::Review);
    assert_eq!(meta.features, vec![0, 1]);
    assert_eq!(p.rule_index("cba_gift_card_burst"), Some(0));
    assert_eq!(p.rule_index("nope"), None);
}

#[test]
fn every_load_problem_is_reported_at_once_with_its_path() {
    let mut broken_header = rule("bad_header", "payment", "true");
    broken_header.text = broken_header.text.replace("// score: 10", "// score: lots");
    let mut wrong_stem = rule("wrong_stem", "payment", "true");
    wrong_stem.path = PathBuf::from("rules/carrier_billing_abuse/other_name.rhai");
    let err = load_err(vec![
        broken_header,
        rule("syntax", "payment", "f.payments_count_1h >= "),
        rule("unknown_feature", "payment", "f.payments_count_99h > 1"),
        rule("unknown_field", "payment", "e.amout > 1"),
        rule("field_of_other_type", "call", "e.amount > 1"),
        rule("unknown_list", "call", "in_list(\"no_such_list\", e.callee)"),
        rule("uses_eval", "payment", "eval(\"true\")"),
        rule("reassigns_e", "payment", "e = 5; true"),
        rule("no_condition", "payment", "\n// nothing here"),
        wrong_stem,
        rule_in("irsf", "wrong_family_dir", "call", "true")
            .tap_path("rules/voice_phishing/wrong_family_dir.rhai"),
        rule("dup", "payment", "true"),
        rule("dup", "payment", "false").tap_path("rules/carrier_billing_abuse/sub/dup.rhai"),
    ]);
    let expect = [
        ("bad_header.rhai", "score \"lots\" is not a number"),
        ("syntax.rhai", "syntax error"),
        ("unknown_feature.rhai", "line 8: unknown feature f.payments_count_99h"),
        ("unknown_field.rhai", "unknown event field e.amout"),
        ("field_of_other_type.rhai", "e.amount is never set on the rule's event types (call)"),
        ("unknown_list.rhai", "unknown list \"no_such_list\""),
        ("uses_eval.rhai", "syntax error"),
        ("reassigns_e.rhai", "use `e` only as `e.<name>`"),
        ("no_condition.rhai", "no condition"),
        ("other_name.rhai", "does not match the file name"),
        ("wrong_family_dir.rhai", "does not match the directory"),
        ("sub/dup.rhai", "duplicate rule id \"dup\""),
    ];
    for (file, needle) in expect {
        assert!(
            err.problems.iter().any(|p| p.starts_with("rules/") && p.contains(file) && p.contains(needle)),
            "no problem for {file} containing {needle:?} in:\n{err}"
        );
    }
    assert_eq!(err.problems.len(), expect.len(), "{err}");
}

trait TapPath {
    fn tap_path(self, path: &str) -> Self;
}

impl TapPath for RuleSource {
    fn tap_path(mut self, path: &str) -> Self {
        self.path = PathBuf::from(path);
        self
    }
}

#[test]
fn eval_is_refused_at_load_time() {
    let err = load_err(vec![rule("uses_eval", "payment", "eval(\"f.payments_count_1h > 1\")")]);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(err.problems[0].contains("eval"), "{err}");
}

#[test]
fn rules_run_only_on_the_event_types_they_list() {
    let p = pack(vec![
        rule("on_payments", "payment", "true"),
        rule("on_calls", "call", "true"),
        rule("on_both", "call, payment", "true"),
        // would fail on any event it ran on
        rule("broken_on_calls", "call", "1 + 1"),
    ]);
    let on_payment = p.evaluate(&payment(5000), &quiet());
    assert_eq!(hit_ids(&p, &on_payment.hits), vec!["on_payments", "on_both"]);
    assert!(on_payment.errors.is_empty(), "{:?}", on_payment.errors);

    let on_call = p.evaluate(&call("01099998888"), &quiet());
    assert_eq!(hit_ids(&p, &on_call.hits), vec!["on_calls", "on_both"]);
    assert_eq!(on_call.errors.len(), 1);

    let on_swap = p.evaluate(&event(json!({"type": "sim_swap", "channel": "store"})), &quiet());
    assert_eq!(on_swap, crate::Evaluation::default());
}

#[test]
fn runaway_rules_hit_sandbox_limits_while_a_sibling_still_hits() {
    let p = pack(vec![
        rule("loops_forever", "payment", "loop { } true"),
        rule("huge_string", "payment", "let s = \"x\"; loop { s += s; } true"),
        rule("deep_recursion", "payment", "fn down(n) { down(n + 1) } down(0)"),
        rule("sibling", "payment", "f.payments_count_1h >= 1"),
    ]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert_eq!(hit_ids(&p, &out.hits), vec!["sibling"]);
    let message = |id: &str| -> String {
        out.errors
            .iter()
            .find(|e| e.rule_id == id)
            .map(|e| e.message.clone())
            .unwrap_or_else(|| panic!("no error for {id}: {:?}", out.errors))
    };
    assert!(message("loops_forever").contains("exceeded 5000 operations"), "{}", message("loops_forever"));
    assert!(message("huge_string").to_lowercase().contains("too large"), "{}", message("huge_string"));
    assert!(
        message("deep_recursion").to_lowercase().contains("stack overflow"),
        "{}",
        message("deep_recursion")
    );
    assert_eq!(out.errors.len(), 3);
}

#[test]
fn sleep_and_printing_are_not_available_to_rules() {
    let p = pack(vec![
        rule("sleeps", "payment", "sleep(10); true"),
        rule("prints", "payment", "print(\"x\"); debug(\"y\"); true"),
    ]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert_eq!(hit_ids(&p, &out.hits), vec!["prints"]);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].rule_id, "sleeps");
    assert!(out.errors[0].message.contains("sleep"), "{}", out.errors[0].message);
}

#[test]
fn a_non_bool_result_is_an_error() {
    let p = pack(vec![rule("returns_int", "payment", "f.payments_count_1h + 1")]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert!(out.hits.is_empty());
    assert_eq!(out.errors.len(), 1);
    assert!(out.errors[0].message.contains("not a bool"), "{}", out.errors[0].message);
    let one = p.evaluate_one(0, &payment(5000), &quiet()).expect_err("non-bool");
    assert_eq!(one.rule_id, "returns_int");
}

#[test]
fn thrown_values_never_appear_in_errors() {
    let p = pack(vec![rule("throws_pii", "payment", "throw e.subscriber")]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert_eq!(out.errors.len(), 1);
    assert!(!out.errors[0].message.contains("01012345678"), "{}", out.errors[0].message);
    assert!(out.errors[0].message.contains("threw"), "{}", out.errors[0].message);
}

#[test]
fn event_fields_read_by_contract_name_including_type() {
    let p = pack(vec![
        rule("by_type", "payment", "e.type == \"payment\" && e.method == \"carrier_billing\""),
        rule("by_amount", "payment", "e.amount >= 5000 && e.merchant_category == \"gift_card\""),
        rule("absent_is_unit", "payment", "e.card_number == () && e.channel == ()"),
        rule("other_type_field", "payment, call", "e.callee == ()"),
        rule("subscriber", "payment", "e.subscriber == \"01012345678\" && e.event_id == \"ev-1\""),
    ]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        hit_ids(&p, &out.hits),
        vec!["by_type", "by_amount", "absent_is_unit", "other_type_field", "subscriber"]
    );
}

#[test]
fn local_hour_is_read_at_the_packs_utc_offset() {
    let p = pack(vec![
        rule("ten_local", "payment", "e.local_hour == 10"),
        rule("ts", "payment", "e.ts == 1_795_224_600"),
    ]);
    // 01:30 UTC is 10:30 at +09:00.
    let ev = event(json!({
        "type": "payment", "amount": 1000, "method": "card", "merchant_id": "M-1",
        "merchant_category": "retail", "occurred_at": "2026-11-21T01:30:00Z"
    }));
    assert_eq!(ev.occurred_at.timestamp(), 1_795_224_600);
    let out = p.evaluate(&ev, &quiet());
    assert_eq!(hit_ids(&p, &out.hits), vec!["ten_local", "ts"]);

    let utc = RulePack::from_sources(
        vec![rule("ten_local", "payment", "e.local_hour == 10")],
        lists(),
        &feature_names(),
        FixedOffset::east_opt(0).expect("utc"),
    )
    .expect("loads");
    assert!(utc.evaluate(&ev, &quiet()).hits.is_empty());
}

#[test]
fn lists_match_exactly_and_number_ranges_by_normalised_prefix() {
    let p = pack(vec![
        rule_in("irsf", "premium_range", "call", "has_prefix_in(\"irsf_ranges\", e.callee)"),
        rule_in("identity_theft", "risky_agency", "subscription", "in_list(\"risky_agencies\", e.agency_id)"),
    ]);
    for callee in ["+882161234567", "00882161234567", "882161234567", "+37155123456", "0037155123456"] {
        assert_eq!(hit_ids(&p, &p.evaluate(&call(callee), &quiet()).hits), vec!["premium_range"], "{callee}");
    }
    for callee in ["01012345678", "+8821", "+4420123456"] {
        assert!(p.evaluate(&call(callee), &quiet()).hits.is_empty(), "{callee}");
    }
    let sub = |agency: Option<&str>| {
        let mut v = json!({"type": "subscription", "identity": "ID-1", "channel": "agency"});
        if let Some(a) = agency {
            v["agency_id"] = json!(a);
        }
        event(v)
    };
    let risky = p.evaluate(&sub(Some("AG-7")), &quiet());
    assert_eq!(hit_ids(&p, &risky.hits), vec!["risky_agency"]);
    let other = p.evaluate(&sub(Some("AG-77")), &quiet());
    assert!(other.hits.is_empty() && other.errors.is_empty());
    // an absent field is in no list, and is not an error
    let absent = p.evaluate(&sub(None), &quiet());
    assert!(absent.hits.is_empty() && absent.errors.is_empty(), "{absent:?}");
}

#[test]
fn a_list_name_computed_at_run_time_is_checked_at_run_time() {
    let p = pack(vec![rule_in(
        "irsf",
        "dynamic_list",
        "call",
        "let n = \"no_\" + \"list\"; in_list(n, e.callee)",
    )]);
    let out = p.evaluate(&call("0101234"), &quiet());
    assert_eq!(out.errors.len(), 1);
    assert!(out.errors[0].message.contains("unknown list \"no_list\""), "{}", out.errors[0].message);
}

#[test]
fn float_features_compare_with_integer_literals() {
    let p = pack(vec![rule_in("sim_swap_takeover", "recent_swap", "payment", "f.hours_since_sim_swap < 24")]);
    assert_eq!(p.evaluate(&payment(1000), &features(1, 1000, 2.5, 0)).hits, vec![0]);
    assert!(p.evaluate(&payment(1000), &features(1, 1000, 1.0e9, 0)).hits.is_empty());
}

#[test]
fn a_feature_slice_of_the_wrong_length_fails_every_applicable_rule() {
    let p = pack(vec![rule("a", "payment", "true"), rule("b", "payment", "true"), rule("c", "call", "true")]);
    let out = p.evaluate(&payment(1000), &[FeatureValue::Int(1)]);
    assert!(out.hits.is_empty());
    assert_eq!(out.errors.len(), 2);
    assert!(out.errors[0].message.contains("got 1 feature values"), "{}", out.errors[0].message);
}

#[test]
fn evaluate_one_agrees_with_evaluate_and_ignores_other_event_types() {
    let p = pack(vec![
        rule("big", "payment", "e.amount > 10000"),
        rule_in("voice_phishing", "many_callees", "call", "f.distinct_callees_1h >= 10"),
    ]);
    assert_eq!(p.evaluate_one(0, &payment(20000), &quiet()), Ok(true));
    assert_eq!(p.evaluate_one(0, &payment(2000), &quiet()), Ok(false));
    assert_eq!(p.evaluate_one(1, &payment(20000), &features(1, 1, 1.0, 50)), Ok(false));
    assert_eq!(p.evaluate_one(1, &call("0101"), &features(1, 1, 1.0, 50)), Ok(true));
    assert!(p.evaluate_one(7, &call("0101"), &quiet()).is_err());
}

#[test]
fn evaluate_and_the_naive_baseline_agree_on_hits_for_a_set_of_events() {
    let p = pack(vec![
        rule("big_payment", "payment", "e.amount >= 100000"),
        rule("gift_burst", "payment", "e.merchant_category == \"gift_card\" && f.payments_count_1h >= 3"),
        rule("night", "payment, call", "e.local_hour < 6"),
        rule_in(
            "sim_swap_takeover",
            "after_swap",
            "payment",
            "f.hours_since_sim_swap < 24 && e.amount > 1000",
        ),
        rule_in(
            "irsf",
            "premium",
            "call",
            "has_prefix_in(\"irsf_ranges\", e.callee) && e.direction == \"out\"",
        ),
        rule_in("voice_phishing", "burst", "call", "f.distinct_callees_1h >= 20 && e.duration_s < 30"),
        rule_in(
            "identity_theft",
            "online_sub",
            "subscription",
            "e.channel == \"online\" && e.agency_id == ()",
        ),
        rule(
            "scripted",
            "payment",
            "let limit = 3 * 10_000; if e.amount > limit { true } else { f.payments_sum_24h > limit }",
        ),
    ]);
    let night_call = event(json!({
        "type": "call", "callee": "+88216999", "direction": "out", "duration_s": 5,
        "callee_country": "XT", "occurred_at": "2026-11-21T03:00:00+09:00"
    }));
    let cases = vec![
        (payment(150_000), quiet()),
        (payment(2_000), features(5, 10_000, 1.0e9, 0)),
        (payment(2_000), features(1, 40_000, 3.0, 0)),
        (call("+88216123"), quiet()),
        (call("01012345678"), features(0, 0, 1.0e9, 25)),
        (night_call, features(0, 0, 1.0e9, 30)),
        (event(json!({"type": "subscription", "identity": "ID-9", "channel": "online"})), quiet()),
        (event(json!({"type": "port_out", "to_carrier": "OTHER"})), quiet()),
    ];
    let mut total_hits = 0;
    for (ev, fv) in &cases {
        let fast = p.evaluate(ev, fv);
        let naive = p.evaluate_naive(ev, fv);
        assert_eq!(fast, naive, "disagree on {:?}", ev.event_type());
        assert!(fast.errors.is_empty(), "{:?}", fast.errors);
        total_hits += fast.hits.len();
    }
    assert!(total_hits >= 8, "the cases should exercise most rules, got {total_hits} hits");
}

#[test]
fn the_version_is_a_content_hash() {
    let a = vec![rule("a", "payment", "true"), rule("b", "call", "false")];
    let b: Vec<RuleSource> = a.iter().rev().cloned().collect();
    let v1 = pack(a.clone()).version().to_string();
    assert!(v1.starts_with("pack-") && v1.len() == "pack-".len() + 12, "{v1}");
    assert_eq!(pack(b).version(), v1, "order of sources does not matter");
    let changed = vec![rule("a", "payment", "true"), rule("b", "call", "true")];
    assert_ne!(pack(changed).version(), v1);
    let mut other_lists = lists();
    other_lists.insert("extra".to_string(), vec!["1".to_string()]);
    let with_list = RulePack::from_sources(a, other_lists, &feature_names(), kst()).expect("loads");
    assert_ne!(with_list.version(), v1);
}

#[test]
fn load_dir_reads_family_directories_and_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let premium = rule_in("irsf", "premium", "call", "has_prefix_in(\"hot\", e.callee)");
    write("irsf/premium.rhai", &premium.text);
    write("irsf/premium.test.toml", "# fixtures are not rules\n");
    write("lists/hot.txt", "# premium ranges\n+88216\n");
    write("lists/README.md", "not a list");
    write("features.toml", "utc_offset = \"+09:00\"\n");

    let p = RulePack::load_dir(root, &feature_names(), kst()).expect("loads");
    assert_eq!(p.rules().len(), 1);
    assert_eq!(p.rules()[0].path, root.join("irsf/premium.rhai"));
    assert_eq!(p.evaluate(&call("0088216555"), &quiet()).hits, vec![0]);

    write("stray.rhai", &rule_in("irsf", "stray", "call", "true").text);
    write("irsf/broken.rhai", "// id: broken\n");
    let err = RulePack::load_dir(root, &feature_names(), kst()).expect_err("stray and broken files");
    assert!(err.problems.iter().any(|p| p.contains("stray.rhai") && p.contains("<family>")), "{err}");
    assert!(
        err.problems.iter().any(|p| p.contains("broken.rhai") && p.contains("\"name\" is missing")),
        "{err}"
    );
}

#[test]
fn a_rule_cannot_change_what_later_rules_see() {
    let p = pack(vec![
        rule("defines_locals", "payment", "let amount = 1; let x = 2; amount + x == 3"),
        rule("reads_after", "payment", "e.amount == 5000"),
    ]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert_eq!(hit_ids(&p, &out.hits), vec!["defines_locals", "reads_after"]);
}

#[test]
fn the_pack_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RulePack>();
}

#[test]
fn rules_outside_the_native_subset_run_in_rhai_batches_with_the_same_results() {
    let p = pack(vec![
        rule("native", "payment", "e.amount > 100"),
        rule("batched_let", "payment", "let x = e.amount; x > 100"),
        rule("batched_math", "payment", "e.amount * 2 > 300"),
        rule("batched_method", "payment", "e.merchant_id.starts_with(\"M-\")"),
        rule("trailing_semicolon", "payment", "e.amount > 100;"),
    ]);
    assert!(p.runs_natively(0));
    assert!((1..5).all(|i| !p.runs_natively(i)));
    for amount in [50, 5000] {
        let ev = payment(amount);
        let fast = p.evaluate(&ev, &quiet());
        assert_eq!(fast, p.evaluate_naive(&ev, &quiet()), "amount {amount}");
        for i in 0..p.rules().len() {
            let alone = p.evaluate_one(i, &ev, &quiet());
            let in_fast = if fast.hits.contains(&i) {
                Ok(true)
            } else if let Some(e) = fast.errors.iter().find(|e| e.rule_id == p.rules()[i].id) {
                Err(e.clone())
            } else {
                Ok(false)
            };
            assert_eq!(alone, in_fast, "rule {} amount {amount}", p.rules()[i].id);
        }
    }
}

#[test]
fn a_failing_rule_in_a_batch_leaves_its_neighbours_results_intact() {
    let p = pack(vec![
        rule("before", "payment", "let x = e.amount; x > 100"),
        rule("throws", "payment", "let x = 1; if x == 1 { throw \"stop\" } true"),
        rule("not_bool", "payment", "let x = 1; x + 1"),
        rule("after", "payment", "let y = e.amount; y > 100"),
    ]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert_eq!(hit_ids(&p, &out.hits), vec!["before", "after"]);
    let failed: Vec<&str> = out.errors.iter().map(|e| e.rule_id.as_str()).collect();
    assert_eq!(failed, vec!["throws", "not_bool"]);
    assert_eq!(out, p.evaluate_naive(&payment(5000), &quiet()));
}

#[test]
fn a_native_rule_that_meets_a_value_of_the_wrong_type_gets_rhai_s_answer() {
    // `e.forwarded` is absent: `() && ..` is an error in Rhai, so it must be here too.
    let p =
        pack(vec![rule_in("voice_phishing", "forwarded_truthy", "call", "e.forwarded && e.duration_s > 1")]);
    assert!(p.runs_natively(0));
    let out = p.evaluate(&call("0101234"), &quiet());
    assert!(out.hits.is_empty());
    assert_eq!(out.errors.len(), 1, "{out:?}");
    assert_eq!(out, p.evaluate_naive(&call("0101234"), &quiet()));
    let forwarded = event(json!({
        "type": "call", "callee": "0101234", "direction": "out", "duration_s": 12,
        "callee_country": "KR", "forwarded": true
    }));
    assert_eq!(p.evaluate(&forwarded, &quiet()).hits, vec![0]);
}

/// A small deterministic generator (no clock, no external crate): the same sequence on
/// every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
}

#[test]
fn the_native_subset_agrees_with_rhai_on_generated_events_and_features() {
    let conditions = [
        "f.payments_count_1h >= 3",
        "f.payments_count_1h == 3 || f.payments_sum_24h != 10000",
        "f.hours_since_sim_swap < 24 && f.hours_since_sim_swap >= 23.999999999999996",
        "f.hours_since_sim_swap <= 24.0 && !(f.payments_count_1h > 2)",
        "f.hours_since_sim_swap == 24 || f.hours_since_sim_swap > 1e9",
        "f.hours_since_sim_swap >= f.payments_count_1h",
        "f.hours_since_sim_swap >= 24 || f.hours_since_sim_swap == 0",
        "f.hours_since_sim_swap <= 23.999999999999996 && f.hours_since_sim_swap != 0.0",
        "f.hours_since_sim_swap > 23.999999999999996",
        "f.hours_since_sim_swap < 24.000000000000004",
        "f.hours_since_sim_swap != 24",
        "e.channel != ()",
        "e.channel <= ()",
        "e.amount >= 100_000 && e.method == \"carrier_billing\"",
        "e.amount > -1 && e.amount < 5000.5",
        "e.merchant_category in [\"gift_card\", \"game\"] && e.local_hour < 6",
        "e.card_number != () && e.card_number >= \"5\"",
        "e.card_number == () || e.card_number < 3",
        "e.channel == () && e.channel != \"app\"",
        "e.type == \"payment\" == true",
        "e.amount == 5000.0 || e.amount in [1000, 2000.0, \"3000\", ()]",
        "in_list(\"risky_agencies\", e.merchant_id) || has_prefix_in(\"irsf_ranges\", e.amount)",
        "!(e.local_hour >= 6) || e.ts % 2 == 0",
        "true && false || !false && f.distinct_callees_1h > 0",
    ];
    let rules: Vec<RuleSource> =
        conditions.iter().enumerate().map(|(i, c)| rule(&format!("generated_{i}"), "payment", c)).collect();
    let p = pack(rules);
    let native = (0..conditions.len()).filter(|&i| p.runs_natively(i)).count();
    assert!(native >= conditions.len() - 1, "only {native} rules compiled natively");

    let mut rng = Lcg(7);
    let amounts = [1, 999, 1000, 2000, 3000, 4999, 5000, 5001, 88216, 100_000, 250_000];
    let methods = ["carrier_billing", "card", "transfer"];
    let categories = ["gift_card", "game", "retail", "other"];
    let merchants = ["AG-7", "M-1", "M-2"];
    let hours = [23.999999999999996, 24.0, 24.000000000000004, 0.0, 1.0e9, 3.0, 2.0];
    let mut hits = 0;
    for n in 0..400 {
        let mut fields = json!({
            "type": "payment",
            "amount": *rng.pick(&amounts),
            "method": *rng.pick(&methods),
            "merchant_id": *rng.pick(&merchants),
            "merchant_category": *rng.pick(&categories),
            "occurred_at": format!("2026-11-21T{:02}:{:02}:{:02}+09:00", rng.next() % 24, rng.next() % 60, n % 60),
        });
        if *rng.pick(&[true, false]) {
            fields["card_number"] = json!(*rng.pick(&["4111111111111111", "5500000000000004"]));
        }
        if *rng.pick(&[true, false, false]) {
            fields["channel"] = json!("app");
        }
        let ev = event(fields);
        let fv = vec![
            FeatureValue::Int((rng.next() % 6) as i64),
            FeatureValue::Int(*rng.pick(&[0, 9_999, 10_000, 10_001])),
            FeatureValue::Float(*rng.pick(&hours)),
            FeatureValue::Int((rng.next() % 3) as i64),
        ];
        let fast = p.evaluate(&ev, &fv);
        let naive = p.evaluate_naive(&ev, &fv);
        assert_eq!(fast, naive, "case {n}: {:?} {fv:?}", ev.to_json());
        hits += fast.hits.len();
    }
    assert!(hits > 400, "the generated cases should hit often, got {hits}");
}

#[test]
fn standard_string_array_and_math_functions_are_available() {
    let p = pack(vec![
        rule("starts_with", "payment", "e.merchant_id.starts_with(\"M-\")"),
        rule("to_upper", "payment", "e.merchant_category.to_upper() == \"GIFT_CARD\""),
        rule("abs", "payment", "(-e.amount).abs() == 5000"),
        rule("array_in", "payment", "let cats = [\"game\", \"gift_card\"]; e.merchant_category in cats"),
        rule("string_len", "payment", "e.merchant_id.len() == 3"),
    ]);
    let out = p.evaluate(&payment(5000), &quiet());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.hits, vec![0, 1, 2, 3, 4]);
}

#[test]
fn closures_and_string_interpolation_are_refused_at_load() {
    let err = load_err(vec![
        rule("closure", "payment", "[1, 2].some(|x| x > 1)"),
        rule("interpolation", "payment", "`${f.payments_count_1h}` == \"1\""),
    ]);
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(err.problems[0].contains("closure.rhai: syntax error"), "{err}");
    assert!(err.problems[1].contains("interpolation.rhai: line 8: string interpolation"), "{err}");
}
