//! `Sampler`: runs the configured stages over one step's logits, then draws (or lets Mirostat
//! draw), and keeps what must survive between steps: the RNGs and Mirostat's mu.
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::math::{self, Cand};
use super::params::{Mirostat, SamplerKind, SamplerParams};
use super::penalties::{Dry, DryBreakers, Logits, Penalties, Tokenize};
use super::stages::{Drawn, Work};
use super::trace::{SampleTrace, TraceCandidate, TRACE_TOP};
use super::vocab::Vocab;
use super::SamplingError;

/// Mirostat v1 estimates the Zipf exponent from this many top tokens (llama.cpp's m).
const MIROSTAT_M: usize = 100;

/// A sampler with its state; one per conversation so that a seed reproduces a whole reply.
pub struct Sampler {
    pub params: SamplerParams,
    rng: StdRng,
    /// XTC draws from its own stream, as in llama.cpp, so switching it on does not shift the
    /// main draws.
    xtc_rng: StdRng,
    mu: f32,
    work: Work,
    penalties: Penalties,
    dry: Dry,
    breakers: DryBreakers,
    vocab: Option<Arc<Vocab>>,
}

fn rngs(seed: Option<u64>) -> (StdRng, StdRng) {
    let seed = seed.unwrap_or_else(|| rand::rngs::OsRng.gen());
    (
        StdRng::seed_from_u64(seed),
        StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
    )
}

impl Sampler {
    pub fn new(params: SamplerParams) -> Self {
        let (rng, xtc_rng) = rngs(params.seed);
        Self {
            mu: 2.0 * params.mirostat_tau,
            params,
            rng,
            xtc_rng,
            work: Work::default(),
            penalties: Penalties::default(),
            dry: Dry::default(),
            breakers: DryBreakers::default(),
            vocab: None,
        }
    }

    /// Replaces the parameters from the next token on. A new seed restarts the RNGs; a new
    /// Mirostat mode or tau restarts mu at 2·tau (as a freshly built llama.cpp sampler would).
    pub fn set_params(&mut self, params: SamplerParams) {
        if params.seed != self.params.seed {
            (self.rng, self.xtc_rng) = rngs(params.seed);
        }
        if params.mirostat != self.params.mirostat
            || params.mirostat_tau != self.params.mirostat_tau
        {
            self.mu = 2.0 * params.mirostat_tau;
        }
        let breakers_changed = params.dry_sequence_breakers != self.params.dry_sequence_breakers;
        self.params = params;
        if breakers_changed {
            self.rebuild_breakers(None);
        }
    }

    /// A new conversation: mu back to 2·tau, the RNGs back to the seed.
    pub fn reset(&mut self) {
        (self.rng, self.xtc_rng) = rngs(self.params.seed);
        self.mu = 2.0 * self.params.mirostat_tau;
    }

    /// Mirostat's current mu (bits).
    pub fn mu(&self) -> f32 {
        self.mu
    }

    pub fn vocab(&self) -> Option<&Arc<Vocab>> {
        self.vocab.as_ref()
    }

    /// The token texts: the inspector shows them, and DRY's breakers are found in them.
    /// `tokenize` maps the rest of a multi-character breaker to tokens (see [`DryBreakers::build`]).
    pub fn set_vocab(&mut self, vocab: Arc<Vocab>, tokenize: Option<Tokenize<'_>>) {
        self.vocab = Some(vocab);
        self.rebuild_breakers(tokenize);
    }

    /// DRY breakers as token sequences (llama.cpp's test form), replacing those from the vocabulary.
    pub fn set_dry_breakers(&mut self, breakers: DryBreakers) {
        self.breakers = breakers;
    }

    fn rebuild_breakers(&mut self, tokenize: Option<Tokenize<'_>>) {
        if let Some(v) = &self.vocab {
            self.breakers = DryBreakers::build(v, &self.params.dry_sequence_breakers, tokenize);
        }
    }

    /// The next token, with no conversation history (penalties and DRY see nothing).
    pub fn sample(&mut self, logits: &[f32]) -> Result<u32, SamplingError> {
        self.run(logits, &[], None, false).map(|(t, _)| t)
    }

