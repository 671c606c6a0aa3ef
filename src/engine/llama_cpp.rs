//! The optional second engine: llama.cpp (built from the source vendored in llama-cpp-sys-2) behind
//! the same `ForwardPass` interface. Only the logits come from llama.cpp; tokenizing, the chat
//! template, sampling and streaming stay ours, so both engines run exactly the same workload.
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

use llama_cpp_2::context::params::{LlamaContextParams, RopeScalingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::backend::ForwardPass;
use super::error::EngineError;
use super::rope_scaling::{ModelRope, RopeScaling, RopeScalingKind};

/// llama.cpp's global state: initialised once per process, never torn down.
fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs to stderr by default, which would draw over the dashboard.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::EngineUnavailable(format!("llama.cpp: {e}")))
}

/// llama.cpp's context settings for `rope` (the same semantics as ours: see rope_scaling.rs).
/// NTK-aware scaling is no llama.cpp mode: its raised base is passed with scaling off, as
/// llama.cpp's users emulate it with `--rope-freq-base`.
pub fn rope_context(rope: &RopeScaling, model: &ModelRope) -> RopeContext {
    if rope.scaling == Some(RopeScalingKind::Ntk) {
        let resolved = rope.resolve(model);
        return RopeContext {
            scaling: Some(RopeScalingType::None),
            freq_base: Some(resolved.freq_base as f32),
            ..Default::default()
        };
    }
    RopeContext {
        scaling: rope.scaling.map(|k| match k {
            RopeScalingKind::None | RopeScalingKind::Ntk => RopeScalingType::None,
            RopeScalingKind::Linear => RopeScalingType::Linear,
            RopeScalingKind::Yarn => RopeScalingType::Yarn,
        }),
        freq_base: rope.freq_base.map(|b| b as f32),
        freq_scale: rope
            .freq_scale
            .or(rope.scale.map(|s| 1.0 / s))
            .map(|f| f as f32),
        yarn_orig_ctx: rope.yarn_orig_ctx.map(|c| c as u32),
        yarn_ext_factor: rope.yarn_ext_factor.map(|f| f as f32),
        yarn_attn_factor: rope.yarn_attn_factor.map(|f| f as f32),
        yarn_beta_fast: rope.yarn_beta_fast.map(|f| f as f32),
        yarn_beta_slow: rope.yarn_beta_slow.map(|f| f as f32),
    }
}

/// The RoPE fields of llama.cpp's context parameters that are set (the others keep llama.cpp's
/// "from the model" defaults).
#[derive(Debug, Clone, Copy, Default)]
pub struct RopeContext {
    scaling: Option<RopeScalingType>,
    freq_base: Option<f32>,
    freq_scale: Option<f32>,
    yarn_orig_ctx: Option<u32>,
    yarn_ext_factor: Option<f32>,
    yarn_attn_factor: Option<f32>,
    yarn_beta_fast: Option<f32>,
    yarn_beta_slow: Option<f32>,
}

impl RopeContext {
    fn apply(&self, mut p: LlamaContextParams) -> LlamaContextParams {
        if let Some(v) = self.scaling {
            p = p.with_rope_scaling_type(v);
        }
        if let Some(v) = self.freq_base {
            p = p.with_rope_freq_base(v);
        }
        if let Some(v) = self.freq_scale {
            p = p.with_rope_freq_scale(v);
        }
        if let Some(v) = self.yarn_orig_ctx {
            p = p.with_yarn_orig_ctx(v);
        }
        if let Some(v) = self.yarn_ext_factor {
            p = p.with_yarn_ext_factor(v);
        }
        if let Some(v) = self.yarn_attn_factor {
            p = p.with_yarn_attn_factor(v);
        }
        if let Some(v) = self.yarn_beta_fast {
            p = p.with_yarn_beta_fast(v);
        }
        if let Some(v) = self.yarn_beta_slow {
            p = p.with_yarn_beta_slow(v);
        }
        p
    }
}

pub struct LlamaCppModel {
    /// Leaked on purpose: a context borrows its model, and conversations live as long as the
    /// engine, which is loaded once per process (a model switch leaks the old one's metadata;
    /// its weights stay in the page cache, not on the heap, as llama.cpp maps the file).
    model: &'static LlamaModel,
    threads: usize,
    rope: RopeContext,
}

