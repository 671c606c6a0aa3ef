//! The x86 side of `gemm`: decoding eight weight rows into interleaved unsigned bytes (AVX2) and the
//! tile kernel, built twice: with AVX-512 VNNI's `vpdpbusd` (one instruction per four bytes of
//! eight rows) where the CPU has it, and with AVX2's `maddubs` + `madd` otherwise.
use std::arch::x86_64::*;

use super::gemm_pack::{PackKind, PackedActs, WeightTile, TILE};

/// Whether this CPU has 256-bit VNNI (checked once).
pub fn has_vnni() -> bool {
    use std::sync::OnceLock;
    static VNNI: OnceLock<bool> = OnceLock::new();
    *VNNI.get_or_init(|| {
        is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl")
    })
}

/// Decodes rows `j0..j0 + 8` into `t` (sized for them by the caller): the quants, and the
/// scales unless the caller has them decoded already.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn decode_tile(
    t: &mut WeightTile,
    kind: PackKind,
    w: &[u8],
    bpr: usize,
    j0: usize,
    with_scales: bool,
) {
    let (bb, nb) = (kind.block_bytes(), kind.block());
    let vals = t.vals.as_mut_ptr();
    // The next tile's rows follow this tile's in memory: fetch a share of them with every block,
    // so a decode step (one activation row, where the decode is most of the work) does not wait
    // on memory at each of the eight row streams. Prefetches past the matrix do not fault.
    let next = w.as_ptr().wrapping_add((j0 + TILE) * bpr * bb);
    for b in 0..bpr {
        for line in (0..TILE * bb).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(b * TILE * bb + line) as *const i8);
        }
        let mut blocks = [std::ptr::null::<u8>(); TILE];
        for (r, p) in blocks.iter_mut().enumerate() {
            let off = ((j0 + r) * bpr + b) * bb;
            let blk = &w[off..off + bb];
            if with_scales {
                t.decode_scales(kind, blk, b, r);
            }
            *p = blk.as_ptr();
        }
        for c in 0..nb / 32 {
            // A plain loop, not `blocks.map(..)`: a closure is not inlined into this
            // target-feature function, and a call per row and chunk doubled the decode's cost.
            let mut rows = [_mm256_setzero_si256(); TILE];
            for (row, &p) in rows.iter_mut().zip(&blocks) {
                *row = decode_chunk(kind, p, c);
            }
            store_transposed(rows, vals.add((b * nb + c * 32) * TILE));
        }
    }
}

/// Elements `32c..32c + 32` of one block as unsigned bytes.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn decode_chunk(kind: PackKind, blk: *const u8, c: usize) -> __m256i {
    let low4 = _mm256_set1_epi8(0x0f);
    match kind {
        PackKind::Q5_0 => {
            let qh = u32::from_le_bytes(*(blk.add(2) as *const [u8; 4]));
            let tmp = _mm_loadu_si128(blk.add(6) as *const __m128i);
            let nibbles = _mm256_and_si256(low4, _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp));
            // Byte j becomes 0xff where bit j of qh is set (ggml's bytes_from_bits_32).
            let shuf = _mm256_set_epi64x(
                0x0303030303030303,
                0x0202020202020202,
                0x0101010101010101,
                0,
            );
            let bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
            let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), shuf);
            let bits = _mm256_cmpeq_epi8(_mm256_or_si256(bits, bit_mask), _mm256_set1_epi64x(-1));
            _mm256_or_si256(nibbles, _mm256_and_si256(bits, _mm256_set1_epi8(0x10)))
        }
        PackKind::Q4K => {
            let q = _mm256_loadu_si256(blk.add(16 + 32 * (c / 2)) as *const __m256i);
            if c.is_multiple_of(2) {
                _mm256_and_si256(q, low4)
            } else {
                _mm256_and_si256(_mm256_srli_epi16(q, 4), low4)
            }
        }
        PackKind::Q6K => {
            let (h, part) = (c / 4, c % 4);
            let ql = _mm256_loadu_si256(blk.add(64 * h + 32 * (part % 2)) as *const __m256i);
            let qh = _mm256_loadu_si256(blk.add(128 + 32 * h) as *const __m256i);
            let low = if part < 2 {
                _mm256_and_si256(ql, low4)
            } else {
                _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4)
            };
            let shift = _mm_cvtsi32_si128(2 * part as i32);
            let high = _mm256_and_si256(_mm256_srl_epi16(qh, shift), _mm256_set1_epi8(3));
            _mm256_or_si256(low, _mm256_slli_epi16(high, 4))
        }
    }
}

