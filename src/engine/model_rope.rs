//! RoPE for the forward pass: NEOX rotation tables built once per step and (base, scale), and
//! the rotation itself.

/// One step's RoPE tables, one per (base, scale) the layers use.
#[derive(Default)]
pub(super) struct RopeTables(Vec<RopeTable>);

impl RopeTables {
    /// The table for a layer's (base, scale) at `positions` (row i at `positions[i]`).
    pub(super) fn get(&mut self, key: (f64, f64), positions: &[usize], hd: usize) -> &RopeTable {
        let i = match self.0.iter().position(|r| (r.base, r.scale) == key) {
            Some(i) => i,
            None => {
                self.0.push(RopeTable::new(positions, hd, key.0, key.1));
                self.0.len() - 1
            }
        };
        &self.0[i]
    }
}

/// cos/sin of the RoPE angles for one step's positions, built once per base instead of per layer.
pub(super) struct RopeTable {
    base: f64,
    scale: f64,
    half: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeTable {
    fn new(positions: &[usize], hd: usize, base: f64, scale: f64) -> Self {
        let m = positions.len();
        let (mut cos, mut sin) = (
            Vec::with_capacity(m * hd / 2),
            Vec::with_capacity(m * hd / 2),
        );
        for &pos in positions {
            let (c, s) = rope_table(pos, hd, base, scale);
            cos.extend(c);
            sin.extend(s);
        }
        Self {
            base,
            scale,
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

/// cos/sin of the NEOX rotation angles at `pos` for a head of `hd` dimensions.
fn rope_table(pos: usize, hd: usize, base: f64, scale: f64) -> (Vec<f32>, Vec<f32>) {
    let half = hd / 2;
    let mut cos = Vec::with_capacity(half);
    let mut sin = Vec::with_capacity(half);
    for i in 0..half {
        let theta = pos as f64 * scale * base.powf(-2.0 * i as f64 / hd as f64);
        cos.push(theta.cos() as f32);
        sin.push(theta.sin() as f32);
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
        let (c, s) = rope_table(0, 8, 10_000.0, 1.0);
        let mut v: Vec<f32> = (0..8).map(|i| i as f32).collect();
        apply_rope(&mut v, &c, &s);
        assert_eq!(v, (0..8).map(|i| i as f32).collect::<Vec<_>>());
    }
}
