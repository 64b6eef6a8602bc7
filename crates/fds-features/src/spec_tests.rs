use super::*;

const SHIPPED: &str = include_str!("../../../rules/features.toml");

/// Parses `spec` and compares the problems found (in order) with `expected`; an empty
/// `expected` means the spec is valid.
fn check(spec: &str, expected: &[&str]) {
    let got = match FeatureSet::from_toml_str(spec) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    };
    assert_eq!(got, expected, "problems for:\n{spec}");
}

/// One `[[feature]]` table per item.
fn features(bodies: &[&str]) -> String {
    bodies.iter().map(|b| format!("[[feature]]\n{b}\n")).collect()
}

#[test]
fn the_shipped_spec_parses() {
    let set = FeatureSet::from_toml_str(SHIPPED).expect("rules/features.toml is valid");
    assert_eq!(set.len(), SHIPPED.matches("[[feature]]").count());
    assert!(!set.is_empty());
    assert_eq!(set.utc_offset(), FixedOffset::east_opt(9 * 3_600).expect("valid offset"));
    assert_eq!(set.names()[0], "payments_count_1h");
    assert_eq!(
        set.index_of("hours_since_sim_swap"),
        set.names().iter().position(|n| n == "hours_since_sim_swap")
    );
    assert_eq!(set.index_of("no_such_feature"), None);
    // The since-features' default horizon (90 days) outlasts the longest window (30 days).
    assert_eq!(set.longest_window(), Duration::days(DEFAULT_SINCE_HORIZON_DAYS));

    let f = &set.features()[set.index_of("distinct_imeis_30d").expect("declared")];
    assert_eq!((f.entity(), f.agg(), f.field()), (EntityKind::Subscriber, Agg::Distinct, Some("imei")));
    assert_eq!(f.window(), Some(Duration::days(30)));
    assert_eq!(f.types(), EventType::ALL, "every type when `types` is absent");
    let f = &set.features()[set.index_of("line_age_days").expect("declared")];
    assert_eq!((f.unit(), f.horizon(), f.window()), (Some(TimeUnit::Days), Some(Duration::days(90)), None));
    assert_eq!(f.empty_value(), FeatureValue::NEVER);
}

#[test]
fn an_empty_spec_is_an_empty_set() {
    let set = FeatureSet::from_toml_str("").expect("valid");
    assert!(set.is_empty());
    assert_eq!(set.longest_window(), Duration::zero());
    assert_eq!(set.utc_offset(), chrono::Utc.fix());
}

#[test]
fn every_problem_is_reported_at_once_naming_its_feature() {
    let spec = features(&[
        // 1: fine
        r#"name = "ok_1h"
entity = "subscriber"
agg = "count"
window = "1h""#,
        // 2: duplicate of 1, unknown entity and agg
        r#"name = "ok_1h"
entity = "planet"
agg = "avg"
window = "1h""#,
        // 3: bad name, unknown type, unknown key
        r#"name = "Bad-Name"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment", "fax"]
colour = "red""#,
        // 4: sum without field, unparsable window
        r#"name = "sum_no_field"
entity = "subscriber"
agg = "sum"
window = "1w"
types = ["payment"]"#,
        // 5: distinct without window, field of no listed type
        r#"name = "distinct_bad_field"
entity = "subscriber"
agg = "distinct"
field = "amount"
types = ["call"]"#,
        // 6: since_last without unit, with a window and a field
        r#"name = "since_no_unit"
entity = "subscriber"
agg = "since_last"
window = "1h"
field = "amount"
types = ["sim_swap"]"#,
        // 7: unknown filter field, wrong filter value kind, bad enum value, bound on text
        r#"name = "bad_filters"
entity = "subscriber"
agg = "count"
window = "24h"
types = ["call"]
where = { amount = 5, duration_s = "long", direction = "sideways", callee_country = { lt = 3 } }"#,
        // 8: no name at all
        r#"entity = "subscriber"
agg = "count"
window = "1h""#,
    ]);
    check(&spec, &[
        "feature \"ok_1h\": duplicate name (first declared as feature #1)",
        "feature \"ok_1h\": unknown entity \"planet\" (expected subscriber, identity, imei, card, account, merchant, callee)",
        "feature \"ok_1h\": unknown agg \"avg\" (expected count, sum, distinct, since_last, since_first)",
        "feature \"Bad-Name\": unknown key \"colour\" (expected name, entity, agg, field, window, unit, horizon, types, where)",
        "feature \"Bad-Name\": name \"Bad-Name\" must be lowercase letters, digits and _, start with a letter and have at most 64 characters",
        "feature \"Bad-Name\": unknown type \"fax\" (expected call, sms, subscription, sim_swap, device_change, port_out, payment)",
        "feature \"sum_no_field\": window \"1w\" must be a whole number of minutes, hours or days such as \"10m\", \"24h\" or \"30d\" (at most 366d)",
        "feature \"sum_no_field\": field is required",
        "feature \"distinct_bad_field\": window is required for distinct",
        "feature \"distinct_bad_field\": field \"amount\" is not a field of call events",
        "feature \"since_no_unit\": since_last takes no window (horizon says how long an event is remembered)",
        "feature \"since_no_unit\": since_last takes no field",
        "feature \"since_no_unit\": unit is required for since_last (hours or days)",
        "feature \"bad_filters\": where: unknown field \"amount\" for call events",
        "feature \"bad_filters\": where.callee_country: lt needs an integer field, callee_country holds a string",
        "feature \"bad_filters\": where.direction: \"sideways\" is not one of out, in",
        "feature \"bad_filters\": where.duration_s: expected an integer, got string",
        "feature #8: name is required",
    ]);
}

