//! Quantized weights as zero-copy views into the GGUF map, multiplied with candle's SIMD block kernels.
//!
//! candle's own `QMatMul` copies every tensor out of the file and, for a prompt of m tokens, streams
//! the whole weight matrix m times. Here a weight row is loaded once and dotted with every activation
//! row while it is hot in cache, and the activations are quantized once per call into the kernel's
//! dot-product type (Q8_0 or Q8_K), which is also what llama.cpp does. Prompts of four or more rows
//! take the batched kernels of `gemm` for Q5_0, Q4_K and Q6_K.
use std::sync::Arc;

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K,
    BlockQ8K, BlockQ8_0, GgmlType,
};
use half::f16;
use memmap2::Mmap;

use super::error::EngineError;
use super::gemm::{self, PackKind, PackedActs, TILE};
use super::gguf::GgufFile;

/// The ggml tensor types this engine multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QKind {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
}

impl QKind {
    pub fn from_ggml(t: u32) -> Option<Self> {
        Some(match t {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
        }
    }
}

/// Runs `$body` with `$T` bound to the block type of `$kind`.
macro_rules! with_block_type {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            QKind::F32 => {
                type $T = f32;
                $body
            }
            QKind::F16 => {
                type $T = f16;
                $body
            }
            QKind::Q4_0 => {
                type $T = BlockQ4_0;
                $body
            }
            QKind::Q4_1 => {
                type $T = BlockQ4_1;
                $body
            }
            QKind::Q5_0 => {
                type $T = BlockQ5_0;
                $body
            }
            QKind::Q5_1 => {
                type $T = BlockQ5_1;
                $body
            }
            QKind::Q8_0 => {
                type $T = BlockQ8_0;
                $body
            }
            QKind::Q2K => {
                type $T = BlockQ2K;
                $body
            }
            QKind::Q3K => {
                type $T = BlockQ3K;
                $body
            }
            QKind::Q4K => {
                type $T = BlockQ4K;
                $body
            }
            QKind::Q5K => {
                type $T = BlockQ5K;
                $body
            }
            QKind::Q6K => {
                type $T = BlockQ6K;
                $body
            }
            QKind::Q8K => {
                type $T = BlockQ8K;
                $body
            }
        }
    };
}

/// The prompt kernels' name for a quantization they take.
fn pack_kind(kind: QKind) -> Option<PackKind> {
    match kind {
        QKind::Q5_0 => Some(PackKind::Q5_0),
        QKind::Q4K => Some(PackKind::Q4K),
        QKind::Q6K => Some(PackKind::Q6K),
        _ => None,
    }
}

/// From this many activation rows on, a product goes through the batched kernels (`gemm`). Fewer
/// rows take per-row kernels that sum exactly as the batched ones do: a decode step must give a
/// prompt's numbers bit for bit, or a conversation continued from the cache drifts from the same
/// conversation prefilled at once (tests/engine_chat.rs).
const GEMM_MIN_ROWS: usize = 4;

/// A 2-D weight matrix `rows x cols` (row-major, each row one output feature) inside the mapped file.
pub struct QWeight {
    pub kind: QKind,
    pub rows: usize,
    pub cols: usize,
    map: Arc<Mmap>,
    offset: usize,
    byte_len: usize,
    /// The scales in the prompt kernels' tile order, for the matrices that take them.
    tile_scales: Option<gemm::TileScales>,
}

