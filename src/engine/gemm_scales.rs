//! A K-quant matrix's block and group scales, decoded once when the model loads and laid out as
//! the prompt kernels' tiles want them. Decoding them for every tile of every product (six-bit
//! fields unpacked one by one, an f16 per block) was 13% of a batched decode step of four rows;
//! copying them costs a few instructions a block. Memory: 24 bytes a Q4_K block (of 144), 20 a
//! Q6_K block (of 210), 4 a Q5_0 block (of 22).
use super::gemm_pack::{PackKind, WeightTile, TILE};

pub struct TileScales {
    kind: PackKind,
    bpr: usize,
    /// `[tile][block][lane]`: the block scale of row `tile * 8 + lane`.
    d: Vec<f32>,
    /// The same for the block's min scale (Q4_K only).
    dmin: Vec<f32>,
    /// `[tile][group][lane]`: the integer group scales (Q4_K's six-bit, Q6_K's signed bytes).
    scales: Vec<i8>,
    /// The same for Q4_K's six-bit group mins.
    mins: Vec<i8>,
}

impl TileScales {
    /// Decodes the scales of `w` (`rows` rows of `bpr` blocks of `kind`) with the tiles' own
    /// decoder, so the values are the ones it would compute; `None` when the rows do not make
    /// whole tiles (such a matrix never goes through the tile kernels).
    pub fn new(kind: PackKind, w: &[u8], rows: usize, bpr: usize) -> Option<Self> {
        if !rows.is_multiple_of(TILE) || w.len() != rows * bpr * kind.block_bytes() {
            return None;
        }
        let (bb, gpb) = (kind.block_bytes(), kind.block() / kind.group());
        let tiles = rows / TILE;
        let mut me = Self {
            kind,
            bpr,
            d: Vec::with_capacity(tiles * bpr * TILE),
            dmin: Vec::new(),
            scales: Vec::new(),
            mins: Vec::new(),
        };
        let mut tile = WeightTile::default();
        tile.resize(kind, bpr * kind.block());
        for ti in 0..tiles {
            for r in 0..TILE {
                for b in 0..bpr {
                    let off = ((ti * TILE + r) * bpr + b) * bb;
                    tile.decode_scales(kind, &w[off..off + bb], b, r);
                }
            }
            me.d.extend_from_slice(&tile.d[..bpr * TILE]);
            if kind == PackKind::Q4K {
                me.dmin.extend_from_slice(&tile.dmin[..bpr * TILE]);
                me.mins
                    .extend(tile.mins[..bpr * gpb * TILE].iter().map(|&v| v as i8));
            }
            if kind != PackKind::Q5_0 {
                me.scales
                    .extend(tile.scales[..bpr * gpb * TILE].iter().map(|&v| v as i8));
            }
        }
        Some(me)
    }

    pub fn kind(&self) -> PackKind {
        self.kind
    }

    pub fn bytes(&self) -> usize {
        self.d.len() * 4 + self.dmin.len() * 4 + self.scales.len() + self.mins.len()
    }

    /// Puts tile `ti`'s scales into `t` (already sized for this matrix's rows).
    pub fn fill(&self, t: &mut WeightTile, ti: usize) {
        let (bpr, gpb) = (self.bpr, self.kind.block() / self.kind.group());
        let blocks = ti * bpr * TILE..(ti + 1) * bpr * TILE;
        t.d[..bpr * TILE].copy_from_slice(&self.d[blocks.clone()]);
        let groups = ti * bpr * gpb * TILE..(ti + 1) * bpr * gpb * TILE;
        if self.kind == PackKind::Q4K {
            t.dmin[..bpr * TILE].copy_from_slice(&self.dmin[blocks]);
            widen(&self.mins[groups.clone()], &mut t.mins);
        }
        if self.kind != PackKind::Q5_0 {
            widen(&self.scales[groups], &mut t.scales);
        }
    }
}

fn widen(src: &[i8], dst: &mut [i32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s as i32;
    }
}
