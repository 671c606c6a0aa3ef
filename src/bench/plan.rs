//! From a suite name to the runs it stands for: every model of the suite times every profile times
//! every engine, with `--model` / `--profile` / `--engine` (or the dashboard's) taking the place of
//! the suite's empty lists. Also the suite the headless command builds from its pp/tg flags.
use std::path::{Path, PathBuf};

use super::runner::RunPlan;
use super::suite::{find, load_suites, Suite};
use crate::config::{Config, Profile};
use crate::engine::EngineKind;
use crate::sampling::SamplerParams;

/// What the caller already decided.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub model: Option<PathBuf>,
    pub profile: Option<String>,
    pub threads: usize,
    pub engine: EngineKind,
}

/// The runs of the suite named `suite_name` in `config_dir`'s suites, with the note of
/// [`left_out_note`] when the build lacks an engine it names.
pub fn plans(
    config_dir: &Path,
    config: &Config,
    suite_name: &str,
    over: &Overrides,
) -> Result<(Vec<RunPlan>, Option<String>), String> {
    let suites = load_suites(config_dir)?;
    let suite = find(&suites, suite_name)?.clone();
    let plans = plans_for(config, suite_name, &suite, over)?;
    let note = left_out_note(suite_name, &suite, &plans);
    Ok((plans, note))
}

/// The runs of `suite` (named `suite_name` in the history), which need not be in any file.
pub fn plans_for(
    config: &Config,
    suite_name: &str,
    suite: &Suite,
    over: &Overrides,
) -> Result<Vec<RunPlan>, String> {
    suite
        .validate()
        .map_err(|e| format!("suite `{suite_name}` {e}"))?;
    let models: Vec<(String, PathBuf)> = match &over.model {
        Some(path) => vec![(model_label(path), path.clone())],
        None if suite.models.is_empty() => {
            let path = crate::models::default_model_path();
            vec![(config.settings.model.clone(), path)]
        }
        None => suite
            .models
            .iter()
            .map(|m| resolve_model(config, m))
            .collect::<Result<_, _>>()?,
    };
    let profiles: Vec<String> = match &over.profile {
        Some(p) => vec![p.clone()],
        None if suite.profiles.is_empty() => vec![config.settings.active_profile.clone()],
        None => suite.profiles.clone(),
    };
    let engines = if suite.engines.is_empty() {
        vec![over.engine]
    } else {
        // A built-in suite names llama-cpp for builds that have it; without it the suite runs on
        // the engines this build has (the command says which were left out: `missing_engines`).
        let built: Vec<EngineKind> = suite
            .engines
            .iter()
            .copied()
            .filter(|e| e.available())
            .collect();
        if built.is_empty() {
            return Err(format!(
                "suite `{suite_name}`: none of its engines ({}) is in this build",
                names(&suite.engines)
            ));
        }
        built
    };
    let mut out = Vec::new();
    for (model_name, model_path) in &models {
        for profile_name in &profiles {
            let mut profile = config
                .profile(Some(profile_name))
                .map_err(|e| format!("suite `{suite_name}`: {e}"))?
                .clone();
            // A greedy suite runs the profile with argmax as its sampler, and says so.
            let profile_name = if suite.greedy {
                profile.sampler = SamplerParams::greedy();
                "greedy".to_string()
            } else {
                profile_name.clone()
            };
            // Drafting modes to compare: each a run of its own, under a name that says which.
            let variants: Vec<(String, Profile)> = if suite.drafts.is_empty() {
                vec![(profile_name, profile)]
            } else {
                let variant = |&mode| {
                    let mut p = profile.clone();
                    p.draft = mode;
                    (format!("{profile_name}+draft-{mode}"), p)
                };
                suite.drafts.iter().map(variant).collect()
            };
            for (profile_name, profile) in variants {
                for &engine in &engines {
                    out.push(RunPlan {
                        suite_name: suite_name.to_string(),
                        suite: suite.clone(),
                        model_name: model_name.clone(),
                        model_path: model_path.clone(),
                        profile_name: profile_name.clone(),
                        profile: profile.clone(),
                        threads: over.threads,
                        engine,
                    });
                }
            }
            if suite.greedy {
                // Every profile is the same greedy run.
                break;
            }
        }
    }
    Ok(out)
}

