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

/// Weight rows per tile: one 32-bit lane of a 256-bit register each.
pub const TILE: usize = 8;

/// The weight formats with a batched kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackKind {
    Q5_0,
    Q4K,
    Q6K,
}

impl PackKind {
    /// Elements per block (one f32 scale per row and block, and per activation row and block).
    pub const fn block(self) -> usize {
        match self {
            Self::Q5_0 => 32,
            Self::Q4K | Self::Q6K => 256,
        }
    }

    /// Elements per group: one integer scale (and min) per weight row, one quant sum per
    /// activation row.
    pub const fn group(self) -> usize {
        match self {
            Self::Q5_0 | Self::Q4K => 32,
            Self::Q6K => 16,
        }
    }

    /// What is subtracted from the unsigned weight bytes.
    pub const fn offset(self) -> i32 {
        match self {
            Self::Q5_0 => 16,
            Self::Q4K => 0,
            Self::Q6K => 32,
        }
    }

    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Q5_0 => 22,
            Self::Q4K => 144,
            Self::Q6K => 210,
        }
    }
}

/// Activation rows quantized as ggml does for the kernel's dot type: Q8_0 (blocks of 32, f16
/// scale) for Q5_0, Q8_K (blocks of 256, f32 scale) for the K-quants.
#[derive(Default)]
pub struct PackedActs {
    pub m: usize,
    pub k: usize,
    block: usize,
    group: usize,
    qs: Vec<i8>,
    d: Vec<f32>,
    sums: Vec<i32>,
}

impl PackedActs {
    /// Quantizes the `m` rows of `x` (`m x k`) for `kind`, reusing this buffer's memory.
    pub fn pack(&mut self, x: &[f32], m: usize, k: usize, kind: PackKind) {
        let (block, group) = (kind.block(), kind.group());
        debug_assert!(k.is_multiple_of(block) && x.len() == m * k);
        self.m = m;
        self.k = k;
        self.block = block;
        self.group = group;
        self.qs.resize(m * k, 0);
        self.d.resize(m * k / block, 0.0);
        self.sums.resize(m * k / group, 0);
        let q8_0 = kind == PackKind::Q5_0;
        x.par_chunks(k)
            .zip(self.qs.par_chunks_mut(k))
            .zip(self.d.par_chunks_mut(k / block))
            .zip(self.sums.par_chunks_mut(k / group))
            .for_each(|(((x, qs), d), sums)| {
                for ((x, qs), d) in x.chunks(block).zip(qs.chunks_mut(block)).zip(d) {
                    *d = if q8_0 {
                        quantize_q8_0_block(x, qs)
                    } else {
                        quantize_q8_k_block(x, qs)
                    };
                }
                for (s, q) in sums.iter_mut().zip(qs.chunks(group)) {
                    *s = q.iter().map(|&v| v as i32).sum();
                }
            });
    }

    fn row(&self, r: usize) -> &[i8] {
        &self.qs[r * self.k..(r + 1) * self.k]
    }

    fn scale(&self, r: usize, b: usize) -> f32 {
        self.d[r * (self.k / self.block) + b]
    }

    fn sum(&self, r: usize, g: usize) -> i32 {
        self.sums[r * (self.k / self.group) + g]
    }
}

/// ggml's `quantize_row_q8_0` (x86 path): `id = 127 / amax`, round half to even, f16 scale.
fn quantize_q8_0_block(x: &[f32], q: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    for (q, &v) in q.iter_mut().zip(x) {
        *q = (v * id).round_ties_even() as i8;
    }
    f16::from_f32(amax / 127.0).to_f32()
}

/// ggml's `quantize_row_q8_K`: scale `-127 / max` (signed extreme), round half to even.
fn quantize_q8_k_block(x: &[f32], q: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax == 0.0 {
        q.fill(0);
        return 0.0;
    }
    let iscale = -127.0 / max;
    for (q, &v) in q.iter_mut().zip(x) {
        *q = (iscale * v).round_ties_even().min(127.0) as i8;
    }
    1.0 / iscale
}

/// Eight weight rows decoded for the kernels: `vals[(e / 4) * 32 + r * 4 + e % 4]` is row r's
/// unsigned quant of element e; per block and row the f32 scale (and min scale), per group and row
/// the integer scale (and min).
#[derive(Default)]
pub struct WeightTile {
    pub vals: Vec<u8>,
    pub d: Vec<f32>,
    pub dmin: Vec<f32>,
    pub scales: Vec<i32>,
    pub mins: Vec<i32>,
}

impl WeightTile {
    fn resize(&mut self, kind: PackKind, k: usize) {
        self.vals.resize(k * TILE, 0);
        self.d.resize(k / kind.block() * TILE, 0.0);
        self.dmin.resize(k / kind.block() * TILE, 0.0);
        self.scales.resize(k / kind.group() * TILE, 1);
        self.mins.resize(k / kind.group() * TILE, 0);
        if kind == PackKind::Q5_0 {
            // Q5_0 has no group scales; the scalar kernel reads ones.
            self.scales.fill(1);
        }
    }

