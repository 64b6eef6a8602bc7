//! A loaded, compiled rule pack and its evaluation.

use crate::context::{event_map, feature_map, EventView, FeatureView, FieldTable};
use crate::error::{LoadError, RuleError};
use crate::header;
use crate::lists::{parse_list, Lists};
use crate::native::{self, Program};
use crate::sandbox;
use crate::scan;
use chrono::FixedOffset;
use fds_core::Family;
use fds_core::{BlockScope, Event, EventType, FeatureValue, RuleAction};
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory under a rules directory that holds the lists.
pub const LISTS_DIR: &str = "lists";

/// Rules per batch: one Rhai call evaluates up to this many rules (see
/// [`RulePack::evaluate`]). The batch's result array must stay under `MAX_ARRAY_SIZE`.
const BATCH_SIZE: usize = 64;

/// How many event types there are (per-type tables are indexed by `EventType::index`).
const TYPES: usize = EventType::ALL.len();

/// The variables a rule sees.
const EVENT_VAR: &str = "e";
const FEATURES_VAR: &str = "f";

/// A rule's metadata, from its header and its source.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMeta {
    pub id: String,
    pub name: String,
    pub description: String,
    pub family: Family,
    pub action: RuleAction,
    /// Points (0..100) a hit adds to the decision score.
    pub score: f64,
    /// The event types the rule runs on.
    pub events: Vec<EventType>,
    /// What a block from this rule stops (block rules; `payments` otherwise).
    pub scope: BlockScope,
    /// How long a block from this rule lasts.
    pub block_hours: u32,
    /// Indices (in feature-name order) of the features the condition reads, sorted:
    /// the values a decision's reason shows for this rule.
    pub features: Vec<usize>,
    /// The rule's file.
    pub path: PathBuf,
}

/// One rule file's path and text, for [`RulePack::from_sources`] (e.g. drafts edited
/// on the web that have no file yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSource {
    pub path: PathBuf,
    pub text: String,
}

/// The rules that hit one event, and the rules that failed on it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Indices into [`RulePack::rules`], in pack order.
    pub hits: Vec<usize>,
    pub errors: Vec<RuleError>,
}

/// A rule's source as the batch planner needs it.
struct RuleCode {
    text: String,
    /// see `scan::BATCH_BREAKERS`
    batchable: bool,
}

/// Several rules compiled into one script, `[{ rule a }, { rule b }, ..]`, whose
/// result array holds each rule's result in order.
struct Batch {
    rules: Vec<usize>,
    ast: AST,
}

/// How the rules of one event type are run.
#[derive(Default)]
struct Plan {
    /// the rules that run on this type, in pack order
    rules: Vec<usize>,
    /// rules with a native program (see `native`)
    native: Vec<usize>,
    /// the other rules, in Rhai: batches, and rules that run alone
    batches: Vec<Batch>,
    /// rules that run alone (loops, functions, early exits, long scripts)
    singles: Vec<usize>,
}

/// A compiled rule pack: immutable once loaded, `Send + Sync`, meant to be shared in
/// an `Arc` by every scoring thread and swapped whole on reload.
pub struct RulePack {
    version: String,
    rules: Vec<RuleMeta>,
    asts: Vec<AST>,
    /// per rule: its native program, when its condition is in the native subset
    programs: Vec<Option<Program>>,
    lists: Arc<Lists>,
    ids: HashMap<String, usize>,
    /// per event type (by `EventType::index`)
    plans: [Plan; TYPES],
    /// per event type: the event fields those rules read (what `EventView` fills)
    fields_by_type: [Vec<usize>; TYPES],
    table: FieldTable,
    feature_names: Vec<String>,
    utc_offset: FixedOffset,
    /// runs one rule at a time, with the per-rule operation limit
    engine: Engine,
    /// runs batches: the same engine with a batch's worth of operations
    batch_engine: Engine,
}

