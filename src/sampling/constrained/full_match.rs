//! A regular expression as a kalosm-sample [`Parser`] whose input must match it *whole*, and which
//! lets the text go on as long as the expression can still match more.
//!
//! kalosm-sample's own `RegexParser` finishes at the first prefix that matches (so `\d+` stops
//! after one digit, and a reply could never be longer than the shortest match) and spells its
//! required text byte by byte as Latin-1 characters. This one finishes only where nothing more can
//! follow (after the closing `}` of an object); where the text may end *or* go on, it stays
//! incomplete and reports the end as possible through the terminator convention of kalosm's number
//! parsers: a byte the expression cannot take finishes the parse, with that byte left over.
use kalosm_sample::{CreateParserState, ParseResult, ParseStatus, Parser, ParserError};
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

/// A DFA bigger than this is refused (a clear error instead of exhausting memory).
const SIZE_LIMIT: usize = 256 << 20;

/// A compiled expression (one DFA, built once and shared by every reply that uses it).
pub struct FullMatchRegex {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
    /// What is known of each state, by its index (`id >> stride2`): see the `LIVE` bits.
    flags: Vec<u8>,
    pattern: String,
}

/// The text so far can still grow into a whole match.
const LIVE: u8 = 1;
/// The text so far is a whole match.
const MATCHES: u8 = 2;
/// Some byte keeps the text live.
const CAN_CONTINUE: u8 = 4;

/// Where a parse stands: the DFA's state after the text so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegexState(StateID);

#[derive(Debug, thiserror::Error)]
#[error("the text cannot continue the expression here")]
pub struct NoMatch;

