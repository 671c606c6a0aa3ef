//! Counting prompt tokens with Gemma's own tokenizer (from the GGUF file), so the context budget
//! is what the model will actually see.
use std::path::Path;

use crate::engine::gguf::GgufFile;
use crate::engine::Tokenizer;

use super::RagError;

pub struct GemmaTokens {
    tokenizer: Tokenizer,
}

impl GemmaTokens {
    /// Reads the tokenizer from a Gemma GGUF file (metadata only; the weights are not loaded).
    pub fn from_gguf(path: &Path) -> Result<Self, RagError> {
        let io = |detail: String| RagError::Io {
            path: path.to_path_buf(),
            detail,
        };
        let gguf = GgufFile::open(path).map_err(|e| io(e.to_string()))?;
        let tokenizer = Tokenizer::from_gguf(&gguf).map_err(|e| io(e.to_string()))?;
        Ok(Self { tokenizer })
    }

    pub fn from_tokenizer(tokenizer: Tokenizer) -> Self {
        Self { tokenizer }
    }

    /// Tokens `text` takes inside a prompt (no BOS, special-token text not parsed).
    pub fn count(&self, text: &str) -> usize {
        self.tokenizer.encode(text, false, false).len()
    }
}
