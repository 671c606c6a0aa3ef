//! The Gemma 3 engine: GGUF loading, the SentencePiece tokenizer and the forward pass on candle's
//! quantized kernels. `Engine` bundles them with a conversation (`Session`) and a generation loop
//! that asks a caller-supplied sampler for each token, so the sampling actor, the CLI and the tests
//! all drive the same code.
pub mod attention;
mod attention_simd;
mod attention_tiled;
pub mod backend;
pub mod chat;
pub mod config;
pub mod draft;
pub mod error;
pub mod gemm;
mod gemm_pack;
mod gemm_rows;
mod gemm_scales;
#[cfg(target_arch = "x86_64")]
mod gemm_simd;
pub mod generate;
pub mod gguf;
pub mod kalosm_llama;
pub mod kernels;
pub mod kv_cache;
#[cfg(feature = "llama-cpp")]
pub mod llama_cpp;
pub mod model;
pub mod model_kind;
mod par_columns;
mod q5_0_rows;
mod q8_0_vnni;
pub mod quant;
pub mod reply;
pub mod rope_scaling;
mod scratch;
pub mod stop;
pub mod token_text;
pub mod tokenizer;
mod tokenizer_bpe;

pub use backend::{EngineKind, ForwardPass};
pub use chat::{ChatFormat, Dialogue, PromptKind};
pub use config::Gemma3Config;
pub use draft::{DraftMode, DraftParams};
pub use error::EngineError;
pub use generate::{Engine, FinishReason, GenEvent, GenerationStats, Limits, Session, StepControl};
pub use model::{Gemma3Model, KvCache};
pub use model_kind::{DetectedKind, ModelKind};
pub use reply::{Accepted, ReplyState};
pub use rope_scaling::{RopeParams, RopeScaling, RopeScalingKind};
pub use stop::StopMatcher;
pub use tokenizer::{StreamDecoder, Tokenizer};
