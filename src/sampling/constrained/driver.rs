//! One constrained reply: the parser's state, the search for valid tokens each step, the draw
//! among them, and the end (the end-of-turn token is allowed only where the text may end, and
//! forced once the parser has finished).
use std::sync::Arc;

use kalosm_sample::{CreateParserState, ParseStatus, Parser};

use super::full_match::FullMatchRegex;
use super::search::{CandidateSearch, Coverage, Valid};
use super::token_table::TokenTable;
use crate::sampling::{Sampler, SamplingError};

/// The valid tokens wanted from a logit-order walk (as kalosm-llama), or the sampler's top-k when
/// that is larger, so that top-k means the same with or without a constraint.
pub const WANT_VALID: usize = 64;

/// A byte no UTF-8 text contains: fed to the parser to ask whether the text may end here (a
/// parser that is complete finishes before it and leaves it over).
const END_PROBE: u8 = 0xFF;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConstraintError {
    #[error("no token can continue the constrained text (the parser allows nothing the vocabulary can write)")]
    NoValidToken,
    #[error(transparent)]
    Sampling(#[from] SamplingError),
}

/// What a reply's constraint did, for `--json`, the bench and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConstraintStats {
    /// Steps that chose a token (including forced ones and the end).
    pub steps: usize,
    /// Steps where only one token was valid: taken without a draw.
    pub forced: usize,
    /// Tokens checked against the parser, over all steps.
    pub checked: usize,
}

/// Where the parse goes after a candidate token.
#[derive(Debug, Clone)]
enum After<S> {
    Continue(S),
    /// The parser finished exactly at the token's end.
    Finished,
    /// An end-of-turn token (allowed where the text may end).
    End,
}

/// A constrained reply in progress over the parser `P`.
pub struct Constraint<P: Parser> {
    parser: Arc<P>,
    state: P::PartialState,
    table: Arc<TokenTable>,
    end_tokens: Vec<u32>,
    finished: bool,
    ended: bool,
    /// Whether the first token may start with one space that is not part of the text (a base
    /// model's dialogue puts the space after `Assistant:` in the reply's first token).
    leading_space: bool,
    started: bool,
    /// The parser judges any byte prefix, even part of a character (a DFA does); other parsers
    /// may refuse a partial character, so tokens are not filtered on one.
    bytewise: bool,
    search: CandidateSearch,
    valid: Vec<Valid<After<P::PartialState>>>,
    ids: Vec<u32>,
    pub stats: ConstraintStats,
}

impl<P: Parser + CreateParserState + 'static> Constraint<P> {
    /// `end_tokens`: the model's end-of-generation tokens (the first is the one forced).
    pub fn new(parser: Arc<P>, table: Arc<TokenTable>, end_tokens: Vec<u32>) -> Self {
        let state = parser.create_parser_state();
        let bytewise = (&*parser as &dyn std::any::Any).is::<FullMatchRegex>();
        Self {
            bytewise,
            parser,
            state,
            table,
            end_tokens,
            finished: false,
            ended: false,
            leading_space: false,
            started: false,
            search: CandidateSearch::default(),
            valid: Vec::new(),
            ids: Vec::new(),
            stats: ConstraintStats::default(),
        }
    }

    /// Allows one leading space before the text (see the field).
    pub fn with_leading_space(mut self, allowed: bool) -> Self {
        self.leading_space = allowed;
        self
    }
}

impl<P: Parser> Constraint<P> {
    /// Whether the text so far is complete: the parser finished, or it may end here.
    pub fn is_complete(&self) -> bool {
        self.finished || self.ended || self.may_end()
    }

    fn may_end(&self) -> bool {
        matches!(
            self.parser.parse(&self.state, &[END_PROBE]),
            Ok(ParseStatus::Finished { remaining, .. }) if remaining.len() == 1
        )
    }

