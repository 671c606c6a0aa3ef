//! Attention in tiles with a running softmax (flash attention's schedule on the CPU).
//!
//! A long prompt's rows all read the same keys, so rows are taken eight at a time and each block
//! of 64 keys and values is used by all eight while it is in cache, instead of every row streaming
//! the whole cache. Scores never exist beyond one block: a running maximum, sum and unnormalised
//! output per query head carry the softmax across blocks.
//!
//! Every row's arithmetic depends only on its position, never on the tile or thread it ran in:
//! blocks are aligned to positions, and each row's keys are cut at fixed 1024-position spans whose
//! partial results are merged in order. So one decode step gives the same bits as the same row in
//! a prefill or a batched verify (the drafting and cache tests rely on it), and a single decode
//! row can still spread its spans over the threads.
#![cfg(target_arch = "x86_64")]

use super::attention_simd::{scores4, softmax_block4, weighted_values4, Ring};
use rayon::prelude::*;

/// Keys per running-softmax update; positions `b * BLOCK..(b + 1) * BLOCK`.
const BLOCK: usize = 64;
/// Keys per partial result; spans are merged in order, so a row's result never depends on
/// whether its spans ran on one thread or several.
const SPAN: usize = 1024;
/// Query rows that share each block while it is in cache.
const TILE_ROWS: usize = 8;

/// The cache and shape one call attends over.
#[derive(Clone, Copy)]
pub struct Layout<'a> {
    pub k: &'a [u16],
    pub v: &'a [u16],
    pub slots: usize,
    pub p0: usize,
    pub window: usize,
    /// Query heads, KV heads, key and value dimensions.
    pub dims: (usize, usize, usize, usize),
}

impl Layout<'_> {
    /// The positions row `row` attends to.
    fn keys_of(&self, row: usize) -> (usize, usize) {
        let pos = self.p0 + row;
        let start = (pos + 1).saturating_sub(self.window);
        assert!(
            pos + 1 - start <= self.slots,
            "attention reaches past the cache's slots"
        );
        (start, pos)
    }
}

/// Running softmax state of a tile's query heads: `[row][head]` maxima and sums, and
/// `[row][head][vd]` unnormalised outputs.
#[derive(Clone)]
struct Partial {
    m: Vec<f32>,
    l: Vec<f32>,
    o: Vec<f32>,
}

impl Partial {
    fn empty(heads: usize, vd: usize) -> Self {
        Partial {
            m: vec![f32::NEG_INFINITY; heads],
            l: vec![0.0; heads],
            o: vec![0.0; heads * vd],
        }
    }

    fn clear(&mut self) {
        self.m.fill(f32::NEG_INFINITY);
        self.l.fill(0.0);
        self.o.fill(0.0);
    }

    /// Folds `other` (a later span of the same heads) into `self`.
    fn merge(&mut self, other: &Partial, vd: usize) {
        for h in 0..self.m.len() {
            let max = self.m[h].max(other.m[h]);
            if max == f32::NEG_INFINITY {
                continue;
            }
            let (a, b) = ((self.m[h] - max).exp(), (other.m[h] - max).exp());
            self.l[h] = self.l[h] * a + other.l[h] * b;
            self.m[h] = max;
            let (dst, src) = (
                &mut self.o[h * vd..(h + 1) * vd],
                &other.o[h * vd..(h + 1) * vd],
            );
            dst.iter_mut()
                .zip(src)
                .for_each(|(d, s)| *d = *d * a + s * b);
        }
    }

    /// The normalised outputs, `[row][head][vd]`.
    fn write(&self, out: &mut [f32], vd: usize) {
        for (h, dst) in out.chunks_mut(vd).enumerate() {
            let inv = 1.0 / self.l[h];
            let src = &self.o[h * vd..(h + 1) * vd];
            dst.iter_mut().zip(src).for_each(|(d, s)| *d = s * inv);
        }
    }
}

