//! Causal grouped-query attention over the KV cache.
//!
//! On x86-64 with AVX2 it runs in tiles with a running softmax (`attention_tiled`): the query
//! heads that share a KV head are processed together, every key and value row is loaded once for
//! four query heads in register tiles (`attention_simd`), and a block of keys serves eight query
//! rows while it is in cache. The cache is f16 (converted with F16C as it is loaded) and may be a
//! ring (see `kv_cache`): the keys of positions `start..=pos` are then two runs of slots, before
//! and after the wrap. Elsewhere, `attention_scalar`, which is also what the tiles are tested
//! against.
use half::f16;
use rayon::prelude::*;

/// One layer's cached keys and values (f16 bits, `[slot][kv_head][hd or vd]`); position `p` is in
/// slot `p % slots`.
#[derive(Clone, Copy)]
pub struct KvView<'a> {
    pub k: &'a [u16],
    pub v: &'a [u16],
    pub slots: usize,
}

/// Attention of the query `rows` (indices into this step's tokens, at positions `p0 + row`) over
/// the cached keys and values; `window` limits how far back a sliding layer looks. `q` is
/// `[row][head][hd]` (already scaled), `out` `[rows index][head][vd]`. Every position a row
/// reaches must be in `kv`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    kv: KvView<'_>,
    rows: &[usize],
    p0: usize,
    (nh, nkv, hd, vd): (usize, usize, usize, usize),
    window: usize,
    out: &mut [f32],
) {
    let group = nh / nkv;
    #[cfg(target_arch = "x86_64")]
    if super::attention_simd::usable() && group.is_multiple_of(4) && hd % 8 == 0 && vd % 16 == 0 {
        let layout = super::attention_tiled::Layout {
            k: kv.k,
            v: kv.v,
            slots: kv.slots,
            p0,
            window,
            dims: (nh, nkv, hd, vd),
        };
        super::attention_tiled::attention(q, layout, rows, out);
        return;
    }
    attention_scalar(q, kv, rows, p0, (nh, nkv, hd, vd), window, out);
}

/// In place: exp(s - max) / sum.
fn softmax(s: &mut [f32]) {
    let max = s.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0f32;
    for v in s.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    s.iter_mut().for_each(|v| *v *= inv);
}

