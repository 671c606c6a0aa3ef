//! The Gemma 3 forward pass, after llama.cpp's `src/models/gemma3.cpp`.
//!
//! Per layer: RMS norm, Q/K/V projections, per-head RMS norms on Q and K, NEOX RoPE (base 1e6 on the
//! global layers, 1e4 on the sliding-window ones), grouped-query attention over the KV cache (a window
//! of 512 positions on sliding layers), the output projection, a post-attention norm and residual, then
//! a GELU(tanh)-gated FFN between a pre- and a post-norm and a second residual. The matrices stay
//! quantized in the mapped file; activations are f32 and small, so the glue is plain Rust over slices.
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::attention::attention;
use super::config::Gemma3Config;
use super::error::EngineError;
use super::gemm::PackedActs;
use super::gguf::GgufFile;
pub use super::kv_cache::KvCache;
use super::kv_cache::MAX_STEP_ROWS;
use super::quant::QWeight;
use super::rope_scaling::{RopeParams, RopeScaling};
use super::scratch::Scratch;

struct Layer {
    attn_norm: Vec<f32>,
    wq: QWeight,
    wk: QWeight,
    wv: QWeight,
    wo: QWeight,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    post_attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    gate: QWeight,
    up: QWeight,
    down: QWeight,
    post_ffn_norm: Vec<f32>,
    sliding: bool,
    /// The rotation: plain with the local base on sliding layers, the user's scaling on global ones.
    rope: RopeParams,
}

impl Layer {
    /// How far back this layer's attention looks.
    fn window(&self, cfg: &Gemma3Config) -> usize {
        if self.sliding {
            cfg.sliding_window
        } else {
            usize::MAX
        }
    }
}

pub struct Gemma3Model {
    pub cfg: Gemma3Config,
    embed: QWeight,
    /// `None` when the output head is tied to the token embedding (as in every Gemma 3).
    output: Option<QWeight>,
    output_norm: Vec<f32>,
    layers: Vec<Layer>,
    pool: Arc<rayon::ThreadPool>,
    weight_bytes: usize,
}

impl Gemma3Model {
    pub fn load(gguf: &GgufFile, threads: usize) -> Result<Self, EngineError> {
        Self::load_with_rope(gguf, threads, &RopeScaling::default())
    }

