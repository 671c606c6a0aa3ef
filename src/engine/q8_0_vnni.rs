//! The Q8_0 output head on CPUs with AVX-512 VNNI: the tied embedding (262,144 x 640, 178 MB) is
//! the largest product of every step, and in a batched step (the server's `--parallel`, a drafted
//! verification) it is dotted with several activation rows per weight row.
//!
//! ggml's AVX2 Q8_0 kernel moves the weight's signs onto the activation (`sign`, `sign`,
//! `maddubs`, `madd`: four instructions per row and block) because the byte multiply-add wants
//! one unsigned operand. Here the activations are made unsigned once per step instead (`q + 128`)
//! and the offset comes back exactly: `sum((q + 128) w) - 128 sum(w)`, with `128 sum(w)` computed
//! once per weight block for all rows. A row then costs one `vpdpbusd` per block, and its
//! per-lane integer sums are ggml's (each lane sums the same four products), so every result is
//! bit for bit `kernels::dot_q8_0_q8_0`'s (tested below).
use candle_core::quantized::k_quants::BlockQ8_0;

const QK: usize = 32;
const BLOCK_BYTES: usize = 2 + QK;
const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == BLOCK_BYTES);

/// Whether this CPU has 256-bit VNNI (the same check as the prompt kernels').
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::kernels::has_avx2() && super::gemm_simd::has_vnni();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Activation rows quantized to Q8_0, laid out for the kernel: quants plus 128 as unsigned bytes
/// (`k` a row) and the blocks' scales as f32 (`k / 32` a row).
struct UnsignedActs {
    q: Vec<u8>,
    d: Vec<f32>,
    k: usize,
}

impl UnsignedActs {
    fn new(xq: &[BlockQ8_0], m: usize, k: usize) -> Self {
        let nb = k / QK;
        debug_assert_eq!(xq.len(), m * nb);
        let mut q = Vec::with_capacity(m * k);
        let mut d = Vec::with_capacity(m * nb);
        for block in xq {
            let (scale, qs) = parts(block);
            d.push(scale);
            q.extend(qs.iter().map(|&v| (v as u8) ^ 0x80));
        }
        Self { q, d, k }
    }
}

/// A block's scale and quants (candle keeps the fields private: read through their offsets).
#[inline(always)]
fn parts(b: &BlockQ8_0) -> (f32, &[i8; QK]) {
    let p = b as *const BlockQ8_0 as *const u8;
    // SAFETY: repr(C) { d: f16, qs: [i8; 32] }, size asserted above.
    unsafe {
        let d = half::f16::from_bits(u16::from_le_bytes([*p, *p.add(1)])).to_f32();
        (d, &*(p.add(2) as *const [i8; QK]))
    }
}

/// `out[r * n + j] = dot(x[r], w[j])` for `m` rows already quantized to Q8_0 (`xq`, `k / 32`
/// blocks a row) against `n` weight rows. Call only when `available()`.
pub fn matmul(w: &[BlockQ8_0], n: usize, k: usize, xq: &[BlockQ8_0], m: usize, out: &mut [f32]) {
    assert!(available(), "the VNNI head kernel on a CPU without VNNI");
    assert!(k.is_multiple_of(QK) && w.len() == n * (k / QK) && out.len() == m * n);
    let acts = UnsignedActs::new(xq, m, k);
    let bpr = k / QK;
    super::par_columns::par_columns(out, n, |j, put| {
        let wrow = &w[j * bpr..(j + 1) * bpr];
        // SAFETY: VNNI was checked above.
        unsafe { rows_against(wrow, &acts, m, put) };
    });
}

