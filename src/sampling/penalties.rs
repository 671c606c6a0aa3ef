//! The stages that look at the conversation: repetition/frequency/presence penalties and DRY.
//! Both are recomputed each step from the token history the engine passes (prompt included, as
//! llama.cpp feeds the prompt to its penalty samplers), so they hold no state of their own beyond
//! reused buffers.
use std::collections::HashMap;

use super::math::Cand;
use super::params::SamplerParams;
use super::vocab::Vocab;

/// Where a stage edits logits: the whole vocabulary (id = index) or a candidate list.
pub enum Logits<'a> {
    Dense(&'a mut [f32]),
    Sparse(&'a mut [Cand]),
}

impl Logits<'_> {
    /// Applies `f` to the logit of every token in `targets` that is still a candidate.
    fn update<V: Copy>(&mut self, targets: &HashMap<u32, V>, mut f: impl FnMut(f32, V) -> f32) {
        match self {
            Logits::Dense(xs) => {
                for (&id, &v) in targets {
                    if let Some(x) = xs.get_mut(id as usize) {
                        *x = f(*x, v);
                    }
                }
            }
            Logits::Sparse(cs) => {
                for c in cs.iter_mut() {
                    if let Some(&v) = targets.get(&c.id) {
                        c.logit = f(c.logit, v);
                    }
                }
            }
        }
    }
}

#[derive(Default)]
pub struct Penalties {
    counts: HashMap<u32, u32>,
}

impl Penalties {
    /// llama.cpp's penalties: a token seen in the last `repeat_last_n` tokens has its logit divided
    /// by `repeat_penalty` when positive (multiplied when not, so it always becomes less likely),
    /// then `count * frequency + presence` subtracted.
    pub fn apply(&mut self, p: &SamplerParams, history: &[u32], mut logits: Logits<'_>) {
        if !p.is_active(super::SamplerKind::Penalties) {
            return;
        }
        self.counts.clear();
        let window = &history[history.len().saturating_sub(p.repeat_last_n)..];
        for &t in window {
            *self.counts.entry(t).or_insert(0) += 1;
        }
        logits.update(&self.counts, |mut x, count| {
            if x <= 0.0 {
                x *= p.repeat_penalty;
            } else {
                x /= p.repeat_penalty;
            }
            x - count as f32 * p.frequency_penalty - p.presence_penalty
        });
    }
}

/// Text to tokens (for the tails of multi-character DRY breakers).
pub type Tokenize<'a> = &'a dyn Fn(&str) -> Vec<u32>;

/// Sequence breakers for DRY: head token → the tails that complete a breaker after it (an empty
/// tail is a single-token breaker).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DryBreakers {
    map: HashMap<u32, Vec<Vec<u32>>>,
}

/// llama.cpp caps breakers at 40 characters and their tails at 20 tokens.
const MAX_BREAKER_CHARS: usize = 40;
const MAX_TAIL_TOKENS: usize = 20;

impl DryBreakers {
    /// Breakers given directly as token sequences (llama.cpp's test form).
    pub fn from_sequences(seqs: &[Vec<u32>]) -> Self {
        let mut map: HashMap<u32, Vec<Vec<u32>>> = HashMap::new();
        for s in seqs.iter().filter(|s| !s.is_empty()) {
            map.entry(s[0]).or_default().push(s[1..].to_vec());
        }
        Self { map }
    }

