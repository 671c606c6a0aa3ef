//! Benchmark suites: the built-ins embedded from `config/suites.toml`, with the user's
//! `suites.toml` in the config directory overlaid key by key (the same rule as the other config
//! files), so a user suite only states what differs from the defaults.
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Table;

use crate::engine::EngineKind;

/// The built-in suites.
pub const DEFAULT_SUITES: &str = include_str!("../../config/suites.toml");
pub const SUITES_FILE: &str = "suites.toml";
/// The most concurrent streams a suite may measure (each is a slot with its own KV cache).
pub const MAX_STREAMS: usize = 64;
pub const BUILTIN_SUITES: [&str; 4] = ["quick", "standard", "long-context", "spec"];

/// One suite: what to prompt, how much to generate, how often, and under which profiles and models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Suite {
    pub description: String,
    /// Synthetic prompts of these many tokens.
    pub prompt_lengths: Vec<usize>,
    /// Literal prompts, fed raw.
    pub prompts: Vec<String>,
    pub gen_tokens: usize,
    pub warmup: usize,
    pub iterations: usize,
    /// Empty: the active profile.
    pub profiles: Vec<String>,
    /// models.toml names or GGUF paths; empty: `--model` or the default model.
    pub models: Vec<String>,
    /// Tokens of the held-out text scored for perplexity; 0 skips it.
    pub perplexity_tokens: usize,
    /// Engines to run it on, each a run of its own (headless: each iteration in a child process
    /// of its own when there are several); empty: `--engine` or the dashboard's engine.
    pub engines: Vec<EngineKind>,
    /// Pick every token by argmax instead of the profile's sampler (llama-bench's tg).
    pub greedy: bool,
    /// Also measure the dashboard's per-token overhead after each iteration: the same greedy
    /// reply through the actors against the bare generation loop (headless runs only).
    pub pipeline: bool,
    /// Also measure the aggregate decode rate of these many concurrent streams on the server's
    /// slot pool (one batched forward pass per step), e.g. [1, 2, 4, 8]; empty skips it.
    pub parallel: Vec<usize>,
    /// Run each profile under these drafting modes (e.g. ["ngram", "off"]), a run each, named
    /// `PROFILE+draft-MODE`; empty: the profile's own `draft`.
    pub drafts: Vec<crate::engine::DraftMode>,
    /// Contexts to measure the chunked perplexity of the bundled long text at (llama-perplexity's
    /// method, `perplexity_chunks`), e.g. [512, 2048, 8192]; empty skips it.
    pub perplexity_ctx: Vec<usize>,
    /// RoPE settings for `perplexity_ctx`, each a series: "none" (the GGUF's own), or
    /// "linear:F", "yarn:F" or "ntk:F" (factor F); empty: ["none"].
    pub perplexity_rope: Vec<String>,
    /// The text `perplexity_ctx` scores: a file's path; empty: the bundled `assets/long.txt`.
    pub perplexity_text: String,
}

impl Default for Suite {
    fn default() -> Self {
        Self {
            description: String::new(),
            prompt_lengths: vec![128],
            prompts: Vec::new(),
            gen_tokens: 128,
            warmup: 1,
            iterations: 5,
            profiles: Vec::new(),
            models: Vec::new(),
            perplexity_tokens: 0,
            engines: Vec::new(),
            greedy: false,
            pipeline: false,
            parallel: Vec::new(),
            drafts: Vec::new(),
            perplexity_ctx: Vec::new(),
            perplexity_rope: Vec::new(),
            perplexity_text: String::new(),
        }
    }
}

/// What a suite feeds the model once per iteration.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptSpec {
    Length(usize),
    Text(String),
}

impl PromptSpec {
    pub fn label(&self) -> String {
        match self {
            PromptSpec::Length(n) => format!("pp{n}"),
            PromptSpec::Text(t) => {
                let short: String = t.chars().take(24).collect();
                format!("\"{short}\"")
            }
        }
    }
}

impl Suite {
    pub fn prompt_specs(&self) -> Vec<PromptSpec> {
        self.prompt_lengths
            .iter()
            .map(|&n| PromptSpec::Length(n))
            .chain(self.prompts.iter().cloned().map(PromptSpec::Text))
            .collect()
    }

