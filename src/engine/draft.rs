//! Exact n-gram drafting (prompt lookup decoding, as llama.cpp's lookup and vLLM's ngram
//! speculation): the next tokens are guessed from an earlier occurrence of the conversation's
//! last few tokens, and the model checks all the guesses in one batched pass. This file holds the
//! model-free part: the lookup and how many tokens to guess; `generate` verifies them.
//!
//! A guess costs real time when it fails (a verify of k + 1 positions costs about 1.5x a one-token
//! step for k = 1 and 2.8x for k = 7 on two cores), so a draft is made only from a match of at
//! least `n_min` tokens, and the number of guessed tokens adapts to how often guesses hold.
use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::backend::ForwardPass;
use super::error::EngineError;

/// Whether replies are drafted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DraftMode {
    /// Guess from earlier occurrences of the last tokens (prompt lookup).
    #[default]
    Ngram,
    /// One token per forward pass.
    Off,
}

impl FromStr for DraftMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ngram" => Ok(DraftMode::Ngram),
            "off" => Ok(DraftMode::Off),
            other => Err(format!("unknown draft mode `{other}` (known: ngram, off)")),
        }
    }
}

impl fmt::Display for DraftMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DraftMode::Ngram => "ngram",
            DraftMode::Off => "off",
        })
    }
}

/// Guesses in the first verify of a reply: a miss costs little (a 3-position verify is about 1.5x
/// a one-token step, a 9-position one 2.8x), and k doubles on every verify that holds entirely.
const FIRST_K: usize = 2;

/// The default and the upper bound of `--draft-max`.
pub const DEFAULT_DRAFT_MAX: usize = 8;
pub const MAX_DRAFT_MAX: usize = 32;

/// How drafting runs in one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftParams {
    /// Tokens guessed at most per verify.
    pub max: usize,
    /// The shortest and longest suffix looked up (the longest found wins: it predicts better).
    pub n_min: usize,
    pub n_max: usize,
}

impl DraftParams {
    pub fn ngram(max: usize) -> Self {
        Self {
            max: max.clamp(1, MAX_DRAFT_MAX),
            // A one- or two-token match ("the", "of the", the chat template's markers) is found
            // almost everywhere in free text and is mostly wrong; three make copied text stand
            // out (measured: n_min 2 drafted on every free-text reply and lost to the misses).
            n_min: 3,
            n_max: 5,
        }
    }

    /// The settings for a mode, `None` when drafting is off.
    pub fn for_mode(mode: DraftMode, max: usize) -> Option<Self> {
        match mode {
            DraftMode::Ngram if max > 0 => Some(Self::ngram(max)),
            _ => None,
        }
    }
}

/// The tokens that followed the most recent earlier occurrence of the longest suffix of
/// `history` of `n_min..=n_max` tokens, at most `k` of them (empty when there is none).
pub fn lookup(history: &[u32], n_min: usize, n_max: usize, k: usize) -> &[u32] {
    let len = history.len();
    if k == 0 || n_min == 0 {
        return &[];
    }
    for n in (n_min..=n_max.min(len.saturating_sub(1))).rev() {
        let suffix = &history[len - n..];
        // Start positions of earlier occurrences, latest first; one must be followed by a token.
        if let Some(start) = (0..len - n).rev().find(|&i| &history[i..i + n] == suffix) {
            let from = start + n;
            return &history[from..(from + k).min(len)];
        }
    }
    &[]
}

/// The adaptive state of one reply's drafting: k shrinks when guesses fail and grows back when
/// they hold, and after repeated failures drafting pauses for a while, so free text (where the
/// few matches found mostly fail) pays almost nothing.
#[derive(Debug, Clone)]
pub struct Drafter {
    params: DraftParams,
    k: usize,
    /// Steps left to skip drafting, and the pause the next run of failures earns.
    pause: usize,
    next_pause: usize,
    pub drafted: usize,
    pub accepted: usize,
}

impl Drafter {
    pub fn new(params: DraftParams) -> Self {
        Self {
            params,
            k: FIRST_K.min(params.max),
            pause: 0,
            next_pause: 1,
            drafted: 0,
            accepted: 0,
        }
    }

    /// The guesses for the tokens after `history`, at most `room` of them (what the cache has
    /// space for); empty when there is no match or drafting is paused.
    pub fn propose<'h>(&mut self, history: &'h [u32], room: usize) -> &'h [u32] {
        if self.pause > 0 {
            self.pause -= 1;
            return &[];
        }
        let k = self.k.min(room);
        lookup(history, self.params.n_min, self.params.n_max, k)
    }

    /// Records a verify: `accepted` of `drafted` guesses held.
    pub fn record(&mut self, drafted: usize, accepted: usize) {
        self.drafted += drafted;
        self.accepted += accepted;
        if accepted == drafted {
            self.k = (self.k * 2).min(self.params.max);
            self.next_pause = 1;
        } else if accepted == 0 {
            if self.k == 1 {
                // Even single guesses fail: stop guessing for a while, longer each time.
                self.pause = self.next_pause;
                self.next_pause = (self.next_pause * 2).min(64);
            }
            self.k = (self.k / 2).max(1);
        } else {
            // The guesses held this far: about that many is what the text supports.
            self.k = (accepted + 1).min(self.params.max);
        }
    }

    /// Accepted guesses over drafted ones (0 before any draft).
    pub fn acceptance(&self) -> f64 {
        acceptance(self.drafted, self.accepted)
    }
}

/// Guesses fed to the cache ahead of the sampled tokens, each with the logits after it.
pub type Ahead = VecDeque<(u32, Vec<f32>)>;

