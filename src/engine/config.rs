//! Gemma 3 hyper-parameters, every one read from the GGUF metadata.
use serde::Serialize;

use super::error::EngineError;
use super::gguf::GgufFile;
use super::rope_scaling::{ModelRope, RopeScalingKind};

/// llama.cpp hard-codes the sliding-window RoPE base for Gemma 3 when the file does not carry one.
const DEFAULT_SWA_ROPE_BASE: f64 = 10_000.0;
/// Every sixth layer attends globally; the others use the sliding window (llama.cpp's pattern 6).
const DEFAULT_SWA_PATTERN: usize = 6;

/// The architectures kalosm-llama 0.4.4's loader handles (`general.architecture`).
pub const LLAMA_FAMILY: [&str; 4] = ["llama", "mistral", "qwen2", "phi3"];

/// `general.architecture`.
pub fn architecture(gguf: &GgufFile) -> Result<String, EngineError> {
    Ok(gguf
        .require("general.architecture")?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[derive(Debug, Clone, Serialize)]
pub struct Gemma3Config {
    /// `general.architecture`: gemma3, or llama-family for the kalosm-llama engine.
    pub architecture: String,
    pub name: String,
    pub context_length: usize,
    pub embedding_length: usize,
    pub block_count: usize,
    pub feed_forward_length: usize,
    pub head_count: usize,
    pub head_count_kv: usize,
    pub head_dim: usize,
    pub value_dim: usize,
    pub rms_eps: f32,
    pub rope_base_global: f64,
    pub rope_base_local: f64,
    /// Linear RoPE scaling of the global layers (1.0 when the file sets none).
    pub rope_freq_scale: f64,
    /// Everything the file says about the global layers' RoPE (the defaults of the scaling
    /// settings).
    pub rope: ModelRope,
    pub sliding_window: usize,
    pub swa_pattern: usize,
    pub attention_scale: f32,
    pub final_logit_softcap: Option<f32>,
    pub vocab_size: usize,
    pub file_type: Option<u64>,
}

impl Gemma3Config {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, EngineError> {
        let arch = architecture(gguf)?;
        if arch != "gemma3" {
            return Err(EngineError::UnsupportedArchitecture(arch));
        }
        Self::read(gguf, &arch)
    }

    /// The hyper-parameters of a llama-family file (the kalosm-llama engine runs it; these
    /// describe it to the rest of the app: vocabulary, context, layers). No sliding window, no
    /// softcap.
    pub fn from_llama_gguf(gguf: &GgufFile) -> Result<Self, EngineError> {
        let arch = architecture(gguf)?;
        if !LLAMA_FAMILY.contains(&arch.as_str()) {
            return Err(EngineError::UnsupportedArchitecture(arch));
        }
        let mut cfg = Self::read(gguf, &arch)?;
        cfg.sliding_window = usize::MAX;
        cfg.swa_pattern = 0;
        cfg.final_logit_softcap = None;
        Ok(cfg)
    }

    /// The architecture and hyper-parameters of any file an engine of ours runs (Gemma 3 or the
    /// llama family), for lists and `model info`.
    pub fn describe_gguf(gguf: &GgufFile) -> Result<(String, Self), EngineError> {
        let arch = architecture(gguf)?;
        let cfg = if arch == "gemma3" {
            Self::from_gguf(gguf)?
        } else {
            Self::from_llama_gguf(gguf)?
        };
        Ok((arch, cfg))
    }

    /// The keys under `{arch}.`, with Gemma 3's defaults where a key is missing.
    fn read(gguf: &GgufFile, arch: &str) -> Result<Self, EngineError> {
        let key = |k: &str| format!("{arch}.{k}");
        let u = |k: &str| gguf.require_u64(&key(k)).map(|v| v as usize);
        let embedding_length = u("embedding_length")?;
        let head_count = u("attention.head_count")?;
        let head_count_kv = gguf
            .get(&key("attention.head_count_kv"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
            .unwrap_or(head_count);
        let head_dim = gguf
            .get(&key("attention.key_length"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
            .unwrap_or(embedding_length / head_count.max(1));
        let value_dim = gguf
            .get(&key("attention.value_length"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
            .unwrap_or(head_dim);
        if head_count == 0 || head_count_kv == 0 || head_count % head_count_kv != 0 {
            return Err(EngineError::BadGguf(format!(
                "{head_count} attention heads cannot be grouped over {head_count_kv} KV heads"
            )));
        }
        if !head_dim.is_multiple_of(2) || head_dim == 0 {
            return Err(EngineError::BadGguf(format!(
                "head dimension {head_dim} must be even"
            )));
        }
        let rope_scale = gguf
            .get(&key("rope.scaling.factor"))
            .and_then(|v| v.as_f64())
            .filter(|f| *f > 0.0)
            .unwrap_or(1.0);
        let vocab_size = gguf
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.as_array())
            .map(|a| a.len())
            .ok_or_else(|| EngineError::MissingKey("tokenizer.ggml.tokens".into()))?;
        let context_length = u("context_length")?;
        let rope_base_global = gguf
            .get(&key("rope.freq_base"))
            .and_then(|v| v.as_f64())
            .unwrap_or(1_000_000.0);
        let scaling_name = gguf
            .get(&key("rope.scaling.type"))
            .and_then(|v| v.as_str())
            .unwrap_or("linear");
        let rope = ModelRope {
            freq_base: rope_base_global,
            // llama.cpp reads a missing type as linear and knows no other name we support.
            scaling: RopeScalingKind::parse(scaling_name).ok_or_else(|| {
                EngineError::BadGguf(format!("unsupported RoPE scaling type `{scaling_name}`"))
            })?,
            freq_scale: 1.0 / rope_scale,
            orig_ctx: gguf
                .get(&key("rope.scaling.original_context_length"))
                .and_then(|v| v.as_u64())
                .map(|v| v as usize)
                .filter(|&v| v > 0)
                .unwrap_or(context_length),
            attn_factor: gguf
                .get(&key("rope.scaling.attn_factor"))
                .and_then(|v| v.as_f64())
                .filter(|f| *f > 0.0)
                .unwrap_or(1.0),
            n_dims: head_dim,
        };
        // 27B scales by 1/sqrt(d_model / heads); every other size by 1/sqrt(head_dim) (llama.cpp).
        let attention_scale = 1.0 / (head_dim as f32).sqrt();
        Ok(Self {
            architecture: arch.to_string(),
            name: gguf
                .get("general.name")
                .and_then(|v| v.as_str())
                .unwrap_or(arch)
                .to_string(),
            context_length,
            embedding_length,
            block_count: u("block_count")?,
            feed_forward_length: u("feed_forward_length")?,
            head_count,
            head_count_kv,
            head_dim,
            value_dim,
            rms_eps: gguf.require_f64(&key("attention.layer_norm_rms_epsilon"))? as f32,
            rope_base_global,
            rope_base_local: gguf
                .get(&key("rope.freq_base_swa"))
                .and_then(|v| v.as_f64())
                .unwrap_or(DEFAULT_SWA_ROPE_BASE),
            rope_freq_scale: 1.0 / rope_scale,
            rope,
            sliding_window: gguf
                .get(&key("attention.sliding_window"))
                .and_then(|v| v.as_u64())
                .map(|v| v as usize)
                .unwrap_or(usize::MAX),
            swa_pattern: DEFAULT_SWA_PATTERN,
            attention_scale,
            final_logit_softcap: gguf
                .get(&key("final_logit_softcapping"))
                .and_then(|v| v.as_f64())
                .filter(|c| *c > 0.0)
                .map(|c| c as f32),
            vocab_size,
            file_type: gguf.get("general.file_type").and_then(|v| v.as_u64()),
        })
    }

    /// Whether layer `il` uses the sliding window (all but every `swa_pattern`-th layer).
    pub fn is_sliding(&self, il: usize) -> bool {
        self.swa_pattern > 0 && il % self.swa_pattern < self.swa_pattern - 1
    }

    /// llama.cpp's name for `general.file_type`, for `model info`.
    pub fn quantization_name(&self) -> String {
        match self.file_type {
            Some(0) => "F32".into(),
            Some(1) => "F16".into(),
            Some(2) => "Q4_0".into(),
            Some(3) => "Q4_1".into(),
            Some(7) => "Q8_0".into(),
            Some(8) => "Q5_0".into(),
            Some(9) => "Q5_1".into(),
            Some(10) => "Q2_K".into(),
            Some(11) => "Q3_K_S".into(),
            Some(12) => "Q3_K_M".into(),
            Some(13) => "Q3_K_L".into(),
            Some(14) => "Q4_K_S".into(),
            Some(15) => "Q4_K_M".into(),
            Some(16) => "Q5_K_S".into(),
            Some(17) => "Q5_K_M".into(),
            Some(18) => "Q6_K".into(),
            Some(32) => "BF16".into(),
            Some(other) => format!("file type {other}"),
            None => "unknown".into(),
        }
    }
}