#[test]
fn field_rules_depend_on_the_aggregate() {
    check(
        &features(&[r#"name = "x"
entity = "subscriber"
agg = "sum"
field = "merchant_id"
window = "1h"
types = ["payment"]"#]),
        &["feature \"x\": sum needs an integer field, \"merchant_id\" holds a string"],
    );
    check(
        &features(&[r#"name = "x"
entity = "subscriber"
agg = "count"
field = "amount"
window = "1h""#]),
        &["feature \"x\": count takes no field"],
    );
    check(
        &features(&[r#"name = "x"
entity = "imei"
agg = "distinct"
field = "imei"
window = "1h""#]),
        &["feature \"x\": distinct imei over its own entity is always 1"],
    );
    check(
        &features(&[r#"name = "x"
entity = "subscriber"
agg = "distinct"
field = "card"
window = "1h"
types = ["call"]"#]),
        &["feature \"x\": field \"card\": call events never carry a card key"],
    );
    // An entity kind that is not a contract field (`card`, `merchant`) is fine for distinct.
    check(
        &features(&[r#"name = "x"
entity = "subscriber"
agg = "distinct"
field = "merchant"
window = "1h"
types = ["payment"]"#]),
        &[],
    );
}

#[test]
fn since_features_need_a_unit_and_take_an_optional_horizon() {
    check(&features(&[r#"name = "x"
entity = "subscriber"
agg = "since_first"
unit = "weeks"
horizon = "forever""#]), &[
        "feature \"x\": unknown unit \"weeks\" (expected hours or days)",
        "feature \"x\": horizon \"forever\" must be a whole number of minutes, hours or days such as \"30d\" (at most 3660d)",
    ]);
    check(
        &features(&[r#"name = "x"
entity = "subscriber"
agg = "count"
window = "1h"
unit = "hours"
horizon = "2d""#]),
        &[
            "feature \"x\": unit only applies to since_last and since_first, not count",
            "feature \"x\": horizon only applies to since_last and since_first, not count",
        ],
    );
    let set = FeatureSet::from_toml_str(&features(&[r#"name = "x"
entity = "subscriber"
agg = "since_last"
unit = "hours"
horizon = "400d""#]))
    .expect("valid");
    assert_eq!(set.features()[0].horizon(), Some(Duration::days(400)));
    assert_eq!(set.longest_window(), Duration::days(400));
}

#[test]
fn entities_must_be_carried_by_the_types() {
    check(
        &features(&[r#"name = "x"
entity = "card"
agg = "count"
window = "1h"
types = ["call", "sms"]"#]),
        &["feature \"x\": entity \"card\" is never carried by call, sms events"],
    );
}

#[test]
fn windows_are_positive_whole_minutes_hours_or_days_up_to_a_year() {
    for ok in ["1m", "10m", "1h", "24h", "7d", "30d", "366d"] {
        assert!(parse_span(ok, MAX_WINDOW_DAYS).is_some(), "{ok}");
    }
    for bad in ["", "h", "0h", "-1h", "1.5h", "1w", "10s", "367d", "+1h", "1 h", "99999999999d", "１h"] {
        assert!(parse_span(bad, MAX_WINDOW_DAYS).is_none(), "{bad:?}");
    }
    assert_eq!(parse_span("10m", MAX_WINDOW_DAYS), Some(Duration::minutes(10)));
}

#[test]
fn names_are_lowercase_identifiers() {
    for ok in ["a", "payments_count_1h", "x9_"] {
        assert!(valid_name(ok), "{ok}");
    }
    for bad in ["", "9lives", "_x", "Upper", "with-dash", "spaced name", &"a".repeat(65)] {
        assert!(!valid_name(bad), "{bad:?}");
    }
}

#[test]
fn types_must_be_a_non_empty_list_without_repeats() {
    let base = "name = \"x\"\nentity = \"subscriber\"\nagg = \"count\"\nwindow = \"1h\"\n";
    check(
        &features(&[format!("{base}types = []").as_str()]),
        &["feature \"x\": types must not be empty (leave it out for every type)"],
    );
    check(
        &features(&[format!("{base}types = [\"call\", \"call\", 3]").as_str()]),
        &["feature \"x\": types lists \"call\" twice", "feature \"x\": types must be strings, got integer"],
    );
    check(
        &features(&[format!("{base}types = \"call\"").as_str()]),
        &["feature \"x\": types must be an array of event types, got string"],
    );
}

#[test]
fn filter_tables_are_checked_clause_by_clause() {
    let base =
        "name = \"x\"\nentity = \"subscriber\"\nagg = \"count\"\nwindow = \"1h\"\ntypes = [\"call\"]\n";
    let with = |w: &str| features(&[format!("{base}where = {w}").as_str()]);
    check(
        &with("{ direction = [], forwarded = 1 }"),
        &[
            "feature \"x\": where.direction: an empty list matches nothing",
            "feature \"x\": where.forwarded: expected a boolean, got integer",
        ],
    );
    check(
        &with("{ duration_s = { about = 3, ge = \"a\" }, local_hour = 24 }"),
        &[
            "feature \"x\": where.duration_s: unknown comparison \"about\" (expected lt, le, gt, ge, ne)",
            "feature \"x\": where.duration_s.ge: expected an integer, got string",
            "feature \"x\": where.local_hour: 24 is not an hour of day (0 to 23)",
        ],
    );
    check(&with("{ duration_s = {} }"), &["feature \"x\": where.duration_s: an empty comparison table"]);
    check(&with("\"out\""), &["feature \"x\": where must be a table of field filters, got string"]);
    check(
        &with("{ callee_country = { ne = [\"KR\", \"JP\"] }, local_hour = { ge = 22 }, forwarded = true }"),
        &[],
    );
    check(&with("{ direction = 1.5 }"), &["feature \"x\": where.direction: expected a string, got float"]);
}

#[test]
fn identical_filter_clauses_are_shared_between_features() {
    let spec = features(&[
        "name = \"a\"\nentity = \"subscriber\"\nagg = \"count\"\nwindow = \"1h\"\ntypes = [\"call\"]\nwhere = { direction = \"out\" }",
        "name = \"b\"\nentity = \"callee\"\nagg = \"count\"\nwindow = \"1h\"\ntypes = [\"call\"]\nwhere = { direction = \"out\" }",
        "name = \"c\"\nentity = \"subscriber\"\nagg = \"count\"\nwindow = \"1h\"\ntypes = [\"call\"]\nwhere = { direction = \"in\" }",
    ]);
    let set = FeatureSet::from_toml_str(&spec).expect("valid");
    assert_eq!(set.conditions.len(), 2);
    let call = &set.plans[EventType::Call.index()];
    assert_eq!(call.conditions, vec![0, 1]);
    let kinds: Vec<EntityKind> = call.groups.iter().map(|g| g.kind).collect();
    assert_eq!(kinds, vec![EntityKind::Subscriber, EntityKind::Callee]);
    // Payments carry no callee, so their plan skips that entity kind.
    let payment = &set.plans[EventType::Payment.index()];
    assert_eq!(payment.groups.len(), 1);
    assert!(payment.groups[0].updates.is_empty());
}

#[test]
fn top_level_problems_and_syntax_errors_are_reported() {
    check(
        "utc_offset = \"Seoul\"\nfeature_flags = 1\n",
        &[
            "unknown top-level key \"feature_flags\" (expected utc_offset, feature)",
            "utc_offset: must be an offset such as \"+09:00\", got \"Seoul\"",
        ],
    );
    check("feature = 3", &["feature: must be an array of [[feature]] tables, got integer"]);
    check("feature = [3]", &["feature #1: must be a table, got integer"]);
    let err = FeatureSet::from_toml_str("utc_offset = \"+09:00\"\n[[feature]\n").expect_err("bad TOML");
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0].starts_with("not valid TOML at line 2: "), "{}", err.problems[0]);
    assert!(err.to_string().starts_with("invalid feature spec: not valid TOML"));
}

#[test]
fn offsets_parse_in_either_direction() {
    let set = FeatureSet::from_toml_str("utc_offset = \"-05:30\"").expect("valid");
    assert_eq!(set.utc_offset().local_minus_utc(), -(5 * 3_600 + 30 * 60));
}
