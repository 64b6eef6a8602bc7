//! The Rhai engine rules run in: limits, the language subset, and the host functions.
//!
//! Rules are untrusted scripts written by the business team and edited on the web, so
//! the engine gives them no I/O, no `eval`, no modules, no closures, no `print` /
//! `debug` output, no `sleep`, and hard limits on work and memory. A rule that hits a
//! limit fails alone.

use crate::context::{EventView, FeatureView, FieldTable};
use crate::lists::Lists;
use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicIteratorPackage, BasicMapPackage, BasicMathPackage,
    BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, OptimizationLevel};
use std::fmt;
use std::sync::Arc;

/// Operations one rule may perform on one event. A real condition takes a few dozen;
/// 5,000 stops a runaway loop within tens of microseconds.
pub const MAX_OPERATIONS: u64 = 5_000;
/// Nested function calls (rules may define small helper functions).
pub const MAX_CALL_LEVELS: usize = 8;
/// Expression nesting at top level and inside functions: long `&&` chains stay far
/// below, pathological generated input does not.
pub const MAX_EXPR_DEPTH: usize = 64;
pub const MAX_FUNCTION_EXPR_DEPTH: usize = 32;
/// Event strings are at most 128 characters; 1 KiB leaves room for concatenation and
/// stops a rule from building large strings.
pub const MAX_STRING_SIZE: usize = 1024;
/// Arrays and maps a rule builds (e.g. `e.merchant_category in [..]`).
pub const MAX_ARRAY_SIZE: usize = 256;
pub const MAX_MAP_SIZE: usize = 64;
/// Local variables per rule run.
pub const MAX_VARIABLES: usize = 64;

/// The Rhai type names `e` and `f` have in error messages.
const EVENT_TYPE_NAME: &str = "Event";
const FEATURES_TYPE_NAME: &str = "Features";

/// A failure of a host function (bad list name, bad argument), kept apart from values
/// a script throws.
#[derive(Debug)]
struct HostError(String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

fn host_error(function: &str, message: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorSystem(function.to_string(), Box::new(HostError(message))))
}

/// Builds the sandboxed engine for one pack: the getters for every event field and
/// every feature, and the list functions over this pack's lists.
///
/// `max_operations` is [`MAX_OPERATIONS`] for an engine running one rule at a time,
/// and a multiple of it for the engine running batches of rules.
pub(crate) fn engine(
    table: &FieldTable,
    feature_names: &[String],
    lists: Arc<Lists>,
    max_operations: u64,
) -> Engine {
    let mut engine = Engine::new_raw();
    // The standard library minus `LanguageCorePackage` (which brings `sleep`, `exit`
    // and function-pointer tricks), `BasicTimePackage` and `BasicBlobPackage`.
    ArithmeticPackage::new().register_into_engine(&mut engine);
    LogicPackage::new().register_into_engine(&mut engine);
    BasicStringPackage::new().register_into_engine(&mut engine);
    MoreStringPackage::new().register_into_engine(&mut engine);
    BasicMathPackage::new().register_into_engine(&mut engine);
    BasicArrayPackage::new().register_into_engine(&mut engine);
    BasicMapPackage::new().register_into_engine(&mut engine);
    BasicIteratorPackage::new().register_into_engine(&mut engine);

    engine
        .set_optimization_level(OptimizationLevel::Full)
        .set_strict_variables(true)
        .set_max_operations(max_operations)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_variables(MAX_VARIABLES)
        .set_allow_anonymous_fn(false)
        .disable_symbol("eval")
        .on_print(|_| {})
        .on_debug(|_, _, _| {});

    engine.register_type_with_name::<EventView>(EVENT_TYPE_NAME);
    engine.register_type_with_name::<FeatureView>(FEATURES_TYPE_NAME);
    // `type` is not a Rhai keyword, so `e.type` is an ordinary property like the rest.
    for (id, name) in table.names().iter().enumerate() {
        engine.register_get(*name, move |v: &mut EventView| v.get(id));
    }
    for (index, name) in feature_names.iter().enumerate() {
        engine.register_get(name.as_str(), move |v: &mut FeatureView| v.get(index));
    }

    let l = Arc::clone(&lists);
    engine.register_fn("in_list", move |name: ImmutableString, value: Dynamic| {
        list_call(&l, "in_list", &name, &value, Lists::contains)
    });
    let l = lists;
    engine.register_fn("has_prefix_in", move |name: ImmutableString, value: Dynamic| {
        list_call(&l, "has_prefix_in", &name, &value, Lists::has_prefix)
    });
    engine
}

/// Shared body of `in_list` / `has_prefix_in`: `()` (an absent field) is in no list;
/// integers are compared by their decimal form.
fn list_call(
    lists: &Lists,
    function: &str,
    name: &str,
    value: &Dynamic,
    test: fn(&Lists, &str, &str) -> Option<bool>,
) -> Result<bool, Box<EvalAltResult>> {
    if !lists.contains_name(name) {
        return Err(host_error(function, format!("unknown list {name:?}")));
    }
    let found = if value.is_unit() {
        Some(false)
    } else if let Some(s) = value.read_lock::<ImmutableString>() {
        test(lists, name, s.as_str())
    } else if let Ok(n) = value.as_int() {
        test(lists, name, &n.to_string())
    } else {
        return Err(host_error(
            function,
            format!("expects a string or an integer value, got {}", value.type_name()),
        ));
    };
    found.ok_or_else(|| host_error(function, format!("unknown list {name:?}")))
}
