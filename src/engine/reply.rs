//! One reply's per-token logic, shared by `Engine::generate` (one conversation) and the server's
//! slots (many at once): end-of-generation tokens, the token limit, UTF-8 decoding that never
//! splits a character, and stop strings (text that could still become one is held back, the
//! reply is cut where one appears).
use serde::Serialize;

use super::stop::StopMatcher;
use super::tokenizer::{StreamDecoder, Tokenizer};

/// Why a reply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its turn.
    EndOfTurn,
    /// A stop string appeared (it is not part of the reply).
    StopString,
    MaxTokens,
    Cancelled,
    ContextFull,
}

/// What one sampled token did to the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Text now safe to show (may be empty while a character or a possible stop string is
    /// incomplete).
    pub shown: String,
    /// Set when the reply ends with this token. `EndOfTurn` means the token is not part of the
    /// reply; `StopString` and `MaxTokens` mean it is (its text up to the stop string).
    pub end: Option<FinishReason>,
}

/// The state of a reply being generated.
pub struct ReplyState {
    stops: StopMatcher,
    decoder: StreamDecoder,
    /// Where each accepted token's text ends in the decoded reply, to map a stop back to tokens.
    text_ends: Vec<usize>,
    max_tokens: usize,
}

impl ReplyState {
    /// `trim_start`: whitespace at the reply's start belongs to the format (see `StopMatcher`).
    pub fn new<S: AsRef<str>>(
        stops: impl IntoIterator<Item = S>,
        trim_start: bool,
        max_tokens: usize,
    ) -> Self {
        Self {
            stops: StopMatcher::new(stops, trim_start),
            decoder: StreamDecoder::default(),
            text_ends: Vec::new(),
            max_tokens,
        }
    }

    /// Tokens accepted into the reply so far.
    pub fn len(&self) -> usize {
        self.text_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text_ends.is_empty()
    }

    /// Whether the token limit leaves room for another token.
    pub fn wants_more(&self) -> bool {
        self.len() < self.max_tokens
    }

    /// Takes the next sampled token.
    pub fn accept(&mut self, tokenizer: &Tokenizer, id: u32) -> Accepted {
        if tokenizer.is_eog(id) {
            return Accepted {
                shown: String::new(),
                end: Some(FinishReason::EndOfTurn),
            };
        }
        let shown = self.stops.push(&self.decoder.push(tokenizer, id));
        self.text_ends.push(self.stops.decoded().len());
        let end = if self.stops.stopped_at().is_some() {
            Some(FinishReason::StopString)
        } else if !self.wants_more() {
            Some(FinishReason::MaxTokens)
        } else {
            None
        };
        Accepted { shown, end }
    }

    /// The reply ended without a stop string: the text still held back (an unfinished character,
    /// a partial stop string that never completed).
    pub fn finish(&mut self) -> String {
        if self.stops.stopped_at().is_some() {
            return String::new();
        }
        self.stops.push(&self.decoder.finish());
        self.stops.finish()
    }

    /// After a stop string: how many accepted tokens end before it, and the text between the
    /// last of them and the stop string (part of a token the stop string cut in two).
    pub fn cut(&self) -> Option<(usize, &str)> {
        let at = self.stops.stopped_at()?;
        let kept = self.text_ends.iter().take_while(|&&end| end <= at).count();
        let kept_text_end = kept.checked_sub(1).map_or(0, |i| self.text_ends[i]);
        Some((kept, &self.stops.decoded()[kept_text_end..at]))
    }

    /// The reply's text so far (before any stop string, leading format whitespace removed).
    pub fn text(&self) -> &str {
        self.stops.reply()
    }
}
