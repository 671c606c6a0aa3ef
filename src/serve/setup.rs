//! A `ServerConfig` from the config dir: the profile's sampler chain, reply length, stop strings
//! and system prompt as every request's base, and the dialogue template for a base model. Shared
//! by `gemma-tui serve` and the dashboard's serve actor.
use std::path::Path;
use std::sync::Arc;

use super::api::RequestDefaults;
use super::slots::SlotOptions;
use super::state::ServerConfig;
use crate::config::templates::{system_prompt, timestamp_now};
use crate::config::{Config, PromptVars};

/// The server's own limits (the command's flags).
#[derive(Debug, Clone, PartialEq)]
pub struct ServeLimits {
    pub api_key: Option<String>,
    pub parallel: usize,
    /// Positions per slot.
    pub ctx: usize,
    pub max_body: usize,
    pub max_tokens_cap: usize,
    pub max_queue: usize,
}

/// Defaults for the flags: 1 MiB bodies, 4096-token replies at most, 64 waiting requests.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
pub const DEFAULT_MAX_TOKENS_CAP: usize = 4096;
pub const DEFAULT_MAX_QUEUE: usize = 64;

/// `profile` (`None`: the active one) of `config`, with the templates of `config_dir`.
pub fn server_config(
    config: &Config,
    config_dir: &Path,
    profile: Option<&str>,
    model_name: &str,
    limits: ServeLimits,
) -> Result<ServerConfig, String> {
    let profile_name = profile
        .unwrap_or(&config.settings.active_profile)
        .to_string();
    let p = config.profile(Some(&profile_name))?.clone();
    p.sampler
        .validate()
        .map_err(|e| format!("profile `{profile_name}`: bad sampler settings: {e}"))?;
    let set = crate::config::load_templates(config_dir);
    for e in &set.errors {
        tracing::warn!("{e}");
    }
    let default_system = match set.get(&p.template) {
        Ok(t) => system_prompt(p.system_prompt(), t).map(str::to_string),
        Err(_) => p.system_prompt().map(str::to_string),
    };
    // Checked now, so a broken dialogue template fails at start, not on the first request.
    let base_vars = PromptVars {
        profile: profile_name.clone(),
        model: model_name.to_string(),
        system: default_system.clone().unwrap_or_default(),
        ..PromptVars::default()
    };
    set.dialogue(&base_vars)?;
    let dialogue_for = Arc::new(move |system: Option<&str>| {
        let mut vars = base_vars.clone();
        vars.timestamp = timestamp_now();
        if let Some(s) = system {
            vars.system = s.to_string();
        }
        set.dialogue(&vars)
    });
    Ok(ServerConfig {
        model_name: model_name.to_string(),
        api_key: limits.api_key.filter(|k| !k.is_empty()),
        max_body: limits.max_body,
        parallel: limits.parallel.max(1),
        ctx: limits.ctx,
        max_queue: limits.max_queue,
        // The profile's `context_shift`/`keep` and `draft`/`draft_max`; `serve`'s flags go over.
        slots: SlotOptions {
            context_shift: p.context_shift.then_some(p.keep),
            draft: p.draft_params(),
        },
        defaults: RequestDefaults {
            params: p.sampler.clone(),
            max_tokens: p.max_tokens.min(limits.max_tokens_cap),
            max_tokens_cap: limits.max_tokens_cap,
            stop: p.stop.clone(),
            ctx: limits.ctx,
        },
        default_system,
        dialogue_for,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profile_makes_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults();
        let limits = ServeLimits {
            api_key: Some(String::new()),
            parallel: 0,
            ctx: 1024,
            max_body: DEFAULT_MAX_BODY,
            max_tokens_cap: 64,
            max_queue: DEFAULT_MAX_QUEUE,
        };
        let c = server_config(&config, dir.path(), None, "m", limits.clone()).unwrap();
        assert_eq!(c.api_key, None, "an empty key is no key");
        assert_eq!(c.parallel, 1);
        assert!(c.defaults.max_tokens <= 64);
        let d = (c.dialogue_for)(Some("Talk like a pirate.")).unwrap();
        assert!(!d.user.is_empty() && !d.assistant.is_empty());
        assert!(server_config(&config, dir.path(), Some("nope"), "m", limits).is_err());
    }
}