/// One query head at a time, without SIMD: the reference the tiled path is tested against.
pub fn attention_scalar(
    q: &[f32],
    kv: KvView<'_>,
    rows: &[usize],
    p0: usize,
    (nh, nkv, hd, vd): (usize, usize, usize, usize),
    window: usize,
    out: &mut [f32],
) {
    let group = nh / nkv;
    out.par_chunks_mut(vd)
        .enumerate()
        .for_each_init(Vec::new, |scores, (idx, dst)| {
            let (ri, head) = (idx / nh, idx % nh);
            let row = rows[ri];
            let pos = p0 + row;
            let kvh = head / group;
            let qv = &q[(row * nh + head) * hd..(row * nh + head + 1) * hd];
            let start = (pos + 1).saturating_sub(window);
            let at = |j: usize, dim: usize| ((j % kv.slots) * nkv + kvh) * dim;
            let mut row_f32 = Vec::with_capacity(hd.max(vd));
            let load = |bits: &[u16], out: &mut Vec<f32>| {
                out.clear();
                out.extend(bits.iter().map(|&b| f16::from_bits(b).to_f32()));
            };
            scores.clear();
            for j in start..=pos {
                load(&kv.k[at(j, hd)..at(j, hd) + hd], &mut row_f32);
                scores.push(dot(qv, &row_f32));
            }
            softmax(scores);
            dst.fill(0.0);
            for (j, w) in (start..=pos).zip(scores.iter()) {
                load(&kv.v[at(j, vd)..at(j, vd) + vd], &mut row_f32);
                dst.iter_mut().zip(&row_f32).for_each(|(o, v)| *o += w * v);
            }
        });
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // 32 independent sums: the compiler keeps them in four vector registers, so consecutive
    // multiply-adds do not wait on each other's latency.
    const LANES: usize = 32;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIMS: (usize, usize, usize, usize) = (8, 2, 32, 48);

    fn val(i: usize, s: u32) -> f32 {
        (((i as u32).wrapping_mul(2654435761) ^ s) % 1000) as f32 / 500.0 - 1.0
    }

    /// Keys (or values) of `dim` per KV head for positions `0..len`, as f16 bits, each position
    /// in slot `p % slots` (a plain cache when `slots >= len`).
    fn cache(len: usize, slots: usize, dim: usize, seed: u32) -> Vec<u16> {
        let w = DIMS.1 * dim;
        let mut out = vec![0u16; slots * w];
        for p in 0..len {
            for e in 0..w {
                out[(p % slots) * w + e] = f16::from_f32(val(p * w + e, seed)).to_bits();
            }
        }
        out
    }

    #[test]
    fn tiled_attention_matches_one_head_at_a_time() {
        let (nh, _, hd, vd) = DIMS;
        let (p0, m) = (5, 6);
        let len = p0 + m;
        let q: Vec<f32> = (0..m * nh * hd).map(|i| val(i, 1)).collect();
        let (k, v) = (cache(len, len, hd, 2), cache(len, len, vd, 3));
        let kv = KvView {
            k: &k,
            v: &v,
            slots: len,
        };
        for (rows, window) in [((0..m).collect::<Vec<_>>(), usize::MAX), (vec![m - 1], 4)] {
            let mut fast = vec![0f32; rows.len() * nh * vd];
            let mut slow = fast.clone();
            attention(&q, kv, &rows, p0, DIMS, window, &mut fast);
            attention_scalar(&q, kv, &rows, p0, DIMS, window, &mut slow);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() <= 1e-5, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn a_ring_that_wrapped_gives_the_plain_cache_result() {
        let (nh, _, hd, vd) = DIMS;
        // 30 positions; the last step's 3 rows look back 5 positions each; the ring holds 8
        // slots, so rows' keys run across the wrap (positions 24..=29 are slots 0..=5 and 6, 7).
        let (p0, m, window, slots) = (27, 3, 5, 8);
        let len = p0 + m;
        let q: Vec<f32> = (0..m * nh * hd).map(|i| val(i, 7)).collect();
        let (k, v) = (cache(len, len, hd, 2), cache(len, len, vd, 3));
        let (rk, rv) = (cache(len, slots, hd, 2), cache(len, slots, vd, 3));
        let plain = KvView {
            k: &k,
            v: &v,
            slots: len,
        };
        let ring = KvView {
            k: &rk,
            v: &rv,
            slots,
        };
        let rows: Vec<usize> = (0..m).collect();
        let run = |kv, simd: bool| {
            let mut out = vec![0f32; m * nh * vd];
            if simd {
                attention(&q, kv, &rows, p0, DIMS, window, &mut out);
            } else {
                attention_scalar(&q, kv, &rows, p0, DIMS, window, &mut out);
            }
            out
        };
        let want = run(plain, false);
        for got in [run(ring, true), run(ring, false), run(plain, true)] {
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-5, "{a} vs {b}");
            }
        }
    }

    /// A long step: many tiles of rows, keys across several 1024-position spans and 64-key
    /// blocks, with and without a window, and on one thread and two.
    #[test]
    fn long_steps_across_spans_match_the_reference() {
        let (nh, _, hd, vd) = DIMS;
        let (p0, m) = (1900, 40);
        let len = p0 + m;
        let q: Vec<f32> = (0..m * nh * hd).map(|i| val(i, 11) * 0.3).collect();
        let (k, v) = (cache(len, len, hd, 12), cache(len, len, vd, 13));
        let kv = KvView {
            k: &k,
            v: &v,
            slots: len,
        };
        let rows: Vec<usize> = (0..m).collect();
        for window in [usize::MAX, 300] {
            let mut slow = vec![0f32; m * nh * vd];
            attention_scalar(&q, kv, &rows, p0, DIMS, window, &mut slow);
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut fast = vec![0f32; m * nh * vd];
                pool.install(|| attention(&q, kv, &rows, p0, DIMS, window, &mut fast));
                for (a, b) in fast.iter().zip(&slow) {
                    assert!((a - b).abs() <= 1e-5, "window {window}: {a} vs {b}");
                }
            }
        }
    }

    /// A row gives the same bits alone (a decode step, its spans spread over threads) as inside
    /// a many-row step (a prefill, one thread per tile): drafting's verify and a cache continued
    /// token by token rely on it.
    #[test]
    fn a_row_alone_gives_the_bits_it_gives_in_a_prefill() {
        let (nh, _, hd, vd) = DIMS;
        let (p0, m) = (2500, 24);
        let len = p0 + m;
        let q: Vec<f32> = (0..m * nh * hd).map(|i| val(i, 21) * 0.3).collect();
        let (k, v) = (cache(len, len, hd, 22), cache(len, len, vd, 23));
        let kv = KvView {
            k: &k,
            v: &v,
            slots: len,
        };
        let rows: Vec<usize> = (0..m).collect();
        let mut all = vec![0f32; m * nh * vd];
        attention(&q, kv, &rows, p0, DIMS, usize::MAX, &mut all);
        for row in [0, 7, 8, m - 1] {
            let mut one = vec![0f32; nh * vd];
            attention(&q, kv, &[row], p0, DIMS, usize::MAX, &mut one);
            let want = &all[row * nh * vd..(row + 1) * nh * vd];
            assert!(
                one.iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "row {row}"
            );
        }
    }
}