    /// The next token given the conversation so far (prompt included).
    pub fn sample_with_history(
        &mut self,
        logits: &[f32],
        history: &[u32],
    ) -> Result<u32, SamplingError> {
        self.run(logits, history, None, false).map(|(t, _)| t)
    }

    /// The next token among `allowed` only (a constraint's valid continuations): the chain runs
    /// over those tokens as llama.cpp's runs after its grammar stage, so penalties, top-k, top-p,
    /// temperature and the seeded draw mean what they mean without a constraint.
    pub fn sample_among(
        &mut self,
        logits: &[f32],
        allowed: &[u32],
        history: &[u32],
    ) -> Result<u32, SamplingError> {
        if allowed.is_empty() {
            return Err(SamplingError::Empty);
        }
        self.run(logits, history, Some(allowed), false)
            .map(|(t, _)| t)
    }

    /// Fills in the model's own top candidates and entropy (a softmax over the whole vocabulary,
    /// ~0.3 ms) of a trace from `sample_traced`, given the same logits.
    pub fn complete_trace(&mut self, logits: &[f32], trace: &mut SampleTrace) {
        let (before, entropy) = self.model_distribution(logits);
        trace.before = before;
        trace.entropy_before = entropy;
    }

    /// The next token and what the inspector shows about it, but for the model's own distribution
    /// (`complete_trace` adds that when the step is not waiting for it).
    pub fn sample_traced(
        &mut self,
        logits: &[f32],
        history: &[u32],
    ) -> Result<(u32, SampleTrace), SamplingError> {
        let (t, trace) = self.run(logits, history, None, true)?;
        Ok((t, trace.expect("traced")))
    }

    fn run(
        &mut self,
        logits: &[f32],
        history: &[u32],
        allowed: Option<&[u32]>,
        traced: bool,
    ) -> Result<(u32, Option<SampleTrace>), SamplingError> {
        if logits.is_empty() {
            return Err(SamplingError::Empty);
        }
        if let Some(i) = math::first_non_finite(logits) {
            let what = if logits[i].is_nan() {
                "NaN"
            } else {
                "an infinity"
            };
            return Err(SamplingError::InvalidLogit(what, i as u32));
        }
        // The model's own distribution is the expensive part of a trace (a softmax over the whole
        // vocabulary): `complete_trace` adds it later, off the step's critical path.
        let p = &self.params;
        self.work.reset();
        if let Some(allowed) = allowed {
            self.work.start_sparse(logits, allowed);
        }
        let mut temperature = 1.0;
        let mut greedy = false;
        for kind in p.chain() {
            let w = &mut self.work;
            match kind {
                SamplerKind::Penalties => {
                    if p.is_active(kind) {
                        let target = if w.is_dense {
                            Logits::Dense(w.dense_mut(logits))
                        } else {
                            Logits::Sparse(&mut w.cands)
                        };
                        self.penalties.apply(p, history, target);
                    }
                }
                SamplerKind::Dry => {
                    if p.is_active(kind) {
                        let target = if w.is_dense {
                            Logits::Dense(w.dense_mut(logits))
                        } else {
                            Logits::Sparse(&mut w.cands)
                        };
                        self.dry.apply(p, &self.breakers, history, target);
                    }
                }
                SamplerKind::TopK => w.top_k(logits, p.top_k),
                SamplerKind::Typical => w.typical(logits, p.typical_p, p.min_keep),
                SamplerKind::TopP => w.top_p(logits, p.top_p, p.min_keep),
                SamplerKind::MinP => w.min_p(logits, p.min_p, p.min_keep),
                SamplerKind::Xtc => w.xtc(
                    logits,
                    p.xtc_probability,
                    p.xtc_threshold,
                    p.min_keep,
                    &mut self.xtc_rng,
                ),
                SamplerKind::Temperature => {
                    temperature =
                        w.temperature(logits, p.temperature, p.dynatemp_range, p.dynatemp_exponent);
                    greedy = temperature <= 0.0;
                }
            }
        }
        let mu_used = (p.mirostat != Mirostat::Off).then_some(self.mu);
        let (drawn, entropy_after) = match p.mirostat {
            Mirostat::Off => {
                let r = if greedy { 0.0 } else { self.rng.gen() };
                self.work.draw(logits, r)
            }
            Mirostat::V2 => {
                self.work.mirostat_v2_truncate(logits, self.mu);
                let r = self.rng.gen();
                self.work.draw(logits, r)
            }
            Mirostat::V1 => {
                let k = mirostat_v1_k(self.work.head(logits, MIROSTAT_M), self.mu, logits.len());
                self.work.top_k(logits, k);
                let r = self.rng.gen();
                self.work.draw(logits, r)
            }
        };
        let surprise = -drawn.prob.log2();
        if p.mirostat != Mirostat::Off {
            self.mu -= p.mirostat_eta * (surprise - p.mirostat_tau);
        }
        let trace = traced.then(|| {
            self.trace(logits, &drawn, Vec::new(), f32::NAN, entropy_after)
                .with(temperature, mu_used, surprise)
        });
        Ok((drawn.id, trace))
    }