impl fmt::Debug for RulePack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RulePack")
            .field("version", &self.version)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl RulePack {
    /// Loads `dir/**/*.rhai` (one rule per file, in `dir/<family>/<id>.rhai`) and
    /// `dir/lists/*.txt`. All file I/O happens here; evaluation never touches disk.
    pub fn load_dir(
        dir: &Path,
        feature_names: &[String],
        utc_offset: FixedOffset,
    ) -> Result<RulePack, LoadError> {
        let mut problems = Vec::new();
        let mut rule_paths = Vec::new();
        collect_rule_files(dir, dir, &mut rule_paths, &mut problems);
        rule_paths.sort();

        let mut sources = Vec::new();
        for path in rule_paths {
            let family_dir = path
                .parent()
                .filter(|p| p.parent() == Some(dir))
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .and_then(Family::parse);
            if family_dir.is_none() {
                problems.push(format!(
                    "{}: rule files live in {}/<family>/<id>.rhai",
                    path.display(),
                    dir.display()
                ));
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push(RuleSource { path, text }),
                Err(e) => problems.push(format!("{}: cannot read: {e}", path.display())),
            }
        }

        let mut lists = BTreeMap::new();
        let lists_dir = dir.join(LISTS_DIR);
        if lists_dir.is_dir() {
            match sorted_entries(&lists_dir) {
                Ok(paths) => {
                    for path in paths {
                        if path.extension().is_none_or(|e| e != "txt") {
                            continue;
                        }
                        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                            problems.push(format!("{}: list names must be UTF-8", path.display()));
                            continue;
                        };
                        match std::fs::read_to_string(&path) {
                            Ok(text) => {
                                lists.insert(name.to_string(), parse_list(&text));
                            }
                            Err(e) => problems.push(format!("{}: cannot read: {e}", path.display())),
                        }
                    }
                }
                Err(e) => problems.push(format!("{}: cannot list: {e}", lists_dir.display())),
            }
        }

        match RulePack::from_sources(sources, lists, feature_names, utc_offset) {
            Ok(pack) if problems.is_empty() => Ok(pack),
            Ok(_) => Err(LoadError { problems }),
            Err(e) => {
                problems.extend(e.problems);
                Err(LoadError { problems })
            }
        }
    }

    /// Builds a pack from rule texts and lists already in memory. Every problem in
    /// every rule is reported at once, each prefixed with its rule's path.
    pub fn from_sources(
        rules: Vec<RuleSource>,
        lists: BTreeMap<String, Vec<String>>,
        feature_names: &[String],
        utc_offset: FixedOffset,
    ) -> Result<RulePack, LoadError> {
        let mut problems = Vec::new();
        let version = content_version(&rules, &lists);
        let (lists, list_problems) = Lists::build(&lists);
        problems.extend(list_problems);
        let lists = Arc::new(lists);
        let table = FieldTable::new();
        let engine = sandbox::engine(&table, feature_names, Arc::clone(&lists), sandbox::MAX_OPERATIONS);
        let batch_ops = sandbox::MAX_OPERATIONS * BATCH_SIZE as u64;
        let batch_engine = sandbox::engine(&table, feature_names, Arc::clone(&lists), batch_ops);

        // The compile scope declares `e` and `f` so strict variables accept them. They
        // are plain variables here, so the optimiser cannot fold them into the AST.
        let mut compile_scope = Scope::new();
        compile_scope.push_dynamic(EVENT_VAR, Dynamic::UNIT);
        compile_scope.push_dynamic(FEATURES_VAR, Dynamic::UNIT);

        let mut metas = Vec::new();
        let mut asts = Vec::new();
        let mut event_fields: Vec<Vec<usize>> = Vec::new();
        let mut code: Vec<RuleCode> = Vec::new();
        let mut programs: Vec<Option<Program>> = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        for source in rules {
            let path = source.path.display().to_string();
            let mut rule_problems = Vec::new();
            let header = match header::parse(&source.text) {
                Ok(h) => Some(h),
                Err(p) => {
                    rule_problems.extend(p);
                    None
                }
            };
            if let Some(h) = &header {
                let stem = source.path.file_stem().and_then(|s| s.to_str());
                if stem != Some(h.id.as_str()) {
                    rule_problems.push(format!("id {:?} does not match the file name", h.id));
                }
                let dir_family = source
                    .path
                    .parent()
                    .and_then(|p| p.file_name())
                    .and_then(|n| n.to_str())
                    .and_then(Family::parse);
                if dir_family.is_some_and(|f| f != h.family) {
                    rule_problems
                        .push(format!("family {} does not match the directory the file is in", h.family));
                }
            }

            let reads = scan::scan(&source.text);
            let checked = check_reads(&reads, header.as_ref(), &table, feature_names, &lists);
            rule_problems.extend(checked.problems);

            let ast = match engine.compile_with_scope(&compile_scope, &source.text) {
                Ok(ast) => Some(ast),
                Err(e) => {
                    rule_problems.push(format!("syntax error: {e}"));
                    None
                }
            };

            match (header, ast) {
                (Some(h), Some(ast)) if rule_problems.is_empty() => {
                    if let Some(&first) = ids.get(&h.id) {
                        let other: &RuleMeta = &metas[first];
                        problems.push(format!(
                            "{path}: duplicate rule id {:?} (also in {})",
                            h.id,
                            other.path.display()
                        ));
                        continue;
                    }
                    ids.insert(h.id.clone(), metas.len());
                    metas.push(RuleMeta {
                        id: h.id,
                        name: h.name,
                        description: h.description,
                        family: h.family,
                        action: h.action,
                        score: h.score,
                        events: h.events,
                        scope: h.scope,
                        block_hours: h.block_hours,
                        features: checked.features,
                        path: source.path,
                    });
                    asts.push(ast);
                    event_fields.push(checked.event_fields);
                    programs.push(native::compile(&source.text, &table, feature_names));
                    code.push(RuleCode { text: source.text, batchable: reads.batchable });
                }
                _ => problems.extend(rule_problems.into_iter().map(|p| format!("{path}: {p}"))),
            }
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }

        let mut by_type: [Vec<usize>; TYPES] = Default::default();
        let mut fields_by_type: [Vec<usize>; TYPES] = Default::default();
        for (i, rule) in metas.iter().enumerate() {
            for t in &rule.events {
                by_type[t.index()].push(i);
            }
        }
        let plans = by_type.clone().map(|rules| plan(rules, &programs, &code, &batch_engine, &compile_scope));
        for t in EventType::ALL {
            let carried = table.ids_for(t);
            let mut read: Vec<usize> = by_type[t.index()]
                .iter()
                .flat_map(|&i| event_fields[i].iter().copied())
                .filter(|id| carried.contains(id))
                .collect();
            read.sort_unstable();
            read.dedup();
            fields_by_type[t.index()] = read;
        }

        Ok(RulePack {
            version,
            rules: metas,
            asts,
            programs,
            lists,
            ids,
            plans,
            fields_by_type,
            table,
            feature_names: feature_names.to_vec(),
            utc_offset,
            engine,
            batch_engine,
        })
    }

    /// A deterministic hash of the rules' and lists' content, e.g. `pack-3f2a9c1b04de`:
    /// the same files give the same version on every replica.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Names this pack by another version than its content hash (a pack from the
    /// store is named by its published version, which decisions then record).
    pub fn set_version(&mut self, version: String) {
        self.version = version;
    }

    /// The rules, in load order (sorted by path for [`RulePack::load_dir`]).
    pub fn rules(&self) -> &[RuleMeta] {
        &self.rules
    }

    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    /// The feature names this pack was compiled against (the order `features` slices
    /// passed to `evaluate*` must follow).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Runs every rule that applies to the event's type. A rule that fails (throws,
    /// exceeds a limit, returns a non-bool) is reported in `errors` and skipped; the
    /// others still run. `features` must be in [`RulePack::feature_names`] order.
    ///
    /// Rules whose condition is in the native subset run first, straight over the event
    /// and the feature slice (see the `native` module); a case the subset does not
    /// decide is rerun in Rhai. The other rules run in Rhai over views of the event and
    /// features built once per event, in batches of up to 64 rules per Rhai call; when a
    /// batch fails as a whole, its rules are rerun one by one, so results and errors are
    /// exactly those of running each rule alone.
    pub fn evaluate(&self, event: &Event, features: &[FeatureValue]) -> Evaluation {
        let t = event.event_type();
        let plan = &self.plans[t.index()];
        let mut out = Evaluation::default();
        if plan.rules.is_empty() {
            return out;
        }
        if let Err(message) = self.check_features(features) {
            out.errors = plan.rules.iter().map(|&i| self.rule_error(i, message.clone())).collect();
            return out;
        }

        let input = self.native_input(event, features);
        let mut in_rhai = Vec::new();
        for &i in &plan.native {
            match self.programs[i].as_ref().and_then(|p| p.eval(&input)) {
                Some(true) => out.hits.push(i),
                Some(false) => {}
                None => in_rhai.push(i),
            }
        }
        if plan.batches.is_empty() && plan.singles.is_empty() && in_rhai.is_empty() {
            return out;
        }

        let view = EventView::build(&self.table, event, &self.fields_by_type[t.index()], self.utc_offset);
        let mut scope = self.scope(Dynamic::from(view), Dynamic::from(FeatureView::new(features)));
        let mut errors: Vec<(usize, RuleError)> = Vec::new();
        for batch in &plan.batches {
            let results = self.batch_engine.eval_ast_with_scope::<Dynamic>(&mut scope, &batch.ast);
            scope.rewind(2);
            match results.ok().and_then(|r| r.try_cast::<rhai::Array>()) {
                Some(results) if results.len() == batch.rules.len() => {
                    for (&i, result) in batch.rules.iter().zip(results) {
                        match result.as_bool() {
                            Ok(true) => out.hits.push(i),
                            Ok(false) => {}
                            Err(type_name) => errors.push((i, self.not_a_bool(i, type_name))),
                        }
                    }
                }
                _ => in_rhai.extend_from_slice(&batch.rules),
            }
        }
        in_rhai.extend_from_slice(&plan.singles);
        for i in in_rhai {
            self.run_alone(&mut scope, i, &mut out.hits, &mut errors);
        }
        out.hits.sort_unstable();
        errors.sort_by_key(|(i, _)| *i);
        out.errors = errors.into_iter().map(|(_, e)| e).collect();
        out
    }

    /// What [`RulePack::evaluate`] decides, with every applicable rule run in Rhai one
    /// at a time: no native programs, no batches. The benchmark's measure of what those
    /// save, and the reference the differential tests compare `evaluate` with.
    pub fn evaluate_rhai(&self, event: &Event, features: &[FeatureValue]) -> Evaluation {
        let t = event.event_type();
        let plan = &self.plans[t.index()];
        let mut out = Evaluation::default();
        if plan.rules.is_empty() {
            return out;
        }
        if let Err(message) = self.check_features(features) {
            out.errors = plan.rules.iter().map(|&i| self.rule_error(i, message.clone())).collect();
            return out;
        }
        let view = EventView::build(&self.table, event, &self.fields_by_type[t.index()], self.utc_offset);
        let mut scope = self.scope(Dynamic::from(view), Dynamic::from(FeatureView::new(features)));
        let mut errors: Vec<(usize, RuleError)> = Vec::new();
        for &i in &plan.rules {
            self.run_alone(&mut scope, i, &mut out.hits, &mut errors);
        }
        out.hits.sort_unstable();
        out.errors = errors.into_iter().map(|(_, e)| e).collect();
        out
    }

    /// The pack's named lists (`in_list`, `has_prefix_in`).
    pub fn lists(&self) -> &Lists {
        &self.lists
    }

    pub(crate) fn program(&self, rule: usize) -> Option<&Program> {
        self.programs.get(rule).and_then(Option::as_ref)
    }

    /// Whether `rule` has a native program (see [`RulePack::evaluate`]); the others
    /// always run in Rhai.
    pub fn runs_natively(&self, rule: usize) -> bool {
        self.programs.get(rule).is_some_and(Option::is_some)
    }

    /// Runs one rule on one event (fixtures, rule testing on the web). A rule never
    /// hits an event type it does not list in `events`.
    pub fn evaluate_one(
        &self,
        rule: usize,
        event: &Event,
        features: &[FeatureValue],
    ) -> Result<bool, RuleError> {
        let Some(meta) = self.rules.get(rule) else {
            return Err(RuleError {
                rule_id: format!("#{rule}"),
                message: format!("no rule at index {rule}; the pack has {}", self.rules.len()),
            });
        };
        let t = event.event_type();
        if !meta.events.contains(&t) {
            return Ok(false);
        }
        self.check_features(features).map_err(|m| self.rule_error(rule, m))?;
        let input = self.native_input(event, features);
        if let Some(hit) = self.programs[rule].as_ref().and_then(|p| p.eval(&input)) {
            return Ok(hit);
        }
        let view = EventView::build(&self.table, event, self.table.ids_for(t), self.utc_offset);
        let mut scope = self.scope(Dynamic::from(view), Dynamic::from(FeatureView::new(features)));
        self.run(&mut scope, rule)
    }

    /// The benchmark baseline: what a straightforward engine does. For every rule in
    /// the pack (no index by event type, just a check of its `events`), build a fresh
    /// scope holding the event and the features as Rhai maps, and run the rule. Same
    /// results as [`RulePack::evaluate`], several times slower; not for production.
    pub fn evaluate_naive(&self, event: &Event, features: &[FeatureValue]) -> Evaluation {
        let t = event.event_type();
        let mut out = Evaluation::default();
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.events.contains(&t) {
                continue;
            }
            if let Err(message) = self.check_features(features) {
                out.errors.push(self.rule_error(i, message));
                continue;
            }
            let e = Dynamic::from_map(event_map(event, self.utc_offset));
            let f = Dynamic::from_map(feature_map(&self.feature_names, features));
            let mut scope = self.scope(e, f);
            match self.run(&mut scope, i) {
                Ok(true) => out.hits.push(i),
                Ok(false) => {}
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    fn native_input<'a>(&'a self, event: &'a Event, features: &'a [FeatureValue]) -> native::Input<'a> {
        native::Input { event, features, utc_offset: self.utc_offset, lists: &self.lists }
    }

    /// A scope holding `e` and `f` as constants, so a rule cannot reassign them for
    /// the rules after it.
    fn scope(&self, e: Dynamic, f: Dynamic) -> Scope<'static> {
        let mut scope = Scope::with_capacity(8);
        scope.push_constant_dynamic(EVENT_VAR, e);
        scope.push_constant_dynamic(FEATURES_VAR, f);
        scope
    }

    fn run_alone(
        &self,
        scope: &mut Scope<'_>,
        rule: usize,
        hits: &mut Vec<usize>,
        errors: &mut Vec<(usize, RuleError)>,
    ) {
        match self.run(scope, rule) {
            Ok(true) => hits.push(rule),
            Ok(false) => {}
            Err(e) => errors.push((rule, e)),
        }
        scope.rewind(2);
    }

    fn run(&self, scope: &mut Scope<'_>, rule: usize) -> Result<bool, RuleError> {
        match self.engine.eval_ast_with_scope::<Dynamic>(scope, &self.asts[rule]) {
            Ok(value) => value.as_bool().map_err(|type_name| self.not_a_bool(rule, type_name)),
            Err(e) => Err(self.rule_error(rule, describe(&e))),
        }
    }

    fn check_features(&self, features: &[FeatureValue]) -> Result<(), String> {
        if features.len() == self.feature_names.len() {
            Ok(())
        } else {
            Err(format!(
                "got {} feature values, the pack was loaded with {} feature names",
                features.len(),
                self.feature_names.len()
            ))
        }
    }

    fn not_a_bool(&self, rule: usize, type_name: &str) -> RuleError {
        self.rule_error(rule, format!("the condition returned {type_name}, not a bool"))
    }

    fn rule_error(&self, rule: usize, message: String) -> RuleError {
        RuleError { rule_id: self.rules[rule].id.clone(), message }
    }
}

