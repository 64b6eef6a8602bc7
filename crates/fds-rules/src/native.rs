//! The native fast path: conditions written in the common subset of Rhai are also
//! compiled to a small expression tree evaluated directly over the event and the
//! feature slice, without entering the Rhai interpreter.
//!
//! The subset is what nearly every rule is made of: `e.<field>`, `f.<feature>`,
//! literals (integers, floats, plain double-quoted strings, `true`, `false`, `()`),
//! `!`, `&&`, `||`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `x in [literals]`, parentheses,
//! and `in_list` / `has_prefix_in` with a literal list name. Anything else (a `let`,
//! arithmetic, a method call, a trailing `;`) makes the compiler give up, and the rule
//! runs in Rhai only.
//!
//! Semantics mirror Rhai's built-in operators exactly (`rhai::func::builtin`):
//! precedence and left associativity as in Rhai's parser, short-circuit `&&` / `||`,
//! Rhai's relative-epsilon comparison whenever a float is involved, `()` equal only to
//! `()`, and values of different non-numeric types never equal. Where Rhai would
//! raise an error (a non-bool operand of `!`, `&&`, `||`, a non-bool result, a list
//! test on a float) the evaluator does not guess: it returns `None` and the caller runs
//! the rule in Rhai, which produces the authoritative result or error.
//! `RulePack::evaluate_naive` runs everything in Rhai and is the reference the tests
//! and the fixture runner compare against.

use crate::context::{FieldTable, LOCAL_HOUR, TS};
use crate::lists::Lists;
use crate::sandbox::{MAX_ARRAY_SIZE, MAX_STRING_SIZE};
use crate::scan::{tokens, Tok, MAX_BATCH_TOKENS};
use chrono::{FixedOffset, Timelike};
use fds_core::{Event, FeatureValue, Field};

/// Nesting the compiler accepts; deeper expressions run in Rhai (which has its own
/// depth limit, enforced at load).
const MAX_DEPTH: usize = 32;

/// Rhai's precedences for the operators of the subset (`Token::precedence`).
const PREC_OR: u8 = 30;
const PREC_AND: u8 = 60;
const PREC_EQ: u8 = 90;
const PREC_IN: u8 = 110;
const PREC_CMP: u8 = 130;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ListFn {
    InList,
    HasPrefixIn,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Lit(Lit),
    Field(&'static str),
    Feature(usize),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(Cmp, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Lit>),
    List(ListFn, String, Box<Node>),
}

/// A value during native evaluation; strings are borrowed from the event or the rule.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Val<'a> {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Lit {
    fn val(&self) -> Val<'_> {
        match self {
            Lit::Unit => Val::Unit,
            Lit::Bool(b) => Val::Bool(*b),
            Lit::Int(v) => Val::Int(*v),
            Lit::Float(v) => Val::Float(*v),
            Lit::Str(s) => Val::Str(s),
        }
    }
}

/// What a condition is evaluated against.
pub(crate) struct Input<'a> {
    pub(crate) event: &'a Event,
    pub(crate) features: &'a [FeatureValue],
    pub(crate) utc_offset: FixedOffset,
    pub(crate) lists: &'a Lists,
}

/// A rule condition compiled to native form.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Program {
    pub(crate) root: Node,
}

