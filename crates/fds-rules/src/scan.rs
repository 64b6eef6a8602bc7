//! A small lexical scan of a rule's source, for the load-time checks Rhai cannot do:
//! which features (`f.<name>`) and event fields (`e.<name>`) a rule reads, and which
//! lists it names literally in `in_list` / `has_prefix_in`.
//!
//! It only needs to recognise comments, string literals and identifiers well enough
//! not to mistake text inside a string or comment for code; syntax errors are left to
//! the Rhai compiler, which runs on the same source.

/// What a rule's source reads, with the line of each read.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Reads {
    /// `f.<name>`
    pub(crate) features: Vec<(String, usize)>,
    /// `e.<name>`
    pub(crate) event_fields: Vec<(String, usize)>,
    /// literal first arguments of `in_list(..)` / `has_prefix_in(..)`
    pub(crate) lists: Vec<(String, usize)>,
    /// uses of `e` / `f` other than `e.<name>` / `f.<name>` (indexing, aliasing,
    /// shadowing): refused, because they would hide reads from the checks above.
    pub(crate) other_uses: Vec<(String, usize)>,
    /// lines of backtick strings with `${..}` interpolation, refused because reads
    /// inside them would escape the checks above
    pub(crate) interpolations: Vec<usize>,
    /// whether the source holds any code at all (beyond comments)
    pub(crate) has_code: bool,
    /// whether the rule may run inside a batch (see [`BATCH_BREAKERS`])
    pub(crate) batchable: bool,
}

/// Keywords that keep a rule out of batches: loops, script functions and early exits.
/// Without them a rule's operation count is bounded by its length, and a rule can
/// neither leave its own block nor outlast its own operation budget inside a batch.
pub(crate) const BATCH_BREAKERS: [&str; 9] =
    ["fn", "loop", "while", "for", "do", "return", "break", "continue", "exit"];

/// Rules longer than this (in tokens) run alone: Rhai counts at most a couple of
/// operations per token of loop-free code, so a batchable rule stays well inside its
/// own `MAX_OPERATIONS` budget.
pub(crate) const MAX_BATCH_TOKENS: usize = 1_000;

/// The functions taking a list name as their first argument.
pub(crate) const LIST_FUNCTIONS: [&str; 2] = ["in_list", "has_prefix_in"];

/// A token, as far as the checks here and the native compiler need to tell them apart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok<'a> {
    Ident(&'a str),
    /// A string literal's content. `plain` when it is double-quoted without escapes,
    /// so the content is exactly what Rhai makes of it.
    Str {
        text: String,
        plain: bool,
    },
    /// A character literal (`'x'`): not a string in Rhai.
    Char,
    /// A number literal as written (`1_000`, `14.0`, `0x1f`).
    Num(&'a str),
    /// Punctuation and operators; the two-character ones Rhai uses here are one token.
    Punct(&'a str),
}

/// Two-character operators lexed as one token.
const TWO_CHAR: [&str; 10] = ["?.", "?[", "::", "..", "==", "!=", "<=", ">=", "&&", "||"];

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_line_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    /// Rhai block comments nest.
    fn skip_block_comment(&mut self) {
        self.bump();
        self.bump();
        let mut depth = 1usize;
        while depth > 0 {
            match (self.bump(), self.peek()) {
                (None, _) => break,
                (Some('/'), Some('*')) => {
                    self.bump();
                    depth += 1;
                }
                (Some('*'), Some('/')) => {
                    self.bump();
                    depth -= 1;
                }
                _ => {}
            }
        }
    }

    /// A quoted literal; returns its content and whether it held an escape.
    fn string(&mut self, quote: char) -> (String, bool) {
        self.bump();
        let mut out = String::new();
        let mut escaped = false;
        while let Some(c) = self.bump() {
            match c {
                '\\' if quote != '`' => {
                    escaped = true;
                    if let Some(c) = self.bump() {
                        out.push(match c {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                    }
                }
                c if c == quote => break,
                c => out.push(c),
            }
        }
        (out, escaped)
    }

    fn next_token(&mut self) -> Option<(Tok<'a>, usize)> {
        loop {
            let c = self.peek()?;
            let line = self.line;
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if c == '/' && self.peek2() == Some('/') {
                self.skip_line_comment();
                continue;
            }
            if c == '/' && self.peek2() == Some('*') {
                self.skip_block_comment();
                continue;
            }
            if c == '\'' {
                self.string(c);
                return Some((Tok::Char, line));
            }
            if c == '"' || c == '`' {
                let (text, escaped) = self.string(c);
                return Some((Tok::Str { text, plain: c == '"' && !escaped }, line));
            }
            if c.is_alphabetic() || c == '_' {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.bump();
                }
                return Some((Tok::Ident(&self.src[start..self.pos]), line));
            }
            if c.is_ascii_digit() {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    let fraction = c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit());
                    if c.is_alphanumeric() || c == '_' || fraction {
                        self.bump();
                    } else {
                        break;
                    }
                }
                return Some((Tok::Num(&self.src[start..self.pos]), line));
            }
            let start = self.pos;
            let two = self.src.get(self.pos..self.pos + 2);
            if two.is_some_and(|t| TWO_CHAR.contains(&t)) {
                self.pos += 2;
            } else {
                self.bump();
            }
            return Some((Tok::Punct(&self.src[start..self.pos]), line));
        }
    }
}

fn is_member_access(tok: Option<&Tok<'_>>) -> bool {
    matches!(tok, Some(Tok::Punct("." | "?.")))
}