/// Every activation row against one weight row, eight rows at a time (the register file holds
/// eight accumulators), then the rest.
///
/// # Safety
/// The CPU has AVX2, FMA and AVX-512 VNNI/VL.
#[cfg(target_arch = "x86_64")]
unsafe fn rows_against(
    w: &[BlockQ8_0],
    a: &UnsignedActs,
    m: usize,
    put: &mut dyn FnMut(usize, f32),
) {
    macro_rules! run {
        ($nr:literal, $r0:expr) => {{
            let r0 = $r0;
            for (i, v) in x86::dot_rows::<$nr>(w, a, r0).into_iter().enumerate() {
                put(r0 + i, v);
            }
        }};
    }
    let whole = m / 8 * 8;
    for r0 in (0..whole).step_by(8) {
        run!(8, r0);
    }
    match m - whole {
        0 => {}
        1 => run!(1, whole),
        2 => run!(2, whole),
        3 => run!(3, whole),
        4 => run!(4, whole),
        5 => run!(5, whole),
        6 => run!(6, whole),
        _ => run!(7, whole),
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn rows_against(_: &[BlockQ8_0], _: &UnsignedActs, _: usize, _: &mut dyn FnMut(usize, f32)) {
    unreachable!("available() is false off x86_64")
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::super::kernels::avx2::hsum;
    use super::{BlockQ8_0, UnsignedActs, BLOCK_BYTES, QK};

    /// Rows `r0..r0 + R` of `a` against the weight row `w`. Per block and row: the exact integer
    /// dot product in eight lanes, converted, times `dx * dy`, added to the row's accumulator;
    /// the same operations in the same order as the AVX2 one-row kernel.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    pub unsafe fn dot_rows<const R: usize>(
        w: &[BlockQ8_0],
        a: &UnsignedActs,
        r0: usize,
    ) -> [f32; R] {
        let nb = w.len();
        let mut acc = [_mm256_setzero_ps(); R];
        let offset = _mm256_set1_epi8(0x80u8 as i8);
        let base = w.as_ptr() as *const u8;
        let bytes = nb * BLOCK_BYTES;
        let rows: [*const u8; R] = std::array::from_fn(|i| a.q.as_ptr().add((r0 + i) * a.k));
        let scales: [*const f32; R] =
            std::array::from_fn(|i| a.d.as_ptr().add((r0 + i) * (a.k / QK)));
        for b in 0..nb {
            let p = base.add(b * BLOCK_BYTES);
            let ahead = b * BLOCK_BYTES + 512;
            if ahead < bytes {
                _mm_prefetch::<_MM_HINT_T0>(base.add(ahead) as *const i8);
            }
            let dx = half::f16::from_bits(u16::from_le_bytes([*p, *p.add(1)])).to_f32();
            let wq = _mm256_loadu_si256(p.add(2) as *const __m256i);
            // -128 * sum(w) per lane: the start of every row's sum.
            let start = _mm256_sub_epi32(
                _mm256_setzero_si256(),
                _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, wq),
            );
            let dxv = _mm256_set1_ps(dx);
            for i in 0..R {
                let y = _mm256_loadu_si256(rows[i].add(b * QK) as *const __m256i);
                let dot = _mm256_dpbusd_epi32(start, y, wq);
                let d = _mm256_mul_ps(dxv, _mm256_set1_ps(*scales[i].add(b)));
                acc[i] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc[i]);
            }
        }
        // The one-row kernel's horizontal sum, in its order.
        acc.map(|v| hsum(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::k_quants::GgmlType;

    fn quantized(values: impl Iterator<Item = f32>, k: usize) -> Vec<BlockQ8_0> {
        let v: Vec<f32> = values.collect();
        let mut q = vec![BlockQ8_0::zeros(); v.len() / QK];
        BlockQ8_0::from_float(&v, &mut q).unwrap();
        assert_eq!(v.len() % k, 0);
        q
    }

    #[test]
    fn every_row_count_gives_the_one_row_kernels_bits() {
        if !available() {
            eprintln!("no AVX-512 VNNI on this CPU: the kernel is not used here");
            return;
        }
        let (k, n) = (640, 37);
        let w = quantized(
            (0..n * k).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 37.0),
            k,
        );
        for m in 1..=11 {
            let x = quantized(
                (0..m * k).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / (3.0 + (i % 5) as f32)),
                k,
            );
            let mut out = vec![0f32; m * n];
            matmul(&w, n, k, &x, m, &mut out);
            let bpr = k / QK;
            for r in 0..m {
                for j in 0..n {
                    let want = crate::engine::kernels::dot_q8_0_q8_0(
                        &w[j * bpr..(j + 1) * bpr],
                        &x[r * bpr..(r + 1) * bpr],
                    );
                    assert_eq!(
                        out[r * n + j].to_bits(),
                        want.to_bits(),
                        "m {m} row {r} col {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn extreme_quants_are_exact() {
        if !available() {
            return;
        }
        // -128 cannot come out of ggml's quantizer but can be in a file; both kernels are exact.
        let k = 64;
        let mut w = vec![BlockQ8_0::zeros(); 2];
        let mut x = vec![BlockQ8_0::zeros(); 2];
        BlockQ8_0::from_float(&[1.0; 64], &mut w).unwrap();
        BlockQ8_0::from_float(&[-1.0; 64], &mut x).unwrap();
        for b in w.iter_mut() {
            // SAFETY: quants start at byte 2 of the 34-byte block.
            unsafe { std::ptr::write_bytes((b as *mut BlockQ8_0 as *mut u8).add(2), 0x80, QK) };
        }
        let mut out = [0f32; 1];
        matmul(&w, 1, k, &x, 1, &mut out);
        assert_eq!(out[0], crate::engine::kernels::dot_q8_0_q8_0(&w, &x));
        assert!(out[0] > 0.0, "{}", out[0]);
    }
}
