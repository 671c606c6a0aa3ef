//! The optional second engine: llama.cpp (built from the source vendored in llama-cpp-sys-2) behind
//! the same `ForwardPass` interface. Only the logits come from llama.cpp; tokenizing, the chat
//! template, sampling and streaming stay ours, so both engines run exactly the same workload.
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::backend::ForwardPass;
use super::error::EngineError;

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

pub struct LlamaCppModel {
    /// Leaked on purpose: a context borrows its model, and conversations live as long as the
    /// engine, which is loaded once per process (a model switch leaks the old one's metadata;
    /// its weights stay in the page cache, not on the heap, as llama.cpp maps the file).
    model: &'static LlamaModel,
    threads: usize,
}

impl LlamaCppModel {
    pub fn load(path: &Path, threads: usize) -> Result<Self, EngineError> {
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| {
                EngineError::EngineUnavailable(format!("llama.cpp cannot load it: {e}"))
            })?;
        Ok(Self {
            model: Box::leak(Box::new(model)),
            threads,
        })
    }

    pub fn new_pass(&self, context: usize) -> Result<LlamaCppPass, EngineError> {
        let threads = i32::try_from(self.threads).unwrap_or(1);
        let params = LlamaContextParams::default()
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
