//! Batched quantized matrix products for prompts: every activation row against tiles of eight
//! weight rows.
//!
//! A prompt's prefill multiplies each weight matrix with many activation rows. Here the activations
//! are quantized once into a packed layout (contiguous int8 quants, one f32 scale per block and the
//! quants' sums per group), and the weights are decoded eight rows at a time into unsigned bytes
//! interleaved in 4-byte groups: one 256-bit register then holds the same four columns of eight
//! rows, and one multiply-add of unsigned by signed bytes against four broadcast activation bytes
//! advances eight dot products at once, with no horizontal sums. The decode is paid once per tile
//! and reused by every activation row.
//!
//! Unsigned weights are the stored quants before their offset (Q5_0: value + 16, Q6_K: value + 32;
//! Q4_K is unsigned already); the offset comes back exactly, as `offset * sum(activation quants)`
//! subtracted from each group's integer sum before the group's scale. The integer sums are the
//! ggml kernels' own; only the order of the f32 accumulation differs.
use std::cell::RefCell;

use half::f16;
use rayon::prelude::*;

pub use super::gemm_pack::{
    decode_block_scalar, q4k_scale_min, PackKind, PackedActs, WeightTile, TILE,
};
pub use super::gemm_scales::TileScales;

impl WeightTile {
    /// Decodes rows `j0..j0 + 8` of `w` (`bpr` blocks a row).
    /// With the matrix's `scales` decoded at load, only the quants are decoded here.
    pub fn decode(
        &mut self,
        kind: PackKind,
        w: &[u8],
        bpr: usize,
        j0: usize,
        scales: Option<&TileScales>,
    ) {
        let k = bpr * kind.block();
        self.resize(kind, k);
        #[cfg(target_arch = "x86_64")]
        let simd = super::kernels::has_avx2();
        #[cfg(not(target_arch = "x86_64"))]
        let simd = false;
        if simd {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2 was detected; the tile was sized for k above.
            unsafe {
                super::gemm_simd::decode_tile(self, kind, w, bpr, j0, scales.is_none())
            };
        } else {
            self.decode_scalar(kind, w, bpr, j0);
        }
        if let Some(scales) = scales {
            debug_assert_eq!(scales.kind(), kind);
            scales.fill(self, j0 / TILE);
        }
    }
}

/// Scalar kernel: `out[i * n + j0 + lane]` for the activation rows `i` in `rows`.
pub fn tile_scalar(
    kind: PackKind,
    t: &WeightTile,
    a: &PackedActs,
    rows: std::ops::Range<usize>,
    out: &mut [f32],
    n: usize,
    j0: usize,
) {
    let (nb, g) = (kind.block(), kind.group());
    let gpb = nb / g;
    for i in rows {
        let row = a.row(i);
        let mut acc = [0f32; TILE];
        for b in 0..a.k / nb {
            let dy = a.scale(i, b);
            for (lane, acc) in acc.iter_mut().enumerate() {
                let (mut isum, mut msum) = (0i32, 0i32);
                for s in 0..gpb {
                    let gi = b * gpb + s;
                    let mut dot = -kind.offset() * a.sum(i, gi);
                    for (e, &y) in row.iter().enumerate().skip(gi * g).take(g) {
                        dot += t.vals[(e / 4) * 32 + lane * 4 + e % 4] as i32 * y as i32;
                    }
                    isum += dot * t.scales[gi * TILE + lane];
                    msum += t.mins[gi * TILE + lane] * a.sum(i, gi);
                }
                *acc += t.d[b * TILE + lane] * dy * isum as f32;
                if kind == PackKind::Q4K {
                    *acc -= t.dmin[b * TILE + lane] * dy * msum as f32;
                }
            }
        }
        out[i * n + j0..i * n + j0 + TILE].copy_from_slice(&acc);
    }
}