    /// Loads the model with `rope` over the file's RoPE settings on the global layers.
    pub fn load_with_rope(
        gguf: &GgufFile,
        threads: usize,
        rope: &RopeScaling,
    ) -> Result<Self, EngineError> {
        let cfg = Gemma3Config::from_gguf(gguf)?;
        rope.validate().map_err(EngineError::Kernel)?;
        let global_rope = rope.resolve(&cfg.rope);
        let d = cfg.embedding_length;
        let (hd, nh, nkv, ff) = (
            cfg.head_dim,
            cfg.head_count,
            cfg.head_count_kv,
            cfg.feed_forward_length,
        );
        let norm = |name: &str, len: usize| QWeight::load(gguf, name, 1, len)?.to_f32_vec();
        let mut weight_bytes = 0;
        let mut mat = |name: &str, rows: usize, cols: usize| {
            let w = QWeight::load(gguf, name, rows, cols)?;
            weight_bytes += w.size_in_bytes();
            Ok::<_, EngineError>(w)
        };
        let embed = mat("token_embd.weight", cfg.vocab_size, d)?;
        let output = if gguf.tensors.contains_key("output.weight") {
            Some(mat("output.weight", cfg.vocab_size, d)?)
        } else {
            None
        };
        let mut layers = Vec::with_capacity(cfg.block_count);
        for il in 0..cfg.block_count {
            let n = |s: &str| format!("blk.{il}.{s}.weight");
            let sliding = cfg.is_sliding(il);
            layers.push(Layer {
                attn_norm: norm(&n("attn_norm"), d)?,
                wq: mat(&n("attn_q"), nh * hd, d)?,
                wk: mat(&n("attn_k"), nkv * hd, d)?,
                wv: mat(&n("attn_v"), nkv * cfg.value_dim, d)?,
                wo: mat(&n("attn_output"), d, nh * cfg.value_dim)?,
                q_norm: norm(&n("attn_q_norm"), hd)?,
                k_norm: norm(&n("attn_k_norm"), hd)?,
                post_attn_norm: norm(&n("post_attention_norm"), d)?,
                ffn_norm: norm(&n("ffn_norm"), d)?,
                gate: mat(&n("ffn_gate"), ff, d)?,
                up: mat(&n("ffn_up"), ff, d)?,
                down: mat(&n("ffn_down"), d, ff)?,
                post_ffn_norm: norm(&n("post_ffw_norm"), d)?,
                sliding,
                rope: if sliding {
                    RopeParams::plain(cfg.rope_base_local)
                } else {
                    global_rope
                },
            });
        }
        let output_norm = norm("output_norm.weight", d)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("gemma-forward-{i}"))
            .build()
            .map_err(|e| EngineError::Kernel(format!("cannot start worker threads: {e}")))?;
        Ok(Self {
            cfg,
            embed,
            output,
            output_norm,
            layers,
            pool: Arc::new(pool),
            weight_bytes,
        })
    }

    pub fn load_path(path: &Path, threads: usize) -> Result<Self, EngineError> {
        Self::load(&GgufFile::open(path)?, threads)
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    /// The weight bytes one decode step reads: every layer's matrices and norms, the final norm
    /// and the output head. The token embedding counts only as the head (a tied model reads all
    /// of it there; its lookup reads one row, which is left out, as is an untied model's table).
    /// The KV cache is not counted: it depends on the context, not on the model.
    pub fn decode_bytes_per_step(&self) -> u64 {
        let f32s = |v: &[f32]| std::mem::size_of_val(v);
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down]
                    .iter()
                    .map(|w| w.size_in_bytes())
                    .sum::<usize>()
                    + [
                        &l.attn_norm,
                        &l.q_norm,
                        &l.k_norm,
                        &l.post_attn_norm,
                        &l.ffn_norm,
                        &l.post_ffn_norm,
                    ]
                    .iter()
                    .map(|n| f32s(n))
                    .sum::<usize>()
            })
            .sum();
        let head = self.output.as_ref().unwrap_or(&self.embed).size_in_bytes();
        (layers + head + f32s(&self.output_norm)) as u64
    }

    /// A cache for up to `capacity` positions (clamped to the model's context length): every
    /// position on the global layers, a ring of the window plus one micro-batch on the sliding
    /// ones (see `kv_cache`). Its memory is reserved but untouched pages cost nothing until the
    /// conversation reaches them.
    pub fn new_cache(&self, capacity: usize) -> KvCache {
        self.cache_with(capacity, true)
    }

    /// A cache that keeps every position on every layer, as before the sliding layers had rings:
    /// the same results with more memory (tests compare the two; `bench` reports both sizes).
    pub fn new_cache_without_rings(&self, capacity: usize) -> KvCache {
        self.cache_with(capacity, false)
    }

    fn cache_with(&self, capacity: usize, rings: bool) -> KvCache {
        let capacity = capacity.clamp(1, self.cfg.context_length.max(1));
        let windows: Vec<usize> = self.layers.iter().map(|l| l.window(&self.cfg)).collect();
        let kv_width = self.cfg.head_count_kv * self.cfg.head_dim;
        KvCache::new(&windows, capacity, kv_width, rings)
    }

    /// Runs `tokens` after what the cache holds and returns the logits of the last one.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>, EngineError> {
        if tokens.is_empty() {
            return Err(EngineError::Kernel("forward called with no tokens".into()));
        }
        if cache.len + tokens.len() > cache.capacity {
            return Err(EngineError::ContextFull(cache.capacity));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab_size) {
            return Err(EngineError::BadToken(bad));
        }
        self.pool.install(|| self.forward_inner(tokens, cache))
    }

    fn forward_inner(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>, EngineError> {
        // Only the last position's logits are wanted; a long input runs in micro-batches (the
        // sliding layers' rings hold one micro-batch beyond their window).
        let mut x = Vec::new();
        for slice in tokens.chunks(MAX_STEP_ROWS) {
            x = self.hidden_states(slice, cache, slice.len() - 1)?;
        }
        let mut logits = vec![0f32; self.cfg.vocab_size];
        self.logits(&x, 1, &mut logits, &mut cache.scratch.acts)?;
        Ok(logits)
    }

    /// Runs `tokens` (at least one) after what the cache holds and returns the final hidden states
    /// (before the output norm) of the rows from `keep_from` on. After the last layer's attention,
    /// which needs every position, the rest of the work is done for those rows alone. At most
    /// `MAX_STEP_ROWS` tokens.
    fn hidden_states(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        keep_from: usize,
    ) -> Result<Vec<f32>, EngineError> {
        let cfg = &self.cfg;
        let m = tokens.len();
        if m > MAX_STEP_ROWS {
            return Err(EngineError::Kernel(format!(
                "one pass takes at most {MAX_STEP_ROWS} tokens, not {m}"
            )));
        }
        let p0 = cache.len;
        let mut x = self.embed(tokens)?;
        let n_layers = self.layers.len();
        let positions: Vec<usize> = (p0..p0 + m).collect();
        let mut ropes = RopeTables::default();
        for (il, layer) in self.layers.iter().enumerate() {
            let keep = if il == n_layers - 1 { keep_from } else { 0 };
            let rope = ropes.get(&layer.rope, &positions, cfg.head_dim);
            x = self.layer_forward(layer, il, x, m, p0, cache, keep, rope)?;
        }
        cache.len = p0 + m;
        Ok(x)
    }

    /// The output head over `rows` final hidden states: `logits` gets `rows x vocab`.
    fn logits(
        &self,
        x: &[f32],
        rows: usize,
        logits: &mut [f32],
        acts: &mut PackedActs,
    ) -> Result<(), EngineError> {
        let cfg = &self.cfg;
        let d = cfg.embedding_length;
        let mut h = vec![0f32; rows * d];
        h.chunks_mut(d)
            .zip(x.chunks(d))
            .for_each(|(h, x)| rms_norm(x, &self.output_norm, cfg.rms_eps, h));
        let head = self.output.as_ref().unwrap_or(&self.embed);
        head.matmul(&h, rows, logits, acts)?;
        if let Some(cap) = cfg.final_logit_softcap {
            logits.iter_mut().for_each(|l| *l = (*l / cap).tanh() * cap);
        }
        Ok(())
    }

    /// The scaled token embeddings of `tokens`, one row each.
    fn embed(&self, tokens: &[u32]) -> Result<Vec<f32>, EngineError> {
        let d = self.cfg.embedding_length;
        let mut x = vec![0f32; tokens.len() * d];
        let scale = (d as f32).sqrt();
        for (i, &t) in tokens.iter().enumerate() {
            let row = &mut x[i * d..(i + 1) * d];
            self.embed.row_to_f32(t as usize, row)?;
            row.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(x)
    }

    #[allow(clippy::too_many_arguments)]
    fn layer_forward(
        &self,
        layer: &Layer,
        il: usize,
        x: Vec<f32>,
        m: usize,
        p0: usize,
        cache: &mut KvCache,
        keep_from: usize,
        rope: &RopeTable,
    ) -> Result<Vec<f32>, EngineError> {
        // The step's buffers live with the cache, so a prompt does not allocate (and fault in)
        // fresh megabytes for every layer.
        let mut s = std::mem::take(&mut cache.scratch);
        let out = self.layer_forward_with(layer, il, x, m, p0, cache, keep_from, rope, &mut s);
        cache.scratch = s;
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn layer_forward_with(
        &self,
        layer: &Layer,
        il: usize,
        x: Vec<f32>,
        m: usize,
        p0: usize,
        cache: &mut KvCache,
        keep_from: usize,
        rope: &RopeTable,
        s: &mut Scratch,
    ) -> Result<Vec<f32>, EngineError> {
        self.project_qkv(layer, &x, m, rope, s)?;
        let cfg = &self.cfg;
        let (nh, nkv, hd, vd) = (
            cfg.head_count,
            cfg.head_count_kv,
            cfg.head_dim,
            cfg.value_dim,
        );
        cache.write(il, p0, &s.k, &s.v);
        let rows: Vec<usize> = (keep_from..m).collect();
        let mr = rows.len();
        let attn = sized(&mut s.attn, mr * nh * vd);
        attention(
            &s.q,
            cache.view(il),
            &rows,
            p0,
            (nh, nkv, hd, vd),
            layer.window(cfg),
            attn,
        );
        // The residual stream, restricted to the rows still needed.
        let resid: Vec<f32> = if keep_from > 0 {
            x[keep_from * cfg.embedding_length..].to_vec()
        } else {
            x
        };
        self.attn_output_and_ffn(layer, resid, mr, s)
    }

    /// The layer's first half for `m` rows of `x`: the attention norm, Q/K/V projections, the Q/K
    /// norms and RoPE (row `i` at the position `rope` has for it), into `s.q`, `s.k`, `s.v` (the
    /// cache rounds K and V to f16 as it stores them).
    fn project_qkv(
        &self,
        layer: &Layer,
        x: &[f32],
        m: usize,
        rope: &RopeTable,
        s: &mut Scratch,
    ) -> Result<(), EngineError> {
        let cfg = &self.cfg;
        let (d, hd, nh, nkv) = (
            cfg.embedding_length,
            cfg.head_dim,
            cfg.head_count,
            cfg.head_count_kv,
        );
        let (vd, eps) = (cfg.value_dim, cfg.rms_eps);
        let h = sized(&mut s.h, m * d);
        h.par_chunks_mut(d)
            .zip(x.par_chunks(d))
            .for_each(|(h, x)| rms_norm(x, &layer.attn_norm, eps, h));
        let (q, k, v) = (
            sized(&mut s.q, m * nh * hd),
            sized(&mut s.k, m * nkv * hd),
            sized(&mut s.v, m * nkv * vd),
        );
        layer.wq.matmul(h, m, q, &mut s.acts)?;
        layer.wk.matmul(h, m, k, &mut s.acts)?;
        layer.wv.matmul(h, m, v, &mut s.acts)?;
        q.par_chunks_mut(nh * hd)
            .zip(k.par_chunks_mut(nkv * hd))
            .enumerate()
            .for_each_init(Vec::new, |tmp, (i, (q, k))| {
                let (cos, sin) = rope.row(i);
                for head in q.chunks_mut(hd) {
                    tmp.clear();
                    tmp.extend_from_slice(head);
                    rms_norm(tmp, &layer.q_norm, eps, head);
                    apply_rope(head, cos, sin);
                    head.iter_mut().for_each(|e| *e *= cfg.attention_scale);
                }
                for head in k.chunks_mut(hd) {
                    tmp.clear();
                    tmp.extend_from_slice(head);
                    rms_norm(tmp, &layer.k_norm, eps, head);
                    apply_rope(head, cos, sin);
                }
            });
        Ok(())
    }

    /// The layer's second half for `mr` rows: the output projection of `s.attn`, the post-attention
    /// norm and residual, the FFN and its residual; returns the new residual stream.
    fn attn_output_and_ffn(
        &self,
        layer: &Layer,
        mut resid: Vec<f32>,
        mr: usize,
        s: &mut Scratch,
    ) -> Result<Vec<f32>, EngineError> {
        let cfg = &self.cfg;
        let (d, eps) = (cfg.embedding_length, cfg.rms_eps);
        let o = sized(&mut s.o, mr * d);
        layer.wo.matmul(&s.attn, mr, o, &mut s.acts)?;
        let hn = sized(&mut s.hn, mr * d);
        resid
            .par_chunks_mut(d)
            .zip(o.par_chunks(d))
            .zip(hn.par_chunks_mut(d))
            .for_each_init(
                || vec![0f32; d],
                |normed, ((r, o), hn)| {
                    rms_norm(o, &layer.post_attn_norm, eps, normed);
                    add_into(r, normed);
                    rms_norm(r, &layer.ffn_norm, eps, hn);
                },
            );
        let ff = cfg.feed_forward_length;
        let (g, u) = (sized(&mut s.g, mr * ff), sized(&mut s.u, mr * ff));
        layer.gate.matmul(hn, mr, g, &mut s.acts)?;
        layer.up.matmul(hn, mr, u, &mut s.acts)?;
        // llama.cpp's GEGLU: GELU looked up by the f16 rounding of its input.
        let table = gelu_table();
        g.par_chunks_mut(ff)
            .zip(u.par_chunks(ff))
            .for_each(|(g, u)| {
                g.iter_mut()
                    .zip(u)
                    .for_each(|(g, u)| *g = gelu_lookup(table, *g) * u)
            });
        let f = sized(&mut s.f, mr * d);
        layer.down.matmul(g, mr, f, &mut s.acts)?;
        resid.par_chunks_mut(d).zip(f.par_chunks(d)).for_each_init(
            || vec![0f32; d],
            |normed, (r, f)| {
                rms_norm(f, &layer.post_ffn_norm, eps, normed);
                add_into(r, normed);
            },
        );
        Ok(resid)
    }
}

#[path = "model_logits.rs"]
mod all_logits;
#[path = "model_batch.rs"]
mod batch;
#[path = "model_rope.rs"]
mod rope;
#[path = "model_shift.rs"]
mod shift;
use rope::{apply_rope, RopeTable, RopeTables};

/// `buf` as a slice of `len` (every user overwrites all of it).
fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buf.resize(len, 0.0);
    buf
}

pub(crate) fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let ss: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let scale = 1.0 / ((ss / x.len() as f64) as f32 + eps).sqrt();
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * scale * g;
    }
}