/// Splits the rules of one event type into batches and rules that run alone. A batch
/// that does not compile (which would be a bug in this wrapping, since each rule
/// compiled alone) falls back to running its rules alone.
fn plan(
    rules: Vec<usize>,
    programs: &[Option<Program>],
    code: &[RuleCode],
    batch_engine: &Engine,
    scope: &Scope<'_>,
) -> Plan {
    let (native, in_rhai): (Vec<usize>, Vec<usize>) = rules.iter().partition(|&&i| programs[i].is_some());
    let (batchable, mut singles): (Vec<usize>, Vec<usize>) =
        in_rhai.iter().partition(|&&i| code[i].batchable);
    let mut batches = Vec::new();
    for chunk in batchable.chunks(BATCH_SIZE) {
        if chunk.len() < 2 {
            singles.extend_from_slice(chunk);
            continue;
        }
        let mut text = String::from("[\n");
        for &i in chunk {
            text.push_str("{\n");
            text.push_str(&code[i].text);
            text.push_str("\n},\n");
        }
        text.push(']');
        match batch_engine.compile_with_scope(scope, &text) {
            Ok(ast) => batches.push(Batch { rules: chunk.to_vec(), ast }),
            Err(_) => singles.extend_from_slice(chunk),
        }
    }
    singles.sort_unstable();
    Plan { rules, native, batches, singles }
}

