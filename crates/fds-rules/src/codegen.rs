//! The pack's rules written out as native Rust closures: the floor the scoring benchmark
//! measures the rule engine against.
//!
//! Each rule whose condition is in the native subset (see `native`) becomes a closure
//! over the typed event body, the way a developer would write it by hand: a `match` on
//! the event types the rule runs on, fields read straight from the body struct,
//! enumerated fields compared as enums, optional fields as `Option`, features as
//! numbers, lists looked up by name. Rules outside the subset are listed as skipped.
//!
//! The output is one self-contained Rust module (`benches/floor/native_rules.rs` holds the
//! shipped library's); a test regenerates it and checks that it is current and that its
//! closures decide exactly as the pack does.

use crate::native::{Cmp, ListFn, Lit, Node};
use crate::pack::RulePack;
use fds_core::EventType;
use std::fmt::Write;

/// The generated module and the rules it leaves out, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeSource {
    pub code: String,
    pub skipped: Vec<(String, String)>,
}

/// A field of the enumerated kind: its Rust type and its (text, variant) pairs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct EnumDef {
    ty: &'static str,
    variants: &'static [(&'static str, &'static str)],
}

const DIRECTION: EnumDef = EnumDef { ty: "Direction", variants: &[("out", "Out"), ("in", "In")] };
const CHANNEL: EnumDef = EnumDef {
    ty: "Channel",
    variants: &[
        ("online", "Online"),
        ("store", "Store"),
        ("agency", "Agency"),
        ("telemarketing", "Telemarketing"),
    ],
};
const METHOD: EnumDef = EnumDef {
    ty: "PaymentMethod",
    variants: &[("carrier_billing", "CarrierBilling"), ("card", "Card"), ("transfer", "Transfer")],
};
const CATEGORY: EnumDef = EnumDef {
    ty: "MerchantCategory",
    variants: &[
        ("gift_card", "GiftCard"),
        ("game", "Game"),
        ("digital_content", "DigitalContent"),
        ("transport", "Transport"),
        ("retail", "Retail"),
        ("other", "Other"),
    ],
};

/// The static type of a generated expression.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Unit,
    Bool,
    Int,
    Float,
    Str,
    Enum(EnumDef),
    OptBool,
    OptInt,
    OptStr,
}

impl Ty {
    fn inner(self) -> Option<Ty> {
        match self {
            Ty::OptBool => Some(Ty::Bool),
            Ty::OptInt => Some(Ty::Int),
            Ty::OptStr => Some(Ty::Str),
            _ => None,
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }
}

/// A generated expression: its code, its type, and the literal it is, if it is one.
#[derive(Clone, Debug)]
struct Ex {
    code: String,
    ty: Ty,
    lit: Option<Lit>,
}

impl Ex {
    fn new(code: impl Into<String>, ty: Ty) -> Ex {
        Ex { code: code.into(), ty, lit: None }
    }

    fn as_f64(&self) -> String {
        match (self.ty, &self.lit) {
            (Ty::Int, Some(Lit::Int(v))) => format!("{:?}", *v as f64),
            (Ty::Int, _) => format!("({} as f64)", self.code),
            _ => self.code.clone(),
        }
    }
}

fn variant_of(t: EventType) -> &'static str {
    match t {
        EventType::Call => "Call",
        EventType::Sms => "Sms",
        EventType::Subscription => "Subscription",
        EventType::SimSwap => "SimSwap",
        EventType::DeviceChange => "DeviceChange",
        EventType::PortOut => "PortOut",
        EventType::Payment => "Payment",
    }
}