    /// Decodes rows `j0..j0 + 8` of `w` (`bpr` blocks a row).
    pub fn decode(&mut self, kind: PackKind, w: &[u8], bpr: usize, j0: usize) {
        let k = bpr * kind.block();
        self.resize(kind, k);
        #[cfg(target_arch = "x86_64")]
        if super::kernels::has_avx2() {
            // SAFETY: AVX2 was detected; the tile was sized for k above.
            unsafe { super::gemm_simd::decode_tile(self, kind, w, bpr, j0) };
            return;
        }
        self.decode_scalar(kind, w, bpr, j0);
    }

    /// `decode` without SIMD.
    pub fn decode_scalar(&mut self, kind: PackKind, w: &[u8], bpr: usize, j0: usize) {
        self.resize(kind, bpr * kind.block());
        let mut vals = [0u8; 256];
        let bb = kind.block_bytes();
        for r in 0..TILE {
            for b in 0..bpr {
                let off = ((j0 + r) * bpr + b) * bb;
                let blk = &w[off..off + bb];
                let nb = kind.block();
                self.decode_scales(kind, blk, b, r);
                decode_block_scalar(kind, blk, &mut vals[..nb]);
                for (i, &v) in vals[..nb].iter().enumerate() {
                    let e = b * nb + i;
                    self.vals[(e / 4) * 32 + r * 4 + e % 4] = v;
                }
            }
        }
    }

    /// The per-block and per-group scales of row `r`'s block `b`.
    pub fn decode_scales(&mut self, kind: PackKind, blk: &[u8], b: usize, r: usize) {
        let f16_at = |o: usize| f16::from_bits(u16::from_le_bytes([blk[o], blk[o + 1]])).to_f32();
        match kind {
            PackKind::Q5_0 => self.d[b * TILE + r] = f16_at(0),
            PackKind::Q4K => {
                self.d[b * TILE + r] = f16_at(0);
                self.dmin[b * TILE + r] = f16_at(2);
                let sc = &blk[4..16];
                for s in 0..8 {
                    let (scale, min) = if s < 4 {
                        (sc[s] & 63, sc[s + 4] & 63)
                    } else {
                        (
                            (sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4),
                            (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4),
                        )
                    };
                    self.scales[(b * 8 + s) * TILE + r] = scale as i32;
                    self.mins[(b * 8 + s) * TILE + r] = min as i32;
                }
            }
            PackKind::Q6K => {
                self.d[b * TILE + r] = f16_at(208);
                for s in 0..16 {
                    self.scales[(b * 16 + s) * TILE + r] = blk[192 + s] as i8 as i32;
                }
            }
        }
    }
}

/// A block's unsigned quants in element order (the scalar path and the tests' reference).
pub fn decode_block_scalar(kind: PackKind, blk: &[u8], out: &mut [u8]) {
    match kind {
        PackKind::Q5_0 => {
            let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
            for j in 0..16 {
                out[j] = (blk[6 + j] & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
                out[j + 16] = (blk[6 + j] >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
            }
        }
        PackKind::Q4K => {
            let qs = &blk[16..144];
            for c in 0..4 {
                for l in 0..32 {
                    out[64 * c + l] = qs[32 * c + l] & 0x0f;
                    out[64 * c + 32 + l] = qs[32 * c + l] >> 4;
                }
            }
        }
        PackKind::Q6K => {
            for h in 0..2 {
                let ql = &blk[64 * h..64 * h + 64];
                let qh = &blk[128 + 32 * h..128 + 32 * h + 32];
                let o = &mut out[128 * h..128 * h + 128];
                for l in 0..32 {
                    o[l] = (ql[l] & 0x0f) | ((qh[l] & 3) << 4);
                    o[l + 32] = (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4);
                    o[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
                    o[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
                }
            }
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
                    let (scale, min) = if s < 4 {
                        (sc[s] & 63, sc[s + 4] & 63)
                    } else {
                        (
                            (sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4),
                            (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4),
                        )
                    };
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
/// `m x k` f32, `out` is `m x n`; `acts` is the caller's buffer for the quantized activations.
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
                    tile.decode(kind, w, bpr, j0);
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

/// Raw access for the SIMD kernels.
impl PackedActs {
    pub(super) fn row_ptr(&self, r: usize) -> *const i8 {
        self.row(r).as_ptr()
    }

    pub(super) fn scales_of(&self, r: usize) -> &[f32] {
        &self.d[r * (self.k / self.block)..(r + 1) * (self.k / self.block)]
    }

    pub(super) fn sums_of(&self, r: usize) -> &[i32] {
        &self.sums[r * (self.k / self.group)..(r + 1) * (self.k / self.group)]
    }
}

#[cfg(test)]
#[path = "gemm_tests.rs"]
mod tests;
