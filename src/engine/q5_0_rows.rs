//! Q5_0 weights against one to a few activation rows (a decode step, a drafted verify): eight
//! weight rows at a time.
//!
//! Q5_0 carries Gemma 3 270M's FFN gate/up and Q/K projections (44 MB a step). One row at a time
//! (`kernels::dot_q5_0_q8_0_blockwise`) spends a horizontal sum and a scalar multiply-add per
//! 32-value block, which kept it at about a third of the memory bandwidth. Here eight rows'
//! integer sums are reduced together (six `hadd`s for eight blocks) and their scales applied in
//! one vector multiply-add; with AVX-512 (VNNI, BW) the fifth bits are a byte mask as stored, the
//! weights are made unsigned (value + 16) so one `vpdpbusd` replaces the sign juggling, and
//! `16 * sum(y)` is taken off once per activation block for all rows. Each lane does, in order, what the one-row kernel does for its row (exact
//! integer sum, `dx * dy` rounded, one fused multiply-add), so every result is bit for bit the
//! one-row kernel's, and so the prompt kernels'.
use candle_core::quantized::k_quants::{BlockQ5_0, BlockQ8_0};
use rayon::prelude::*;

/// Weight rows per kernel call.
const ROWS: usize = 8;

/// `out[r * n + j] = dot(w[j], xq[r])` for `m` activation rows already quantized to Q8_0: `w` is
/// `n` rows of `bpr` blocks.
pub fn matmul(w: &[BlockQ5_0], n: usize, bpr: usize, xq: &[BlockQ8_0], m: usize, out: &mut [f32]) {
    debug_assert!(w.len() == n * bpr && xq.len() == m * bpr && out.len() == m * n);
    let xrow = |r: usize| &xq[r * bpr..(r + 1) * bpr];
    let groups = n / ROWS;
    // Weight-row major while computing (each task owns whole groups of rows), turned around after.
    let mut by_row = vec![0f32; n * m];
    by_row
        .par_chunks_mut(ROWS * m)
        .take(groups)
        .enumerate()
        .with_min_len(4)
        .for_each(|(g, dst)| {
            let rows = &w[g * ROWS * bpr..(g + 1) * ROWS * bpr];
            for r in 0..m {
                let v = dot8(rows, bpr, xrow(r));
                for (i, v) in v.into_iter().enumerate() {
                    dst[i * m + r] = v;
                }
            }
        });
    for j in groups * ROWS..n {
        for r in 0..m {
            by_row[j * m + r] =
                super::kernels::dot_q5_0_q8_0_blockwise(&w[j * bpr..(j + 1) * bpr], xrow(r));
        }
    }
    if m == 1 {
        out.copy_from_slice(&by_row);
        return;
    }
    for (j, col) in by_row.chunks(m).enumerate() {
        for (r, &v) in col.iter().enumerate() {
            out[r * n + j] = v;
        }
    }
}

