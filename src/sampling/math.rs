//! The kernels behind the chain's fast path over a whole vocabulary (262,144 logits for Gemma 3):
//! written as branch-free loops over 8-lane chunks so that the compiler vectorises them. libm's
//! `expf` costs ~3 ns a call, which alone would be 0.8 ms per token; `exp_approx` is a few cycles.

/// A logit with its token id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cand {
    pub logit: f32,
    pub id: u32,
}

/// Most likely first; the lower id first on ties (as greedy picks the lowest id), so every order
/// is deterministic.
#[inline]
pub fn by_logit_desc(a: &Cand, b: &Cand) -> std::cmp::Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

/// e^x for x <= 0 (the chain always subtracts the maximum first), relative error below 2e-7.
/// Cephes' range reduction and polynomial; results below e^-87 are flushed to about 1e-38.
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    // ln 2 split in two so that x - n ln 2 stays exact.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The index of the largest value, the lowest on ties.
pub fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best as u32
}

/// The index of the first non-finite value, if any.
pub fn first_non_finite(xs: &[f32]) -> Option<usize> {
    // A vectorised "any" first; the position only when something is wrong.
    let mut bad = false;
    for c in xs.chunks(64) {
        bad |= c.iter().fold(false, |acc, x| acc | !x.is_finite());
    }
    if bad {
        xs.iter().position(|x| !x.is_finite())
    } else {
        None
    }
}

/// The largest value (`-inf` for an empty slice).
pub fn max(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            lanes[j] = if c[j] > lanes[j] { c[j] } else { lanes[j] };
        }
    }
    let mut m = lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for &x in it.remainder() {
        m = m.max(x);
    }
    m
}

/// Σ e^{(x - max)·scale} and Σ e^{(x - max)·scale}·(x - max)·scale, for the softmax normaliser and
/// the entropy (H = ln Z - Σ e·d / Z) in one pass. Partial sums are f32 per 1024 values, f64 across.
pub fn exp_sums(xs: &[f32], max: f32, scale: f32) -> (f64, f64) {
    let (mut z, mut zd) = (0f64, 0f64);
    for block in xs.chunks(1024) {
        let mut a = [0f32; 8];
        let mut b = [0f32; 8];
        let mut it = block.chunks_exact(8);
        for c in &mut it {
            for j in 0..8 {
                let d = (c[j] - max) * scale;
                let e = exp_approx(d);
                a[j] += e;
                b[j] += e * d;
            }
        }
        let (mut sa, mut sb) = (a.iter().sum::<f32>(), b.iter().sum::<f32>());
        for &x in it.remainder() {
            let d = (x - max) * scale;
            let e = exp_approx(d);
            sa += e;
            sb += e * d;
        }
        z += f64::from(sa);
        zd += f64::from(sb);
    }
    (z, zd)
}

/// Entropy in nats from the sums of [`exp_sums`].
pub fn entropy_from_sums(z: f64, zd: f64) -> f64 {
    if z <= 0.0 {
        return 0.0;
    }
    (z.ln() - zd / z).max(0.0)
}

/// The `k` largest of `xs` (with their indices as ids), sorted by [`by_logit_desc`], into `out`.
/// A running threshold skips almost every value with one comparison per 16-value block, so this is
/// O(n) with a small constant instead of a sort of the whole vocabulary.
pub fn top_k_dense(xs: &[f32], k: usize, out: &mut Vec<Cand>) {
    out.clear();
    let k = k.min(xs.len());
    if k == 0 {
        return;
    }
    let cap = (4 * k).max(256);
    let mut threshold = f32::NEG_INFINITY;
    let mut full = false;
    for (b, block) in xs.chunks(16).enumerate() {
        if full && max(block) <= threshold {
            continue;
        }
        for (j, &x) in block.iter().enumerate() {
            // Strictly above: a later (higher) id never beats an equal logit already kept.
            if !full || x > threshold {
                out.push(Cand {
                    logit: x,
                    id: (b * 16 + j) as u32,
                });
            }
        }
        if out.len() >= cap {
            out.select_nth_unstable_by(k - 1, by_logit_desc);
            out.truncate(k);
            threshold = out[k - 1].logit;
            full = true;
        }
    }
    if out.len() > k {
        out.select_nth_unstable_by(k - 1, by_logit_desc);
        out.truncate(k);
    }
    out.sort_unstable_by(by_logit_desc);
}

