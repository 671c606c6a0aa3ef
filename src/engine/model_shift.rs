//! Context shift (llama.cpp's `--context-shift`): when a conversation fills its cache, keep the
//! first `keep` positions, drop the `discard` after them, and move the rest down by `discard`
//! without a new prefill. Values just move; keys were rotated for their old positions, so each is
//! rotated back by `discard` positions with its layer's RoPE. RoPE angles are linear in the
//! position (theta = pos x c_i, under linear and YaRN scaling alike), so that is a rotation by
//! -discard x c_i: a pure rotation, without YaRN's magnitude factor, which the key already carries
//! once (llama.cpp's K-shift applies it again, and its keys grow at every shift).
use super::*;

impl Gemma3Model {
    /// Drops cache positions `keep..keep + discard` and moves the later ones down.
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
        let (from, to) = ((keep + discard) * w, cache.len * w);
        for (il, layer) in self.layers.iter().enumerate() {
            let (cos, sin) = shift_rotation(&layer.rope, discard, hd);
            let k = &mut cache.k[il];
            k.copy_within(from..to, keep * w);
            for head in k[keep * w..(cache.len - discard) * w].chunks_mut(hd) {
                apply_rope(head, &cos, &sin);
                // The cache holds f16-rounded keys, as llama.cpp's f16 cache does.
                head.iter_mut()
                    .for_each(|e| *e = half::f16::from_f32(*e).to_f32());
            }
            cache.v[il].copy_within(from..to, keep * w);
        }
        cache.len -= discard;
        Ok(())
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