impl LlamaCppModel {
    pub fn load(path: &Path, threads: usize, rope: RopeContext) -> Result<Self, EngineError> {
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| {
                EngineError::EngineUnavailable(format!("llama.cpp cannot load it: {e}"))
            })?;
        Ok(Self {
            model: Box::leak(Box::new(model)),
            threads,
            rope,
        })
    }

    pub fn new_pass(&self, context: usize) -> Result<LlamaCppPass, EngineError> {
        let threads = i32::try_from(self.threads).unwrap_or(1);
        let params = self
            .rope
            .apply(LlamaContextParams::default())
            .with_n_ctx(NonZeroU32::new(context.max(16) as u32))
            .with_n_batch(512)
            .with_n_ubatch(512)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = self
            .model
            .new_context(backend()?, params)
            .map_err(|e| EngineError::EngineUnavailable(format!("llama.cpp context: {e}")))?;
        Ok(LlamaCppPass {
            ctx,
            batch: LlamaBatch::new(512, 1),
            len: 0,
            capacity: context,
        })
    }
}

/// Positions decoded per call when every position's logits are wanted.
const LOGITS_BATCH: usize = 256;

pub struct LlamaCppPass {
    ctx: LlamaContext<'static>,
    batch: LlamaBatch<'static>,
    len: usize,
    capacity: usize,
}

// SAFETY: a llama.cpp context may move between threads as long as one thread uses it at a time,
// which `&mut self` guarantees; the inference actor keeps it on its own thread anyway.
unsafe impl Send for LlamaCppPass {}

impl ForwardPass for LlamaCppPass {
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, EngineError> {
        if self.len + tokens.len() > self.capacity {
            return Err(EngineError::ContextFull(self.capacity));
        }
        let kernel = |e: String| EngineError::Kernel(format!("llama.cpp: {e}"));
        let mut last_index = 0;
        for chunk in tokens.chunks(512) {
            self.batch.clear();
            for (i, &t) in chunk.iter().enumerate() {
                let last = i + 1 == chunk.len();
                self.batch
                    .add(LlamaToken(t as i32), (self.len + i) as i32, &[0], last)
                    .map_err(|e| kernel(e.to_string()))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| kernel(e.to_string()))?;
            self.len += chunk.len();
            last_index = chunk.len() as i32 - 1;
        }
        Ok(self.ctx.get_logits_ith(last_index).to_vec())
    }

    fn forward_logits(
        &mut self,
        tokens: &[u32],
        first: usize,
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), EngineError> {
        if self.len + tokens.len() > self.capacity {
            return Err(EngineError::ContextFull(self.capacity));
        }
        let kernel = |e: String| EngineError::Kernel(format!("llama.cpp: {e}"));
        let mut done = 0;
        let mut block = Vec::new();
        // llama.cpp keeps an output buffer for every position that asks for logits: decoding
        // LOGITS_BATCH positions at a time bounds it (256 MiB with Gemma 3's vocabulary).
        for chunk in tokens.chunks(LOGITS_BATCH) {
            self.batch.clear();
            for (i, &t) in chunk.iter().enumerate() {
                self.batch
                    .add(
                        LlamaToken(t as i32),
                        (self.len + i) as i32,
                        &[0],
                        done + i >= first,
                    )
                    .map_err(|e| kernel(e.to_string()))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| kernel(e.to_string()))?;
            self.len += chunk.len();
            // Handed on in blocks of rows, as our engine does, so the caller can score a block
            // in parallel.
            let wanted: Vec<usize> = (first.saturating_sub(done)..chunk.len()).collect();
            for rows in wanted.chunks(32) {
                block.clear();
                for &i in rows {
                    block.extend_from_slice(self.ctx.get_logits_ith(i as i32));
                }
                each(done + rows[0], &block);
            }
            done += chunk.len();
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn truncate(&mut self, len: usize) {
        if len < self.len {
            let _ = self.ctx.clear_kv_cache_seq(Some(0), Some(len as u32), None);
            self.len = len;
        }
    }
}