    fn text(&self, id: u32) -> String {
        self.vocab
            .as_ref()
            .map_or_else(String::new, |v| v.text(id).to_string())
    }

    /// The model's own top candidates and entropy (bits), before any stage.
    fn model_distribution(&mut self, logits: &[f32]) -> (Vec<TraceCandidate>, f32) {
        let m = math::max(logits);
        let (z, zd) = math::exp_sums(logits, m, 1.0);
        let mut top: Vec<Cand> = Vec::with_capacity(TRACE_TOP);
        math::top_k_dense(logits, TRACE_TOP, &mut top);
        let cands = top
            .iter()
            .map(|c| TraceCandidate {
                id: c.id,
                text: self.text(c.id),
                prob: (f64::from(math::exp_approx(c.logit - m)) / z) as f32,
            })
            .collect();
        let bits = math::entropy_from_sums(z, zd) / std::f64::consts::LN_2;
        (cands, bits as f32)
    }

    fn trace(
        &mut self,
        logits: &[f32],
        drawn: &Drawn,
        before: Vec<TraceCandidate>,
        entropy_before: f32,
        entropy_after: f64,
    ) -> SampleTrace {
        let after = self
            .work
            .top_of_final(logits, TRACE_TOP)
            .into_iter()
            .map(|(id, prob)| TraceCandidate {
                id,
                text: self.text(id),
                prob,
            })
            .collect();
        SampleTrace {
            token: drawn.id,
            token_text: self.text(drawn.id),
            prob: drawn.prob,
            before,
            after,
            entropy_before,
            entropy_after: (entropy_after / std::f64::consts::LN_2) as f32,
            candidates: self.work.len(logits),
            temperature: 0.0,
            mu: None,
            surprise: 0.0,
        }
    }
}

impl SampleTrace {
    fn with(mut self, temperature: f32, mu: Option<f32>, surprise: f32) -> Self {
        self.temperature = temperature;
        self.mu = mu;
        self.surprise = surprise;
        self
    }
}

/// Mirostat v1's k: estimate the Zipf exponent s from the top tokens' log-probability ratios,
/// then k = (ε·2^mu / (1 - N^-ε))^(1/s) with ε = s - 1 (Basu et al., as in llama.cpp).
pub fn mirostat_v1_k(head: &[Cand], mu: f32, n_vocab: usize) -> usize {
    let (mut sum_tb, mut sum_tt) = (0f32, 0f32);
    for i in 0..head.len().saturating_sub(1).min(MIROSTAT_M - 1) {
        let t = ((i + 2) as f32 / (i + 1) as f32).ln();
        let b = head[i].logit - head[i + 1].logit;
        sum_tb += t * b;
        sum_tt += t * t;
    }
    let s_hat = sum_tb / sum_tt;
    let eps = s_hat - 1.0;
    let k = ((eps * 2f32.powf(mu)) / (1.0 - (n_vocab as f32).powf(-eps))).powf(1.0 / s_hat);
    if k.is_finite() && k >= 1.0 {
        (k as usize).min(n_vocab)
    } else if k.is_finite() {
        1
    } else {
        // A flat head (s_hat = 0) gives no estimate: keep everything.
        n_vocab
    }
}