    /// The next token for the logits of this step: one the parser allows, drawn by `sampler` from
    /// the valid ones (or forced when only one is possible), and the parser advanced past it.
    pub fn next_token(
        &mut self,
        sampler: &mut Sampler,
        logits: &[f32],
        history: &[u32],
    ) -> Result<u32, ConstraintError> {
        self.stats.steps += 1;
        if self.finished || self.ended {
            self.ended = true;
            self.stats.forced += 1;
            return self
                .end_tokens
                .first()
                .copied()
                .ok_or(ConstraintError::NoValidToken);
        }
        let want = WANT_VALID.max(sampler.params.top_k);
        let coverage = {
            let parser = &*self.parser;
            let state = &self.state;
            let at_start = self.leading_space && !self.started;
            let bytewise = self.bytewise;
            let prefix_ok = |p: &[u8]| {
                // Part of a multi-byte character: only a bytewise parser can judge it.
                let judged = |p: &[u8]| {
                    (!bytewise && p.iter().any(|&b| b >= 0x80)) || check(parser, state, p).is_some()
                };
                judged(p) || (at_start && p[0] == b' ' && (p.len() == 1 || judged(&p[1..])))
            };
            let mut check_token = |bytes: &[u8]| {
                if at_start && bytes.first() == Some(&b' ') {
                    if let Some(after) = check(parser, state, &bytes[1..]) {
                        return Some(after);
                    }
                }
                check(parser, state, bytes)
            };
            self.search.find(
                logits,
                &self.table,
                &prefix_ok,
                &mut check_token,
                want,
                &mut self.valid,
            )
        };
        self.stats.checked += self.search.checked;
        tracing::debug!(
            checked = self.search.checked,
            valid = self.valid.len(),
            ?coverage,
            "constrained step"
        );
        if self.may_end() {
            for &id in &self.end_tokens {
                self.valid.push(Valid {
                    id,
                    after: After::End,
                });
            }
        }
        self.ids.clear();
        self.ids.extend(self.valid.iter().map(|v| v.id));
        let id = match (self.ids.len(), coverage) {
            (0, _) => return Err(ConstraintError::NoValidToken),
            (1, Coverage::Exhaustive) => {
                self.stats.forced += 1;
                self.ids[0]
            }
            _ => sampler.sample_among(logits, &self.ids, history)?,
        };
        let chosen = self
            .valid
            .iter_mut()
            .find(|v| v.id == id)
            .ok_or(ConstraintError::NoValidToken)?;
        match std::mem::replace(&mut chosen.after, After::End) {
            After::Continue(s) => self.state = s,
            After::Finished => self.finished = true,
            After::End => self.ended = true,
        }
        self.started = true;
        Ok(id)
    }
}