/// Per group of one block, the exact sum of unsigned weight quants times activation quants (`y`
/// is the block's activation quants); the per-row path of a decode step.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn group_dots(kind: PackKind, blk: *const u8, y: *const i8, out: &mut [i32; 16]) {
    let ones = _mm256_set1_epi16(1);
    for c in 0..kind.block() / 32 {
        let u = decode_chunk(kind, blk, c);
        let a = _mm256_loadu_si256(y.add(32 * c) as *const __m256i);
        let v = _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), ones);
        let (lo, hi) = (_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        if kind.group() == 16 {
            out[2 * c] = hsum_epi32(lo);
            out[2 * c + 1] = hsum_epi32(hi);
        } else {
            out[c] = hsum_epi32(_mm_add_epi32(lo, hi));
        }
    }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn hsum_epi32(v: __m128i) -> i32 {
    let v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0b01_00_11_10));
    let v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0b10_11_00_01));
    _mm_cvtsi128_si32(v)
}

/// Writes the 8x8 transpose of 32-bit lanes: register t of the output holds lane t of each row.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_transposed(r: [__m256i; 8], dst: *mut u8) {
    let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
    let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
    let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
    let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
    let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    let u0 = _mm256_unpacklo_epi64(t0, t2);
    let u1 = _mm256_unpackhi_epi64(t0, t2);
    let u2 = _mm256_unpacklo_epi64(t1, t3);
    let u3 = _mm256_unpackhi_epi64(t1, t3);
    let u4 = _mm256_unpacklo_epi64(t4, t6);
    let u5 = _mm256_unpackhi_epi64(t4, t6);
    let u6 = _mm256_unpacklo_epi64(t5, t7);
    let u7 = _mm256_unpackhi_epi64(t5, t7);
    let out = [
        _mm256_permute2x128_si256(u0, u4, 0x20),
        _mm256_permute2x128_si256(u1, u5, 0x20),
        _mm256_permute2x128_si256(u2, u6, 0x20),
        _mm256_permute2x128_si256(u3, u7, 0x20),
        _mm256_permute2x128_si256(u0, u4, 0x31),
        _mm256_permute2x128_si256(u1, u5, 0x31),
        _mm256_permute2x128_si256(u2, u6, 0x31),
        _mm256_permute2x128_si256(u3, u7, 0x31),
    ];
    for (i, v) in out.into_iter().enumerate() {
        _mm256_storeu_si256(dst.add(32 * i) as *mut __m256i, v);
    }
}

