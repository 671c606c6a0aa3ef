//! One decode step for several conversations at once (the server's continuous batching): one
//! token from each, each after what its own cache holds. The matrix products run with one row per
//! conversation, so every weight is read once for all of them instead of once each; RoPE puts
//! each row at its own position and attention reads each row's own cache. The kernels sum each
//! row exactly as a one-token step does, so a conversation's logits do not depend on the batch.
use rayon::prelude::*;

use super::*;

impl Gemma3Model {
    /// Runs `tokens[i]` after what `caches[i]` holds, for every i; returns each one's logits.
    pub fn forward_batch(
        &self,
        tokens: &[u32],
        caches: &mut [&mut KvCache],
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        if tokens.is_empty() || tokens.len() != caches.len() {
            return Err(EngineError::Kernel(format!(
                "a batched step needs one token per cache ({} tokens, {} caches)",
                tokens.len(),
                caches.len()
            )));
        }
        if let Some(full) = caches.iter().find(|c| c.len + 1 > c.capacity) {
            return Err(EngineError::ContextFull(full.capacity));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab_size) {
            return Err(EngineError::BadToken(bad));
        }
        let kv_width = self.cfg.head_count_kv * self.cfg.head_dim;
        if caches.iter().any(|c| c.kv_width != kv_width) {
            return Err(EngineError::Kernel(
                "a cache in the batch belongs to another model".into(),
            ));
        }
        // The step's buffers are borrowed from the first cache, as a one-sequence step does.
        let mut s = std::mem::take(&mut caches[0].scratch);
        let out = self
            .pool
            .install(|| self.forward_batch_inner(tokens, caches, &mut s));
        caches[0].scratch = s;
        if out.is_ok() {
            caches.iter_mut().for_each(|c| c.len += 1);
        }
        out
    }

    fn forward_batch_inner(
        &self,
        tokens: &[u32],
        caches: &mut [&mut KvCache],
        s: &mut Scratch,
    ) -> Result<Vec<Vec<f32>>, EngineError> {
        let cfg = &self.cfg;
        let b = tokens.len();
        let (nh, nkv, hd, vd) = (
            cfg.head_count,
            cfg.head_count_kv,
            cfg.head_dim,
            cfg.value_dim,
        );
        let positions: Vec<usize> = caches.iter().map(|c| c.len).collect();
        let mut x = self.embed(tokens)?;
        let mut ropes = RopeTables::default();
        for (il, layer) in self.layers.iter().enumerate() {
            let rope = ropes.get(&layer.rope, &positions, hd);
            self.project_qkv(layer, &x, b, rope, s)?;
            for (i, cache) in caches.iter_mut().enumerate() {
                let (w, p) = (cache.kv_width, cache.len);
                cache.write(il, p, &s.k[i * w..(i + 1) * w], &s.v[i * w..(i + 1) * w]);
            }
            let window = layer.window(cfg);
            let q = &s.q;
            let attn = sized(&mut s.attn, b * nh * vd);
            attn.par_chunks_mut(nh * vd)
                .zip(caches.par_iter())
                .enumerate()
                .for_each(|(i, (dst, cache))| {
                    attention(
                        &q[i * nh * hd..(i + 1) * nh * hd],
                        cache.view(il),
                        &[0],
                        cache.len,
                        (nh, nkv, hd, vd),
                        window,
                        dst,
                    )
                });
            x = self.attn_output_and_ffn(layer, x, b, s)?;
        }
        let vocab = cfg.vocab_size;
        let mut logits = vec![0f32; b * vocab];
        self.logits(&x, b, &mut logits, &mut s.acts)?;
        Ok(logits.chunks(vocab).map(<[f32]>::to_vec).collect())
    }
}