/// What a run-time failure says, without any value the script threw: a thrown value
/// can be built from event fields, and those may be PII.
fn describe(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorRuntime(_, pos) => {
            format!("the script threw an exception ({pos}); thrown values are not reported")
        }
        EvalAltResult::ErrorInFunctionCall(name, _, inner, pos) => {
            format!("in call to function {name} ({pos}): {}", describe(inner))
        }
        EvalAltResult::ErrorTooManyOperations(pos) => {
            format!("exceeded {} operations ({pos})", sandbox::MAX_OPERATIONS)
        }
        other => other.to_string(),
    }
}

/// The checked reads of one rule: the feature indices and event field ids it reads,
/// and its problems.
struct Checked {
    features: Vec<usize>,
    event_fields: Vec<usize>,
    problems: Vec<String>,
}

fn check_reads(
    reads: &scan::Reads,
    header: Option<&header::Header>,
    table: &FieldTable,
    feature_names: &[String],
    lists: &Lists,
) -> Checked {
    let mut problems = Vec::new();
    let mut features = Vec::new();
    let mut event_fields = Vec::new();
    if !reads.has_code {
        problems.push("the file has a header but no condition".to_string());
    }
    for (name, line) in &reads.features {
        match feature_names.iter().position(|n| n == name) {
            Some(i) => features.push(i),
            None => problems.push(format!("line {line}: unknown feature f.{name}")),
        }
    }
    for (name, line) in &reads.event_fields {
        let Some(id) = table.id(name) else {
            let mut known = table.names().to_vec();
            known.sort_unstable();
            problems.push(format!("line {line}: unknown event field e.{name} (known: {})", known.join(", ")));
            continue;
        };
        event_fields.push(id);
        if let Some(h) = header {
            if !table.carried_by_any(name, &h.events) {
                let types: Vec<&str> = h.events.iter().map(|t| t.as_str()).collect();
                problems.push(format!(
                    "line {line}: e.{name} is never set on the rule's event types ({})",
                    types.join(", ")
                ));
            }
        }
    }
    for (name, line) in &reads.lists {
        if !lists.contains_name(name) {
            problems.push(format!("line {line}: unknown list {name:?} (no lists/{name}.txt)"));
        }
    }
    for line in &reads.interpolations {
        problems.push(format!("line {line}: string interpolation (`${{..}}`) is not allowed in rules"));
    }
    for (var, line) in &reads.other_uses {
        problems.push(format!(
            "line {line}: use `{var}` only as `{var}.<name>` (no indexing, aliasing or redefining)"
        ));
    }
    features.sort_unstable();
    features.dedup();
    event_fields.sort_unstable();
    event_fields.dedup();
    Checked { features, event_fields, problems }
}

