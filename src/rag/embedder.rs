//! all-MiniLM-L6-v2 sentence embeddings through rbert (kalosm's Bert) on the CPU, from the local
//! files `gemma-tui model pull minilm` installs.
//!
//! rbert's `Bert` wrapper is not used: its builder resolves files through kalosm's cache (whose
//! default location needs a data dir), and picks the device with `accelerated_device_if_available`,
//! which prints to stdout (fatal for `--json` output and the TUI). Its `BertModel` and `Config`
//! are public, so the model is loaded here with `Device::Cpu`, the tokenizer with the tokenizers
//! crate, and pooled as sentence-transformers does: the mean over real (unpadded) tokens, then
//! L2 normalisation. Callers run this off the async executor (the RAG actor's own thread).
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rbert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{RagError, EMBEDDING_DIM};

/// The model's directory name inside the models dir.
pub const MINILM_DIR: &str = "all-minilm-l6-v2";

/// Tokens MiniLM was trained on (sentence-transformers' max_seq_length); longer text is cut.
pub const MAX_TOKENS: usize = 256;

/// Texts embedded per forward pass: bounded so a batch of long chunks stays a few MB.
const BATCH: usize = 16;

/// Where the embedding model lives: `<models dir>/all-minilm-l6-v2`.
pub fn default_model_dir() -> PathBuf {
    crate::models::models_dir().join(MINILM_DIR)
}

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation or padding, for chunk offsets.
    plain: Tokenizer,
    device: Device,
}

impl Embedder {
    /// Loads model.safetensors, config.json and tokenizer.json from `dir`.
    pub fn load(dir: &Path) -> Result<Self, RagError> {
        let missing = |detail: String| RagError::ModelMissing {
            dir: dir.to_path_buf(),
            detail,
        };
        for f in ["model.safetensors", "config.json", "tokenizer.json"] {
            if !dir.join(f).is_file() {
                return Err(missing(format!("{f} is missing")));
            }
        }
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| missing(format!("config.json: {e}")))?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| missing(format!("config.json: {e}")))?;
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load(dir.join("model.safetensors"), &device)
            .map_err(|e| missing(format!("model.safetensors: {e}")))?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model =
            BertModel::load(vb, &config).map_err(|e| missing(format!("model.safetensors: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| missing(format!("tokenizer.json: {e}")))?;
        let mut plain = tokenizer.clone();
        plain
            .with_truncation(None)
            .map_err(|e| missing(format!("tokenizer.json: {e}")))?;
        plain.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| missing(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        Ok(Self {
            model,
            tokenizer,
            plain,
            device,
        })
    }

    /// Unit-length embeddings of `texts`, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, RagError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(self.embed_batch(batch)?);
        }
        Ok(out)
    }

    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, RagError> {
        Ok(self.embed(&[text])?.remove(0))
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, RagError> {
        let e = |e: candle_core::Error| RagError::Embed(e.to_string());
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|err| RagError::Embed(err.to_string()))?;
        let n = encodings.len();
        let len = encodings.first().map_or(0, |x| x.get_ids().len());
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for enc in &encodings {
            ids.extend_from_slice(enc.get_ids());
            mask.extend_from_slice(enc.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device).map_err(e)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device).map_err(e)?;
        let type_ids = ids.zeros_like().map_err(e)?;
        let hidden = self
            .model
            .forward(&ids, &type_ids, Some(&mask), false)
            .map_err(e)?;
        // Mean over the real tokens: padded positions are zeroed and not counted.
        let maskf = mask.to_dtype(DType::F32).map_err(e)?;
        let summed = hidden
            .broadcast_mul(&maskf.unsqueeze(2).map_err(e)?)
            .and_then(|t| t.sum(1))
            .map_err(e)?;
        let counts = maskf.sum_keepdim(1).map_err(e)?;
        let mean = summed.broadcast_div(&counts).map_err(e)?;
        let norm = mean
            .sqr()
            .and_then(|t| t.sum_keepdim(1))
            .and_then(|t| t.sqrt())
            .map_err(e)?;
        let unit = mean.broadcast_div(&norm).map_err(e)?;
        let rows: Vec<Vec<f32>> = unit.to_vec2().map_err(e)?;
        if rows.iter().any(|r| r.len() != EMBEDDING_DIM) {
            return Err(RagError::Embed(format!(
                "the model gives {}-d embeddings, expected {EMBEDDING_DIM}",
                rows.first().map_or(0, Vec::len)
            )));
        }
        Ok(rows)
    }

    /// Byte offsets where each token of `text` starts (special tokens excluded, no truncation),
    /// for the chunker.
    pub fn token_starts(&self, text: &str) -> Result<Vec<usize>, RagError> {
        let enc = self
            .plain
            .encode(text, false)
            .map_err(|err| RagError::Embed(err.to_string()))?;
        let mut starts: Vec<usize> = enc.get_offsets().iter().map(|&(s, _)| s).collect();
        starts.dedup();
        Ok(starts)
    }

    /// Token ids as the model sees `text` (with [CLS] and [SEP], truncated), for tests.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, RagError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|err| RagError::Embed(err.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }
}
