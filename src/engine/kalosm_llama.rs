//! The llama-family engine: kalosm-llama's forward pass (SmolLM2, Llama 3.x, Qwen 2, Mistral,
//! Phi-3 GGUFs) behind the same `ForwardPass` interface as ours and llama.cpp's.
//!
//! kalosm-llama's own generation keeps only the 512 largest logits before its sampler, and its
//! public API never hands out a forward pass. We call its model directly instead, through the small
//! `direct` module our vendored copy adds (vendor/kalosm-llama): every logit reaches our sampler
//! chain, the inspector and the bench, and the cache can be cut back after a stop string. Loading
//! goes straight to the local file on `Device::Cpu`: no `LlamaSource` (which needs a HOME and asks
//! the hub even for a cached file), no device probe ("Running on CPU" on stdout) and no progress
//! bars on stderr, so nothing reaches a terminal the dashboard owns.
use std::path::Path;
use std::sync::Arc;

use candle_core::Device;
use kalosm_llama::direct::LlamaWeights;
use kalosm_llama::LlamaCache;

use super::backend::ForwardPass;
use super::config::Gemma3Config;
use super::error::EngineError;
use super::gguf::GgufFile;
use super::tokenizer::Tokenizer;

/// The loaded weights, shared by every conversation.
#[derive(Clone)]
pub struct KalosmLlamaModel {
    weights: Arc<LlamaWeights>,
}

impl KalosmLlamaModel {
    /// Loads `path` and returns the tokenizer kalosm-llama builds from its metadata. The caller
    /// has already checked the metadata kalosm-llama indexes without checking (architecture,
    /// token ids): a bad file must give an error, not a panic.
    pub fn load(path: &Path) -> Result<(Self, tokenizers::Tokenizer), EngineError> {
        let loaded =
            std::panic::catch_unwind(|| LlamaWeights::load(path, &Device::Cpu)).map_err(|_| {
                EngineError::BadGguf(format!(
                    "kalosm-llama could not load {} (it panicked)",
                    path.display()
                ))
            })?;
        let (weights, tokenizer) =
            loaded.map_err(|e| EngineError::BadGguf(format!("kalosm-llama: {e}")))?;
        Ok((
            Self {
                weights: Arc::new(weights),
            },
            tokenizer,
        ))
    }

    /// A conversation with room for `context` positions.
    pub fn new_pass(&self, context: usize) -> KalosmLlamaPass {
        let context = context.clamp(1, self.weights.context_length().max(1));
        KalosmLlamaPass {
            weights: self.weights.clone(),
            cache: self.weights.new_cache(context),
            capacity: context,
        }
    }
}

/// One conversation: the shared weights and this conversation's cache.
pub struct KalosmLlamaPass {
    weights: Arc<LlamaWeights>,
    cache: LlamaCache,
    capacity: usize,
}

impl ForwardPass for KalosmLlamaPass {
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, EngineError> {
        if tokens.is_empty() {
            return Err(EngineError::Kernel("forward called with no tokens".into()));
        }
        // kalosm-llama drops the oldest positions itself when the context overflows; ours must
        // see a full context as an error (or shift it) instead.
        if self.cache.len() + tokens.len() > self.capacity {
            return Err(EngineError::ContextFull(self.capacity));
        }
        let before = self.cache.len();
        match self.weights.forward(tokens, &mut self.cache) {
            Ok(logits) => Ok(logits),
            Err(e) => {
                // Keep the cache as it was: a failed step must not leave half a prefill.
                let _ = self.cache.truncate(before);
                Err(e.into())
            }
        }
    }

    fn len(&self) -> usize {
        self.cache.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn truncate(&mut self, len: usize) {
        if let Err(e) = self.cache.truncate(len) {
            // Narrowing a tensor we built cannot fail short of a bug; start over rather than
            // keep a cache whose length disagrees with its contents.
            tracing::error!("kalosm-llama cache truncate failed: {e}; clearing it");
            let _ = self.cache.truncate(0);
        }
    }
}

/// Everything the engine needs from a llama-family file: its hyper-parameters, our tokenizer
/// (byte-level BPE encoding through kalosm-llama's) and the weights. The metadata kalosm-llama
/// would index blindly is checked here first, so a bad file is an error, not a panic.
pub fn load_llama_family(
    path: &Path,
    gguf: &GgufFile,
) -> Result<(Gemma3Config, Tokenizer, KalosmLlamaModel), EngineError> {
    let cfg = Gemma3Config::from_llama_gguf(gguf)?;
    let model = gguf
        .get("tokenizer.ggml.model")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if model != "gpt2" {
        return Err(EngineError::BadTokenizer(format!(
            "tokenizer.ggml.model is `{model}`: the kalosm-llama engine reads only byte-level \
             BPE (`gpt2`) tokenizers from a GGUF"
        )));
    }
    for key in ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
        let id = gguf.require_u64(key)?;
        if id as usize >= cfg.vocab_size {
            return Err(EngineError::BadTokenizer(format!(
                "{key} = {id} is outside the vocabulary of {}",
                cfg.vocab_size
            )));
        }
    }
    gguf.require("tokenizer.ggml.merges")?;
    gguf.require("tokenizer.ggml.token_type")?;
    let (weights, bpe) = KalosmLlamaModel::load(path)?;
    let tokenizer = Tokenizer::from_gguf_with(gguf, Some(bpe))?;
    Ok((cfg, tokenizer, weights))
}