impl QWeight {
    /// Looks up `name`, checking its type, shape (`[cols, rows]` in ggml order; 1-D when rows is 1),
    /// bounds and alignment.
    pub fn load(
        gguf: &GgufFile,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Self, EngineError> {
        let info = gguf
            .tensors
            .get(name)
            .ok_or_else(|| EngineError::MissingTensor(name.to_string()))?;
        let kind = QKind::from_ggml(info.ggml_type).ok_or_else(|| {
            EngineError::UnsupportedQuantization {
                tensor: name.to_string(),
                ggml_type: format!("ggml type {}", info.ggml_type),
            }
        })?;
        let expected: Vec<u64> = if rows == 1 {
            vec![cols as u64]
        } else {
            vec![cols as u64, rows as u64]
        };
        let found: Vec<u64> = info
            .dims
            .iter()
            .copied()
            .rev()
            .skip_while(|d| *d == 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if found != expected {
            return Err(EngineError::BadShape {
                tensor: name.to_string(),
                found: info.dims.clone(),
                expected,
            });
        }
        let (block, size, align) = with_block_type!(kind, T => (T::BLCK_SIZE, std::mem::size_of::<T>(), std::mem::align_of::<T>()));
        if !cols.is_multiple_of(block) {
            return Err(EngineError::BadGguf(format!(
                "tensor {name}: row length {cols} is not a multiple of the {} block size {block}",
                kind.name()
            )));
        }
        let byte_len = rows * (cols / block) * size;
        let bytes = gguf.tensor_bytes(name, byte_len as u64)?;
        let offset = bytes.as_ptr() as usize - gguf.map.as_ptr() as usize;
        if !(bytes.as_ptr() as usize).is_multiple_of(align) {
            return Err(EngineError::BadGguf(format!(
                "tensor {name} is not aligned in the file"
            )));
        }
        let tile_scales = pack_kind(kind)
            .and_then(|pack| gemm::TileScales::new(pack, bytes, rows, cols / pack.block()));
        Ok(Self {
            kind,
            rows,
            cols,
            map: gguf.map.clone(),
            offset,
            byte_len,
            tile_scales,
        })
    }

    fn blocks<T>(&self) -> &[T] {
        let ptr = self.map[self.offset..self.offset + self.byte_len].as_ptr();
        // SAFETY: `load` checked bounds, alignment and that the length is a whole number of blocks;
        // the block types are plain `repr(C)` data valid for any bit pattern.
        unsafe {
            std::slice::from_raw_parts(ptr as *const T, self.byte_len / std::mem::size_of::<T>())
        }
    }

    pub fn size_in_bytes(&self) -> usize {
        self.byte_len
    }

    /// Dequantizes row `row` into `out` (length `cols`): the embedding lookup.
    pub fn row_to_f32(&self, row: usize, out: &mut [f32]) -> Result<(), EngineError> {
        if row >= self.rows {
            return Err(EngineError::BadToken(row as u32));
        }
        with_block_type!(self.kind, T => {
            let bpr = self.cols / T::BLCK_SIZE;
            T::to_float(&self.blocks::<T>()[row * bpr..(row + 1) * bpr], &mut out[..self.cols])?;
        });
        Ok(())
    }

    /// All values as f32 (for the small norm vectors).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>, EngineError> {
        let mut out = vec![0f32; self.rows * self.cols];
        with_block_type!(self.kind, T => T::to_float(self.blocks::<T>(), &mut out)?);
        Ok(out)
    }

    /// `out[r][j] = dot(x[r], w[j])` for `m` activation rows: `x` is `m x cols`, `out` is `m x rows`.
    /// `acts` holds the quantized activations of a prompt's batched product (reused across calls).
    pub fn matmul(
        &self,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        acts: &mut PackedActs,
    ) -> Result<(), EngineError> {
        debug_assert_eq!(x.len(), m * self.cols);
        debug_assert_eq!(out.len(), m * self.rows);
        let k = self.cols;
        // A prompt: the batched kernels decode each tile of weight rows once for all the rows.
        // The K-quants take them for a decode step too: with their scales decoded at load,
        // decoding a tile's quants and one `vpdpbusd` per four columns of eight rows runs at
        // about twice the one-row kernel's speed (`decode_speed_of_the_one_row_and_tile_kernels`),
        // with the same bits. Q5_0 has its own eight-row decode kernel (`q5_0_rows`).
        let batched = pack_kind(self.kind);
        if let Some(kind) = batched.filter(|&k| {
            (m >= GEMM_MIN_ROWS || k != PackKind::Q5_0) && self.rows.is_multiple_of(TILE)
        }) {
            let w = &self.map[self.offset..self.offset + self.byte_len];
            gemm::matmul(
                kind,
                w,
                self.rows,
                k,
                x,
                m,
                out,
                acts,
                self.tile_scales.as_ref(),
            );
            return Ok(());
        }
        if let Some(kind) = batched.filter(|&k| k != PackKind::Q5_0 && m > 1) {
            let w = &self.map[self.offset..self.offset + self.byte_len];
            super::gemm_rows::matmul_rows(kind, w, k, x, m, out, acts);
            return Ok(());
        }
        if let Some(kind) = batched.filter(|&k| k != PackKind::Q5_0) {
            let w = &self.map[self.offset..self.offset + self.byte_len];
            for r in 0..m {
                let (xr, or) = (
                    &x[r * k..(r + 1) * k],
                    &mut out[r * self.rows..(r + 1) * self.rows],
                );
                gemm::matvec_blockwise(kind, w, k, xr, or, acts);
            }
            return Ok(());
        }
        if self.kind == QKind::Q8_0 && super::q8_0_vnni::available() {
            let xq = quantize_rows_q8_0(x, k);
            super::q8_0_vnni::matmul(self.blocks(), self.rows, k, &xq, m, out);
            return Ok(());
        }
        if self.kind == QKind::Q8_0 {
            return matmul_blocks::<BlockQ8_0>(
                self.blocks(),
                self.rows,
                k,
                x,
                m,
                out,
                super::kernels::dot_q8_0_q8_0,
                Some(super::kernels::dot4_q8_0_q8_0),
            );
        }
        if self.kind == QKind::Q5_0 {
            let xq = quantize_rows_q8_0(x, k);
            let bpr = k / BlockQ8_0::BLCK_SIZE;
            super::q5_0_rows::matmul(self.blocks(), self.rows, bpr, &xq, m, out);
            return Ok(());
        }
        with_block_type!(self.kind, T => matmul_blocks::<T>(
            self.blocks::<T>(),
            self.rows,
            k,
            x,
            m,
            out,
            |w: &[T], xq: &[<T as GgmlType>::VecDotType]| T::vec_dot(k, w, xq).unwrap_or(f32::NAN),
            None,
        ))
    }
}

/// The rows of `x` (`k` values each) quantized to Q8_0 as ggml does.
fn quantize_rows_q8_0(x: &[f32], k: usize) -> Vec<BlockQ8_0> {
    let bpr = k / BlockQ8_0::BLCK_SIZE;
    let mut xq = vec![BlockQ8_0::zeros(); x.len() / k * bpr];
    for (src, dst) in x.chunks_exact(k).zip(xq.chunks_exact_mut(bpr)) {
        quantize_q8_0(src, dst);
    }
    xq
}

/// A kernel that dots one weight row with four activation rows at once.
type Dot4<T> = fn(&[T], [&[<T as GgmlType>::VecDotType]; 4]) -> [f32; 4];

#[allow(clippy::too_many_arguments)] // the kernels travel with the operands they multiply
fn matmul_blocks<T: GgmlType>(
    w: &[T],
    n: usize,
    k: usize,
    x: &[f32],
    m: usize,
    out: &mut [f32],
    dot: impl Fn(&[T], &[T::VecDotType]) -> f32 + Sync,
    dot4: Option<Dot4<T>>,
) -> Result<(), EngineError> {
    let bpr = k / T::BLCK_SIZE;
    let xbpr = k.div_ceil(T::VecDotType::BLCK_SIZE);
    let mut xq = vec![T::VecDotType::zeros(); m * xbpr];
    for r in 0..m {
        let (src, dst) = (&x[r * k..(r + 1) * k], &mut xq[r * xbpr..(r + 1) * xbpr]);
        if T::VecDotType::DTYPE == candle_core::quantized::GgmlDType::Q8K {
            // SAFETY: the dtype says VecDotType is BlockQ8K.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut BlockQ8K, dst.len())
            };
            quantize_q8k(src, dst);
        } else if T::VecDotType::DTYPE == candle_core::quantized::GgmlDType::Q8_0 {
            // SAFETY: the dtype says VecDotType is BlockQ8_0.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut BlockQ8_0, dst.len())
            };
            quantize_q8_0(src, dst);
        } else {
            T::VecDotType::from_float(src, dst)?;
        }
    }
    super::par_columns::par_columns(out, n, |j, put| {
        let wrow = &w[j * bpr..(j + 1) * bpr];
        let xrow = |r: usize| &xq[r * xbpr..(r + 1) * xbpr];
        let mut r = 0;
        if let Some(dot4) = dot4 {
            while r + 4 <= m {
                let v = dot4(wrow, [xrow(r), xrow(r + 1), xrow(r + 2), xrow(r + 3)]);
                for (i, v) in v.into_iter().enumerate() {
                    put(r + i, v);
                }
                r += 4;
            }
        }
        for r in r..m {
            put(r, dot(wrow, xrow(r)));
        }
    });
    Ok(())
}

