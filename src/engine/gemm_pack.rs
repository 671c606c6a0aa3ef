//! The operands of `gemm`'s batched products, with no kernel of their own: the weight formats
//! (`PackKind`), the activation rows quantized once (`PackedActs`) and eight weight rows decoded
//! into interleaved unsigned bytes (`WeightTile`, its scalar decode and its scales). Both `gemm`
//! and its x86 kernels (`gemm_simd`) build on this file, which imports neither.
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
    #[inline]
    pub const fn block(self) -> usize {
        match self {
            Self::Q5_0 => 32,
            Self::Q4K | Self::Q6K => 256,
        }
    }

    /// Elements per group: one integer scale (and min) per weight row, one quant sum per
    /// activation row.
    #[inline]
    pub const fn group(self) -> usize {
        match self {
            Self::Q5_0 | Self::Q4K => 32,
            Self::Q6K => 16,
        }
    }

    /// What is subtracted from the unsigned weight bytes.
    #[inline]
    pub const fn offset(self) -> i32 {
        match self {
            Self::Q5_0 => 16,
            Self::Q4K => 0,
            Self::Q6K => 32,
        }
    }

    #[inline]
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

    #[inline]
    pub(crate) fn row(&self, r: usize) -> &[i8] {
        &self.qs[r * self.k..(r + 1) * self.k]
    }

    #[inline]
    pub(crate) fn scale(&self, r: usize, b: usize) -> f32 {
        self.d[r * (self.k / self.block) + b]
    }

    #[inline]
    pub(crate) fn sum(&self, r: usize, g: usize) -> i32 {
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
    pub(crate) fn resize(&mut self, kind: PackKind, k: usize) {
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
                    let (scale, min) = q4k_scale_min(sc, s);
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

/// Q4_K's 6-bit scale and min of group `s` (0..8), unpacked from the block's 12 scale bytes `sc`.
#[inline]
pub fn q4k_scale_min(sc: &[u8], s: usize) -> (u8, u8) {
    if s < 4 {
        (sc[s] & 63, sc[s + 4] & 63)
    } else {
        (
            (sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4),
            (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4),
        )
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

/// Raw access for the SIMD kernels.
impl PackedActs {
    #[inline]
    pub(crate) fn row_ptr(&self, r: usize) -> *const i8 {
        self.row(r).as_ptr()
    }

    #[inline]
    pub(crate) fn scales_of(&self, r: usize) -> &[f32] {
        &self.d[r * (self.k / self.block)..(r + 1) * (self.k / self.block)]
    }

    #[inline]
    pub(crate) fn sums_of(&self, r: usize) -> &[i32] {
        &self.sums[r * (self.k / self.group)..(r + 1) * (self.k / self.group)]
    }
}