impl FullMatchRegex {
    /// Compiles `pattern`; the error says why it cannot be used (bad syntax, a feature a DFA
    /// lacks such as look-around or Unicode word boundaries, or too large).
    pub fn new(pattern: &str) -> Result<Self, String> {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    // Every way to match, so that no alternative is cut off by an earlier one.
                    .match_kind(MatchKind::All)
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(SIZE_LIMIT))
                    .determinize_size_limit(Some(SIZE_LIMIT)),
            )
            .build(pattern)
            .map_err(|e| describe_build_error(&e))?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .map_err(|e| e.to_string())?;
        let flags = state_flags(&dfa, start);
        Ok(Self {
            dfa,
            start,
            flags,
            pattern: pattern.to_string(),
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    fn flags(&self, s: StateID) -> u8 {
        self.flags
            .get(s.as_usize() >> self.dfa.stride2())
            .copied()
            .unwrap_or(0)
    }

    /// Whether the text read so far is a whole match.
    pub fn matches(&self, state: RegexState) -> bool {
        self.flags(state.0) & MATCHES != 0
    }

    /// Whether some byte can still extend the text towards a match.
    pub fn can_continue(&self, state: RegexState) -> bool {
        self.flags(state.0) & CAN_CONTINUE != 0
    }

    /// Whether `text` as a whole matches (for tests and checks).
    pub fn is_full_match(&self, text: &[u8]) -> bool {
        let mut s = self.start;
        for &b in text {
            s = self.dfa.next_state(s, b);
            if !self.alive(s) {
                return false;
            }
        }
        self.matches(RegexState(s))
    }

    fn alive(&self, s: StateID) -> bool {
        self.flags(s) & LIVE != 0
    }
}

/// Walks every state reachable from `start` and marks which can still reach a whole match (a
/// DFA reports matches one byte late, so a state that is not dead may still lead nowhere).
fn state_flags(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Vec<u8> {
    let index = |s: StateID| s.as_usize() >> dfa.stride2();
    let bytes: Vec<u8> = dfa
        .byte_classes()
        .representatives(0..=255)
        .filter_map(|u| u.as_u8())
        .collect();
    let mut seen = vec![false; index(start) + 1];
    let mut order = vec![start];
    seen[index(start)] = true;
    // Edges as (to, from) for the backward walk.
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let s = order[i];
        i += 1;
        for &b in &bytes {
            let t = dfa.next_state(s, b);
            if dfa.is_dead_state(t) || dfa.is_quit_state(t) {
                continue;
            }
            let ti = index(t);
            if ti >= seen.len() {
                seen.resize(ti + 1, false);
            }
            edges.push((ti as u32, index(s) as u32));
            if !seen[ti] {
                seen[ti] = true;
                order.push(t);
            }
        }
    }
    let mut flags = vec![0u8; seen.len()];
    let mut stack = Vec::new();
    for &s in &order {
        if dfa.is_match_state(dfa.next_eoi_state(s)) {
            flags[index(s)] |= MATCHES | LIVE;
            stack.push(index(s) as u32);
        }
    }
    edges.sort_unstable();
    while let Some(t) = stack.pop() {
        let from = edges.partition_point(|&(to, _)| to < t);
        for &(to, s) in &edges[from..] {
            if to != t {
                break;
            }
            if flags[s as usize] & LIVE == 0 {
                flags[s as usize] |= LIVE;
                stack.push(s);
            }
        }
    }
    for &s in &order {
        if bytes.iter().any(|&b| {
            flags
                .get(index(dfa.next_state(s, b)))
                .is_some_and(|f| f & LIVE != 0)
        }) {
            flags[index(s)] |= CAN_CONTINUE;
        }
    }
    flags
}

fn describe_build_error(e: &dense::BuildError) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

impl CreateParserState for FullMatchRegex {
    fn create_parser_state(&self) -> RegexState {
        RegexState(self.start)
    }
}

impl Parser for FullMatchRegex {
    type Output = ();
    type PartialState = RegexState;

    fn parse<'a>(
        &self,
        state: &RegexState,
        input: &'a [u8],
    ) -> ParseResult<ParseStatus<'a, RegexState, ()>> {
        let mut s = state.0;
        for (i, &b) in input.iter().enumerate() {
            let next = self.dfa.next_state(s, b);
            if !self.alive(next) {
                // The text may end before this byte: a finished parse that leaves it over.
                if self.matches(RegexState(s)) {
                    return Ok(ParseStatus::Finished {
                        result: (),
                        remaining: &input[i..],
                    });
                }
                return Err(ParserError::from(NoMatch));
            }
            s = next;
        }
        let s = RegexState(s);
        if self.matches(s) && !self.can_continue(s) {
            return Ok(ParseStatus::Finished {
                result: (),
                remaining: &[],
            });
        }
        // The constrained sampler finds forced text itself (it checks every token when few can
        // follow), so this parser does not spend a search on `required_next` for each candidate.
        Ok(ParseStatus::Incomplete {
            new_state: s,
            required_next: "".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(re: &FullMatchRegex, text: &str) -> Result<ParseStatus<'static, RegexState, ()>, ()> {
        let s = re.create_parser_state();
        re.parse(&s, text.as_bytes())
            .map(|st| st.without_remaining())
            .map_err(|_| ())
    }

    #[test]
    fn keeps_going_while_the_expression_can_match_more() {
        let re = FullMatchRegex::new(r"\d+").unwrap();
        assert!(matches!(
            feed(&re, "123"),
            Ok(ParseStatus::Incomplete { .. })
        ));
        let s = re.create_parser_state();
        match re.parse(&s, b"12x").unwrap() {
            ParseStatus::Finished { remaining, .. } => assert_eq!(remaining, b"x"),
            other => panic!("expected a finish before `x`, got {other:?}"),
        }
        assert!(feed(&re, "x").is_err());
    }

    #[test]
    fn finishes_where_nothing_can_follow() {
        let re = FullMatchRegex::new(r#"\{"a":(true|false)\}"#).unwrap();
        assert!(matches!(
            feed(&re, r#"{"a":true}"#),
            Ok(ParseStatus::Finished { .. })
        ));
        assert!(matches!(
            feed(&re, r#"{"a":tr"#),
            Ok(ParseStatus::Incomplete { .. })
        ));
        assert!(feed(&re, r#"{"a":1"#).is_err());
    }

    #[test]
    fn state_carries_over_between_calls() {
        let re = FullMatchRegex::new("(ab)+c").unwrap();
        let mut s = re.create_parser_state();
        for piece in ["a", "ba", "b"] {
            match re.parse(&s, piece.as_bytes()).unwrap() {
                ParseStatus::Incomplete { new_state, .. } => s = new_state,
                other => panic!("{piece}: {other:?}"),
            }
        }
        assert!(!re.matches(s));
        assert!(matches!(
            re.parse(&s, b"c").unwrap(),
            ParseStatus::Finished { .. }
        ));
    }

    #[test]
    fn whole_match_only() {
        let re = FullMatchRegex::new("cat|category").unwrap();
        assert!(re.is_full_match(b"cat"));
        assert!(re.is_full_match(b"category"));
        assert!(!re.is_full_match(b"categ"));
        assert!(!re.is_full_match(b"cats"));
        // Unicode text is matched as UTF-8 bytes.
        let re = FullMatchRegex::new("é+").unwrap();
        assert!(re.is_full_match("éé".as_bytes()));
    }

    #[test]
    fn bad_expressions_are_errors() {
        assert!(FullMatchRegex::new("(").is_err());
        assert!(FullMatchRegex::new(r"a\bb").is_err());
    }
}