/// The values at or above `floor` with their ids, in id order (what llama.cpp's unsorted min-p
/// path keeps), each multiplied by `scale`.
pub fn filter_dense(xs: &[f32], floor: f32, scale: f32, out: &mut Vec<Cand>) {
    out.clear();
    for (b, block) in xs.chunks(16).enumerate() {
        if max(block) < floor {
            continue;
        }
        for (j, &x) in block.iter().enumerate() {
            if x >= floor {
                out.push(Cand {
                    logit: x * scale,
                    id: (b * 16 + j) as u32,
                });
            }
        }
    }
}

/// The index in `xs` where the running sum of e^{(x - max)·scale} first exceeds `target` (the
/// draw of a token over a whole vocabulary without materialising its probabilities).
pub fn draw_dense(xs: &[f32], max: f32, scale: f32, target: f64) -> usize {
    let mut acc = 0f64;
    for (b, block) in xs.chunks(1024).enumerate() {
        let (s, _) = exp_sums(block, max, scale);
        if acc + s > target {
            for (j, &x) in block.iter().enumerate() {
                acc += f64::from(exp_approx((x - max) * scale));
                if acc > target {
                    return b * 1024 + j;
                }
            }
            // Rounding between the two sums: the last token of this block.
            return b * 1024 + block.len() - 1;
        }
        acc += s;
    }
    xs.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_approx_is_accurate_over_the_range_used() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x <= 0.0 {
            let exact = f64::from(x).exp();
            let rel = ((f64::from(exp_approx(x)) - exact) / exact).abs();
            worst = worst.max(rel);
            x += 0.001_3;
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert_eq!(exp_approx(0.0), 1.0);
        assert!(exp_approx(-1000.0) < 1e-37);
    }

    #[test]
    fn top_k_dense_matches_a_full_sort() {
        let xs: Vec<f32> = (0..10_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 1000) as f32 / 37.0)
            .collect();
        for k in [1, 3, 40, 100, 700, 9_999, 10_000, 20_000] {
            let mut got = Vec::new();
            top_k_dense(&xs, k, &mut got);
            let mut all: Vec<Cand> = xs
                .iter()
                .enumerate()
                .map(|(i, &l)| Cand {
                    logit: l,
                    id: i as u32,
                })
                .collect();
            all.sort_by(by_logit_desc);
            all.truncate(k);
            assert_eq!(got, all, "k = {k}");
        }
    }

    #[test]
    fn sums_and_draws_agree_with_f64() {
        let xs: Vec<f32> = (0..5000)
            .map(|i| ((i * 7919) % 211) as f32 * 0.05)
            .collect();
        let m = max(&xs);
        let (z, zd) = exp_sums(&xs, m, 0.7);
        let ez: f64 = xs
            .iter()
            .map(|&x| (f64::from(x - m) * 0.7).exp())
            .sum::<f64>();
        assert!((z - ez).abs() / ez < 1e-5);
        let h_exact: f64 = xs
            .iter()
            .map(|&x| {
                let p = (f64::from(x - m) * 0.7).exp() / ez;
                -p * p.ln()
            })
            .sum();
        assert!((entropy_from_sums(z, zd) - h_exact).abs() < 1e-4);
        // The draw lands where the running sum crosses the target.
        let target = z * 0.5;
        let i = draw_dense(&xs, m, 0.7, target);
        let before: f64 = xs[..i]
            .iter()
            .map(|&x| (f64::from(x - m) * 0.7).exp())
            .sum();
        assert!(before <= target * (1.0 + 1e-5));
        assert!(before + (f64::from(xs[i] - m) * 0.7).exp() >= target * (1.0 - 1e-5));
        assert_eq!(first_non_finite(&xs), None);
        let mut bad = xs.clone();
        bad[4321] = f32::INFINITY;
        assert_eq!(first_non_finite(&bad), Some(4321));
    }
}