/// `e.<name>` on an event of type `t`, typed; `None` when that type has no such field
/// (Rhai reads `()`).
fn field(t: EventType, name: &str) -> Option<Ex> {
    use EventType as T;
    let ex = |code: &str, ty: Ty| Some(Ex::new(code, ty));
    match name {
        "event_id" => return ex("e.event_id.as_str()", Ty::Str),
        "subscriber" => return ex("e.subscriber.expose()", Ty::Str),
        "type" => {
            return Some(Ex {
                code: format!("{:?}", t.as_str()),
                ty: Ty::Str,
                lit: Some(Lit::Str(t.as_str().to_string())),
            })
        }
        "source" => return ex("e.source.as_deref()", Ty::OptStr),
        "local_hour" => return ex("local_hour(e, off)", Ty::Int),
        "ts" => return ex("e.occurred_at.timestamp()", Ty::Int),
        _ => {}
    }
    let opt_pii = |n: &str| Some(Ex::new(format!("b.{n}.as_ref().map(Pii::expose)"), Ty::OptStr));
    match (t, name) {
        (T::Call, "callee") => ex("b.callee.expose()", Ty::Str),
        (T::Call, "direction") | (T::Sms, "direction") => ex("b.direction", Ty::Enum(DIRECTION)),
        (T::Call, "duration_s") => ex("b.duration_s", Ty::Int),
        (T::Call, "callee_country") => ex("b.callee_country.as_str()", Ty::Str),
        (T::Call, "forwarded") => ex("b.forwarded", Ty::OptBool),
        (T::Call, "cell_id") => ex("b.cell_id.as_deref()", Ty::OptStr),
        (T::Sms, "recipient") => ex("b.recipient.expose()", Ty::Str),
        (T::Sms, "recipient_country") => ex("b.recipient_country.as_str()", Ty::Str),
        (T::Sms, "contains_url") => ex("b.contains_url", Ty::OptBool),
        (T::Subscription, "identity") => ex("b.identity.expose()", Ty::Str),
        (T::Subscription, "channel") | (T::SimSwap, "channel") => ex("b.channel", Ty::Enum(CHANNEL)),
        (T::Subscription, "agency_id") => ex("b.agency_id.as_deref()", Ty::OptStr),
        (T::Subscription, "device_imei") | (T::Payment, "device_imei") => opt_pii("device_imei"),
        (T::Subscription, "device_price") => ex("b.device_price", Ty::OptInt),
        (T::Subscription, "installment_months") => ex("b.installment_months", Ty::OptInt),
        (T::Subscription, "plan") => ex("b.plan.as_deref()", Ty::OptStr),
        (T::SimSwap, "new_iccid") => opt_pii("new_iccid"),
        (T::DeviceChange, "imei") => ex("b.imei.expose()", Ty::Str),
        (T::DeviceChange, "device_model") => ex("b.device_model.as_deref()", Ty::OptStr),
        (T::PortOut, "to_carrier") => ex("b.to_carrier.as_str()", Ty::Str),
        (T::Payment, "amount") => ex("b.amount", Ty::Int),
        (T::Payment, "method") => ex("b.method", Ty::Enum(METHOD)),
        (T::Payment, "merchant_id") => ex("b.merchant_id.as_str()", Ty::Str),
        (T::Payment, "merchant_category") => ex("b.merchant_category", Ty::Enum(CATEGORY)),
        (T::Payment, "card_number") => opt_pii("card_number"),
        (T::Payment, "account") => opt_pii("account"),
        (T::Payment, "channel") => ex("b.channel.as_deref()", Ty::OptStr),
        _ => None,
    }
}

fn op_str(op: Cmp) -> &'static str {
    match op {
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
    }
}

fn flip(op: Cmp) -> Cmp {
    match op {
        Cmp::Lt => Cmp::Gt,
        Cmp::Le => Cmp::Ge,
        Cmp::Gt => Cmp::Lt,
        Cmp::Ge => Cmp::Le,
        other => other,
    }
}

struct Gen<'a> {
    t: EventType,
    feature_names: &'a [String],
    /// closure parameter names in use (`v0`, `v1`, ..)
    vars: usize,
}

type Result<T> = std::result::Result<T, String>;

