//! The AVX2/F16C register tiles of attention (`attention_tiled` drives them): four query heads
//! against a run of f16 keys, the running softmax over one block of scores with a vectorised
//! `exp`, and the weighted sum of the block's f16 values into the running output.
#![cfg(target_arch = "x86_64")]
#![allow(clippy::needless_range_loop)] // register tiles read best by their indices

use std::arch::x86_64::*;

/// Whether these kernels can run here (AVX2, FMA and F16C).
pub fn usable() -> bool {
    super::kernels::has_avx2_f16c()
}

/// Rows of f16 values in a ring of `slots` rows `stride` values apart; row `j` of a run is in slot
/// `first + j`, wrapping to slot 0.
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

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hmax(v: __m256) -> f32 {
    let s = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)))
}

/// Eight f16 values at `p` as f32.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn load8(p: *const u16) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
}

/// `exp(x)` for eight lanes, ggml's `ggml_v_expf` (from ARM's optimized-routines): within 1 ULP
/// of libm's and about ten times faster than eight calls to it, which made softmax a third of a
/// long prompt's attention.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub unsafe fn exp8(x: __m256) -> __m256 {
    let c = |bits: u32| _mm256_set1_ps(f32::from_bits(bits));
    let r = c(0x4b40_0000); // 0x1.8p23: rounds n to an integer in the low mantissa bits
    let z = _mm256_fmadd_ps(x, c(0x3fb8_aa3b), r); // x * log2(e) + r
    let n = _mm256_sub_ps(z, r);
    // b = x - n ln 2, with ln 2 in two parts for precision.
    let b = _mm256_fnmadd_ps(n, c(0x35bf_be8e), _mm256_fnmadd_ps(n, c(0x3f31_7200), x));
    let e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    let k = _mm256_castsi256_ps(_mm256_add_epi32(
        e,
        _mm256_castps_si256(_mm256_set1_ps(1.0)),
    ));
    let abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0), n);
    let big = _mm256_castps_si256(_mm256_cmp_ps(abs_n, _mm256_set1_ps(126.0), _CMP_GT_OQ));
    let u = _mm256_mul_ps(b, b);
    let j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(
            _mm256_fmadd_ps(c(0x3c07_2010), b, c(0x3d2b_9f17)),
            u,
            _mm256_fmadd_ps(c(0x3e2a_af33), b, c(0x3eff_fedb)),
        ),
        u,
        _mm256_mul_ps(c(0x3f7f_fff6), b),
    );
    if _mm256_movemask_ps(_mm256_castsi256_ps(big)) == 0 {
        return _mm256_fmadd_ps(j, k, k);
    }
    // |n| > 126: scale in two steps so 2^n neither overflows nor flushes early (and -inf gives 0).
    let g = _mm256_and_si256(
        _mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
        _mm256_set1_epi32(0x8200_0000u32 as i32),
    );
    let s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f00_0000)));
    let s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    let huge = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0), _CMP_GT_OQ);
    let big = _mm256_castsi256_ps(big);
    _mm256_or_ps(
        _mm256_and_ps(huge, _mm256_mul_ps(s1, s1)),
        _mm256_andnot_ps(
            huge,
            _mm256_or_ps(
                _mm256_and_ps(big, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                _mm256_andnot_ps(big, _mm256_fmadd_ps(k, j, k)),
            ),
        ),
    )
}

/// `s[i * nk + j] = q[i] . k[j]` for four queries and the `nk` keys of the ring.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn scores4(q: [*const f32; 4], k: &Ring, nk: usize, hd: usize, s: *mut f32) {
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

/// One block of the running softmax for four queries: with `s` their `nk` scores each and
/// `m`, `l` their running maxima and sums, turns `s` into `exp(s - m')` (m' the new maximum),
/// updates `m` and `l`, and returns what the running outputs must be scaled by (`exp(m - m')`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn softmax_block4(s: &mut [f32], nk: usize, m: &mut [f32], l: &mut [f32]) -> [f32; 4] {
    let mut scale = [0f32; 4];
    for i in 0..4 {
        let row = &mut s[i * nk..(i + 1) * nk];
        let whole = nk / 8 * 8;
        let mut tail = [f32::NEG_INFINITY; 8];
        tail[..nk - whole].copy_from_slice(&row[whole..]);
        let mut vmax = _mm256_loadu_ps(tail.as_ptr());
        for c in (0..whole).step_by(8) {
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row.as_ptr().add(c)));
        }
        let new_max = m[i].max(hmax(vmax));
        scale[i] = (m[i] - new_max).exp();
        let sub = _mm256_set1_ps(new_max);
        let mut sum = _mm256_setzero_ps();
        for c in (0..whole).step_by(8) {
            let p = exp8(_mm256_sub_ps(_mm256_loadu_ps(row.as_ptr().add(c)), sub));
            _mm256_storeu_ps(row.as_mut_ptr().add(c), p);
            sum = _mm256_add_ps(sum, p);
        }
        // The tail's padding is -inf: exp gives 0 there, so it adds nothing to the sum.
        let p = exp8(_mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), sub));
        _mm256_storeu_ps(tail.as_mut_ptr(), p);
        row[whole..].copy_from_slice(&tail[..nk - whole]);
        sum = _mm256_add_ps(sum, p);
        l[i] = l[i] * scale[i] + hsum(sum);
        m[i] = new_max;
    }
    scale
}

/// `out[i * vd + d] = out[i * vd + d] * scale[i] + sum_j p[i * nk + j] * v[j][d]` for four rows
/// of weights: the running output carried across blocks.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn weighted_values4(
    p: *const f32,
    nk: usize,
    v: &Ring,
    vd: usize,
    out: *mut f32,
    scale: [f32; 4],
) {
    for c in (0..vd).step_by(16) {
        let mut acc = [[_mm256_setzero_ps(); 2]; 4];
        for i in 0..4 {
            let s = _mm256_set1_ps(scale[i]);
            acc[i][0] = _mm256_mul_ps(_mm256_loadu_ps(out.add(i * vd + c)), s);
            acc[i][1] = _mm256_mul_ps(_mm256_loadu_ps(out.add(i * vd + c + 8)), s);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_exp_is_within_two_ulps_of_libm_and_handles_the_extremes() {
        if !usable() {
            return;
        }
        let mut xs: Vec<f32> = (-2000..=1000).map(|i| i as f32 * 0.0917).collect();
        xs.extend([
            0.0,
            -0.0,
            -87.0,
            -103.0,
            -150.0,
            88.0,
            89.0,
            f32::NEG_INFINITY,
        ]);
        while !xs.len().is_multiple_of(8) {
            xs.push(1.0);
        }
        for chunk in xs.chunks(8) {
            let mut got = [0f32; 8];
            // SAFETY: usable() checked AVX2 and FMA.
            unsafe { _mm256_storeu_ps(got.as_mut_ptr(), exp8(_mm256_loadu_ps(chunk.as_ptr()))) };
            for (&x, &g) in chunk.iter().zip(&got) {
                let want = x.exp();
                if want.is_infinite() {
                    assert_eq!(g, want, "exp({x})");
                    continue;
                }
                if want < f32::MIN_POSITIVE {
                    assert!(
                        (g - want).abs() <= f32::MIN_POSITIVE,
                        "exp({x}) = {g}, want {want}"
                    );
                    continue;
                }
                let ulps = (g.to_bits() as i64 - want.to_bits() as i64).abs();
                assert!(ulps <= 2, "exp({x}) = {g}, want {want} ({ulps} ulps)");
            }
        }
    }
}