/// Attention of query `rows` (indices into the step, `q` is `[row][head][hd]`, scaled) into
/// `out` (`[rows index][head][vd]`). Needs `simd::usable()`, a multiple of four query heads per
/// KV head, `hd % 8 == 0` and `vd % 16 == 0`.
pub fn attention(q: &[f32], at: Layout<'_>, rows: &[usize], out: &mut [f32]) {
    let (nh, nkv, hd, vd) = at.dims;
    assert!(at.k.len() >= at.slots * nkv * hd && at.v.len() >= at.slots * nkv * vd);
    assert!(out.len() >= rows.len() * nh * vd);
    let tiles: Vec<&[usize]> = rows.chunks(TILE_ROWS).collect();
    let spans_of = |tile: &[usize]| {
        let lo = tile.iter().map(|&r| at.keys_of(r).0).min().unwrap_or(0);
        let hi = tile.iter().map(|&r| at.keys_of(r).1).max().unwrap_or(0);
        lo / SPAN..=hi / SPAN
    };
    let threads = rayon::current_num_threads();
    if tiles.len() >= threads {
        // Enough tiles to keep every thread busy: each runs its tile's spans in order.
        out.par_chunks_mut(TILE_ROWS * nh * vd)
            .zip(tiles.par_iter())
            .for_each_init(Vec::new, |scores, (dst, tile)| {
                let mut total = Partial::empty(tile.len() * nh, vd);
                let mut part = total.clone();
                for span in spans_of(tile) {
                    part.clear();
                    attend_span(q, at, tile, span, scores, &mut part);
                    total.merge(&part, vd);
                }
                total.write(dst, vd);
            });
        return;
    }
    // A decode step or a short verify: the spans of each tile in parallel, merged in order.
    let units: Vec<(usize, usize)> = tiles
        .iter()
        .enumerate()
        .flat_map(|(t, tile)| spans_of(tile).map(move |s| (t, s)))
        .collect();
    let parts: Vec<Partial> = units
        .par_iter()
        .map_init(Vec::new, |scores, &(t, span)| {
            let mut part = Partial::empty(tiles[t].len() * nh, vd);
            attend_span(q, at, tiles[t], span, scores, &mut part);
            part
        })
        .collect();
    for (t, dst) in out
        .chunks_mut(TILE_ROWS * nh * vd)
        .enumerate()
        .take(tiles.len())
    {
        let mut total = Partial::empty(tiles[t].len() * nh, vd);
        for (_, part) in units.iter().zip(&parts).filter(|((u, _), _)| *u == t) {
            total.merge(part, vd);
        }
        total.write(dst, vd);
    }
}

/// The running softmax of `tile`'s rows over the keys of `span`, block by block, into `part`.
fn attend_span(
    q: &[f32],
    at: Layout<'_>,
    tile: &[usize],
    span: usize,
    scores: &mut Vec<f32>,
    part: &mut Partial,
) {
    let (nh, nkv, hd, vd) = at.dims;
    let group = nh / nkv;
    scores.resize(4 * BLOCK, 0.0);
    let ring = |cache: &[u16], kvh: usize, dim: usize, first: usize| Ring {
        base: cache[kvh * dim..].as_ptr(),
        stride: nkv * dim,
        first: first % at.slots,
        slots: at.slots,
    };
    let ranges: Vec<(usize, usize)> = tile.iter().map(|&r| at.keys_of(r)).collect();
    for h0 in (0..nh).step_by(4) {
        let kvh = h0 / group;
        for b0 in (span * SPAN..(span + 1) * SPAN).step_by(BLOCK) {
            // Each row's share of this block; the block stays in cache across the rows.
            for (t, (&row, &(start, pos))) in tile.iter().zip(&ranges).enumerate() {
                let (a, b) = (b0.max(start), (b0 + BLOCK - 1).min(pos));
                if a > b {
                    continue;
                }
                let nk = b - a + 1;
                let qs = |i: usize| q[(row * nh + h0 + i) * hd..].as_ptr();
                let (k, v) = (ring(at.k, kvh, hd, a), ring(at.v, kvh, vd, a));
                let head = t * nh + h0;
                // SAFETY: `simd::usable()` was checked by the caller; the rings stay inside
                // their caches (slots x stride values, asserted in `attention`; a row's keys
                // span at most `slots` positions, asserted in `keys_of`), `scores` holds four
                // rows of BLOCK >= nk, and `part.o` four heads of vd outputs from `head`.
                unsafe {
                    scores4(
                        [qs(0), qs(1), qs(2), qs(3)],
                        &k,
                        nk,
                        hd,
                        scores.as_mut_ptr(),
                    );
                    let scale = softmax_block4(
                        scores,
                        nk,
                        &mut part.m[head..head + 4],
                        &mut part.l[head..head + 4],
                    );
                    let dst = part.o[head * vd..].as_mut_ptr();
                    weighted_values4(scores.as_ptr(), nk, &v, vd, dst, scale);
                }
            }
        }
    }
}
