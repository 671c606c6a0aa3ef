//! Context shift (llama.cpp's `--context-shift`): when a conversation fills its cache, keep the
//! first `keep` positions, drop the `discard` after them, and move the rest down by `discard`
//! without a new prefill. Values just move; keys were rotated for their old positions, so each is
//! rotated back by `discard` positions with its layer's RoPE. RoPE angles are linear in the
//! position (theta = pos x c_i, under linear and YaRN scaling alike), so that is a rotation by
//! -discard x c_i: a pure rotation, without YaRN's magnitude factor, which the key already carries
//! once (llama.cpp's K-shift applies it again, and its keys grow at every shift).
use super::*;

impl Gemma3Model {
    /// Drops cache positions `keep..keep + discard` and moves the later ones down. On a
    /// sliding-window ring only the positions a step at the new length reaches are moved (the
    /// others were either overwritten already or fall out of the window); if that window reaches
    /// back into the kept positions and those are gone from the ring, nothing changes and the
    /// error says so.
    pub fn shift_cache(
        &self,
        cache: &mut KvCache,
        keep: usize,
        discard: usize,
    ) -> Result<(), EngineError> {
        if discard == 0 || keep + discard > cache.len {
            return Err(EngineError::Kernel(format!(
                "cannot drop positions {keep}..{} of a cache of {}",
                keep + discard,
                cache.len
            )));
        }
        let (w, hd) = (cache.kv_width, self.cfg.head_dim);
        let new_len = cache.len - discard;
        if !cache.can_shift(keep, discard) {
            return Err(EngineError::Kernel(format!(
                "context shift: after dropping {discard} positions the sliding window reaches \
                 back into the first {keep}, which its ring no longer holds"
            )));
        }
        let (from, to) = ((keep + discard) * w, cache.len * w);
        for (il, layer) in self.layers.iter().enumerate() {
            let (cos, sin) = shift_rotation(&layer.rope, discard, hd);
            let lc = &mut cache.layers[il];
            match lc.ring_window() {
                None => {
                    lc.k.copy_within(from..to, keep * w);
                    lc.v.copy_within(from..to, keep * w);
                    rotate_keys(&mut lc.k[keep * w..new_len * w], hd, &cos, &sin);
                }
                Some(window) => {
                    // Gathered into copies: a position's new slot may hold another one still to
                    // be moved.
                    let (mut k, mut v) = (lc.k.clone(), lc.v.clone());
                    for p in (new_len + 1).saturating_sub(window)..new_len {
                        let old = if p < keep { p } else { p + discard };
                        let (src, dst) = (lc.slot(old) * w, lc.slot(p) * w);
                        k[dst..dst + w].copy_from_slice(&lc.k[src..src + w]);
                        v[dst..dst + w].copy_from_slice(&lc.v[src..src + w]);
                        if p >= keep {
                            rotate_keys(&mut k[dst..dst + w], hd, &cos, &sin);
                        }
                    }
                    (lc.k, lc.v) = (k, v);
                }
            }
        }
        cache.shifted_to(new_len);
        Ok(())
    }
}

/// Rotates f16 keys (`hd` per head) by (cos, sin), rounding back to f16 as the cache stores them.
fn rotate_keys(bits: &mut [u16], hd: usize, cos: &[f32], sin: &[f32]) {
    let mut head = vec![0f32; hd];
    for chunk in bits.chunks_mut(hd) {
        head.iter_mut()
            .zip(chunk.iter())
            .for_each(|(h, &b)| *h = half::f16::from_bits(b).to_f32());
        apply_rope(&mut head, cos, sin);
        chunk
            .iter_mut()
            .zip(&head)
            .for_each(|(b, &h)| *b = half::f16::from_f32(h).to_bits());
    }
}

/// cos/sin of the rotation by `-discard` positions under `rope`, magnitude 1.
fn shift_rotation(rope: &RopeParams, discard: usize, hd: usize) -> (Vec<f32>, Vec<f32>) {
    let corr = rope.corr_dims(hd);
    (0..hd / 2)
        .map(|i| {
            let theta = -rope.theta(discard, i, hd, corr);
            (theta.cos() as f32, theta.sin() as f32)
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rope_scaling::{ModelRope, RopeScalingKind};

    /// A key rotated for position 300 and shifted by 100 is the key rotated for position 200, with
    /// YaRN's magnitude applied once, not twice.
    #[test]
    fn a_shift_is_the_rotation_to_the_new_position() {
        let hd = 16;
        let yarn = RopeScaling {
            scaling: Some(RopeScalingKind::Yarn),
            scale: Some(8.0),
            yarn_orig_ctx: Some(64),
            ..Default::default()
        }
        .resolve(&ModelRope {
            freq_base: 1e4,
            scaling: RopeScalingKind::Linear,
            freq_scale: 1.0,
            orig_ctx: 512,
            attn_factor: 1.0,
            n_dims: hd,
        });
        let corr = yarn.corr_dims(hd);
        let at = |pos: usize| -> (Vec<f32>, Vec<f32>) {
            (0..hd / 2)
                .map(|i| {
                    let (c, s) = yarn.angle(pos, i, hd, corr);
                    (c as f32, s as f32)
                })
                .unzip()
        };
        let key: Vec<f32> = (0..hd).map(|i| (i as f32 * 0.37).sin()).collect();
        let (c300, s300) = at(300);
        let mut shifted = key.clone();
        apply_rope(&mut shifted, &c300, &s300);
        let (c, s) = shift_rotation(&yarn, 100, hd);
        apply_rope(&mut shifted, &c, &s);
        let (c200, s200) = at(200);
        let mut direct = key;
        apply_rope(&mut direct, &c200, &s200);
        for (a, b) in shifted.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}