/// `pack-` and the first 12 hex digits of a SHA-256 over the rules (by file name, in
/// name order) and the lists (by name, entries in order).
fn content_version(rules: &[RuleSource], lists: &BTreeMap<String, Vec<String>>) -> String {
    let mut named: Vec<(String, &str)> = rules
        .iter()
        .map(|r| {
            let name = r.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, r.text.as_str())
        })
        .collect();
    named.sort();
    let mut hasher = Sha256::new();
    for (name, text) in named {
        hasher.update(b"rule\0");
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        hasher.update(text.as_bytes());
        hasher.update(b"\0");
    }
    for (name, entries) in lists {
        hasher.update(b"list\0");
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        for entry in entries {
            hasher.update(entry.as_bytes());
            hasher.update(b"\n");
        }
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("pack-{hex}")
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths =
        std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect::<std::io::Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

/// Collects `*.rhai` under `dir`, skipping `root/lists`.
fn collect_rule_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    let paths = match sorted_entries(dir) {
        Ok(p) => p,
        Err(e) => {
            problems.push(format!("{}: cannot list: {e}", dir.display()));
            return;
        }
    };
    for path in paths {
        if path.is_dir() {
            if path != root.join(LISTS_DIR) {
                collect_rule_files(root, &path, out, problems);
            }
        } else if path.extension().is_some_and(|e| e == "rhai") {
            out.push(path);
        }
    }
}
