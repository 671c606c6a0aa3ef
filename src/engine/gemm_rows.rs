//! A few activation rows against a K-quant matrix whose row count is not a multiple of the
//! tile (eight rows; every matrix of Gemma 3 270M is, so they take `gemm::matmul`): each weight
//! row is read from memory once and, still in the L1 cache, dotted with every activation row by
//! the one-row kernel, so each result is bit for bit a one-token step's.
use rayon::prelude::*;

use super::gemm::dot_row_blockwise;
use super::gemm_pack::{PackKind, PackedActs};

/// `out[r][j] = dot(x[r], w[j])`: `w` is `n x k` raw blocks of `kind`, `x` is `m x k` f32,
/// `out` is `m x n`; `acts` is the caller's buffer for the quantized activations.
pub fn matmul_rows(
    kind: PackKind,
    w: &[u8],
    k: usize,
    x: &[f32],
    m: usize,
    out: &mut [f32],
    acts: &mut PackedActs,
) {
    acts.pack(x, m, k, kind);
    let acts = &*acts;
    let row_bytes = k / kind.block() * kind.block_bytes();
    let n = w.len() / row_bytes;
    debug_assert_eq!(out.len(), m * n);
    // Weight-row major while computing (each task owns whole weight rows), then turned around.
    let mut transposed = vec![0f32; n * m];
    transposed
        .par_chunks_mut(m)
        .zip(w.par_chunks_exact(row_bytes))
        .with_min_len(16)
        .for_each(|(o, wrow)| {
            for (r, o) in o.iter_mut().enumerate() {
                *o = dot_row_blockwise(kind, wrow, acts, r);
            }
        });
    for (j, col) in transposed.chunks(m).enumerate() {
        for (r, &v) in col.iter().enumerate() {
            out[r * n + j] = v;
        }
    }
}
