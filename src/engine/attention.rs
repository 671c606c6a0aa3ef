//! Causal grouped-query attention over the KV cache.
//!
//! The query heads that share a KV head are processed together: every key and value row is loaded
//! once for four query heads, in register tiles (four queries by two keys for the scores, four
//! queries by sixteen value dimensions for the weighted sum), instead of once per head.
use rayon::prelude::*;

/// Attention of the query `rows` (indices into this step's tokens, at positions `p0 + row`) over
/// the cached keys and values; `window` limits how far back a sliding layer looks. `q` is
/// `[row][head][hd]` (already scaled), the caches `[position][kv_head][hd or vd]`, `out`
/// `[rows index][head][vd]`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k_cache: &[f32],
    v_cache: &[f32],
    rows: &[usize],
    p0: usize,
    (nh, nkv, hd, vd): (usize, usize, usize, usize),
    window: usize,
    out: &mut [f32],
) {
    let group = nh / nkv;
    #[cfg(target_arch = "x86_64")]
    if super::kernels::has_avx2() && group.is_multiple_of(4) && hd % 8 == 0 && vd % 16 == 0 {
        out.par_chunks_mut(nh * vd)
            .zip(rows.par_iter())
            .for_each_init(Vec::new, |scores, (dst, &row)| {
                let pos = p0 + row;
                let start = (pos + 1).saturating_sub(window);
                let nk = pos + 1 - start;
                scores.resize(4 * nk, 0f32);
                for h0 in (0..nh).step_by(4) {
                    let kvh = h0 / group;
                    let qs = |i: usize| q[(row * nh + h0 + i) * hd..].as_ptr();
                    let (k, v) = (
                        k_cache[(start * nkv + kvh) * hd..].as_ptr(),
                        v_cache[(start * nkv + kvh) * vd..].as_ptr(),
                    );
                    debug_assert!(k_cache.len() >= ((pos * nkv + kvh) + 1) * hd);
                    debug_assert!(v_cache.len() >= ((pos * nkv + kvh) + 1) * vd);
                    let (s, d) = (scores.as_mut_ptr(), dst[h0 * vd..].as_mut_ptr());
                    // SAFETY: AVX2 and FMA were detected; every pointer covers the lengths used
                    // (the keys start..=pos of this KV head, four score rows of nk, four heads of
                    // vd outputs), as the debug assertions restate.
                    unsafe {
                        simd::scores4([qs(0), qs(1), qs(2), qs(3)], k, nkv * hd, nk, hd, s);
                        for i in 0..4 {
                            softmax(&mut scores[i * nk..(i + 1) * nk]);
                        }
                        simd::weighted_values4(scores.as_ptr(), nk, v, nkv * vd, vd, d);
                    }
                }
            });
        return;
    }
    attention_scalar(
        q,
        k_cache,
        v_cache,
        rows,
        p0,
        (nh, nkv, hd, vd),
        window,
        out,
    );
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
#[allow(clippy::too_many_arguments)]
pub fn attention_scalar(
    q: &[f32],
    k_cache: &[f32],
    v_cache: &[f32],
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
            scores.clear();
            for j in start..=pos {
                let kv = &k_cache[(j * nkv + kvh) * hd..(j * nkv + kvh + 1) * hd];
                scores.push(dot(qv, kv));
            }
            softmax(scores);
            dst.fill(0.0);
            for (j, w) in (start..=pos).zip(scores.iter()) {
                let vv = &v_cache[(j * nkv + kvh) * vd..(j * nkv + kvh + 1) * vd];
                dst.iter_mut().zip(vv).for_each(|(o, v)| *o += w * v);
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

    /// `s[i * nk + j] = q[i] . k[j]` for four queries and `nk` keys `kstride` floats apart.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn scores4(
        q: [*const f32; 4],
        k: *const f32,
        kstride: usize,
        nk: usize,
        hd: usize,
        s: *mut f32,
    ) {
        let mut j = 0;
        while j + 2 <= nk {
            let (k0, k1) = (k.add(j * kstride), k.add((j + 1) * kstride));
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for c in (0..hd).step_by(8) {
                let (a, b) = (_mm256_loadu_ps(k0.add(c)), _mm256_loadu_ps(k1.add(c)));
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
            let k0 = k.add(j * kstride);
            let mut acc = [_mm256_setzero_ps(); 4];
            for c in (0..hd).step_by(8) {
                let a = _mm256_loadu_ps(k0.add(c));
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
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn weighted_values4(
        p: *const f32,
        nk: usize,
        v: *const f32,
        vstride: usize,
        vd: usize,
        out: *mut f32,
    ) {
        for c in (0..vd).step_by(16) {
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for j in 0..nk {
                let row = v.add(j * vstride + c);
                let (a, b) = (_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8)));
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

    #[test]
    fn tiled_attention_matches_one_head_at_a_time() {
        let (nh, nkv, hd, vd) = (8, 2, 32, 48);
        let (p0, m) = (5, 6);
        let len = p0 + m;
        let val = |i: usize, s: u32| ((i as u32).wrapping_mul(2654435761) ^ s) % 1000;
        let f = |i: usize, s: u32| val(i, s) as f32 / 500.0 - 1.0;
        let q: Vec<f32> = (0..m * nh * hd).map(|i| f(i, 1)).collect();
        let k: Vec<f32> = (0..len * nkv * hd).map(|i| f(i, 2)).collect();
        let v: Vec<f32> = (0..len * nkv * vd).map(|i| f(i, 3)).collect();
        for (rows, window) in [((0..m).collect::<Vec<_>>(), usize::MAX), (vec![m - 1], 4)] {
            let mut fast = vec![0f32; rows.len() * nh * vd];
            let mut slow = fast.clone();
            let dims = (nh, nkv, hd, vd);
            attention(&q, &k, &v, &rows, p0, dims, window, &mut fast);
            attention_scalar(&q, &k, &v, &rows, p0, dims, window, &mut slow);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() <= 1e-5, "{a} vs {b}");
            }
        }
    }
}
