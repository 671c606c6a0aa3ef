//! Shared helpers for the integration tests: the real default model and the llama.cpp reference.
#![allow(dead_code)]
use std::path::PathBuf;

use serde::Deserialize;

/// The default model, fetched by `.ci/run` (or `gemma-tui model pull`). Tests fail loudly without it:
/// a skipped engine test would prove nothing.
pub fn model_path() -> PathBuf {
    let path = std::env::var_os("GEMMA_TUI_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(gemma_tui::models::default_model_path);
    assert!(
        path.exists(),
        "the default model is missing at {}: run `gemma-tui model pull` (or .ci/run) first",
        path.display()
    );
    path
}

#[derive(Deserialize)]
pub struct Reference {
    pub tokenization: Vec<TokenizationCase>,
    pub generations: Vec<GenerationCase>,
}

#[derive(Deserialize)]
pub struct TokenizationCase {
    pub text: String,
    pub parse_special: bool,
    pub add_bos: bool,
    pub ids: Vec<u32>,
}

#[derive(Deserialize)]
pub struct GenerationCase {
    pub prompt: String,
    pub prompt_ids: Vec<u32>,
    pub greedy_ids: Vec<u32>,
    pub greedy_text: String,
    pub first_step_top_logits: Vec<(u32, f32)>,
    pub greedy_margins: Vec<f32>,
}

pub fn reference() -> Reference {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gemma-3-270m-q4_k_m.llama-cpp.json"
    ))
    .expect("reference fixture");
    serde_json::from_str(&text).expect("reference fixture parses")
}
