//! Errors of the engine, each naming what is wrong with the file or the request.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad GGUF file: {0}")]
    BadGguf(String),
    #[error("the GGUF file lacks the metadata key `{0}`")]
    MissingKey(String),
    #[error("the GGUF file lacks the tensor `{0}`")]
    MissingTensor(String),
    #[error("unsupported architecture `{0}`: gemma-tui runs Gemma 3 (general.architecture = gemma3) and, on the kalosm-llama engine, llama, mistral, qwen2 and phi3")]
    UnsupportedArchitecture(String),
    #[error("tensor {tensor} uses quantization {ggml_type}, which this engine does not support")]
    UnsupportedQuantization { tensor: String, ggml_type: String },
    #[error("tensor {tensor} has shape {found:?}, expected {expected:?}")]
    BadShape {
        tensor: String,
        found: Vec<u64>,
        expected: Vec<u64>,
    },
    #[error("bad tokenizer in the GGUF file: {0}")]
    BadTokenizer(String),
    #[error(
        "the context is full ({0} tokens): start a new conversation or raise the context size"
    )]
    ContextFull(usize),
    #[error("token id {0} is outside the vocabulary")]
    BadToken(u32),
    #[error("{0}")]
    EngineUnavailable(String),
    #[error("kernel error: {0}")]
    Kernel(String),
}

impl From<candle_core::Error> for EngineError {
    fn from(e: candle_core::Error) -> Self {
        EngineError::Kernel(e.to_string())
    }
}
