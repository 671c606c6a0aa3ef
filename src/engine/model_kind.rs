//! Base or instruction-tuned: which chat format a model answers in, read from its GGUF metadata.
//!
//! Gemma 3 GGUFs converted by llama.cpp carry `general.finetune` ("it" for the instruction-tuned
//! releases, "pt" or absent for the pre-trained ones) and `general.name` ("Gemma 3 270m It",
//! "gemma-3-1b-it"). `tokenizer.chat_template` is not used: Google ships the chat template with
//! the base models' tokenizers too, and a base model still loops on it. models.toml's `kind`
//! overrides what is read here.
use std::fmt;

use serde::{Deserialize, Serialize};

use super::gguf::GgufFile;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Pre-trained only: continues text; chats through a few-shot transcript.
    #[default]
    Base,
    /// Instruction-tuned: follows Gemma's chat template.
    Instruct,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Base => "base",
            ModelKind::Instruct => "instruct",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "base" => Some(ModelKind::Base),
            "instruct" => Some(ModelKind::Instruct),
            _ => None,
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind and the metadata that decided it ("general.finetune = it").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DetectedKind {
    pub kind: ModelKind,
    pub because: String,
}

/// Reads the kind from `general.finetune`, then `general.name`; base when neither says.
pub fn detect_kind(gguf: &GgufFile) -> DetectedKind {
    let text = |key: &str| gguf.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let found = kind_from_metadata(
        text("general.finetune").as_deref(),
        text("general.name").as_deref(),
    );
    // SmolLM2's instruct GGUF names its finetune "8k-lc100k-mix1-ep2": nothing marks it. A
    // ChatML chat template does (Gemma's template never uses ChatML, so Gemma files are unaffected).
    let chatml = text("tokenizer.chat_template")
        .is_some_and(|t| t.contains("<|im_start|>") && t.contains("assistant"));
    if found.kind == ModelKind::Base && found.because.starts_with("no ") && chatml {
        return DetectedKind {
            kind: ModelKind::Instruct,
            because: "tokenizer.chat_template is ChatML".into(),
        };
    }
    found
}

/// The pure rule behind [`detect_kind`].
pub fn kind_from_metadata(finetune: Option<&str>, name: Option<&str>) -> DetectedKind {
    let found = |kind, because: String| DetectedKind { kind, because };
    if let Some(f) = finetune.filter(|f| !f.trim().is_empty()) {
        if let Some(kind) = kind_of_words(f) {
            return found(kind, format!("general.finetune = {f}"));
        }
    }
    if let Some(n) = name {
        if let Some(kind) = kind_of_words(n) {
            return found(kind, format!("general.name = {n}"));
        }
    }
    found(
        ModelKind::Base,
        "no general.finetune or name marks it instruction-tuned".into(),
    )
}

/// "it", "instruct", "chat" mark an instruction-tuned model; "pt", "base" a pre-trained one; as
/// whole words of the text (split on anything but letters and digits), so "italian" is neither.
fn kind_of_words(text: &str) -> Option<ModelKind> {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |set: &[&str]| words.iter().any(|w| set.contains(w));
    if has(&[
        "it",
        "instruct",
        "instruction",
        "chat",
        "sft",
        "rlhf",
        "dpo",
    ]) {
        Some(ModelKind::Instruct)
    } else if has(&["pt", "base", "pretrained"]) {
        Some(ModelKind::Base)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finetune_decides_first() {
        let k = kind_from_metadata(Some("it"), Some("Gemma 3 270m"));
        assert_eq!(k.kind, ModelKind::Instruct);
        assert_eq!(k.because, "general.finetune = it");
        assert_eq!(
            kind_from_metadata(Some("pt"), Some("gemma-3-it")).kind,
            ModelKind::Base
        );
    }

    #[test]
    fn name_decides_when_finetune_is_silent() {
        for name in ["Gemma 3 270m It", "gemma-3-1b-it", "Gemma-3-4B-Instruct"] {
            assert_eq!(
                kind_from_metadata(None, Some(name)).kind,
                ModelKind::Instruct,
                "{name}"
            );
        }
        // The default model: "Gemma 3 270m", no finetune.
        let k = kind_from_metadata(None, Some("Gemma 3 270m"));
        assert_eq!(k.kind, ModelKind::Base);
        assert!(k.because.contains("no general.finetune"));
        // Whole words only.
        assert_eq!(
            kind_from_metadata(None, Some("italian-gemma")).kind,
            ModelKind::Base
        );
    }

    #[test]
    fn parses_the_setting() {
        assert_eq!(ModelKind::parse(" Instruct"), Some(ModelKind::Instruct));
        assert_eq!(ModelKind::parse("base"), Some(ModelKind::Base));
        assert_eq!(ModelKind::parse("chat"), None);
    }
}