    /// The rules a suite must keep to be runnable, with the key that breaks one.
    pub fn validate(&self) -> Result<(), String> {
        if self.prompt_lengths.is_empty() && self.prompts.is_empty() {
            return Err("has no prompts: set prompt_lengths or prompts".into());
        }
        if let Some(n) = self.prompt_lengths.iter().find(|&&n| n == 0 || n > 32_768) {
            return Err(format!("prompt_lengths: {n} is outside 1..=32768"));
        }
        if self.prompts.iter().any(|p| p.trim().is_empty()) {
            return Err("prompts: a prompt is empty".into());
        }
        if self.gen_tokens == 0 || self.gen_tokens > 32_768 {
            return Err(format!(
                "gen_tokens: {} is outside 1..=32768",
                self.gen_tokens
            ));
        }
        if self.iterations == 0 || self.iterations > 1000 {
            return Err(format!(
                "iterations: {} is outside 1..=1000",
                self.iterations
            ));
        }
        if let Some(n) = self.parallel.iter().find(|&&n| n == 0 || n > MAX_STREAMS) {
            return Err(format!("parallel: {n} is outside 1..={MAX_STREAMS}"));
        }
        if let Some(n) = self
            .perplexity_ctx
            .iter()
            .find(|&&n| !(super::perplexity_chunks::MIN_CTX..=32_768).contains(&n))
        {
            return Err(format!("perplexity_ctx: {n} is outside 4..=32768"));
        }
        for r in &self.perplexity_rope {
            parse_rope(r).map_err(|e| format!("perplexity_rope: {e}"))?;
        }
        if self.warmup > 100 {
            return Err(format!("warmup: {} is above 100", self.warmup));
        }
        Ok(())
    }
}