/// ggml's current `quantize_row_q8_K`: scale -127/max and round half to even. candle 0.8 still uses
/// the old -128/max; this model amplifies such rounding differences into logit shifts of 0.1-0.5, so
/// we quantize exactly as llama.cpp does.
fn quantize_q8k(xs: &[f32], ys: &mut [BlockQ8K]) {
    const QK_K: usize = 256;
    const _: () = assert!(std::mem::size_of::<BlockQ8K>() == 4 + QK_K + 2 * (QK_K / 16));
    for (i, y) in ys.iter_mut().enumerate() {
        let xs = &xs[i * QK_K..(i + 1) * QK_K];
        let (mut max, mut amax) = (0f32, 0f32);
        for &x in xs {
            if x.abs() > amax {
                amax = x.abs();
                max = x;
            }
        }
        let mut qs = [0i8; QK_K];
        let mut bsums = [0i16; QK_K / 16];
        let mut d = 0f32;
        if amax != 0.0 {
            let iscale = -127.0 / max;
            for (q, &x) in qs.iter_mut().zip(xs) {
                *q = (iscale * x).round_ties_even().min(127.0) as i8;
            }
            for (j, b) in bsums.iter_mut().enumerate() {
                *b = qs[j * 16..(j + 1) * 16].iter().map(|&q| q as i16).sum();
            }
            d = 1.0 / iscale;
        }
        // SAFETY: BlockQ8K is repr(C) { d: f32, qs: [i8; 256], bsums: [i16; 16] } (size asserted
        // above); its fields are private to candle, so they are written through their offsets.
        unsafe {
            let base = y as *mut BlockQ8K as *mut u8;
            std::ptr::write_unaligned(base as *mut f32, d);
            std::ptr::copy_nonoverlapping(qs.as_ptr() as *const u8, base.add(4), QK_K);
            std::ptr::copy_nonoverlapping(
                bsums.as_ptr() as *const u8,
                base.add(4 + QK_K),
                2 * (QK_K / 16),
            );
        }
    }
}

/// ggml's `quantize_row_q8_0` as its x86 SIMD path computes it: `id = 127 / amax` and round half
/// to even. candle computes `1 / (amax / 127)` and rounds half away from zero; the last-bit
/// differences flip int8 roundings that this model then amplifies.
fn quantize_q8_0(xs: &[f32], ys: &mut [BlockQ8_0]) {
    const QK: usize = 32;
    const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 2 + QK);
    for (i, y) in ys.iter_mut().enumerate() {
        let xs = &xs[i * QK..(i + 1) * QK];
        let amax = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
        let d = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let mut qs = [0i8; QK];
        for (q, &x) in qs.iter_mut().zip(xs) {
            *q = (x * id).round_ties_even() as i8;
        }
        // SAFETY: BlockQ8_0 is repr(C) { d: f16, qs: [i8; 32] } (size asserted above).
        unsafe {
            let base = y as *mut BlockQ8_0 as *mut u8;
            let bits = f16::from_f32(d).to_bits().to_le_bytes();
            std::ptr::copy_nonoverlapping(bits.as_ptr(), base, 2);
            std::ptr::copy_nonoverlapping(qs.as_ptr() as *const u8, base.add(2), QK);
        }
    }
}
