//! Perplexity against context length: the chunked perplexity (llama-perplexity's method,
//! `perplexity_chunks`) of a long text at each of a suite's `perplexity_ctx` contexts, under each
//! of its `perplexity_rope` settings, so that the report can show how the model's quality holds
//! up as the context grows, with and without RoPE scaling.
use super::perplexity_chunks::{load_engine, score_chunks, ChunkPlan, LoadError};
use std::path::Path;

use super::record::CtxPerplexity;
use super::suite::{parse_rope, Suite};
use crate::engine::{EngineKind, RopeScaling, RopeScalingKind};

/// Why a measurement stopped (the runner maps it to its own error).
#[derive(Debug, PartialEq)]
pub enum Stop {
    Cancelled,
    Failed(String),
}

/// The bundled long text (four FSF licences, verbatim; see `assets/long.txt.origin`): about
/// 22,328 tokens, enough for two chunks at a context of 8192 as llama-perplexity requires.
pub const LONG_TEXT: &str = include_str!("../../assets/long.txt");

/// The RoPE settings a `perplexity_rope` entry stands for: "none" forces no scaling (frequency
/// scale 1, the model's own base), "METHOD:F" that method with context factor F.
pub fn rope_settings(entry: &str) -> Result<RopeScaling, String> {
    let scaling = match parse_rope(entry)? {
        None => (RopeScalingKind::None, None),
        Some((method, factor)) => {
            let kind = match method.as_str() {
                "linear" => RopeScalingKind::Linear,
                "yarn" => RopeScalingKind::Yarn,
                _ => RopeScalingKind::Ntk,
            };
            (kind, Some(factor))
        }
    };
    Ok(RopeScaling {
        scaling: Some(scaling.0),
        scale: scaling.1,
        ..Default::default()
    })
}

/// The rope entries a suite measures: its own, or just "none".
pub fn rope_entries(entries: &[String]) -> Vec<String> {
    if entries.is_empty() {
        vec!["none".to_string()]
    } else {
        entries.to_vec()
    }
}

/// The text a suite scores: its `perplexity_text` file, else the bundled one.
fn text_of(path: &str) -> Result<String, Stop> {
    if path.is_empty() {
        return Ok(LONG_TEXT
            .strip_suffix('\n')
            .unwrap_or(LONG_TEXT)
            .to_string());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Stop::Failed(format!("perplexity_text {path}: {e}")))?;
    // As `gemma-tui perplexity` reads a file: one trailing newline dropped.
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// Every (context, RoPE) point of `suite` on the model at `model_path`, loaded once per RoPE
/// setting; `on_point(done, total, phase)` before each point.
pub fn measure(
    suite: &Suite,
    model_path: &Path,
    threads: usize,
    kind: EngineKind,
    on_point: &mut dyn FnMut(usize, usize, String),
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<CtxPerplexity>, Stop> {
    if suite.perplexity_ctx.is_empty() {
        return Ok(Vec::new());
    }
    let text = text_of(&suite.perplexity_text)?;
    let ropes = rope_entries(&suite.perplexity_rope);
    let total = ropes.len() * suite.perplexity_ctx.len();
    let mut out = Vec::with_capacity(total);
    for entry in &ropes {
        let rope = rope_settings(entry).map_err(Stop::Failed)?;
        let largest = suite.perplexity_ctx.iter().copied().max().unwrap_or(0);
        let engine = load_engine(model_path, threads, kind, &rope, largest, "perplexity_ctx")
            .map_err(|e| match e {
                LoadError::Model(m) | LoadError::Context(m) => Stop::Failed(m),
            })?;
        let tokens = engine.tokenizer.encode(&text, true, false);
        for &n_ctx in &suite.perplexity_ctx {
            if cancelled() {
                return Err(Stop::Cancelled);
            }
            on_point(
                out.len(),
                total,
                format!("perplexity ctx {n_ctx} rope {entry}"),
            );
            let chunks = ChunkPlan::new(tokens.len(), n_ctx)
                .map_err(|e| Stop::Failed(format!("perplexity_ctx {n_ctx}: {e}")))?;
            let mut session = engine
                .new_session(n_ctx)
                .map_err(|e| Stop::Failed(e.to_string()))?;
            let (sums, _) = score_chunks(
                session.pass.as_mut(),
                engine.cfg.vocab_size,
                &tokens,
                &chunks,
                engine.tokenizer.bos,
                &mut |_, _| {},
            )
            .map_err(|e| Stop::Failed(e.to_string()))?;
            out.push(CtxPerplexity {
                n_ctx,
                rope: entry.clone(),
                ppl: sums.perplexity(),
                ppl_error: sums.error(),
                tokens: sums.count,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_map_to_rope_settings() {
        let none = rope_settings("none").unwrap();
        assert_eq!(none.scaling, Some(RopeScalingKind::None));
        assert_eq!(none.scale, None);
        let lin = rope_settings("linear:8").unwrap();
        assert_eq!(lin.scaling, Some(RopeScalingKind::Linear));
        assert_eq!(lin.scale, Some(8.0));
        assert_eq!(
            rope_settings("ntk:2").unwrap().scaling,
            Some(RopeScalingKind::Ntk)
        );
        assert!(rope_settings("linear:").is_err());
        assert_eq!(rope_entries(&[]), ["none"]);
    }

    #[test]
    fn the_bundled_text_is_long_enough_for_ctx_8192() {
        // ~4.4 bytes a token in this English: two chunks of 8192 need well under 100 kB.
        assert!(LONG_TEXT.len() > 100_000, "{}", LONG_TEXT.len());
        assert!(LONG_TEXT
            .trim_start()
            .starts_with("GNU GENERAL PUBLIC LICENSE"));
    }
}