/// A `perplexity_rope` entry: "none" for no scaling, or "METHOD:FACTOR" with METHOD linear, yarn
/// or ntk and a finite FACTOR of at least 1 (a context extension).
pub fn parse_rope(s: &str) -> Result<Option<(String, f64)>, String> {
    if s == "none" {
        return Ok(None);
    }
    let bad = || format!("`{s}` is not none, linear:F, yarn:F or ntk:F (F >= 1)");
    let (method, factor) = s.split_once(':').ok_or_else(bad)?;
    let factor: f64 = factor.parse().map_err(|_| bad())?;
    if !matches!(method, "linear" | "yarn" | "ntk") || !factor.is_finite() || factor < 1.0 {
        return Err(bad());
    }
    Ok(Some((method.to_string(), factor)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuitesFile {
    #[serde(default)]
    suites: BTreeMap<String, Suite>,
}

/// The built-ins with `user` (the text of a user's suites.toml, if any) over them.
pub fn parse_suites(user: Option<&str>) -> Result<BTreeMap<String, Suite>, String> {
    let mut base: Table = DEFAULT_SUITES
        .parse()
        .map_err(|e| format!("embedded suites.toml: {e}"))?;
    if let Some(text) = user {
        let over: Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("{SUITES_FILE}: {}", one_line(&e)))?;
        // Type-check the user's file on its own first, so an error points into it.
        toml::from_str::<SuitesFile>(text)
            .map_err(|e| format!("{SUITES_FILE}: {}", one_line(&e)))?;
        crate::config::pure::merge(&mut base, over);
    }
    let file: SuitesFile = base
        .try_into()
        .map_err(|e: toml::de::Error| format!("{SUITES_FILE}: {}", one_line(&e)))?;
    for (name, suite) in &file.suites {
        suite
            .validate()
            .map_err(|e| format!("{SUITES_FILE}: suite `{name}` {e}"))?;
    }
    Ok(file.suites)
}

/// toml's multi-line error (with a source excerpt) as one line: "line L, column C: message".
fn one_line(e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match (e.span(), e.to_string().lines().next()) {
        (Some(_), Some(first)) if first.contains("line") => {
            let at = first
                .trim_start_matches("TOML parse error at ")
                .trim()
                .to_string();
            format!("{at}: {msg}")
        }
        _ => msg,
    }
}

/// The suites for a config directory (its suites.toml is optional).
pub fn load_suites(config_dir: &Path) -> Result<BTreeMap<String, Suite>, String> {
    let path = config_dir.join(SUITES_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_suites(Some(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => parse_suites(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// One suite by name, with the known names in the error.
pub fn find<'a>(suites: &'a BTreeMap<String, Suite>, name: &str) -> Result<&'a Suite, String> {
    suites.get(name).ok_or_else(|| {
        format!(
            "unknown suite `{name}` (known: {})",
            suites.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_validate() {
        let suites = parse_suites(None).unwrap();
        for name in BUILTIN_SUITES {
            assert!(suites.contains_key(name), "{name}");
        }
        assert_eq!(suites["quick"].prompt_specs(), [PromptSpec::Length(64)]);
    }

    #[test]
    fn a_user_file_overlays_one_key_and_adds_a_suite() {
        let user = "[suites.quick]\niterations = 7\n[suites.mine]\nprompts = [\"Hello\"]\n";
        let suites = parse_suites(Some(user)).unwrap();
        assert_eq!(suites["quick"].iterations, 7);
        assert_eq!(
            suites["quick"].gen_tokens, 32,
            "other keys keep the built-in value"
        );
        let mine = &suites["mine"];
        assert_eq!(mine.prompts, ["Hello"]);
        assert_eq!(mine.gen_tokens, Suite::default().gen_tokens);
    }

    #[test]
    fn bad_files_are_refused_with_the_place() {
        let e = parse_suites(Some("[suites.quick]\nitrations = 7\n")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("itrations"), "{e}");
        let e = parse_suites(Some("[suites.quick]\niterations = \"many\"\n")).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let e = parse_suites(Some("[suites.x]\nprompt_lengths = []\n")).unwrap_err();
        assert!(e.contains("suite `x` has no prompts"), "{e}");
        let e = parse_suites(Some("[suites.x]\niterations = 0\n")).unwrap_err();
        assert!(e.contains("iterations: 0"), "{e}");
        assert!(parse_suites(Some("[suites\n")).is_err());
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let suites = parse_suites(None).unwrap();
        let e = find(&suites, "fast").unwrap_err();
        assert!(e.contains("long-context, quick, spec, standard"), "{e}");
    }

    #[test]
    fn the_long_context_suite_measures_long_prompts_and_ppl_against_context() {
        let suites = parse_suites(None).unwrap();
        let long = &suites["long-context"];
        assert_eq!(long.prompt_lengths, [4096, 16384, 32752]);
        assert_eq!(long.iterations, 1);
        assert_eq!(long.engines, [EngineKind::Candle, EngineKind::LlamaCpp]);
        assert_eq!(long.perplexity_ctx, [512, 2048, 8192]);
        assert_eq!(long.perplexity_rope, ["none", "linear:8"]);
    }

    #[test]
    fn rope_entries_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_rope("none"), Ok(None));
        assert_eq!(parse_rope("linear:8"), Ok(Some(("linear".into(), 8.0))));
        assert_eq!(parse_rope("yarn:4.5"), Ok(Some(("yarn".into(), 4.5))));
        for bad in ["linear", "linear:0.5", "cubic:2", "yarn:x", "ntk:inf", ""] {
            assert!(parse_rope(bad).is_err(), "{bad}");
        }
        let e = parse_suites(Some("[suites.x]\nperplexity_rope = [\"linear:x\"]\n")).unwrap_err();
        assert!(e.contains("perplexity_rope: `linear:x`"), "{e}");
        let e = parse_suites(Some("[suites.x]\nperplexity_ctx = [2]\n")).unwrap_err();
        assert!(e.contains("perplexity_ctx: 2"), "{e}");
    }

    #[test]
    fn stream_counts_must_be_positive_and_bounded() {
        let ok = Suite {
            parallel: vec![1, 2, 4, 8],
            ..Suite::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        for bad in [0, MAX_STREAMS + 1] {
            let s = Suite {
                parallel: vec![1, bad],
                ..Suite::default()
            };
            let e = s.validate().unwrap_err();
            assert!(e.starts_with(&format!("parallel: {bad} ")), "{e}");
        }
    }
}