/// Eight consecutive weight rows (`rows`, `bpr` blocks each) against one activation row.
fn dot8(rows: &[BlockQ5_0], bpr: usize, y: &[BlockQ8_0]) -> [f32; ROWS] {
    #[cfg(target_arch = "x86_64")]
    if super::kernels::has_avx2_f16c() {
        // SAFETY: AVX2, FMA and F16C were detected (and AVX-512 VNNI and BW for that variant); `rows` holds
        // eight rows of `bpr` blocks and `y` `bpr` blocks.
        return unsafe {
            if x86::has_avx512() {
                x86::dot8_avx512(rows, bpr, y)
            } else {
                x86::dot8_avx2(rows, bpr, y)
            }
        };
    }
    std::array::from_fn(|i| {
        super::kernels::dot_q5_0_q8_0_blockwise(&rows[i * bpr..(i + 1) * bpr], y)
    })
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{BlockQ5_0, BlockQ8_0, ROWS};

    const BLOCK_BYTES: usize = 22;
    const _: () = assert!(std::mem::size_of::<BlockQ5_0>() == BLOCK_BYTES);
    const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);

    /// Lane `i` of the result is the sum of the eight lanes of `v[i]`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn sum_lanes8(v: [__m256i; 8]) -> __m256i {
        let s01 = _mm256_hadd_epi32(v[0], v[1]);
        let s23 = _mm256_hadd_epi32(v[2], v[3]);
        let s45 = _mm256_hadd_epi32(v[4], v[5]);
        let s67 = _mm256_hadd_epi32(v[6], v[7]);
        // Each 128-bit half now holds four partial sums of rows 0-3 (4-7).
        let (lo, hi) = (_mm256_hadd_epi32(s01, s23), _mm256_hadd_epi32(s45, s67));
        _mm256_add_epi32(
            _mm256_permute2x128_si256(lo, hi, 0x20),
            _mm256_permute2x128_si256(lo, hi, 0x31),
        )
    }

    /// The 32 values of a Q5_0 block as `(nibbles, fifth bits as 0xFF/0x00 bytes)`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn unpack(p: *const u8) -> (__m256i, __m256i) {
        let qh = (p.add(2) as *const u32).read_unaligned();
        // Both halves hold the 16 bytes; the high half shifted by 4 gives elements 16-31.
        let qs = _mm256_broadcastsi128_si256(_mm_loadu_si128(p.add(6) as *const __m128i));
        let nibbles = _mm256_and_si256(
            _mm256_set1_epi8(0x0f),
            _mm256_srlv_epi64(qs, _mm256_set_epi64x(4, 4, 0, 0)),
        );
        let spread = _mm256_shuffle_epi8(
            _mm256_set1_epi32(qh as i32),
            _mm256_set_epi64x(
                0x0303030303030303,
                0x0202020202020202,
                0x0101010101010101,
                0,
            ),
        );
        let bits = _mm256_cmpeq_epi8(
            _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)),
            _mm256_set1_epi64x(-1),
        );
        (nibbles, bits)
    }

    /// The eight rows' f16 scales of block `b`, times `dy` (inserted one by one: eight scalar
    /// stores read back as one vector would stall on store forwarding).
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn scales(base: *const u8, row_bytes: usize, b: usize, dy: f32) -> __m256 {
        let p = base.add(b * BLOCK_BYTES);
        let d = |i: usize| (p.add(i * row_bytes) as *const i16).read_unaligned();
        let bits = _mm_set_epi16(d(7), d(6), d(5), d(4), d(3), d(2), d(1), d(0));
        _mm256_mul_ps(_mm256_cvtph_ps(bits), _mm256_set1_ps(dy))
    }

    /// A Q8_0 block's scale and quants.
    #[inline(always)]
    unsafe fn q8(y: &BlockQ8_0) -> (f32, __m256i) {
        let p = y as *const BlockQ8_0 as *const u8;
        let dy = half::f16::from_bits((p as *const u16).read_unaligned()).to_f32();
        (dy, _mm256_loadu_si256(p.add(2) as *const __m256i))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn store(acc: __m256) -> [f32; ROWS] {
        let mut out = [0f32; ROWS];
        _mm256_storeu_ps(out.as_mut_ptr(), acc);
        out
    }

    /// AVX2: ggml's sign trick (`maddubs` wants one unsigned operand).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot8_avx2(rows: &[BlockQ5_0], bpr: usize, y: &[BlockQ8_0]) -> [f32; ROWS] {
        let base = rows.as_ptr() as *const u8;
        let row_bytes = bpr * BLOCK_BYTES;
        let ones16 = _mm256_set1_epi16(1);
        let high_fill = _mm256_set1_epi8(0xf0u8 as i8);
        let mut acc = _mm256_setzero_ps();
        for (b, y) in y.iter().enumerate().take(bpr) {
            let (dy, qy) = q8(y);
            // Plain loops, not closures: a closure would not inherit the target features.
            let mut sums = [_mm256_setzero_si256(); ROWS];
            for (i, sum) in sums.iter_mut().enumerate() {
                let (nibbles, bits) = unpack(base.add(i * row_bytes + b * BLOCK_BYTES));
                // Where the fifth bit is clear, 0xF0 ORed in subtracts 16.
                let qx = _mm256_or_si256(nibbles, _mm256_andnot_si256(bits, high_fill));
                let prod = _mm256_maddubs_epi16(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx));
                *sum = _mm256_madd_epi16(ones16, prod);
            }
            let isum = _mm256_cvtepi32_ps(sum_lanes8(sums));
            acc = _mm256_fmadd_ps(scales(base, row_bytes, b, dy), isum, acc);
        }
        store(acc)
    }

    /// Whether the AVX-512 kernel can run: VNNI and byte masks on 256-bit vectors.
    pub fn has_avx512() -> bool {
        use std::sync::OnceLock;
        static BW: OnceLock<bool> = OnceLock::new();
        crate::engine::gemm_simd::has_vnni()
            && *BW.get_or_init(|| is_x86_feature_detected!("avx512bw"))
    }

    /// AVX-512: the 32 fifth bits are a byte mask as they are (one `kmov`, one masked add puts
    /// the 16s in), unsigned weights (value + 16) times signed activations in one `vpdpbusd`,
    /// less `16 * y` per lane, which the eight rows share; the next group of rows is prefetched
    /// while this one is summed.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")]
    pub unsafe fn dot8_avx512(rows: &[BlockQ5_0], bpr: usize, y: &[BlockQ8_0]) -> [f32; ROWS] {
        let base = rows.as_ptr() as *const u8;
        let row_bytes = bpr * BLOCK_BYTES;
        let next = base.wrapping_add(ROWS * row_bytes);
        let sixteen = _mm256_set1_epi8(16);
        let low_mask = _mm256_set1_epi8(0x0f);
        // Elements 0-15 are the low nibbles, 16-31 the high ones.
        let shifts = _mm256_set_epi64x(4, 4, 0, 0);
        let mut acc = _mm256_setzero_ps();
        for (b, y) in y.iter().enumerate().take(bpr) {
            for line in 0..3 {
                let ahead = next.wrapping_add(b * ROWS * BLOCK_BYTES + 64 * line);
                _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
            }
            let (dy, qy) = q8(y);
            let start = _mm256_sub_epi32(
                _mm256_setzero_si256(),
                _mm256_dpbusd_epi32(_mm256_setzero_si256(), sixteen, qy),
            );
            let mut sums = [_mm256_setzero_si256(); ROWS];
            for (i, sum) in sums.iter_mut().enumerate() {
                let p = base.add(i * row_bytes + b * BLOCK_BYTES);
                let qh = (p.add(2) as *const u32).read_unaligned();
                let qs = _mm256_broadcastsi128_si256(_mm_loadu_si128(p.add(6) as *const __m128i));
                let nibbles = _mm256_and_si256(_mm256_srlv_epi64(qs, shifts), low_mask);
                let ux = _mm256_mask_add_epi8(nibbles, qh, nibbles, sixteen);
                *sum = _mm256_dpbusd_epi32(start, ux, qy);
            }
            let isum = _mm256_cvtepi32_ps(sum_lanes8(sums));
            acc = _mm256_fmadd_ps(scales(base, row_bytes, b, dy), isum, acc);
        }
        store(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::k_quants::GgmlType;

    fn quantized<T: GgmlType>(n: usize, seed: usize, scale: f32) -> Vec<T> {
        let v: Vec<f32> = (0..n)
            .map(|i| (((i * 7919 + seed * 104_729) % 1013) as f32 - 506.0) * scale)
            .collect();
        let mut q = vec![T::zeros(); n / 32];
        T::from_float(&v, &mut q).unwrap();
        q
    }

    #[test]
    fn every_result_is_the_one_row_kernels_bits() {
        let (k, bpr) = (640, 20);
        for (n, m) in [(64, 1), (27, 1), (40, 3), (8, 7)] {
            let w: Vec<BlockQ5_0> = quantized(n * k, 1, 1.0 / 37.0);
            let x: Vec<BlockQ8_0> = quantized(m * k, 2, 1.0 / 11.0);
            let mut out = vec![0f32; m * n];
            matmul(&w, n, bpr, &x, m, &mut out);
            for r in 0..m {
                for j in 0..n {
                    let want = crate::engine::kernels::dot_q5_0_q8_0_blockwise(
                        &w[j * bpr..(j + 1) * bpr],
                        &x[r * bpr..(r + 1) * bpr],
                    );
                    assert_eq!(
                        out[r * n + j].to_bits(),
                        want.to_bits(),
                        "n {n} m {m} r {r} j {j}"
                    );
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn both_instruction_sets_agree() {
        if !crate::engine::kernels::has_avx2_f16c() || !x86::has_avx512() {
            eprintln!("no AVX-512 VNNI/BW here: only the AVX2 kernel runs");
            return;
        }
        let (k, bpr) = (256, 8);
        let w: Vec<BlockQ5_0> = quantized(8 * k, 3, 1.0 / 5.0);
        let x: Vec<BlockQ8_0> = quantized(k, 4, 1.0 / 3.0);
        // SAFETY: both instruction sets were detected; eight rows of bpr blocks, bpr blocks of x.
        let (a, b) = unsafe { (x86::dot8_avx2(&w, bpr, &x), x86::dot8_avx512(&w, bpr, &x)) };
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
    }

    /// `cargo test --release --lib q5_0_rows -- --ignored --nocapture`: the eight-row kernel
    /// against the one-row one on an FFN-sized matrix, one thread, alternating.
    #[test]
    #[ignore]
    fn speed_against_the_one_row_kernel() {
        let (n, k, bpr) = (2048, 640, 20);
        let w: Vec<BlockQ5_0> = quantized(n * k, 5, 1.0 / 37.0);
        let x: Vec<BlockQ8_0> = quantized(k, 6, 1.0 / 11.0);
        let mut out = vec![0f32; n];
        for round in 0..3 {
            let t = std::time::Instant::now();
            for _ in 0..500 {
                for (g, o) in out.chunks_mut(ROWS).enumerate() {
                    o.copy_from_slice(&dot8(&w[g * ROWS * bpr..(g + 1) * ROWS * bpr], bpr, &x));
                }
            }
            let eight = t.elapsed();
            let t = std::time::Instant::now();
            for _ in 0..500 {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = crate::engine::kernels::dot_q5_0_q8_0_blockwise(
                        &w[j * bpr..(j + 1) * bpr],
                        &x,
                    );
                }
            }
            let one = t.elapsed();
            let gbs = |d: std::time::Duration| (500 * n * bpr * 22) as f64 / d.as_secs_f64() / 1e9;
            eprintln!(
                "round {round}: eight rows {:.1} GB/s, one row {:.1} GB/s",
                gbs(eight),
                gbs(one)
            );
        }
    }
}