/// The tile kernel for one instruction set: `dp` is the unsigned-by-signed byte multiply-add.
macro_rules! tile_kernel {
    ($module:ident, $features:literal, $vnni:literal) => {
        mod $module {
            use std::arch::x86_64::*;

            use super::{PackedActs, WeightTile, TILE};

            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dp(acc: __m256i, w: __m256i, a: __m256i) -> __m256i {
                if $vnni {
                    _mm256_dpbusd_epi32(acc, w, a)
                } else {
                    // Unsigned weights are at most 63, so the 16-bit pair sums cannot saturate.
                    let pairs = _mm256_maddubs_epi16(w, a);
                    _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
                }
            }

            /// Activation rows `r0..r0 + NR` against the tile: per group the exact integer dot
            /// product of eight weight rows (less the offset times the activation sum), scaled by
            /// the group's integer scale, then one f32 multiply-add per block.
            #[target_feature(enable = $features)]
            pub unsafe fn tile<
                const NR: usize,
                const BLOCK: usize,
                const GROUP: usize,
                const OFFSET: i32,
                const SCALED: bool,
                const MINS: bool,
            >(
                t: &WeightTile,
                a: &PackedActs,
                r0: usize,
                out: *mut f32,
                n: usize,
                j0: usize,
            ) {
                let gpb = BLOCK / GROUP;
                let rows: [*const i8; NR] = std::array::from_fn(|i| a.row_ptr(r0 + i));
                let sums: [&[i32]; NR] = std::array::from_fn(|i| a.sums_of(r0 + i));
                let scales: [&[f32]; NR] = std::array::from_fn(|i| a.scales_of(r0 + i));
                let vals = t.vals.as_ptr();
                let mut facc = [_mm256_setzero_ps(); NR];
                for b in 0..a.k / BLOCK {
                    let mut isum = [_mm256_setzero_si256(); NR];
                    let mut msum = [_mm256_setzero_si256(); NR];
                    for s in 0..gpb {
                        let gi = b * gpb + s;
                        let mut acc: [__m256i; NR] = std::array::from_fn(|i| {
                            _mm256_set1_epi32(-OFFSET * *sums[i].get_unchecked(gi))
                        });
                        let wp = vals.add(gi * GROUP * TILE);
                        for q in 0..GROUP / 4 {
                            let w = _mm256_loadu_si256(wp.add(q * 32) as *const __m256i);
                            for i in 0..NR {
                                let four = (rows[i].add(gi * GROUP + q * 4) as *const i32)
                                    .read_unaligned();
                                acc[i] = dp(acc[i], w, _mm256_set1_epi32(four));
                            }
                        }
                        if SCALED {
                            let sc = _mm256_loadu_si256(
                                t.scales.as_ptr().add(gi * TILE) as *const __m256i
                            );
                            for i in 0..NR {
                                isum[i] = _mm256_add_epi32(isum[i], _mm256_mullo_epi32(acc[i], sc));
                            }
                            if MINS {
                                let mn = _mm256_loadu_si256(
                                    t.mins.as_ptr().add(gi * TILE) as *const __m256i
                                );
                                for i in 0..NR {
                                    let ys = _mm256_set1_epi32(*sums[i].get_unchecked(gi));
                                    msum[i] = _mm256_add_epi32(msum[i], _mm256_mullo_epi32(mn, ys));
                                }
                            }
                        } else {
                            for i in 0..NR {
                                isum[i] = _mm256_add_epi32(isum[i], acc[i]);
                            }
                        }
                    }
                    let dv = _mm256_loadu_ps(t.d.as_ptr().add(b * TILE));
                    for i in 0..NR {
                        let dy = _mm256_set1_ps(*scales[i].get_unchecked(b));
                        facc[i] = _mm256_fmadd_ps(
                            _mm256_mul_ps(dv, dy),
                            _mm256_cvtepi32_ps(isum[i]),
                            facc[i],
                        );
                    }
                    if MINS {
                        let dmv = _mm256_loadu_ps(t.dmin.as_ptr().add(b * TILE));
                        for i in 0..NR {
                            let dy = _mm256_set1_ps(*scales[i].get_unchecked(b));
                            facc[i] = _mm256_fnmadd_ps(
                                _mm256_mul_ps(dmv, dy),
                                _mm256_cvtepi32_ps(msum[i]),
                                facc[i],
                            );
                        }
                    }
                }
                for i in 0..NR {
                    _mm256_storeu_ps(out.add((r0 + i) * n + j0), facc[i]);
                }
            }
        }
    };
}

tile_kernel!(avx2, "avx2,fma", false);
tile_kernel!(vnni, "avx2,fma,avx512f,avx512vl,avx512vnni", true);

/// Runs every activation row against the tile, eight or four at a time.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn run_tile(
    kind: PackKind,
    t: &WeightTile,
    a: &PackedActs,
    out: &mut [f32],
    n: usize,
    j0: usize,
) {
    debug_assert!(out.len() >= a.m * n && j0 + TILE <= n);
    let out = out.as_mut_ptr();
    let vnni = has_vnni();
    macro_rules! call {
        ($nr:literal, $r0:expr) => {
            match (kind, vnni) {
                (PackKind::Q5_0, true) => {
                    vnni::tile::<$nr, 32, 32, 16, false, false>(t, a, $r0, out, n, j0)
                }
                (PackKind::Q5_0, false) => {
                    avx2::tile::<$nr, 32, 32, 16, false, false>(t, a, $r0, out, n, j0)
                }
                (PackKind::Q4K, true) => {
                    vnni::tile::<$nr, 256, 32, 0, true, true>(t, a, $r0, out, n, j0)
                }
                (PackKind::Q4K, false) => {
                    avx2::tile::<$nr, 256, 32, 0, true, true>(t, a, $r0, out, n, j0)
                }
                (PackKind::Q6K, true) => {
                    vnni::tile::<$nr, 256, 16, 32, true, false>(t, a, $r0, out, n, j0)
                }
                (PackKind::Q6K, false) => {
                    avx2::tile::<$nr, 256, 16, 32, true, false>(t, a, $r0, out, n, j0)
                }
            }
        };
    }
    let mut r = 0;
    // With VNNI's 32 vector registers eight rows fit: eight independent multiply-add chains hide
    // the instruction's latency; AVX2's 16 registers hold four.
    while vnni && r + 8 <= a.m {
        call!(8, r);
        r += 8;
    }
    while r + 4 <= a.m {
        call!(4, r);
        r += 4;
    }
    while r < a.m {
        call!(1, r);
        r += 1;
    }
}