/// The tokens of `src` (comments dropped), each with its line.
pub(crate) fn tokens(src: &str) -> Vec<(Tok<'_>, usize)> {
    let mut lexer = Lexer { src, pos: 0, line: 1 };
    let mut toks = Vec::new();
    while let Some(t) = lexer.next_token() {
        toks.push(t);
    }
    toks
}

/// Scans `src` for the reads listed in [`Reads`].
pub(crate) fn scan(src: &str) -> Reads {
    let toks = tokens(src);

    let batchable = toks.len() <= MAX_BATCH_TOKENS
        && !toks.iter().any(|(t, _)| matches!(t, Tok::Ident(n) if BATCH_BREAKERS.contains(n)));
    let mut reads = Reads { has_code: !toks.is_empty(), batchable, ..Reads::default() };
    for (i, (tok, line)) in toks.iter().enumerate() {
        let line = *line;
        let prev = i.checked_sub(1).and_then(|p| toks.get(p)).map(|(t, _)| t);
        let next = toks.get(i + 1).map(|(t, _)| t);
        let after = toks.get(i + 2).map(|(t, _)| t);
        if let Tok::Str { text, plain: false } = tok {
            if text.contains("${") {
                reads.interpolations.push(line);
            }
        }
        let Tok::Ident(name) = tok else { continue };
        // `x.e` or `x::f` is somebody else's member, not the rule's `e` / `f`.
        if is_member_access(prev) || matches!(prev, Some(Tok::Punct("::"))) {
            continue;
        }
        match *name {
            "e" | "f" => match (is_member_access(next), after) {
                (true, Some(Tok::Ident(member))) => {
                    let entry = (member.to_string(), line);
                    if *name == "f" {
                        reads.features.push(entry);
                    } else {
                        reads.event_fields.push(entry);
                    }
                }
                _ => reads.other_uses.push((name.to_string(), line)),
            },
            n if LIST_FUNCTIONS.contains(&n) => {
                if let (Some(Tok::Punct("(")), Some(Tok::Str { text, .. })) = (next, after) {
                    reads.lists.push((text.clone(), line));
                }
            }
            _ => {}
        }
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[(String, usize)]) -> Vec<&str> {
        v.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn feature_and_event_reads_are_found_with_their_lines() {
        let reads = scan(
            "// header\nf.payments_sum_24h > 10000\n  && e.type == \"payment\" && f?.night_payments_24h >= 1",
        );
        assert_eq!(
            reads.features,
            vec![("payments_sum_24h".to_string(), 2), ("night_payments_24h".to_string(), 3)]
        );
        assert_eq!(reads.event_fields, vec![("type".to_string(), 3)]);
        assert!(reads.other_uses.is_empty());
        assert!(reads.has_code);
    }

    #[test]
    fn text_inside_strings_and_comments_is_not_code() {
        let reads = scan("/* f.a /* nested */ f.b */ \"f.c\" == `e.d` // f.e\n");
        assert!(reads.features.is_empty() && reads.event_fields.is_empty(), "{reads:?}");
    }

    #[test]
    fn operators_numbers_and_literals_are_single_tokens() {
        let toks: Vec<Tok<'_>> =
            tokens("f.a >= 1_000 && e.b != \"x\\n\" || 'c' <= 14.5").into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            toks,
            vec![
                Tok::Ident("f"),
                Tok::Punct("."),
                Tok::Ident("a"),
                Tok::Punct(">="),
                Tok::Num("1_000"),
                Tok::Punct("&&"),
                Tok::Ident("e"),
                Tok::Punct("."),
                Tok::Ident("b"),
                Tok::Punct("!="),
                Tok::Str { text: "x\n".to_string(), plain: false },
                Tok::Punct("||"),
                Tok::Char,
                Tok::Punct("<="),
                Tok::Num("14.5"),
            ]
        );
    }

    #[test]
    fn a_file_of_comments_only_has_no_code() {
        assert!(!scan("// id: x\n// name: y\n\n/* nothing */\n").has_code);
    }

    #[test]
    fn string_interpolation_is_reported() {
        assert_eq!(scan("`x ${f.a}` == \"${f.b}\"\n`${e.c}`").interpolations, vec![1, 2]);
    }

    #[test]
    fn literal_list_names_are_collected() {
        let reads = scan("in_list(\"agencies\", e.agency_id) || has_prefix_in( `x` , e.callee) || in_list(name, 1) || in_list('c', 1)");
        assert_eq!(names(&reads.lists), vec!["agencies", "x"]);
    }

    #[test]
    fn loops_functions_and_early_exits_keep_a_rule_out_of_batches() {
        assert!(scan("f.a > 1 && e.b == \"for\" // while\n").batchable);
        for src in
            ["loop { }", "fn g() { 1 } g() > 0", "while false {} true", "return true", "for x in [1] {} true"]
        {
            assert!(!scan(src).batchable, "{src}");
        }
        let long = vec!["f.a > 1"; 400].join(" && ");
        assert!(!scan(&long).batchable);
    }

    #[test]
    fn indexing_or_aliasing_e_and_f_is_reported() {
        let reads = scan("let g = f; f[\"x\"] > 1 && g.x > 2");
        assert_eq!(names(&reads.other_uses), vec!["f", "f"]);
        assert!(reads.features.is_empty());
    }

    #[test]
    fn members_named_e_or_f_on_other_values_are_ignored() {
        let reads = scan("let m = #{}; m.f == 1 && 1.5e3 > 2 && 0..10 != 3");
        assert!(reads.other_uses.is_empty() && reads.features.is_empty(), "{reads:?}");
    }
}