/// The headless command's suite flags, each replacing one setting of the suite it starts from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteFlags {
    /// `--prompt-tokens`: the one synthetic prompt's length (literal prompts are dropped).
    pub prompt_tokens: Option<usize>,
    /// `--gen-tokens`.
    pub gen_tokens: Option<usize>,
    /// `--runs`: measured iterations.
    pub runs: Option<usize>,
    /// `--full`: add a 512-token prompt and a decode from an empty context (one token, BOS).
    pub full: bool,
    /// `--engines`.
    pub engines: Vec<EngineKind>,
    /// `--pipeline`.
    pub pipeline: bool,
    /// `--parallel`: concurrent stream counts to measure on the slot pool.
    pub parallel: Vec<usize>,
}

/// The suite's engines this build cannot run (left out of its plans).
pub fn missing_engines(suite: &Suite) -> Vec<EngineKind> {
    suite
        .engines
        .iter()
        .copied()
        .filter(|e| !e.available())
        .collect()
}

/// What to tell the user when `plans` leave out engines `suite` names that this build lacks
/// (the built-in long-context suite names llama-cpp): a suite that quietly measured less than
/// it says would mislead. `None` when nothing was left out.
pub fn left_out_note(suite_name: &str, suite: &Suite, plans: &[RunPlan]) -> Option<String> {
    let missing = missing_engines(suite);
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "suite `{suite_name}` also names {}, which this build does not have (cargo feature \
         `llama-cpp`): it runs on {} alone",
        names(&missing),
        plans.first().map_or("candle", |p| p.engine.name())
    ))
}

