//! The truncating and reshaping stages over one step's candidates, with llama.cpp's semantics.
//!
//! The candidates start *dense*: the whole vocabulary, id = index, read straight from the input
//! (copied only if a penalty edits it) with temperature kept as a scale factor. Stages that can
//! work on the dense form without sorting it (top-k, min-p, top-p, Mirostat v2, dynamic
//! temperature, the final draw) do, and the first truncation turns it into a short sparse list.
//! Only typical sampling, or XTC on a whole vocabulary, falls back to materialising every token.
use rand::rngs::StdRng;
use rand::Rng;

use super::math::{self, by_logit_desc, exp_approx, Cand};

/// The dense logits: the penalised copy when there is one, else the input. A macro rather than a
/// method so that it borrows only that field while the other buffers are written.
macro_rules! dense {
    ($w:expr, $src:expr) => {
        if $w.owned {
            &$w.dense_buf[..]
        } else {
            $src
        }
    };
}

/// The candidates of one step and the buffers reused across steps.
#[derive(Default)]
pub struct Work {
    /// The penalised copy of the logits (when `owned`).
    dense_buf: Vec<f32>,
    owned: bool,
    /// Dense logits are multiplied by this (1 / temperature) when read.
    scale: f32,
    pub is_dense: bool,
    pub cands: Vec<Cand>,
    /// Probabilities aligned with `cands`, valid after `softmax`.
    pub probs: Vec<f32>,
    sorted: bool,
    scratch: Vec<Cand>,
    order: Vec<(f32, u32)>,
}

/// A finished distribution to draw from.
pub struct Drawn {
    pub id: u32,
    pub prob: f32,
}

impl Work {
    pub fn reset(&mut self) {
        self.owned = false;
        self.scale = 1.0;
        self.is_dense = true;
        self.cands.clear();
        self.probs.clear();
        self.sorted = false;
    }

    /// Starts from an explicit candidate list instead of the whole vocabulary: the tokens a
    /// constraint allows, with their logits from `src`. The stages then run over them only.
    pub fn start_sparse(&mut self, src: &[f32], allowed: &[u32]) {
        self.cands.clear();
        self.cands.extend(
            allowed
                .iter()
                .filter_map(|&id| src.get(id as usize).map(|&logit| Cand { logit, id })),
        );
        self.is_dense = false;
        self.sorted = false;
    }

    /// A mutable copy of the dense logits (for the penalties).
    pub fn dense_mut(&mut self, src: &[f32]) -> &mut [f32] {
        if !self.owned {
            self.dense_buf.clear();
            self.dense_buf.extend_from_slice(src);
            self.owned = true;
        }
        &mut self.dense_buf
    }

    /// The dense logits as the stages see them (penalised copy or input), for tests.
    #[cfg(test)]
    pub fn dense_view<'a>(&'a self, src: &'a [f32]) -> &'a [f32] {
        dense!(self, src)
    }

    #[cfg(test)]
    pub fn scale(&self) -> f32 {
        self.scale
    }

    pub fn len(&self, src: &[f32]) -> usize {
        if self.is_dense {
            src.len()
        } else {
            self.cands.len()
        }
    }