impl Program {
    /// The condition's result, or `None` when Rhai must decide (see the module doc).
    pub(crate) fn eval(&self, input: &Input<'_>) -> Option<bool> {
        match eval(&self.root, input)? {
            Val::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// Compiles `src` (a whole rule file; comments are skipped) if it is in the subset.
pub(crate) fn compile(src: &str, table: &FieldTable, feature_names: &[String]) -> Option<Program> {
    let toks: Vec<Tok<'_>> = tokens(src).into_iter().map(|(t, _)| t).collect();
    if toks.is_empty() || toks.len() > MAX_BATCH_TOKENS {
        return None;
    }
    let mut parser = Parser { toks: &toks, pos: 0, depth: 0, table, feature_names };
    let root = parser.expr(0)?;
    (parser.pos == toks.len()).then_some(Program { root })
}

struct Parser<'t, 'a> {
    toks: &'t [Tok<'a>],
    pos: usize,
    depth: usize,
    table: &'t FieldTable,
    feature_names: &'t [String],
}

impl<'t, 'a> Parser<'t, 'a> {
    fn peek(&self) -> Option<&'t Tok<'a>> {
        self.toks.get(self.pos)
    }

    fn eat_punct(&mut self, p: &str) -> Option<()> {
        match self.peek() {
            Some(Tok::Punct(q)) if *q == p => {
                self.pos += 1;
                Some(())
            }
            _ => None,
        }
    }

    fn ident(&mut self) -> Option<String> {
        match self.peek() {
            Some(Tok::Ident(name)) => {
                let name = name.to_string();
                self.pos += 1;
                Some(name)
            }
            _ => None,
        }
    }

    /// The binary operator at the cursor, with its precedence.
    fn peek_op(&self) -> Option<(Option<Cmp>, u8, &'static str)> {
        Some(match self.peek()? {
            Tok::Punct("||") => (None, PREC_OR, "||"),
            Tok::Punct("&&") => (None, PREC_AND, "&&"),
            Tok::Punct("==") => (Some(Cmp::Eq), PREC_EQ, "=="),
            Tok::Punct("!=") => (Some(Cmp::Ne), PREC_EQ, "!="),
            Tok::Ident("in") => (None, PREC_IN, "in"),
            Tok::Punct("<") => (Some(Cmp::Lt), PREC_CMP, "<"),
            Tok::Punct("<=") => (Some(Cmp::Le), PREC_CMP, "<="),
            Tok::Punct(">") => (Some(Cmp::Gt), PREC_CMP, ">"),
            Tok::Punct(">=") => (Some(Cmp::Ge), PREC_CMP, ">="),
            _ => return None,
        })
    }

    /// Precedence climbing; every operator of the subset is left-associative.
    fn expr(&mut self, min_prec: u8) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut lhs = self.unary()?;
        while let Some((cmp, prec, op)) = self.peek_op() {
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            lhs = match (op, cmp) {
                ("in", _) => Node::In(Box::new(lhs), self.array()?),
                ("&&", _) => Node::And(Box::new(lhs), Box::new(self.expr(prec + 1)?)),
                ("||", _) => Node::Or(Box::new(lhs), Box::new(self.expr(prec + 1)?)),
                (_, Some(cmp)) => Node::Cmp(cmp, Box::new(lhs), Box::new(self.expr(prec + 1)?)),
                _ => return None,
            };
        }
        self.depth -= 1;
        Some(lhs)
    }

    fn unary(&mut self) -> Option<Node> {
        match self.peek()?.clone() {
            Tok::Punct("!") => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let inner = self.unary()?;
                self.depth -= 1;
                Some(Node::Not(Box::new(inner)))
            }
            Tok::Punct("(") => {
                self.pos += 1;
                if self.eat_punct(")").is_some() {
                    return Some(Node::Lit(Lit::Unit));
                }
                let inner = self.expr(0)?;
                self.eat_punct(")")?;
                Some(inner)
            }
            Tok::Ident("e") => {
                self.pos += 1;
                self.eat_punct(".")?;
                let name = self.ident()?;
                let id = self.table.id(&name)?;
                Some(Node::Field(self.table.names()[id]))
            }
            Tok::Ident("f") => {
                self.pos += 1;
                self.eat_punct(".")?;
                let name = self.ident()?;
                let index = self.feature_names.iter().position(|n| *n == name)?;
                Some(Node::Feature(index))
            }
            Tok::Ident(function @ ("in_list" | "has_prefix_in")) => {
                self.pos += 1;
                let func = if function == "in_list" { ListFn::InList } else { ListFn::HasPrefixIn };
                self.eat_punct("(")?;
                let Some(Tok::Str { text, plain: true }) = self.peek().cloned() else { return None };
                self.pos += 1;
                self.eat_punct(",")?;
                let arg = self.expr(0)?;
                self.eat_punct(")")?;
                Some(Node::List(func, text, Box::new(arg)))
            }
            _ => self.literal().map(Node::Lit),
        }
    }

    fn literal(&mut self) -> Option<Lit> {
        let lit = match self.peek()?.clone() {
            Tok::Ident("true") => Lit::Bool(true),
            Tok::Ident("false") => Lit::Bool(false),
            Tok::Str { text, plain: true } if text.len() <= MAX_STRING_SIZE => Lit::Str(text),
            Tok::Num(text) => number(text, false)?,
            Tok::Punct("-") => {
                self.pos += 1;
                let Some(Tok::Num(text)) = self.peek().cloned() else { return None };
                number(text, true)?
            }
            Tok::Punct("(") => {
                self.pos += 1;
                self.eat_punct(")")?;
                return Some(Lit::Unit);
            }
            _ => return None,
        };
        self.pos += 1;
        Some(lit)
    }