fn names(engines: &[EngineKind]) -> String {
    engines
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pp/tg measurement `gemma-tui bench` runs without `--suite` or `--quick`, as llama-bench
/// measures: a 128-token prompt prefilled into an empty cache, then 128 greedy decode steps; one
/// warm-up and three measured iterations, no perplexity.
pub fn pp_tg_suite() -> Suite {
    Suite {
        description: "pp/tg: a prompt prefilled into an empty cache, then greedy decode steps"
            .into(),
        prompt_lengths: vec![128],
        gen_tokens: 128,
        warmup: 1,
        iterations: 3,
        greedy: true,
        ..Suite::default()
    }
}

/// `base` (named `name`) with `flags` applied, and the name its runs are stored under: the base
/// name, or for the pp/tg suite (`name` None) its lengths, plus one suffix per flag that changes
/// what is measured (`-pp32`, `-tg16`, `-full`), so that a suite's baseline only ever meets runs of
/// the same measurement. `--runs`, `--engines`, `--pipeline` and `--parallel` keep the name: they change how
/// often, on what and what else is measured, and every record holds its engine.
pub fn apply_flags(name: Option<&str>, base: &Suite, flags: &SuiteFlags) -> (String, Suite) {
    let mut suite = base.clone();
    if let Some(p) = flags.prompt_tokens {
        suite.prompt_lengths = vec![p];
        suite.prompts.clear();
    }
    if let Some(g) = flags.gen_tokens {
        suite.gen_tokens = g;
    }
    if let Some(r) = flags.runs {
        suite.iterations = r;
    }
    if flags.full {
        for n in [1, 512] {
            if !suite.prompt_lengths.contains(&n) {
                suite.prompt_lengths.push(n);
            }
        }
    }
    if !flags.engines.is_empty() {
        suite.engines = flags.engines.clone();
    }
    suite.pipeline |= flags.pipeline;
    if !flags.parallel.is_empty() {
        suite.parallel = flags.parallel.clone();
    }
    let mut label = match name {
        Some(n) => {
            let mut l = n.to_string();
            if let Some(p) = flags.prompt_tokens {
                l.push_str(&format!("-pp{p}"));
            }
            if let Some(g) = flags.gen_tokens {
                l.push_str(&format!("-tg{g}"));
            }
            l
        }
        None => format!(
            "pp{}-tg{}",
            suite.prompt_lengths.first().copied().unwrap_or(0),
            suite.gen_tokens
        ),
    };
    if flags.full {
        label.push_str("-full");
    }
    (label, suite)
}

/// A models.toml name, or a path to a GGUF file.
fn resolve_model(config: &Config, name: &str) -> Result<(String, PathBuf), String> {
    if let Some(entry) = config.models.get(name) {
        let path = if entry.path.is_empty() {
            crate::models::default_model_path()
        } else {
            PathBuf::from(&entry.path)
        };
        return Ok((name.to_string(), path));
    }
    let path = PathBuf::from(name);
    if path.extension().is_some_and(|e| e == "gguf") {
        return Ok((model_label(&path), path));
    }
    Err(format!(
        "unknown model `{name}` (known: {}; or give a .gguf path)",
        config.models.keys().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// A model file's name without the extension.
pub fn model_label(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_replace_settings_and_name_the_measurement() {
        let (name, s) = apply_flags(None, &pp_tg_suite(), &SuiteFlags::default());
        assert_eq!(name, "pp128-tg128");
        assert!(s.greedy && !s.pipeline && s.engines.is_empty());
        let flags = SuiteFlags {
            prompt_tokens: Some(32),
            gen_tokens: Some(16),
            runs: Some(2),
            full: true,
            engines: vec![EngineKind::Candle, EngineKind::LlamaCpp],
            pipeline: true,
            parallel: vec![1, 4],
        };
        let (name, s) = apply_flags(None, &pp_tg_suite(), &flags);
        assert_eq!(name, "pp32-tg16-full");
        assert_eq!(s.parallel, [1, 4]);
        assert_eq!(s.prompt_lengths, [32, 1, 512]);
        assert_eq!((s.gen_tokens, s.iterations), (16, 2));
        assert!(s.pipeline && s.engines.len() == 2);
        let quick = Suite {
            prompts: vec!["Hello".into()],
            ..Suite::default()
        };
        let (name, s) = apply_flags(Some("quick"), &quick, &flags);
        assert_eq!(name, "quick-pp32-tg16-full");
        assert!(
            s.prompts.is_empty(),
            "--prompt-tokens replaces every prompt"
        );
        let runs_only = SuiteFlags {
            runs: Some(9),
            ..SuiteFlags::default()
        };
        assert_eq!(apply_flags(Some("quick"), &quick, &runs_only).0, "quick");
    }

    #[test]
    fn engines_and_greedy_multiply_and_collapse_the_runs() {
        let config = Config::defaults();
        let over = Overrides {
            model: Some(PathBuf::from("/m/x.gguf")),
            threads: 2,
            ..Overrides::default()
        };
        let suite = Suite {
            engines: vec![EngineKind::Candle, EngineKind::LlamaCpp],
            profiles: vec!["precise".into(), "creative".into()],
            ..Suite::default()
        };
        let runs = plans_for(&config, "s", &suite, &over).unwrap();
        let what: Vec<(&str, EngineKind)> = runs
            .iter()
            .map(|p| (p.profile_name.as_str(), p.engine))
            .collect();
        if EngineKind::LlamaCpp.available() {
            assert_eq!(
                what,
                [
                    ("precise", EngineKind::Candle),
                    ("precise", EngineKind::LlamaCpp),
                    ("creative", EngineKind::Candle),
                    ("creative", EngineKind::LlamaCpp)
                ]
            );
            assert!(missing_engines(&suite).is_empty());
        } else {
            // A build without llama.cpp runs the rest and names what it left out.
            assert_eq!(
                what,
                [
                    ("precise", EngineKind::Candle),
                    ("creative", EngineKind::Candle)
                ]
            );
            assert_eq!(missing_engines(&suite), [EngineKind::LlamaCpp]);
            let only = Suite {
                engines: vec![EngineKind::LlamaCpp],
                ..suite.clone()
            };
            let e = plans_for(&config, "s", &only, &over).unwrap_err();
            assert!(e.contains("none of its engines (llama-cpp)"), "{e}");
        }
        let greedy = Suite {
            greedy: true,
            engines: Vec::new(),
            ..suite
        };
        let runs = plans_for(&config, "s", &greedy, &over).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].profile_name, "greedy");
        assert_eq!(runs[0].profile.sampler, SamplerParams::greedy());
    }
}
