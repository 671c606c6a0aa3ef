//! `GET /props`: what llama-server reports about the running server (its slots, the context
//! each has, the model and the generation defaults), with the settings this server adds: the
//! global layers' effective RoPE (the GGUF's under models.toml's, the profile's and the flags'
//! scaling), context shift and drafting.
use serde_json::{json, Value};

use super::state::ServerState;

/// The body, or `None` while the model loads (the route then answers 503 as llama-server does).
pub fn props(state: &ServerState) -> Option<Value> {
    let ready = state.ready()?;
    let engine = ready.pool.engine();
    let config = &state.config;
    let options = ready.pool.options();
    let defaults = &config.defaults;
    let p = &defaults.params;
    let n_ctx = ready.pool.slot_capacity();
    let rope = &engine.rope;
    Some(json!({
        "default_generation_settings": {
            "n_ctx": n_ctx,
            "params": {
                "n_predict": defaults.max_tokens,
                "temperature": p.temperature,
                "top_k": p.top_k,
                "top_p": p.top_p,
                "min_p": p.min_p,
                "n_keep": options.context_shift.unwrap_or(0),
                "speculative.n_max": options.draft.map_or(0, |d| d.max),
                "speculative.n_min": options.draft.map_or(0, |d| d.n_min),
            },
        },
        "total_slots": config.parallel,
        "model_alias": config.model_name,
        "model_path": engine.path.display().to_string(),
        "n_ctx_train": engine.cfg.context_length,
        "build_info": concat!("gemma-tui-", env!("CARGO_PKG_VERSION")),
        "context_shift": options.context_shift.is_some(),
        "draft": {
            "mode": if options.draft.is_some() { "ngram" } else { "off" },
            "max": options.draft.map_or(0, |d| d.max),
        },
        // The global-attention layers' rotation (the sliding-window layers keep base 10000,
        // scale 1), in llama.cpp's terms.
        "rope": {
            "freq_base": rope.freq_base,
            "freq_scale": rope.freq_scale,
            "yarn_ext_factor": rope.ext_factor,
            "yarn_attn_factor": rope.attn_factor,
            "yarn_beta_fast": rope.beta_fast,
            "yarn_beta_slow": rope.beta_slow,
            "yarn_orig_ctx": rope.orig_ctx,
        },
    }))
}
