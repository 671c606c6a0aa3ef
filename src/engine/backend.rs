//! The forward-pass implementations behind one interface. Everything above it (tokenizer, chat
//! template, generation loop, sampling actor, dashboard, metrics) is shared, so two engines run
//! exactly the same workload and differ only in how they compute logits.
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use super::model::{Gemma3Model, KvCache};

/// One conversation inside an engine: its KV cache and the means to extend it.
pub trait ForwardPass: Send {
    /// Runs `tokens` after the cached positions and returns the logits of the last one.
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, EngineError>;
    /// Runs `tokens` after the cached positions and hands the logits of every position from
    /// `first` on to `each(index, logits)`, a block of consecutive positions at a time (`logits`
    /// holds `rows x vocab` values for the tokens `index..index + rows`). This default runs the
    /// positions from `first` on one at a time; the engines override it with one batched pass.
    fn forward_logits(
        &mut self,
        tokens: &[u32],
        first: usize,
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), EngineError> {
        let Some(head) = first.checked_add(1).map(|h| h.min(tokens.len())) else {
            return Ok(());
        };
        if head == 0 {
            return Err(EngineError::Kernel("forward called with no tokens".into()));
        }
        let logits = self.forward(&tokens[..head])?;
        if head > first {
            each(head - 1, &logits);
        }
        for (i, &t) in tokens.iter().enumerate().skip(head) {
            each(i, &self.forward(&[t])?);
        }
        Ok(())
    }
    /// Context shift: drops positions `keep..keep + discard` and moves the later ones down,
    /// without a new prefill.
    fn shift(&mut self, keep: usize, discard: usize) -> Result<(), EngineError> {
        let _ = (keep, discard);
        Err(EngineError::EngineUnavailable(
            "context shift is not supported by this engine".into(),
        ))
    }
    /// Whether `shift(keep, discard)` can move the cache in place (see `KvCache::can_shift`);
    /// when not, the caller feeds the kept tokens again.
    fn can_shift(&self, keep: usize, discard: usize) -> bool {
        let _ = (keep, discard);
        true
    }
    /// Positions in the cache.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Positions the cache can hold.
    fn capacity(&self) -> usize;
    /// Forgets every position from `len` on.
    fn truncate(&mut self, len: usize);
    /// Our engine's cache, which `Engine::forward_batch` steps together with others'; other
    /// engines step one conversation at a time.
    fn batch_cache(&mut self) -> Option<&mut KvCache> {
        None
    }
    /// An independent copy of this conversation (its own KV cache), when the engine can make one.
    fn try_clone_pass(&self) -> Option<Box<dyn ForwardPass>> {
        None
    }
}

/// Which forward pass runs the model.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// Ours: Rust on candle's quantized kernels.
    #[default]
    Candle,
    /// llama.cpp through the llama-cpp-2 crate (cargo feature `llama-cpp`).
    #[value(name = "llama-cpp", alias = "llama.cpp")]
    LlamaCpp,
    /// kalosm-llama's forward pass, for llama-family GGUFs (picked for them automatically).
    #[value(name = "kalosm-llama")]
    KalosmLlama,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Candle => "candle",
            EngineKind::LlamaCpp => "llama-cpp",
            EngineKind::KalosmLlama => "kalosm-llama",
        }
    }

    /// Whether this build can run it.
    pub fn available(self) -> bool {
        match self {
            EngineKind::Candle | EngineKind::KalosmLlama => true,
            EngineKind::LlamaCpp => cfg!(feature = "llama-cpp"),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "candle" => Ok(EngineKind::Candle),
            "llama-cpp" | "llama.cpp" | "llamacpp" => Ok(EngineKind::LlamaCpp),
            "kalosm-llama" => Ok(EngineKind::KalosmLlama),
            other => Err(format!(
                "unknown engine `{other}` (known: candle, llama-cpp, kalosm-llama)"
            )),
        }
    }
}

/// Our engine's conversation: the shared model and this conversation's cache.
pub struct CandlePass {
    pub model: Arc<Gemma3Model>,
    pub cache: KvCache,
}

impl ForwardPass for CandlePass {
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, EngineError> {
        self.model.forward(tokens, &mut self.cache)
    }

    fn forward_logits(
        &mut self,
        tokens: &[u32],
        first: usize,
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), EngineError> {
        self.model
            .forward_logits(tokens, first, &mut self.cache, each)
    }

    fn len(&self) -> usize {
        self.cache.len()
    }

    fn capacity(&self) -> usize {
        self.cache.capacity()
    }

    fn truncate(&mut self, len: usize) {
        self.cache.truncate(len);
    }

    fn shift(&mut self, keep: usize, discard: usize) -> Result<(), EngineError> {
        self.model.shift_cache(&mut self.cache, keep, discard)
    }

    fn can_shift(&self, keep: usize, discard: usize) -> bool {
        self.cache.can_shift(keep, discard)
    }

    fn batch_cache(&mut self) -> Option<&mut KvCache> {
        Some(&mut self.cache)
    }

    fn try_clone_pass(&self) -> Option<Box<dyn ForwardPass>> {
        Some(Box::new(CandlePass {
            model: self.model.clone(),
            cache: self.cache.duplicate(),
        }))
    }
}