    /// llama.cpp's mapping of breaker strings to tokens: every token whose text contains the
    /// breaker is a single-token breaker; a token whose text ends with a prefix of the breaker is a
    /// head whose tail is the rest of the breaker, tokenized. Without `tokenize` such partial
    /// heads are skipped (they only exist for breakers longer than one character).
    pub fn build(vocab: &Vocab, breakers: &[String], tokenize: Option<Tokenize<'_>>) -> Self {
        let mut map: HashMap<u32, Vec<Vec<u32>>> = HashMap::new();
        for b in breakers.iter().filter(|b| !b.is_empty()) {
            let b: String = b.chars().take(MAX_BREAKER_CHARS).collect();
            let bb = b.as_bytes();
            for id in 0..vocab.len() as u32 {
                let word = vocab.text(id).as_bytes();
                if word.windows(bb.len()).any(|w| w == bb) {
                    let tails = map.entry(id).or_default();
                    if !tails.iter().any(Vec::is_empty) {
                        tails.push(Vec::new());
                    }
                    continue;
                }
                let Some(tokenize) = tokenize else { continue };
                // Suffixes of `word` that are proper prefixes of the breaker.
                for start in 0..word.len() {
                    let rest = &word[start..];
                    if rest.len() < bb.len() && bb.starts_with(rest) {
                        let tail_text = String::from_utf8_lossy(&bb[rest.len()..]).into_owned();
                        let mut tail = tokenize(&tail_text);
                        tail.truncate(MAX_TAIL_TOKENS);
                        let tails = map.entry(id).or_default();
                        if !tails.contains(&tail) {
                            tails.push(tail);
                        }
                    }
                }
            }
        }
        Self { map }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn is_single_token_breaker(&self, id: u32) -> bool {
        self.map
            .get(&id)
            .is_some_and(|tails| tails.iter().any(Vec::is_empty))
    }
}

#[derive(Default)]
pub struct Dry {
    repeat: Vec<usize>,
    max_repeat: HashMap<u32, usize>,
}

impl Dry {
    /// llama.cpp's DRY (from KoboldCpp): find how long the sequence that each token would extend
    /// already repeats in the last `dry_penalty_last_n` tokens, and subtract
    /// `multiplier * base^(length - allowed_length)` from tokens whose repeat reaches
    /// `allowed_length`. Breakers limit how far back a repeat may reach.
    pub fn apply(
        &mut self,
        p: &SamplerParams,
        breakers: &DryBreakers,
        history: &[u32],
        mut logits: Logits<'_>,
    ) {
        if !p.is_active(super::SamplerKind::Dry) {
            return;
        }
        let n = match p.dry_penalty_last_n {
            -1 => history.len(),
            k => (k.max(0) as usize).min(history.len()),
        };
        let allowed = p.dry_allowed_length;
        if n <= allowed {
            return;
        }
        let last = &history[history.len() - n..];
        // `rat(i)`: the i-th token from the end.
        let rat = |i: usize| last[n - 1 - i];

        // Step 1: the most recent breaker limits the repeat length.
        let mut rep_limit = n;
        'scan: for i in 0..n {
            let Some(tails) = breakers.map.get(&rat(i)) else {
                continue;
            };
            let mut longest: Option<usize> = None;
            for tail in tails {
                let len = tail.len();
                if longest.is_some_and(|l| len <= l) || len > i {
                    continue;
                }
                if (0..len).all(|o| tail[o] == rat(i - o - 1)) {
                    longest = Some(len);
                }
            }
            if let Some(len) = longest {
                rep_limit = i - len;
                break 'scan;
            }
        }
        if rep_limit < allowed {
            return;
        }

        // Step 2: Z-algorithm over the reversed window: repeat[last - k] is how many tokens ending
        // k tokens back equal the suffix of the context (capped at rep_limit).
        self.repeat.clear();
        self.repeat.resize(n, 0);
        let lastp = n - 1;
        let (mut lt, mut rt) = (0usize, 0usize);
        for k in 1..n {
            if k > rt {
                let mut m = 0;
                while m + k < n && rat(m) == rat(m + k) {
                    m += 1;
                }
                self.repeat[lastp - k] = m.min(rep_limit);
                if m > 0 {
                    lt = k;
                    rt = k + m - 1;
                }
            } else {
                let pair = k - lt;
                let right_len = rt - k + 1;
                if self.repeat[lastp - pair] < right_len {
                    self.repeat[lastp - k] = self.repeat[lastp - pair].min(rep_limit);
                } else {
                    let mut i = rt + 1;
                    while i < n && rat(i) == rat(i - k) {
                        i += 1;
                    }
                    self.repeat[lastp - k] = (i - k).min(rep_limit);
                    lt = k;
                    rt = i - 1;
                }
            }
        }

        // Step 3: the token after each repeat would extend it.
        self.max_repeat.clear();
        for i in 0..n - 1 {
            let len = self.repeat[i];
            if len >= allowed {
                let next = rat(n - 2 - i);
                let e = self.max_repeat.entry(next).or_insert(0);
                *e = (*e).max(len);
            }
        }

        // Single-token breakers are never penalised.
        if !breakers.is_empty() {
            self.max_repeat
                .retain(|&id, _| !breakers.is_single_token_breaker(id));
        }

        // Step 4: the penalty, with the exponent capped so base^exp stays a finite f32.
        let max_exp = if p.dry_base > 1.000_001 {
            (88.722_84 / p.dry_base.ln()) as usize
        } else {
            0
        };
        let (mult, base) = (p.dry_multiplier, p.dry_base);
        logits.update(&self.max_repeat, |x, len| {
            let mut exp = len - allowed;
            if max_exp > 0 {
                exp = exp.min(max_exp);
            }
            x - mult * base.powi(exp as i32)
        });
    }
}
