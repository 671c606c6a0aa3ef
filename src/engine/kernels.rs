//! Dot-product kernels candle 0.8 lacks a SIMD version of. Q5_0 carries the Q/K and FFN gate/up
//! projections of Gemma 3 270M Q4_K_M (81 of its tensors); candle's scalar loop made it 30% of a
//! decode step. This is ggml's AVX2 kernel, chosen at run time with a scalar fallback.
use candle_core::quantized::k_quants::{BlockQ5_0, BlockQ8_0};

const QK: usize = 32;
const _: () = assert!(std::mem::size_of::<BlockQ5_0>() == 2 + 4 + QK / 2);
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 2 + QK);

/// Whether this CPU runs the AVX2 kernels (checked once).
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static AVX2: OnceLock<bool> = OnceLock::new();
        *AVX2.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether this CPU also converts f16 in hardware (F16C), as the attention and Q5_0 row kernels
/// need.
pub fn has_avx2_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static F16C: OnceLock<bool> = OnceLock::new();
        has_avx2() && *F16C.get_or_init(|| is_x86_feature_detected!("f16c"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The raw fields of a Q5_0 block: scale, the 32 fifth bits, the 32 low nibbles.
#[inline(always)]
fn q5_0_parts(b: &BlockQ5_0) -> (f32, u32, &[u8; 16]) {
    let p = b as *const BlockQ5_0 as *const u8;
    // SAFETY: repr(C) { d: f16, qh: [u8; 4], qs: [u8; 16] }, size asserted above; the fields are
    // private to candle, so they are read through their offsets.
    unsafe {
        let d = half::f16::from_bits(u16::from_le_bytes([*p, *p.add(1)])).to_f32();
        let qh = u32::from_le_bytes([*p.add(2), *p.add(3), *p.add(4), *p.add(5)]);
        (d, qh, &*(p.add(6) as *const [u8; 16]))
    }
}

#[inline(always)]
fn q8_0_parts(b: &BlockQ8_0) -> (f32, &[i8; 32]) {
    let p = b as *const BlockQ8_0 as *const u8;
    // SAFETY: repr(C) { d: f16, qs: [i8; 32] }, size asserted above.
    unsafe {
        let d = half::f16::from_bits(u16::from_le_bytes([*p, *p.add(1)])).to_f32();
        (d, &*(p.add(2) as *const [i8; 32]))
    }
}

/// Scalar reference: element j is (nibble_j | bit_j << 4) - 16.
pub fn dot_q5_0_q8_0_scalar(xs: &[BlockQ5_0], ys: &[BlockQ8_0]) -> f32 {
    let mut sum = 0f32;
    for (x, y) in xs.iter().zip(ys) {
        let (dx, qh, qs) = q5_0_parts(x);
        let (dy, yq) = q8_0_parts(y);
        let mut acc = 0i32;
        for j in 0..QK / 2 {
            let lo = ((qs[j] & 0x0f) | (((qh >> j) & 1) << 4) as u8) as i32 - 16;
            let hi = ((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4) as u8) as i32 - 16;
            acc += lo * yq[j] as i32 + hi * yq[j + 16] as i32;
        }
        sum += dx * dy * acc as f32;
    }
    sum
}

/// ggml's `ggml_vec_dot_q5_0_q8_0` for AVX2.
pub fn dot_q5_0_q8_0(xs: &[BlockQ5_0], ys: &[BlockQ8_0]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return unsafe { avx2::dot_q5_0_q8_0(xs, ys) };
    }
    dot_q5_0_q8_0_scalar(xs, ys)
}

/// `dot_q5_0_q8_0` summed as the batched prompt kernels sum (exact integers per block, then one
/// f32 multiply-add per block, in order), so a decode step's keys and values are bit for bit a
/// prompt's.
pub fn dot_q5_0_q8_0_blockwise(xs: &[BlockQ5_0], ys: &[BlockQ8_0]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return unsafe { avx2::dot_q5_0_q8_0_blockwise(xs, ys) };
    }
    let mut acc = 0f32;
    for (x, y) in xs.iter().zip(ys) {
        let (dx, qh, qs) = q5_0_parts(x);
        let (dy, yq) = q8_0_parts(y);
        let mut isum = 0i32;
        for j in 0..QK / 2 {
            let lo = ((qs[j] & 0x0f) | (((qh >> j) & 1) << 4) as u8) as i32 - 16;
            let hi = ((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4) as u8) as i32 - 16;
            isum += lo * yq[j] as i32 + hi * yq[j + 16] as i32;
        }
        acc = (dx * dy).mul_add(isum as f32, acc);
    }
    acc
}

/// The same dot product against four activation rows at once: each weight block is unpacked once
/// and used four times (prompts take `gemm`; this serves matrices whose row count is not a
/// multiple of its eight-row tile).
pub fn dot4_q5_0_q8_0(xs: &[BlockQ5_0], ys: [&[BlockQ8_0]; 4]) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return unsafe { avx2::dot4_q5_0_q8_0(xs, ys) };
    }
    ys.map(|y| dot_q5_0_q8_0_scalar(xs, y))
}