impl Gen<'_> {
    fn lit(lit: &Lit) -> Ex {
        let (code, ty) = match lit {
            Lit::Unit => ("()".to_string(), Ty::Unit),
            Lit::Bool(b) => (b.to_string(), Ty::Bool),
            Lit::Int(v) => (format!("{v}_i64"), Ty::Int),
            Lit::Float(v) => (format!("{v:?}_f64"), Ty::Float),
            Lit::Str(s) => (format!("{s:?}"), Ty::Str),
        };
        Ex { code, ty, lit: Some(lit.clone()) }
    }

    fn expr(&mut self, node: &Node) -> Result<Ex> {
        Ok(match node {
            Node::Lit(lit) => Self::lit(lit),
            Node::Field(name) => field(self.t, name).unwrap_or_else(|| Self::lit(&Lit::Unit)),
            Node::Feature(i) => {
                let name = self.feature_names.get(*i).ok_or("unknown feature")?;
                Ex::new(format!("num(&f[{i}]) /* {name} */"), Ty::Float)
            }
            Node::Not(inner) => {
                let inner = self.boolean(inner)?;
                Ex::new(format!("!{inner}"), Ty::Bool)
            }
            Node::And(a, b) => Ex::new(format!("({} && {})", self.boolean(a)?, self.boolean(b)?), Ty::Bool),
            Node::Or(a, b) => Ex::new(format!("({} || {})", self.boolean(a)?, self.boolean(b)?), Ty::Bool),
            Node::Cmp(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                Ex::new(self.compare(*op, &a, &b)?, Ty::Bool)
            }
            Node::In(value, items) => {
                let value = self.expr(value)?;
                let tests = items
                    .iter()
                    .map(|item| self.compare(Cmp::Eq, &value, &Self::lit(item)))
                    .collect::<Result<Vec<_>>>()?;
                let code =
                    if tests.is_empty() { "false".to_string() } else { format!("({})", tests.join(" || ")) };
                Ex::new(code, Ty::Bool)
            }
            Node::List(func, name, arg) => {
                let method = match func {
                    ListFn::InList => "contains",
                    ListFn::HasPrefixIn => "has_prefix",
                };
                let arg = self.expr(arg)?;
                let call = |value: &str| format!("(l.{method}({name:?}, {value}) == Some(true))");
                let code = match arg.ty {
                    Ty::Unit => "false".to_string(),
                    Ty::Str => call(&arg.code),
                    Ty::Enum(_) => call(&format!("{}.as_str()", arg.code)),
                    Ty::Int => call(&format!("&{}.to_string()", arg.code)),
                    Ty::OptStr => {
                        let v = self.var();
                        format!("{}.is_some_and(|{v}| {})", arg.code, call(&v))
                    }
                    Ty::OptInt => {
                        let v = self.var();
                        format!("{}.is_some_and(|{v}| {})", arg.code, call(&format!("&{v}.to_string()")))
                    }
                    _ => return Err(format!("a list test on a {:?} value", arg.ty)),
                };
                Ex::new(code, Ty::Bool)
            }
        })
    }

    fn var(&mut self) -> String {
        self.vars += 1;
        format!("v{}", self.vars - 1)
    }

    /// A node that must be a bool (`!`, `&&`, `||` operands): Rhai raises an error on
    /// anything else, which a native closure cannot express.
    fn boolean(&mut self, node: &Node) -> Result<String> {
        let ex = self.expr(node)?;
        match ex.ty {
            Ty::Bool => Ok(ex.code),
            other => Err(format!("a {other:?} operand where Rhai needs a bool")),
        }
    }

    /// `a op b` with Rhai's meaning for every pair of types.
    fn compare(&mut self, op: Cmp, a: &Ex, b: &Ex) -> Result<String> {
        let o = op_str(op);
        // Different non-numeric types never compare equal: only `!=` holds.
        let mismatch = || if op == Cmp::Ne { "true".to_string() } else { "false".to_string() };
        Ok(match (a.ty, b.ty) {
            (x, y) if x.numeric() && y.numeric() => {
                if x == Ty::Int && y == Ty::Int {
                    format!("{} {o} {}", a.code, b.code)
                } else {
                    format!("{} {o} {}", a.as_f64(), b.as_f64())
                }
            }
            (Ty::Str, Ty::Str) | (Ty::Bool, Ty::Bool) => match (&b.lit, op) {
                (Some(Lit::Bool(true)), Cmp::Eq) | (Some(Lit::Bool(false)), Cmp::Ne) => a.code.clone(),
                (Some(Lit::Bool(false)), Cmp::Eq) | (Some(Lit::Bool(true)), Cmp::Ne) => {
                    format!("!{}", a.code)
                }
                _ => format!("{} {o} {}", a.code, b.code),
            },
            (Ty::Unit, Ty::Unit) => (op == Cmp::Eq).to_string(),
            (x, Ty::Unit) | (Ty::Unit, x) => match (x.inner(), op) {
                (Some(_), Cmp::Eq) => {
                    format!("{}.is_none()", if a.ty == Ty::Unit { &b.code } else { &a.code })
                }
                (Some(_), Cmp::Ne) => {
                    format!("{}.is_some()", if a.ty == Ty::Unit { &b.code } else { &a.code })
                }
                _ => mismatch(),
            },
            (Ty::Enum(def), Ty::Str) | (Ty::Str, Ty::Enum(def)) => {
                let (field, text) = if a.ty == Ty::Str { (b, a) } else { (a, b) };
                let Some(Lit::Str(text)) = &text.lit else {
                    return Err("an enumerated field compared with a computed string".into());
                };
                match op {
                    Cmp::Eq | Cmp::Ne => match def.variants.iter().find(|(s, _)| s == text) {
                        Some((_, variant)) => format!("{} {o} {}::{variant}", field.code, def.ty),
                        None => mismatch(),
                    },
                    _ => return Err("an enumerated field compared by order".into()),
                }
            }
            (x, y) if x.inner().is_some() && y.inner().is_none() => {
                let v = self.var();
                let inner = Ex::new(v.clone(), x.inner().expect("optional"));
                let test = self.compare(op, &inner, b)?;
                if op == Cmp::Ne {
                    format!("{}.is_none_or(|{v}| {test})", a.code)
                } else {
                    format!("{}.is_some_and(|{v}| {test})", a.code)
                }
            }
            (x, y) if y.inner().is_some() && x.inner().is_none() => self.compare(flip(op), b, a)?,
            (Ty::Enum(_), Ty::Enum(_)) => return Err("two enumerated fields compared".into()),
            (x, y) if x.inner().is_some() && y.inner().is_some() => {
                return Err("two optional fields compared".into())
            }
            _ => mismatch(),
        })
    }
}

