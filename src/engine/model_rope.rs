//! RoPE for the forward pass: NEOX rotation tables built once per step and rotation (base and
//! scaling, see rope_scaling.rs), and the rotation itself.
use crate::engine::rope_scaling::RopeParams;

/// One step's RoPE tables, one per (base, scale) the layers use.
#[derive(Default)]
pub(super) struct RopeTables(Vec<RopeTable>);

impl RopeTables {
    /// The table for a layer's rotation at `positions` (row i at `positions[i]`).
    pub(super) fn get(&mut self, key: &RopeParams, positions: &[usize], hd: usize) -> &RopeTable {
        let i = match self.0.iter().position(|r| r.params == *key) {
            Some(i) => i,
            None => {
                self.0.push(RopeTable::new(positions, hd, key));
                self.0.len() - 1
            }
        };
        &self.0[i]
    }
}

/// cos/sin of the RoPE angles for one step's positions, built once per base instead of per layer.
pub(super) struct RopeTable {
    params: RopeParams,
    half: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeTable {
    fn new(positions: &[usize], hd: usize, params: &RopeParams) -> Self {
        let m = positions.len();
        let (mut cos, mut sin) = (
            Vec::with_capacity(m * hd / 2),
            Vec::with_capacity(m * hd / 2),
        );
        for &pos in positions {
            let (c, s) = rope_table(pos, hd, params);
            cos.extend(c);
            sin.extend(s);
        }
        Self {
            params: *params,
            half: hd / 2,
            cos,
            sin,
        }
    }

    pub(super) fn row(&self, i: usize) -> (&[f32], &[f32]) {
        let r = i * self.half..(i + 1) * self.half;
        (&self.cos[r.clone()], &self.sin[r])
    }
}

/// cos/sin of the NEOX rotation angles at `pos` for a head of `hd` dimensions (scaled by YaRN's
/// magnitude when it applies).
fn rope_table(pos: usize, hd: usize, params: &RopeParams) -> (Vec<f32>, Vec<f32>) {
    let half = hd / 2;
    let corr = params.corr_dims(hd);
    let mut cos = Vec::with_capacity(half);
    let mut sin = Vec::with_capacity(half);
    for i in 0..half {
        let (c, s) = params.angle(pos, i, hd, corr);
        cos.push(c as f32);
        sin.push(s as f32);
    }
    (cos, sin)
}

/// NEOX RoPE: element i rotates with element i + hd/2.
pub(super) fn apply_rope(head: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = head.len() / 2;
    for i in 0..half {
        let (a, b) = (head[i], head[i + half]);
        head[i] = a * cos[i] - b * sin[i];
        head[i + half] = a * sin[i] + b * cos[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_at_position_zero_is_identity() {
        let (c, s) = rope_table(0, 8, &RopeParams::plain(10_000.0));
        let mut v: Vec<f32> = (0..8).map(|i| i as f32).collect();
        apply_rope(&mut v, &c, &s);
        assert_eq!(v, (0..8).map(|i| i as f32).collect::<Vec<_>>());
    }
}