/// Feeds `id` and the guesses after it in one batched pass: returns the logits after `id` and
/// each guess with the logits after it (the model's view, were the guess right).
pub fn feed_drafted(
    pass: &mut dyn ForwardPass,
    vocab: usize,
    id: u32,
    guesses: &[u32],
) -> Result<(Vec<f32>, Ahead), EngineError> {
    let mut tokens = Vec::with_capacity(guesses.len() + 1);
    tokens.push(id);
    tokens.extend_from_slice(guesses);
    let mut rows: Vec<Vec<f32>> = Vec::with_capacity(tokens.len());
    pass.forward_logits(&tokens, 0, &mut |_, block| {
        rows.extend(block.chunks(vocab).map(<[f32]>::to_vec));
    })?;
    if rows.len() != tokens.len() || rows.iter().any(|r| r.len() != vocab) {
        return Err(EngineError::Kernel(format!(
            "a draft verify of {} positions returned {} rows",
            tokens.len(),
            rows.len()
        )));
    }
    let mut rows = rows.into_iter();
    let first = rows.next().unwrap_or_default();
    Ok((first, guesses.iter().copied().zip(rows).collect()))
}

/// `accepted / drafted`, 0 when nothing was drafted.
pub fn acceptance(drafted: usize, accepted: usize) -> f64 {
    if drafted == 0 {
        0.0
    } else {
        accepted as f64 / drafted as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_prefers_the_longest_then_the_latest_match() {
        // Suffix [1, 2]: [1, 2] occurs at 0 (then 3) and at 4 (then 7); the latest wins.
        let h = [1, 2, 3, 9, 1, 2, 7, 5, 1, 2];
        assert_eq!(lookup(&h, 1, 3, 4), &[7, 5, 1, 2]);
        // A longer suffix [5, 1, 2] is not found earlier, [1, 2] is: same answer.
        // With the 3-gram [3, 1, 2] present earlier, it wins over the later 2-gram.
        let h = [3, 1, 2, 8, 8, 1, 2, 6, 3, 1, 2];
        assert_eq!(lookup(&h, 1, 3, 2), &[8, 8]);
        assert_eq!(lookup(&h, 1, 2, 2), &[6, 3]);
    }

    #[test]
    fn lookup_stops_at_the_history_end_and_needs_n_min() {
        let h = [4, 5, 6, 4, 5];
        assert_eq!(lookup(&h, 2, 3, 8), &[6, 4, 5]);
        assert_eq!(lookup(&h, 3, 3, 8), &[] as &[u32]);
        assert_eq!(lookup(&[7, 7], 1, 3, 8), &[7]);
        assert_eq!(lookup(&[7], 1, 3, 8), &[] as &[u32]);
        assert_eq!(lookup(&[], 1, 3, 8), &[] as &[u32]);
        assert_eq!(lookup(&h, 2, 3, 0), &[] as &[u32]);
        // No earlier occurrence at all.
        assert_eq!(lookup(&[1, 2, 3, 4], 1, 3, 8), &[] as &[u32]);
    }

    #[test]
    fn k_shrinks_on_failures_pauses_and_grows_back() {
        let mut d = Drafter::new(DraftParams::ngram(8));
        let h: Vec<u32> = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2, 3].to_vec();
        // A reply starts with two guesses.
        assert_eq!(d.propose(&h, 100), &[4, 5]);
        d.record(2, 0);
        assert_eq!(d.propose(&h, 100).len(), 1);
        d.record(1, 0);
        // k is 1 and failed: a pause of one step, then 1 guess; another failure pauses 2 steps.
        assert!(d.propose(&h, 100).is_empty());
        assert_eq!(d.propose(&h, 100).len(), 1);
        d.record(1, 0);
        assert!(d.propose(&h, 100).is_empty());
        assert!(d.propose(&h, 100).is_empty());
        assert_eq!(d.propose(&h, 100).len(), 1);
        // Success doubles k up to the maximum and resets the pause.
        d.record(1, 1);
        assert_eq!(d.propose(&h, 100).len(), 2);
        d.record(2, 2);
        assert_eq!(d.propose(&h, 100).len(), 4);
        d.record(4, 4);
        assert_eq!(d.propose(&h, 100).len(), 8);
        d.record(8, 8);
        assert_eq!(d.propose(&h, 100).len(), 8);
        // A partial hit: about as many as held.
        d.record(8, 2);
        assert_eq!(d.propose(&h, 100).len(), 3);
        // A miss from k > 1 halves k without a pause.
        d.record(3, 0);
        assert_eq!(d.propose(&h, 100).len(), 1);
        // The cache's room bounds the guess.
        assert_eq!(d.propose(&h, 0).len(), 0);
        assert_eq!((d.drafted, d.accepted), (30, 17));
        assert!((d.acceptance() - 17.0 / 30.0).abs() < 1e-12);
        // Two-token suffixes are not enough to guess from.
        assert!(Drafter::new(DraftParams::ngram(8))
            .propose(&[5, 6, 7, 5, 6], 9)
            .is_empty());
    }

    #[test]
    fn modes_parse_and_off_means_no_params() {
        assert_eq!("ngram".parse::<DraftMode>(), Ok(DraftMode::Ngram));
        assert_eq!("off".parse::<DraftMode>(), Ok(DraftMode::Off));
        assert!("x".parse::<DraftMode>().is_err());
        assert_eq!(DraftParams::for_mode(DraftMode::Off, 8), None);
        assert_eq!(DraftParams::for_mode(DraftMode::Ngram, 0), None);
        assert_eq!(
            DraftParams::for_mode(DraftMode::Ngram, 99).unwrap().max,
            MAX_DRAFT_MAX
        );
        assert_eq!(acceptance(0, 0), 0.0);
    }
}
