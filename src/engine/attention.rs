//! Causal grouped-query attention over the KV cache.
//!
//! The query heads that share a KV head are processed together: every key and value row is loaded
//! once for four query heads, in register tiles (four queries by two keys for the scores, four
//! queries by sixteen value dimensions for the weighted sum), instead of once per head. The cache
//! is f16 (converted with F16C as it is loaded) and may be a ring (see `kv_cache`): the keys of
//! positions `start..=pos` are then two runs of slots, before and after the wrap.
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
    if simd_usable() && group.is_multiple_of(4) && hd % 8 == 0 && vd % 16 == 0 {
        assert!(kv.k.len() >= kv.slots * nkv * hd && kv.v.len() >= kv.slots * nkv * vd);
        out.par_chunks_mut(nh * vd)
            .zip(rows.par_iter())
            .for_each_init(Vec::new, |scores, (dst, &row)| {
                let pos = p0 + row;
                let start = (pos + 1).saturating_sub(window);
                let nk = pos + 1 - start;
                assert!(nk <= kv.slots, "attention reaches past the cache's slots");
                let first = start % kv.slots;
                scores.resize(4 * nk, 0f32);
                for h0 in (0..nh).step_by(4) {
                    let kvh = h0 / group;
                    let qs = |i: usize| q[(row * nh + h0 + i) * hd..].as_ptr();
                    let ring = |cache: &[u16], dim: usize| simd::Ring {
                        base: cache[kvh * dim..].as_ptr(),
                        stride: nkv * dim,
                        first,
                        slots: kv.slots,
                    };
                    let (k, v) = (ring(kv.k, hd), ring(kv.v, vd));
                    let (s, d) = (scores.as_mut_ptr(), dst[h0 * vd..].as_mut_ptr());
                    // SAFETY: AVX2, FMA and F16C were detected; the rings stay inside their
                    // caches (slots x stride values, asserted above, nk <= slots), the four score
                    // rows hold nk each and `dst` four heads of vd outputs.
                    unsafe {
                        simd::scores4([qs(0), qs(1), qs(2), qs(3)], k, nk, hd, s);
                        for i in 0..4 {
                            softmax(&mut scores[i * nk..(i + 1) * nk]);
                        }
                        simd::weighted_values4(scores.as_ptr(), nk, v, vd, d);
                    }
                }
            });
        return;
    }
    attention_scalar(q, kv, rows, p0, (nh, nkv, hd, vd), window, out);
}

#[cfg(target_arch = "x86_64")]
fn simd_usable() -> bool {
    use std::sync::OnceLock;
    static F16C: OnceLock<bool> = OnceLock::new();
    super::kernels::has_avx2() && *F16C.get_or_init(|| is_x86_feature_detected!("f16c"))
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

#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // register tiles read best by their indices
mod simd {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// Rows of f16 values in a ring of `slots` rows `stride` values apart; row `j` of a run is
    /// in slot `first + j`, wrapping to slot 0.
    pub struct Ring {
        pub base: *const u16,
        pub stride: usize,
        pub first: usize,
        pub slots: usize,
    }

    impl Ring {
        #[inline(always)]
        fn row(&self, j: usize) -> *const u16 {
            let mut slot = self.first + j;
            if slot >= self.slots {
                slot -= self.slots;
            }
            self.base.wrapping_add(slot * self.stride)
        }
    }

    /// Eight f16 values at `p` as f32.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn load8(p: *const u16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    /// `s[i * nk + j] = q[i] . k[j]` for four queries and the `nk` keys of the ring.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn scores4(q: [*const f32; 4], k: Ring, nk: usize, hd: usize, s: *mut f32) {
        let mut j = 0;
        while j + 2 <= nk {
            let (k0, k1) = (k.row(j), k.row(j + 1));
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for c in (0..hd).step_by(8) {
                let (a, b) = (load8(k0.add(c)), load8(k1.add(c)));
                for i in 0..4 {
                    let qv = _mm256_loadu_ps(q[i].add(c));
                    acc[i][0] = _mm256_fmadd_ps(qv, a, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(qv, b, acc[i][1]);
                }
            }
            for i in 0..4 {
                *s.add(i * nk + j) = hsum(acc[i][0]);
                *s.add(i * nk + j + 1) = hsum(acc[i][1]);
            }
            j += 2;
        }
        if j < nk {
            let k0 = k.row(j);
            let mut acc = [_mm256_setzero_ps(); 4];
            for c in (0..hd).step_by(8) {
                let a = load8(k0.add(c));
                for i in 0..4 {
                    acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q[i].add(c)), a, acc[i]);
                }
            }
            for i in 0..4 {
                *s.add(i * nk + j) = hsum(acc[i]);
            }
        }
    }

    /// `out[i * vd + d] = sum_j p[i * nk + j] * v[j][d]` for four weight rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn weighted_values4(p: *const f32, nk: usize, v: Ring, vd: usize, out: *mut f32) {
        for c in (0..vd).step_by(16) {
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for j in 0..nk {
                let row = v.row(j).add(c);
                let (a, b) = (load8(row), load8(row.add(8)));
                for i in 0..4 {
                    let w = _mm256_set1_ps(*p.add(i * nk + j));
                    acc[i][0] = _mm256_fmadd_ps(w, a, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(w, b, acc[i][1]);
                }
            }
            for i in 0..4 {
                _mm256_storeu_ps(out.add(i * vd + c), acc[i][0]);
                _mm256_storeu_ps(out.add(i * vd + c + 8), acc[i][1]);
            }
        }
    }
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
}