    /// `[lit, lit, ...]` after `in` (a trailing comma is allowed, as in Rhai).
    fn array(&mut self) -> Option<Vec<Lit>> {
        self.eat_punct("[")?;
        let mut items = Vec::new();
        loop {
            if self.eat_punct("]").is_some() {
                break;
            }
            items.push(self.literal()?);
            if items.len() > MAX_ARRAY_SIZE {
                return None;
            }
            if self.eat_punct(",").is_none() {
                self.eat_punct("]")?;
                break;
            }
        }
        Some(items)
    }
}

/// A decimal number literal (`1_000`, `14.0`, `1e9`); other forms are left to Rhai.
fn number(text: &str, negative: bool) -> Option<Lit> {
    if !text.bytes().all(|b| b.is_ascii_digit() || b == b'_' || b == b'.' || b == b'e') {
        return None;
    }
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    if digits.contains(['.', 'e']) {
        let v: f64 = digits.parse().ok()?;
        Some(Lit::Float(if negative { -v } else { v }))
    } else {
        let v: i64 = digits.parse().ok()?;
        Some(Lit::Int(if negative { v.checked_neg()? } else { v }))
    }
}

fn field<'a>(name: &str, input: &Input<'a>) -> Val<'a> {
    match name {
        LOCAL_HOUR => Val::Int(i64::from(input.event.occurred_at.with_timezone(&input.utc_offset).hour())),
        TS => Val::Int(input.event.occurred_at.timestamp()),
        _ => match input.event.field(name) {
            Some(Field::Str(s)) => Val::Str(s),
            Some(Field::Int(v)) => Val::Int(v),
            Some(Field::Bool(b)) => Val::Bool(b),
            None => Val::Unit,
        },
    }
}

fn eval<'a>(node: &'a Node, input: &Input<'a>) -> Option<Val<'a>> {
    Some(match node {
        Node::Lit(lit) => lit.val(),
        Node::Field(name) => field(name, input),
        Node::Feature(i) => match input.features.get(*i)? {
            FeatureValue::Int(v) => Val::Int(*v),
            FeatureValue::Float(v) => Val::Float(*v),
        },
        Node::Not(inner) => match eval(inner, input)? {
            Val::Bool(b) => Val::Bool(!b),
            _ => return None,
        },
        Node::And(a, b) => match eval(a, input)? {
            Val::Bool(false) => Val::Bool(false),
            Val::Bool(true) => match eval(b, input)? {
                Val::Bool(v) => Val::Bool(v),
                _ => return None,
            },
            _ => return None,
        },
        Node::Or(a, b) => match eval(a, input)? {
            Val::Bool(true) => Val::Bool(true),
            Val::Bool(false) => match eval(b, input)? {
                Val::Bool(v) => Val::Bool(v),
                _ => return None,
            },
            _ => return None,
        },
        Node::Cmp(op, a, b) => Val::Bool(compare(*op, eval(a, input)?, eval(b, input)?)),
        Node::In(value, items) => {
            let value = eval(value, input)?;
            Val::Bool(items.iter().any(|item| compare(Cmp::Eq, item.val(), value)))
        }
        Node::List(func, name, arg) => {
            let number;
            let value = match eval(arg, input)? {
                Val::Unit => return Some(Val::Bool(false)),
                Val::Str(s) => s,
                Val::Int(n) => {
                    number = n.to_string();
                    number.as_str()
                }
                Val::Bool(_) | Val::Float(_) => return None,
            };
            let found = match func {
                ListFn::InList => input.lists.contains(name, value),
                ListFn::HasPrefixIn => input.lists.has_prefix(name, value),
            };
            Val::Bool(found?)
        }
    })
}

/// Rhai's built-in comparison of two values (`get_builtin_binary_op_fn`, without the
/// `unchecked` feature).
fn compare(op: Cmp, a: Val<'_>, b: Val<'_>) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => ordered(op, x.cmp(&y)),
        (Val::Float(x), Val::Float(y)) => float_compare(op, x, y),
        (Val::Float(x), Val::Int(y)) => float_compare(op, x, y as f64),
        (Val::Int(x), Val::Float(y)) => float_compare(op, x as f64, y),
        (Val::Str(x), Val::Str(y)) => ordered(op, x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => ordered(op, x.cmp(&y)),
        (Val::Unit, Val::Unit) => op == Cmp::Eq,
        // Different, non-numeric types: only `!=` holds.
        _ => op == Cmp::Ne,
    }
}