/// Q8_0 x Q8_0: the tied output head (178 MB of Q8_0 read every decode step) is bound by memory
/// bandwidth; this kernel prefetches the weight stream ahead of the loads.
pub fn dot_q8_0_q8_0(xs: &[BlockQ8_0], ys: &[BlockQ8_0]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return unsafe { avx2::dot_q8_0_q8_0(xs, ys) };
    }
    xs.iter()
        .zip(ys)
        .map(|(x, y)| {
            let ((dx, qx), (dy, qy)) = (q8_0_parts(x), q8_0_parts(y));
            let s: i32 = qx.iter().zip(qy).map(|(&a, &b)| a as i32 * b as i32).sum();
            dx * dy * s as f32
        })
        .sum()
}

/// `dot_q8_0_q8_0` against four activation rows (the output head of a batched decode step): each
/// weight block is loaded and made unsigned once for the four. Every row's arithmetic is the
/// one-row kernel's, in the same order, so each result is bit for bit that kernel's.
pub fn dot4_q8_0_q8_0(xs: &[BlockQ8_0], ys: [&[BlockQ8_0]; 4]) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected on this CPU.
        return unsafe { avx2::dot4_q8_0_q8_0(xs, ys) };
    }
    ys.map(|y| dot_q8_0_q8_0(xs, y))
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    use std::arch::x86_64::*;

    use super::{q5_0_parts, q8_0_parts, BlockQ5_0, BlockQ8_0};

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q8_0_q8_0(xs: &[BlockQ8_0], ys: &[BlockQ8_0]) -> f32 {
        let mut acc = _mm256_setzero_ps();
        let base = xs.as_ptr() as *const i8;
        let bytes = std::mem::size_of_val(xs);
        for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
            let ahead = i * 34 + 512;
            if ahead < bytes {
                _mm_prefetch::<_MM_HINT_T0>(base.add(ahead));
            }
            let (dx, qx) = q8_0_parts(x);
            let (dy, qy) = q8_0_parts(y);
            let d = _mm256_set1_ps(dx * dy);
            let bx = _mm256_loadu_si256(qx.as_ptr() as *const __m256i);
            let by = _mm256_loadu_si256(qy.as_ptr() as *const __m256i);
            acc = _mm256_fmadd_ps(d, mul_sum_i8(bx, by), acc);
        }
        hsum(acc)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot4_q8_0_q8_0(xs: &[BlockQ8_0], ys: [&[BlockQ8_0]; 4]) -> [f32; 4] {
        let mut acc = [_mm256_setzero_ps(); 4];
        let ones16 = _mm256_set1_epi16(1);
        let base = xs.as_ptr() as *const i8;
        let bytes = std::mem::size_of_val(xs);
        for (b, x) in xs.iter().enumerate() {
            let ahead = b * 34 + 512;
            if ahead < bytes {
                _mm_prefetch::<_MM_HINT_T0>(base.add(ahead));
            }
            let (dx, qx) = q8_0_parts(x);
            let bx = _mm256_loadu_si256(qx.as_ptr() as *const __m256i);
            let ax = _mm256_sign_epi8(bx, bx);
            for r in 0..4 {
                let (dy, qy) = q8_0_parts(&ys[r][b]);
                let by = _mm256_loadu_si256(qy.as_ptr() as *const __m256i);
                let dot =
                    _mm256_madd_epi16(ones16, _mm256_maddubs_epi16(ax, _mm256_sign_epi8(by, bx)));
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dy), _mm256_cvtepi32_ps(dot), acc[r]);
            }
        }
        [hsum(acc[0]), hsum(acc[1]), hsum(acc[2]), hsum(acc[3])]
    }

    /// Signed i8 x i8 products of two 32-byte vectors, summed in groups of four as eight f32
    /// (ggml's mul_sum_i8_pairs_float: maddubs wants its first operand unsigned, so the signs are
    /// moved onto the second).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn mul_sum_i8(x: __m256i, y: __m256i) -> __m256 {
        let ax = _mm256_sign_epi8(x, x);
        let sy = _mm256_sign_epi8(y, x);
        let dot = _mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(ax, sy));
        _mm256_cvtepi32_ps(dot)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(in crate::engine) unsafe fn hsum(acc: __m256) -> f32 {
        let hi = _mm256_extractf128_ps(acc, 1);
        let s = _mm_add_ps(hi, _mm256_castps256_ps128(acc));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Unpacks a Q5_0 block into signed bytes (ggml's bytes_from_nibbles_32 / bytes_from_bits_32):
    /// low nibbles are elements 0..16, high nibbles 16..32; where the fifth bit is clear, 0xF0 is
    /// ORed in, which subtracts 16.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn unpack_q5_0(qh: u32, qs: &[u8; 16]) -> __m256i {
        let low_mask = _mm256_set1_epi8(0x0f);
        let shuf = _mm256_set_epi64x(
            0x0303030303030303,
            0x0202020202020202,
            0x0101010101010101,
            0,
        );
        let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
        let all_ones = _mm256_set1_epi64x(-1);
        let high_fill = _mm256_set1_epi8(0xf0u8 as i8);
        let tmp = _mm_loadu_si128(qs.as_ptr() as *const __m128i);
        let nibbles = _mm256_and_si256(low_mask, _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp));
        let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), shuf);
        let bits = _mm256_cmpeq_epi8(_mm256_or_si256(bits, bit_mask), all_ones);
        _mm256_or_si256(nibbles, _mm256_andnot_si256(bits, high_fill))
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot4_q5_0_q8_0(xs: &[BlockQ5_0], ys: [&[BlockQ8_0]; 4]) -> [f32; 4] {
        let mut acc = [_mm256_setzero_ps(); 4];
        let ones16 = _mm256_set1_epi16(1);
        for (b, x) in xs.iter().enumerate() {
            let (dx, qh, qs) = q5_0_parts(x);
            let qx = unpack_q5_0(qh, qs);
            let ax = _mm256_sign_epi8(qx, qx);
            for r in 0..4 {
                let (dy, yq) = q8_0_parts(&ys[r][b]);
                let qy = _mm256_loadu_si256(yq.as_ptr() as *const __m256i);
                let sy = _mm256_sign_epi8(qy, qx);
                let dot = _mm256_madd_epi16(ones16, _mm256_maddubs_epi16(ax, sy));
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dy), _mm256_cvtepi32_ps(dot), acc[r]);
            }
        }
        [hsum(acc[0]), hsum(acc[1]), hsum(acc[2]), hsum(acc[3])]
    }

    /// Per block the exact integer sum, then one f32 multiply-add: the batched kernels' order.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q5_0_q8_0_blockwise(xs: &[BlockQ5_0], ys: &[BlockQ8_0]) -> f32 {
        let mut acc = 0f32;
        let ones16 = _mm256_set1_epi16(1);
        for (x, y) in xs.iter().zip(ys) {
            let (dx, qh, qs) = q5_0_parts(x);
            let (dy, yq) = q8_0_parts(y);
            let qx = unpack_q5_0(qh, qs);
            let qy = _mm256_loadu_si256(yq.as_ptr() as *const __m256i);
            let prod = _mm256_maddubs_epi16(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx));
            let v = _mm256_madd_epi16(ones16, prod);
            let v = _mm_add_epi32(_mm256_extracti128_si256(v, 1), _mm256_castsi256_si128(v));
            let v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0b01_00_11_10));
            let v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0b10_11_00_01));
            acc = (dx * dy).mul_add(_mm_cvtsi128_si32(v) as f32, acc);
        }
        acc
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_q5_0_q8_0(xs: &[BlockQ5_0], ys: &[BlockQ8_0]) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for (x, y) in xs.iter().zip(ys) {
            let (dx, qh, qs) = q5_0_parts(x);
            let (dy, yq) = q8_0_parts(y);
            let d = _mm256_set1_ps(dx * dy);
            let qx = unpack_q5_0(qh, qs);
            let qy = _mm256_loadu_si256(yq.as_ptr() as *const __m256i);
            acc = _mm256_fmadd_ps(d, mul_sum_i8(qx, qy), acc);
        }
        hsum(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::k_quants::GgmlType;

    #[test]
    fn simd_q5_0_matches_scalar_and_candle() {
        let k = 256;
        let w: Vec<f32> = (0..k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 13.0)
            .collect();
        let x: Vec<f32> = (0..k)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 7.0)
            .collect();
        let mut wq = vec![BlockQ5_0::zeros(); k / QK];
        let mut xq = vec![BlockQ8_0::zeros(); k / QK];
        BlockQ5_0::from_float(&w, &mut wq).unwrap();
        BlockQ8_0::from_float(&x, &mut xq).unwrap();
        let candle = BlockQ5_0::vec_dot(k, &wq, &xq).unwrap();
        let scalar = dot_q5_0_q8_0_scalar(&wq, &xq);
        let fast = dot_q5_0_q8_0(&wq, &xq);
        assert!(
            (candle - scalar).abs() <= 1e-3 * candle.abs().max(1.0),
            "{candle} {scalar}"
        );
        assert!(
            (fast - scalar).abs() <= 1e-3 * scalar.abs().max(1.0),
            "{fast} {scalar}"
        );
        // Four rows at once give each row's own dot product, bit for bit.
        let rows: Vec<Vec<BlockQ8_0>> = (0..4)
            .map(|r| {
                let x: Vec<f32> = x.iter().map(|v| v * (r as f32 + 0.5) - r as f32).collect();
                let mut q = vec![BlockQ8_0::zeros(); k / QK];
                BlockQ8_0::from_float(&x, &mut q).unwrap();
                q
            })
            .collect();
        let four = dot4_q5_0_q8_0(&wq, [&rows[0], &rows[1], &rows[2], &rows[3]]);
        for r in 0..4 {
            assert_eq!(four[r], dot_q5_0_q8_0(&wq, &rows[r]), "row {r}");
        }
    }
}