    /// Turns the dense form into an explicit list (the slow path).
    fn materialize(&mut self, src: &[f32]) {
        if !self.is_dense {
            return;
        }
        let s = self.scale;
        let dense = if self.owned { &self.dense_buf } else { src };
        self.cands.clear();
        self.cands
            .extend(dense.iter().enumerate().map(|(i, &l)| Cand {
                logit: l * s,
                id: i as u32,
            }));
        self.is_dense = false;
        self.sorted = false;
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.cands.sort_unstable_by(by_logit_desc);
            self.sorted = true;
        }
    }

    /// Probabilities of the sparse candidates (in their current order); returns the entropy.
    pub fn softmax(&mut self) -> f64 {
        let m = self
            .cands
            .iter()
            .fold(f32::NEG_INFINITY, |a, c| a.max(c.logit));
        self.probs.clear();
        let mut z = 0f64;
        for c in &self.cands {
            let e = exp_approx(c.logit - m);
            self.probs.push(e);
            z += f64::from(e);
        }
        let mut h = 0f64;
        for p in &mut self.probs {
            *p = (f64::from(*p) / z) as f32;
            if *p > 0.0 {
                h -= f64::from(*p) * f64::from(p.ln());
            }
        }
        h
    }

    /// Sets the sparse list to `from` (already scaled and sorted).
    fn take_sorted(&mut self, from_scratch: bool) {
        if from_scratch {
            std::mem::swap(&mut self.cands, &mut self.scratch);
        }
        self.is_dense = false;
        self.sorted = true;
    }

    pub fn top_k(&mut self, src: &[f32], k: usize) {
        let n = self.len(src);
        if k == 0 || k >= n {
            return;
        }
        if self.is_dense {
            let dense = if self.owned { &self.dense_buf } else { src };
            math::top_k_dense(dense, k, &mut self.scratch);
            let s = self.scale;
            self.scratch.iter_mut().for_each(|c| c.logit *= s);
            self.take_sorted(true);
        } else {
            if self.sorted {
                self.cands.truncate(k);
            } else {
                self.cands.select_nth_unstable_by(k - 1, by_logit_desc);
                self.cands.truncate(k);
                self.sort();
            }
        }
    }

    /// The dense logits' maximum (scaled), the log of the softmax normaliser and the entropy.
    fn dense_stats(&self, src: &[f32]) -> (f32, f64, f64) {
        let dense = dense!(self, src);
        let m = math::max(dense);
        let (z, zd) = math::exp_sums(dense, m, self.scale);
        (m, z.ln(), math::entropy_from_sums(z, zd))
    }

    pub fn top_p(&mut self, src: &[f32], p: f32, min_keep: usize) {
        if p >= 1.0 {
            return;
        }
        if self.is_dense {
            // Only the head of the distribution can be needed: gather tokens within a logit
            // distance of the top, widen until their mass reaches p.
            let (m, ln_z, _) = self.dense_stats(src);
            let s = self.scale;
            for width in [8.0f32, 16.0, 32.0, 64.0, f32::INFINITY] {
                let floor = m - width / s;
                let dense = dense!(self, src);
                let mut out = std::mem::take(&mut self.scratch);
                math::filter_dense(dense, floor, s, &mut out);
                out.sort_unstable_by(by_logit_desc);
                // f32 sums as llama.cpp's, so that a boundary such as 0.4 + 0.3 >= 0.7 agrees.
                let mut cum = 0f32;
                let mut keep = None;
                for (i, c) in out.iter().enumerate() {
                    cum += (f64::from(c.logit - m * s) - ln_z).exp() as f32;
                    if cum >= p && i + 1 >= min_keep {
                        keep = Some(i + 1);
                        break;
                    }
                }
                self.scratch = out;
                if let Some(k) = keep {
                    self.scratch.truncate(k);
                    self.take_sorted(true);
                    return;
                }
            }
            // Never reached p (rounding, or min_keep above the vocabulary): keep everything.
            return;
        }
        self.sort();
        self.softmax();
        let mut cum = 0f32;
        for (i, &pr) in self.probs.iter().enumerate() {
            cum += pr;
            if cum >= p && i + 1 >= min_keep {
                self.cands.truncate(i + 1);
                return;
            }
        }
    }

    pub fn min_p(&mut self, src: &[f32], p: f32, min_keep: usize) {
        if p <= 0.0 || self.len(src) == 0 {
            return;
        }
        let ln_p = p.ln();
        if self.is_dense {
            let s = self.scale;
            let dense = dense!(self, src);
            let floor = math::max(dense) + ln_p / s;
            let mut out = std::mem::take(&mut self.scratch);
            math::filter_dense(dense, floor, s, &mut out);
            if out.len() < min_keep.max(1) {
                math::top_k_dense(dense, min_keep.max(1), &mut out);
                out.iter_mut().for_each(|c| c.logit *= s);
                self.scratch = out;
                self.take_sorted(true);
            } else {
                self.scratch = out;
                std::mem::swap(&mut self.cands, &mut self.scratch);
                self.is_dense = false;
                self.sorted = false;
            }
            return;
        }
        let m = self
            .cands
            .iter()
            .fold(f32::NEG_INFINITY, |a, c| a.max(c.logit));
        let floor = m + ln_p;
        let kept = self.cands.iter().filter(|c| c.logit >= floor).count();
        if kept >= min_keep.max(1) {
            self.cands.retain(|c| c.logit >= floor);
        } else {
            self.sort();
            self.cands.truncate(min_keep.max(1));
        }
    }

    pub fn typical(&mut self, src: &[f32], p: f32, min_keep: usize) {
        if p >= 1.0 {
            return;
        }
        self.materialize(src);
        self.sort();
        let h = self.softmax() as f32;
        self.order.clear();
        self.order.extend(
            self.probs
                .iter()
                .enumerate()
                .map(|(i, &pr)| ((-pr.ln() - h).abs(), i as u32)),
        );
        self.order
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut cum = 0f64;
        let mut last = self.order.len();
        for (i, &(_, idx)) in self.order.iter().enumerate() {
            cum += f64::from(self.probs[idx as usize]);
            if cum > f64::from(p) && i + 1 >= min_keep {
                last = i + 1;
                break;
            }
        }
        self.scratch.clear();
        let cands = &self.cands;
        self.scratch
            .extend(self.order[..last].iter().map(|&(_, i)| cands[i as usize]));
        std::mem::swap(&mut self.cands, &mut self.scratch);
        self.sorted = false;
    }

    pub fn xtc(
        &mut self,
        src: &[f32],
        probability: f32,
        threshold: f32,
        min_keep: usize,
        rng: &mut StdRng,
    ) {
        if probability <= 0.0 || threshold > 0.5 || self.len(src) < 2 {
            return;
        }
        let chance: f32 = rng.gen();
        if chance > probability {
            return;
        }
        if self.is_dense {
            // At most 1/threshold tokens reach the threshold: find them without a full sort.
            let (m, ln_z, _) = self.dense_stats(src);
            let s = self.scale;
            let floor = m + ((f64::from(threshold).ln() + ln_z) as f32) / s;
            let mut top = std::mem::take(&mut self.scratch);
            math::filter_dense(dense!(self, src), floor, s, &mut top);
            top.sort_unstable_by(by_logit_desc);
            let remove = top.len().saturating_sub(1);
            if remove > 0 && src.len() - remove >= min_keep {
                top.truncate(remove);
                top.sort_unstable_by_key(|c| c.id);
                self.materialize(src);
                self.cands
                    .retain(|c| top.binary_search_by_key(&c.id, |t| t.id).is_err());
            }
            self.scratch = top;
            return;
        }
        self.sort();
        self.softmax();
        let mut pos_last = 0;
        for (i, &pr) in self.probs.iter().enumerate() {
            if pr >= threshold {
                pos_last = i;
            } else {
                break;
            }
        }
        if pos_last > 0 && self.cands.len() - pos_last >= min_keep {
            self.cands.drain(..pos_last);
        }
    }

    /// Keeps only the most likely token (temperature 0).
    fn keep_argmax(&mut self, src: &[f32]) {
        if self.is_dense {
            let dense = dense!(self, src);
            let id = math::argmax(dense);
            let logit = dense[id as usize] * self.scale;
            self.cands.clear();
            self.cands.push(Cand { logit, id });
        } else if let Some(best) = self.cands.iter().copied().min_by(by_logit_desc) {
            self.cands.clear();
            self.cands.push(best);
        }
        self.is_dense = false;
        self.sorted = true;
    }

    /// Temperature, dynamic when `range > 0` (llama.cpp's temp-ext): between max(0, t - range) and
    /// t + range by (entropy / max entropy)^exponent of the current candidates. Returns the
    /// temperature applied.
    pub fn temperature(&mut self, src: &[f32], t: f32, range: f32, exponent: f32) -> f32 {
        let mut temp = t;
        if range > 0.0 {
            let n = self.len(src);
            if n <= 1 {
                return t;
            }
            let h = if self.is_dense {
                self.dense_stats(src).2
            } else {
                self.softmax()
            };
            let norm = (h / (n as f64).ln()) as f32;
            let (lo, hi) = ((t - range).max(0.0), t + range);
            temp = lo + (hi - lo) * norm.max(0.0).powf(exponent);
        }
        if temp <= 0.0 {
            self.keep_argmax(src);
            return 0.0;
        }
        if self.is_dense {
            self.scale /= temp;
        } else {
            let inv = 1.0 / temp;
            self.cands.iter_mut().for_each(|c| c.logit *= inv);
        }
        temp
    }

    /// Mirostat v2's truncation: keep the tokens whose surprise -log2 p is at most `mu`.
    pub fn mirostat_v2_truncate(&mut self, src: &[f32], mu: f32) {
        if self.is_dense {
            let (m, ln_z, _) = self.dense_stats(src);
            let s = self.scale;
            let floor = m + ((ln_z - f64::from(mu) * std::f64::consts::LN_2) as f32) / s;
            let mut out = std::mem::take(&mut self.scratch);
            math::filter_dense(dense!(self, src), floor, s, &mut out);
            if out.is_empty() {
                math::top_k_dense(dense!(self, src), 1, &mut out);
                out.iter_mut().for_each(|c| c.logit *= s);
            }
            out.sort_unstable_by(by_logit_desc);
            self.scratch = out;
            self.take_sorted(true);
            return;
        }
        self.sort();
        self.softmax();
        let keep = self
            .probs
            .iter()
            .take_while(|&&p| -p.log2() <= mu)
            .count()
            .max(1);
        self.cands.truncate(keep);
    }

    /// The sorted logits of the `m` most likely candidates (Mirostat v1's estimate of s_hat).
    pub fn head(&mut self, src: &[f32], m: usize) -> &[Cand] {
        if self.is_dense {
            math::top_k_dense(dense!(self, src), m, &mut self.scratch);
            let s = self.scale;
            self.scratch.iter_mut().for_each(|c| c.logit *= s);
            &self.scratch
        } else {
            self.sort();
            &self.cands[..m.min(self.cands.len())]
        }
    }

    /// Draws from the candidates' softmax with a uniform `r` in [0, 1). Also returns the entropy.
    pub fn draw(&mut self, src: &[f32], r: f64) -> (Drawn, f64) {
        if self.is_dense {
            let dense = dense!(self, src);
            let m = math::max(dense);
            let (z, zd) = math::exp_sums(dense, m, self.scale);
            let index = math::draw_dense(dense, m, self.scale, r * z);
            let prob = (f64::from(exp_approx((dense[index] - m) * self.scale)) / z) as f32;
            let drawn = Drawn {
                id: index as u32,
                prob,
            };
            return (drawn, math::entropy_from_sums(z, zd));
        }
        let h = self.softmax();
        let mut cum = 0f64;
        let mut index = self.cands.len() - 1;
        for (i, &p) in self.probs.iter().enumerate() {
            cum += f64::from(p);
            if r < cum {
                index = i;
                break;
            }
        }
        let drawn = Drawn {
            id: self.cands[index].id,
            prob: self.probs[index],
        };
        (drawn, h)
    }

    /// The `n` most likely candidates of the final distribution with their probabilities (after
    /// `draw`, which computed them).
    pub fn top_of_final(&mut self, src: &[f32], n: usize) -> Vec<(u32, f32)> {
        if self.is_dense {
            let dense = dense!(self, src);
            let m = math::max(dense);
            let (z, _) = math::exp_sums(dense, m, self.scale);
            let s = self.scale;
            math::top_k_dense(dense, n, &mut self.scratch);
            return self
                .scratch
                .iter()
                .map(|c| {
                    let p = f64::from(exp_approx((c.logit - m) * s)) / z;
                    (c.id, p as f32)
                })
                .collect();
        }
        self.order.clear();
        self.order
            .extend(self.probs.iter().zip(&self.cands).map(|(&p, c)| (p, c.id)));
        let by_prob = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let n = n.min(self.order.len());
        if n > 0 && n < self.order.len() {
            self.order.select_nth_unstable_by(n - 1, by_prob);
        }
        self.order.truncate(n);
        self.order.sort_unstable_by(by_prob);
        self.order.iter().map(|&(p, id)| (id, p)).collect()
    }
}
