//! gemma-tui patch: a synchronous entry to the model's own forward pass.
//!
//! Upstream 0.4.4 keeps `Model` private and drives it only from its generation thread, which keeps
//! the 512 largest logits before sampling. A caller with its own sampler needs every logit and a
//! cache it can cut back, so this module exposes exactly that: load a local GGUF (no source,
//! cache directory, device probe or progress bar), run tokens after a cache, truncate the cache.
use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device};
use tokenizers::Tokenizer;

use crate::model::tokenizer_from_gguf;
use crate::raw::cache::LlamaCache;
use crate::raw::Model;
use crate::LlamaSourceError;

/// The weights of a llama-family GGUF, loaded on `device`.
pub struct LlamaWeights {
    model: Model,
    device: Device,
}

impl LlamaWeights {
    /// Loads a local GGUF file and the byte-level BPE tokenizer its metadata describes.
    pub fn load(path: &Path, device: &Device) -> Result<(Self, Tokenizer), LlamaSourceError> {
        let mut file = std::fs::File::open(path).map_err(candle_core::Error::from)?;
        let content = gguf_file::Content::read(&mut file)?;
        let tokenizer = tokenizer_from_gguf(&content)?;
        let model = Model::from_gguf(content, &mut file, device, None, None)?;
        Ok((
            Self {
                model,
                device: device.clone(),
            },
            tokenizer,
        ))
    }

    /// The context length the file declares.
    pub fn context_length(&self) -> usize {
        self.model.config.context_length
    }

    /// An empty cache growing up to `max_seq_len` positions.
    pub fn new_cache(&self, max_seq_len: usize) -> LlamaCache {
        LlamaCache::with_max_seq_len(self.model.config.n_layer, max_seq_len)
    }

    /// Runs `tokens` after the positions in `cache` and returns the full logits (one per
    /// vocabulary entry) of the last one.
    pub fn forward(&self, tokens: &[u32], cache: &mut LlamaCache) -> candle_core::Result<Vec<f32>> {
        if tokens.is_empty() {
            candle_core::bail!("cannot run the model on no tokens");
        }
        let logits = self.model.forward(tokens, &self.device, Some(cache))?;
        logits.squeeze(0)?.to_dtype(DType::F32)?.to_vec1()
    }
}