fn add_into(dst: &mut [f32], src: &[f32]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
}

fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + 0.044_715 * x * x)).tanh())
}

/// GELU of every f16 value, rounded to f16: ggml's `ggml_table_gelu_f16` (it is what llama.cpp's
/// CPU backend computes, with `GGML_GELU_FP16`), and a lookup instead of a tanh per element.
fn gelu_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|bits| {
                let x = half::f16::from_bits(bits).to_f32();
                half::f16::from_f32(gelu_tanh(x)).to_f32()
            })
            .collect()
    })
}

/// ggml's `ggml_vec_geglu_f32` for one element (without the gate's product).
fn gelu_lookup(table: &[f32], x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        table[half::f16::from_f32(x).to_bits() as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_gives_unit_rms() {
        let x = [3.0f32, -4.0, 0.0, 5.0];
        let mut out = [0f32; 4];
        rms_norm(&x, &[1.0; 4], 0.0, &mut out);
        let rms = (out.iter().map(|v| v * v).sum::<f32>() / 4.0).sqrt();
        assert!((rms - 1.0).abs() < 1e-5);
    }

    #[test]
    fn gelu_matches_known_values() {
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-4);
        assert!(gelu_tanh(-10.0).abs() < 1e-4);
        let table = gelu_table();
        for x in [-12.0f32, -3.3, -0.01, 0.0, 0.7, 1.0, 4.2, 11.0] {
            // f16 rounding of input and output: about 1e-3 relative.
            let (exact, looked_up) = (gelu_tanh(x), gelu_lookup(table, x));
            assert!(
                (exact - looked_up).abs() <= 2e-3 * exact.abs().max(0.05),
                "{x}"
            );
        }
    }
}