impl RulePack {
    /// The rules in the native subset as a self-contained Rust module of closures (see
    /// the module doc); the rest are listed in [`NativeSource::skipped`].
    pub fn native_rust(&self) -> NativeSource {
        let mut code = String::from(HEADER);
        let mut skipped = Vec::new();
        code.push_str("pub fn rules() -> Vec<NativeRule> {\n    vec![\n");
        for (i, rule) in self.rules().iter().enumerate() {
            let Some(program) = self.program(i) else {
                skipped.push((rule.id.clone(), "not in the native subset".to_string()));
                continue;
            };
            let mut arms = String::new();
            let mut failed = None;
            for &t in &rule.events {
                let mut g = Gen { t, feature_names: self.feature_names(), vars: 0 };
                match g.boolean(&program.root) {
                    Ok(body) => {
                        let _ = writeln!(arms, "                EventBody::{}(b) => {body},", variant_of(t));
                    }
                    Err(why) => failed = Some(why),
                }
            }
            if let Some(why) = failed {
                skipped.push((rule.id.clone(), why));
                continue;
            }
            let events: Vec<String> =
                rule.events.iter().map(|t| format!("EventType::{}", variant_of(*t))).collect();
            let _ = write!(
                code,
                "        NativeRule {{\n            id: {:?},\n            events: &[{}],\n            check: Box::new(|e, f, l, off| match &e.body {{\n{arms}                _ => false,\n            }}),\n        }},\n",
                rule.id,
                events.join(", ")
            );
        }
        code.push_str("    ]\n}\n");
        NativeSource { code, skipped }
    }
}

const HEADER: &str = r#"//! The rule library written as native Rust closures: the floor the rule engine is
//! measured against in `benches/scoring.rs` (`rules/native_closures`).
//!
//! Generated from `rules/` by `RulePack::native_rust` (crates/fds-rules/src/codegen.rs).
//! Do not edit: `tests/native_floor_source.rs` fails when this file is not what the
//! shipped library generates (`FDS_BLESS=1 cargo test --test native_floor_source`
//! rewrites it), and `tests/native_floor.rs` checks that these closures decide exactly
//! as the rule engine does.
#![allow(unused_variables, unused_imports, unused_parens, dead_code, clippy::all)]

use chrono::{FixedOffset, Timelike};
use fds_core::{Channel, Direction, Event, EventBody, EventType, FeatureValue, MerchantCategory, PaymentMethod, Pii};
use fds_rules::Lists;

/// A rule's condition: the event, its feature values in pack order, the pack's lists
/// and its UTC offset.
pub type Check = Box<dyn Fn(&Event, &[FeatureValue], &Lists, FixedOffset) -> bool + Send + Sync>;

pub struct NativeRule {
    pub id: &'static str,
    pub events: &'static [EventType],
    pub check: Check,
}

fn num(v: &FeatureValue) -> f64 {
    match v {
        FeatureValue::Int(i) => *i as f64,
        FeatureValue::Float(x) => *x,
    }
}

fn local_hour(e: &Event, off: FixedOffset) -> i64 {
    i64::from(e.occurred_at.with_timezone(&off).hour())
}

"#;
