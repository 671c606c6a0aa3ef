//! The sampler chain: pure functions over one step's logits, with llama.cpp's semantics and order
//! (top-k, top-p, min-p, temperature, then a seeded draw). Temperature 0 means greedy.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerParams {
    /// 0 (or below) picks the most likely token every step.
    pub temperature: f32,
    /// Keep the k most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches p; 1 disables.
    pub top_p: f32,
    /// Drop tokens less likely than min_p times the most likely one; 0 disables.
    pub min_p: f32,
    /// The same seed gives the same text; `None` draws a seed from the OS.
    pub seed: Option<u64>,
}

impl Default for SamplerParams {
    /// llama.cpp's defaults.
    fn default() -> Self {
        Self {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            seed: None,
        }
    }
}

impl SamplerParams {
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum SamplingError {
    #[error("the logits contain {0} (token {1}): the model produced an invalid value")]
    InvalidLogit(&'static str, u32),
    #[error("no logits to sample from")]
    Empty,
}

/// A sampler with its RNG; one per conversation so a seed reproduces a whole reply.
pub struct Sampler {
    pub params: SamplerParams,
    rng: StdRng,
    candidates: Vec<(f32, u32)>,
}

impl Sampler {
    pub fn new(params: SamplerParams) -> Self {
        let rng = match params.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Self {
            params,
            rng,
            candidates: Vec::new(),
        }
    }

    /// Replaces the parameters; a new seed restarts the RNG.
    pub fn set_params(&mut self, params: SamplerParams) {
        if params.seed != self.params.seed {
            *self = Self::new(params);
        } else {
            self.params = params;
        }
    }

    pub fn sample(&mut self, logits: &[f32]) -> Result<u32, SamplingError> {
        if logits.is_empty() {
            return Err(SamplingError::Empty);
        }
        if let Some(i) = logits.iter().position(|l| !l.is_finite()) {
            let what = if logits[i].is_nan() {
                "NaN"
            } else {
                "an infinity"
            };
            return Err(SamplingError::InvalidLogit(what, i as u32));
        }
        if self.params.temperature <= 0.0 {
            return Ok(argmax(logits));
        }
        let p = &self.params;
        let c = &mut self.candidates;
        c.clear();
        c.extend(logits.iter().enumerate().map(|(i, &l)| (l, i as u32)));
        // top-k: an O(n) selection, then sort only the survivors.
        let k = if p.top_k == 0 {
            c.len()
        } else {
            p.top_k.min(c.len())
        };
        let by_logit_desc =
            |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if k < c.len() {
            c.select_nth_unstable_by(k - 1, by_logit_desc);
            c.truncate(k);
        }
        c.sort_unstable_by(by_logit_desc);
        // top-p over the softmax of what is left (before temperature, as llama.cpp orders it).
        if p.top_p < 1.0 {
            let probs = softmax(c.iter().map(|x| x.0), 1.0);
            let mut cum = 0.0;
            let mut keep = c.len();
            for (i, pr) in probs.iter().enumerate() {
                cum += pr;
                if cum >= p.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
            c.truncate(keep.max(1));
        }
        // min-p: p_i >= min_p * p_max  <=>  logit_i >= max_logit + ln(min_p).
        if p.min_p > 0.0 {
            let floor = c[0].0 + p.min_p.ln();
            let keep = c.iter().take_while(|x| x.0 >= floor).count();
            c.truncate(keep.max(1));
        }
        let probs = softmax(c.iter().map(|x| x.0), p.temperature);
        let r: f64 = self.rng.gen();
        let mut cum = 0.0;
        for (pr, &(_, id)) in probs.iter().zip(c.iter()) {
            cum += pr;
            if r < cum {
                return Ok(id);
            }
        }
        Ok(c[c.len() - 1].1)
    }
}

/// The most likely token, the lowest id on ties (as llama.cpp's greedy sampler).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn softmax(logits: impl Iterator<Item = f32> + Clone, temperature: f32) -> Vec<f64> {
    let t = temperature as f64;
    let max = logits.clone().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.map(|l| ((l as f64 - max) / t).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(temperature: f32) -> Sampler {
        Sampler::new(SamplerParams {
            temperature,
            seed: Some(7),
            ..SamplerParams::default()
        })
    }

    #[test]
    fn temperature_zero_is_greedy_with_lowest_id_on_ties() {
        let mut s = seeded(0.0);
        assert_eq!(s.sample(&[0.1, 2.0, 2.0, -1.0]).unwrap(), 1);
    }

    #[test]
    fn same_seed_same_draws() {
        let logits: Vec<f32> = (0..100).map(|i| (i % 7) as f32 * 0.3).collect();
        let a: Vec<u32> = (0..50)
            .map(|_| 0)
            .scan(seeded(1.0), |s, _| s.sample(&logits).ok())
            .collect();
        let b: Vec<u32> = (0..50)
            .map(|_| 0)
            .scan(seeded(1.0), |s, _| s.sample(&logits).ok())
            .collect();
        assert_eq!(a, b);
        assert!(
            a.iter().any(|&t| t != a[0]),
            "a temperature of 1 should vary the draws"
        );
    }

    #[test]
    fn min_p_drops_tokens_below_the_scaled_maximum() {
        // Probabilities [0.5, 0.2, 0.15, 0.1, 0.05] at min_p 0.15: the floor is 0.075, so 4 stay.
        // (At exactly min_p 0.1 the last token sits on the floor, where f32 rounding decides.)
        let logits: Vec<f32> = [0.5f32, 0.2, 0.15, 0.1, 0.05]
            .iter()
            .map(|p| p.ln())
            .collect();
        let mut s = Sampler::new(SamplerParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.15,
            seed: Some(1),
        });
        let drawn: std::collections::HashSet<u32> =
            (0..2000).map(|_| s.sample(&logits).unwrap()).collect();
        assert_eq!(drawn, [0, 1, 2, 3].into_iter().collect());
    }

    #[test]
    fn top_k_one_is_greedy() {
        let mut s = Sampler::new(SamplerParams {
            temperature: 5.0,
            top_k: 1,
            seed: Some(3),
            ..SamplerParams::default()
        });
        for _ in 0..20 {
            assert_eq!(s.sample(&[0.0, 1.0, 0.9]).unwrap(), 1);
        }
    }

    #[test]
    fn nan_logits_are_an_error() {
        let mut s = seeded(0.8);
        assert_eq!(
            s.sample(&[0.0, f32::NAN]),
            Err(SamplingError::InvalidLogit("NaN", 1))
        );
    }
}