/// Whether `bytes` may come next, and the parse after them. A token that would finish the parse
/// with bytes left over is refused: the reply must be exactly what the parser accepts.
fn check<P: Parser>(
    parser: &P,
    state: &P::PartialState,
    bytes: &[u8],
) -> Option<After<P::PartialState>> {
    if bytes.is_empty() {
        return None;
    }
    match parser.parse(state, bytes) {
        Ok(ParseStatus::Incomplete { new_state, .. }) => Some(After::Continue(new_state)),
        Ok(ParseStatus::Finished { remaining: [], .. }) => Some(After::Finished),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::SamplerParams;

    /// A toy vocabulary: single characters, a few words, and an end token (id 0, no bytes).
    fn table() -> (Arc<TokenTable>, Vec<&'static str>) {
        let words = vec![
            "", "a", "b", "c", " ", "ab", "abc", "{", "}", "\"", "\":", "1", "2", "12", " {", "x",
        ];
        let w = words.clone();
        (
            Arc::new(TokenTable::from_fn(w.len(), |i| {
                w[i as usize].as_bytes().to_vec()
            })),
            words,
        )
    }

    fn run(pattern: &str, logits_of: impl Fn(usize) -> Vec<f32>, seed: u64, space: bool) -> String {
        let (table, words) = table();
        let parser = Arc::new(FullMatchRegex::new(pattern).unwrap());
        let mut c = Constraint::new(parser, table, vec![0]).with_leading_space(space);
        let mut sampler = Sampler::new(SamplerParams {
            seed: Some(seed),
            ..SamplerParams::default()
        });
        let mut text = String::new();
        for step in 0..50 {
            let id = c.next_token(&mut sampler, &logits_of(step), &[]).unwrap();
            if id == 0 {
                assert!(c.is_complete());
                return text;
            }
            text.push_str(words[id as usize]);
        }
        panic!("no end after 50 tokens: {text:?}");
    }

    #[test]
    fn every_reply_matches_whatever_the_logits_prefer() {
        let re = FullMatchRegex::new("(ab|c)+12?").unwrap();
        for seed in 0..40 {
            // Logits that favour tokens the expression refuses ("x", "}").
            let text = run(
                "(ab|c)+12?",
                |step| {
                    (0..16)
                        .map(|i| {
                            ((i * 7 + step * 3 + seed as usize) % 11) as f32
                                + if i == 15 || i == 8 { 5.0 } else { 0.0 }
                        })
                        .collect()
                },
                seed,
                false,
            );
            assert!(re.is_full_match(text.as_bytes()), "seed {seed}: {text:?}");
        }
    }

    #[test]
    fn forced_tokens_and_the_end_after_a_finished_parse() {
        let (table, _) = table();
        let parser = Arc::new(FullMatchRegex::new(r#"\{"#).unwrap());
        let mut c = Constraint::new(parser, table, vec![0]);
        let mut sampler = Sampler::new(SamplerParams::default());
        let flat = vec![0.0; 16];
        // Only "{" (id 7) can be written: forced, then the parser is done and the end is forced.
        assert_eq!(c.next_token(&mut sampler, &flat, &[]), Ok(7));
        assert_eq!(c.next_token(&mut sampler, &flat, &[]), Ok(0));
        assert_eq!(c.stats.forced, 2);
        assert!(c.is_complete());
    }

    #[test]
    fn the_end_token_only_where_the_text_may_end() {
        let (table, _) = table();
        let parser = Arc::new(FullMatchRegex::new("a+").unwrap());
        let mut c = Constraint::new(parser, table, vec![0]);
        let mut sampler = Sampler::new(SamplerParams::default());
        // The end token is the most likely, but nothing has been written yet.
        let mut logits = vec![0.0; 16];
        logits[0] = 10.0;
        let first = c.next_token(&mut sampler, &logits, &[]).unwrap();
        assert_eq!(first, 1, "only `a` can start");
        assert!(c.is_complete());
        let greedy_end = {
            let mut s = Sampler::new(SamplerParams {
                temperature: 0.0,
                ..SamplerParams::default()
            });
            c.next_token(&mut s, &logits, &[]).unwrap()
        };
        assert_eq!(greedy_end, 0);
    }

    #[test]
    fn a_leading_space_is_allowed_once_when_asked() {
        // " {" (id 14) is the favourite; with the space allowed it writes the brace.
        let mut logits = vec![0.0; 16];
        logits[14] = 10.0;
        let text = run(r"\{\}", |_| logits.clone(), 1, true);
        assert!(text == " {}" || text == "{}", "{text:?}");
        let (table, _) = table();
        let parser = Arc::new(FullMatchRegex::new(r"\{\}").unwrap());
        let mut c = Constraint::new(parser, table, vec![0]);
        let mut s = Sampler::new(SamplerParams::default());
        assert_ne!(c.next_token(&mut s, &logits, &[]).unwrap(), 14);
    }

    #[test]
    fn seeded_draws_repeat() {
        let logits = |step: usize| (0..16).map(|i| ((i * 5 + step) % 7) as f32 * 0.3).collect();
        let a = run("[abc ]{3,12}", logits, 9, false);
        let b = run("[abc ]{3,12}", logits, 9, false);
        assert_eq!(a, b);
    }

    #[test]
    fn no_valid_token_is_an_error() {
        let (table, _) = table();
        let parser = Arc::new(FullMatchRegex::new("z").unwrap());
        let mut c = Constraint::new(parser, table, vec![0]);
        let mut s = Sampler::new(SamplerParams::default());
        assert_eq!(
            c.next_token(&mut s, &[0.0; 16], &[]),
            Err(ConstraintError::NoValidToken)
        );
    }
}