fn ordered(op: Cmp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
    }
}

/// Rhai compares floats relative to their magnitude, within `f64::EPSILON`; this is
/// its formula, term for term.
fn float_compare(op: Cmp, x: f64, y: f64) -> bool {
    let max = if x * y == 0.0 { 1.0 } else { x.abs().max(y.abs()) };
    if max == 0.0 {
        return matches!(op, Cmp::Eq | Cmp::Ge | Cmp::Le);
    }
    match op {
        Cmp::Eq => (x - y).abs() / max <= f64::EPSILON,
        Cmp::Ne => (x - y).abs() / max > f64::EPSILON,
        Cmp::Gt => (x - y) / max > f64::EPSILON,
        Cmp::Ge => (x - y) / max > -f64::EPSILON,
        Cmp::Lt => (y - x) / max > f64::EPSILON,
        Cmp::Le => (y - x) / max > -f64::EPSILON,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["a".to_string(), "b".to_string()]
    }

    fn compiles(src: &str) -> bool {
        compile(src, &FieldTable::new(), &names()).is_some()
    }

    #[test]
    fn the_common_rule_shapes_compile() {
        for src in [
            "f.a >= 3 && e.channel == \"online\"",
            "(e.channel == \"agency\" || e.channel == \"telemarketing\")\n && e.device_price != () && e.device_price >= 1_200_000",
            "f.a < 14.0 && !(e.forwarded == true)",
            "has_prefix_in(\"irsf\", e.callee) || in_list(\"countries\", e.callee_country)",
            "e.merchant_category in [\"gift_card\", \"game\",] && e.local_hour < 6",
            "f.a <= f.b && e.amount > -1 && f.b >= 1e9",
            "// header\n/* note */ e.type == \"call\"",
        ] {
            assert!(compiles(src), "{src}");
        }
    }

    #[test]
    fn anything_outside_the_subset_is_left_to_rhai() {
        for src in [
            "let x = 1; x > 0",
            "f.a + 1 > 3",
            "e.callee.starts_with(\"+88\")",
            "f.a > 1;",
            "e.channel == 'o'",
            "e.channel == \"a\\u0041\"",
            "f.a > 0x10",
            "f.unknown > 1",
            "e.unknown == 1",
            "f.a in [1, f.b]",
            "if f.a > 1 { true } else { false }",
            "f.a ?? 1",
            "e?.amount > 1",
            "",
        ] {
            assert!(!compiles(src), "{src}");
        }
    }

    #[test]
    fn precedence_follows_rhai() {
        let p = |src: &str| compile(src, &FieldTable::new(), &names()).expect("compiles").root;
        // `&&` binds tighter than `||`; `!` binds to the operand, not the comparison.
        assert!(matches!(p("true || false && false"), Node::Or(..)));
        assert!(matches!(p("!true == false"), Node::Cmp(Cmp::Eq, ..)));
        // equality is looser than ordering, and both are left-associative
        assert!(matches!(p("1 < 2 == true"), Node::Cmp(Cmp::Eq, ..)));
        assert!(matches!(p("1 == 1 == true"), Node::Cmp(Cmp::Eq, ..)));
    }

    #[test]
    fn comparisons_follow_rhai_for_every_type_pair() {
        use Val::*;
        assert!(compare(Cmp::Eq, Int(3), Float(3.0)));
        assert!(compare(Cmp::Ge, Float(2.9999999999999996), Int(3)), "within epsilon");
        assert!(!compare(Cmp::Lt, Float(2.9999999999999996), Int(3)), "within epsilon");
        assert!(compare(Cmp::Lt, Float(2.99), Int(3)));
        assert!(compare(Cmp::Eq, Float(0.0), Float(0.0)));
        assert!(compare(Cmp::Eq, Unit, Unit) && !compare(Cmp::Ne, Unit, Unit));
        assert!(!compare(Cmp::Lt, Unit, Int(3)) && !compare(Cmp::Ge, Unit, Int(3)));
        assert!(compare(Cmp::Ne, Unit, Str("x")) && !compare(Cmp::Eq, Str("x"), Unit));
        assert!(compare(Cmp::Ne, Int(1), Str("1")) && !compare(Cmp::Eq, Int(1), Bool(true)));
        assert!(compare(Cmp::Lt, Str("agency"), Str("online")));
        assert!(compare(Cmp::Gt, Bool(true), Bool(false)));
    }
}