/// One weight row (`bpr` raw blocks) against one packed activation row, summed exactly as the
/// SIMD tile kernel sums: per group the exact integer, per block one f32 multiply-add in order. A
/// decode step of the K-quants goes through it so that its results are bit for bit a prompt's.
pub fn dot_row_blockwise(kind: PackKind, w: &[u8], a: &PackedActs, r: usize) -> f32 {
    let (nb, g, bb) = (kind.block(), kind.group(), kind.block_bytes());
    let y = a.row(r);
    let f16_at =
        |blk: &[u8], o: usize| f16::from_bits(u16::from_le_bytes([blk[o], blk[o + 1]])).to_f32();
    let mut vals = [0u8; 256];
    let mut dots = [0i32; 16];
    let mut acc = 0f32;
    for (b, blk) in w.chunks_exact(bb).enumerate() {
        let yb = &y[b * nb..(b + 1) * nb];
        #[cfg(target_arch = "x86_64")]
        let simd = super::kernels::has_avx2();
        #[cfg(not(target_arch = "x86_64"))]
        let simd = false;
        if simd {
            // SAFETY: AVX2 was detected; blk is one whole block and yb its nb activation quants.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                super::gemm_simd::group_dots(kind, blk.as_ptr(), yb.as_ptr(), &mut dots)
            };
        } else {
            decode_block_scalar(kind, blk, &mut vals[..nb]);
            for (s, d) in dots.iter_mut().take(nb / g).enumerate() {
                let (u, y) = (&vals[s * g..(s + 1) * g], &yb[s * g..(s + 1) * g]);
                *d = u.iter().zip(y).map(|(&u, &y)| u as i32 * y as i32).sum();
            }
        }
        let dy = a.scale(r, b);
        let group_dot = |s: usize| -> i32 { dots[s] - kind.offset() * a.sum(r, b * (nb / g) + s) };
        match kind {
            PackKind::Q5_0 => {
                acc = (f16_at(blk, 0) * dy).mul_add(group_dot(0) as f32, acc);
            }
            PackKind::Q4K => {
                let sc = &blk[4..16];
                let (mut isum, mut msum) = (0i32, 0i32);
                for s in 0..8 {
                    let (scale, min) = q4k_scale_min(sc, s);
                    isum += group_dot(s) * scale as i32;
                    msum += min as i32 * a.sum(r, b * 8 + s);
                }
                acc = (f16_at(blk, 0) * dy).mul_add(isum as f32, acc);
                acc = (-(f16_at(blk, 2) * dy)).mul_add(msum as f32, acc);
            }
            PackKind::Q6K => {
                let isum: i32 = (0..16)
                    .map(|s| group_dot(s) * blk[192 + s] as i8 as i32)
                    .sum();
                acc = (f16_at(blk, 208) * dy).mul_add(isum as f32, acc);
            }
        }
    }
    acc
}

/// `out[j] = dot(x, w[j])` for one activation row with `dot_row_blockwise`.
pub fn matvec_blockwise(
    kind: PackKind,
    w: &[u8],
    k: usize,
    x: &[f32],
    out: &mut [f32],
    acts: &mut PackedActs,
) {
    acts.pack(x, 1, k, kind);
    let acts = &*acts;
    let row_bytes = k / kind.block() * kind.block_bytes();
    out.par_iter_mut()
        .zip(w.par_chunks_exact(row_bytes))
        .with_min_len(16)
        .for_each(|(o, wrow)| *o = dot_row_blockwise(kind, wrow, acts, 0));
}

thread_local! {
    // Only borrowed inside one task, which never calls back into rayon, so no other task can run
    // on this thread meanwhile.
    static TILE_BUF: RefCell<WeightTile> = RefCell::new(WeightTile::default());
}

/// A raw pointer that rayon tasks may share because each writes disjoint columns.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// `out[r][j] = dot(x[r], w[j])`: `w` is `n x k` raw blocks of `kind` (n a multiple of 8), `x` is
/// `m x k` f32, `out` is `m x n`; `acts` is the caller's buffer for the quantized activations;
/// `scales` are `w`'s scales decoded at load (else each tile decodes its own).
#[allow(clippy::too_many_arguments)] // a matrix product's operands and its one buffer
pub fn matmul(
    kind: PackKind,
    w: &[u8],
    n: usize,
    k: usize,
    x: &[f32],
    m: usize,
    out: &mut [f32],
    acts: &mut PackedActs,
    scales: Option<&TileScales>,
) {
    debug_assert!(n.is_multiple_of(TILE) && out.len() == m * n);
    {
        acts.pack(x, m, k, kind);
        let acts = &*acts;
        let bpr = k / kind.block();
        let tiles = n / TILE;
        // A few tasks per thread so that a busy core does not hold up the call.
        let chunk = tiles.div_ceil(rayon::current_num_threads() * 4).max(1);
        let dst = SharedOut(out.as_mut_ptr());
        (0..tiles.div_ceil(chunk)).into_par_iter().for_each(|c| {
            let dst = &dst;
            TILE_BUF.with_borrow_mut(|tile| {
                for ti in c * chunk..((c + 1) * chunk).min(tiles) {
                    let j0 = ti * TILE;
                    tile.decode(kind, w, bpr, j0, scales);
                    // SAFETY: this task alone writes columns j0..j0 + 8 of every row, all in bounds.
                    let out = unsafe { std::slice::from_raw_parts_mut(dst.0, m * n) };
                    run_tile(kind, tile, acts, out, n, j0);
                }
            });
        });
    }
}

fn run_tile(kind: PackKind, t: &WeightTile, a: &PackedActs, out: &mut [f32], n: usize, j0: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::kernels::has_avx2() {
        // SAFETY: AVX2 and FMA were detected; the tile and the activations share k.
        unsafe { super::gemm_simd::run_tile(kind, t, a, out, n, j0) };
        return;
    }
    tile_scalar(kind, t, a, 0..a.m, out, n, j0);
}

#[cfg(test)]
#[path = "gemm_tests.rs"]
mod tests;
