//! A request body -> a `Job` for the slot pool: the profile's sampler settings with the request's
//! fields over them (llama.cpp's names and semantics, as llama-server takes them), the reply limits
//! and what the answer must carry (streaming, usage, log-probabilities).
use serde_json::Value;

use super::error::ApiError;
use super::fields::Fields;
use super::render::{parse_messages, render_chat, ChatStyle};
use super::slots::{Job, JobOptions};
use crate::engine::Limits;
use crate::sampling::{parse_order, Mirostat, SamplerParams};

/// What a request starts from: the profile's settings and the server's limits.
#[derive(Debug, Clone)]
pub struct RequestDefaults {
    pub params: SamplerParams,
    /// Reply length when the request names none.
    pub max_tokens: usize,
    /// The most a request may ask for (`--max-tokens-cap`): larger asks are cut to it, as
    /// llama-server cuts `n_predict` to its `-n`.
    pub max_tokens_cap: usize,
    /// The profile's stop strings, used when the request has no `stop`.
    pub stop: Vec<String>,
    /// A slot's context (what `repeat_last_n: -1` means).
    pub ctx: usize,
}

/// The most top log-probabilities a request may ask for (OpenAI's limit).
pub const MAX_TOP_LOGPROBS: usize = 20;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    pub job: Job,
    /// llama-server's `n_keep` and `n_discard` (used when the server shifts context).
    pub options: JobOptions,
    pub stream: bool,
    /// `stream_options.include_usage`: a usage chunk before `[DONE]`.
    pub include_usage: bool,
    /// Log-probabilities go into the answer.
    pub logprobs: bool,
}

/// `POST /v1/chat/completions`.
pub fn parse_chat(
    body: &Value,
    defaults: &RequestDefaults,
    style: &ChatStyle,
) -> Result<ParsedRequest, ApiError> {
    let f = Fields::of(body);
    let messages = parse_messages(f.get("messages"))?;
    let rendered = render_chat(&messages, style)?;
    let logprobs = f.bool("logprobs")?.unwrap_or(false);
    let top = f.usize("top_logprobs")?;
    if top.is_some_and(|n| n > MAX_TOP_LOGPROBS) {
        return Err(ApiError::bad_field(
            "top_logprobs",
            format!("`top_logprobs` must be at most {MAX_TOP_LOGPROBS}"),
        ));
    }
    if top.is_some_and(|n| n > 0) && !logprobs {
        return Err(ApiError::bad_field(
            "top_logprobs",
            "`top_logprobs` needs `logprobs: true`",
        ));
    }
    let n_probs = f.usize("n_probs")?;
    let top_logprobs =
        (logprobs || n_probs.is_some()).then(|| top.or(n_probs).unwrap_or(0).min(MAX_TOP_LOGPROBS));
    let mut parsed = common(&f, defaults, rendered.prompt, top_logprobs)?;
    parsed.job.limits.stop.extend(rendered.stop);
    parsed.job.trim_reply_start = rendered.trim_reply_start;
    Ok(parsed)
}

/// `POST /v1/completions`: the prompt as it is.
pub fn parse_completion(
    body: &Value,
    defaults: &RequestDefaults,
) -> Result<ParsedRequest, ApiError> {
    let f = Fields::of(body);
    let prompt = match f.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            items[0].as_str().unwrap_or_default().to_string()
        }
        Some(Value::Array(_)) => {
            return Err(ApiError::bad_field(
                "prompt",
                "`prompt` must be one string (batches and token arrays are not supported)",
            ))
        }
        Some(v) => {
            return Err(ApiError::bad_field(
                "prompt",
                format!("`prompt` must be a string, got {v}"),
            ))
        }
        None => return Err(ApiError::bad_field("prompt", "`prompt` is required")),
    };
    if prompt.is_empty() {
        return Err(ApiError::bad_field("prompt", "`prompt` is empty"));
    }
    // Here `logprobs` is the number of top alternatives (0 = only the sampled token's).
    let top = f.usize("logprobs")?.or(f.usize("n_probs")?);
    if top.is_some_and(|n| n > MAX_TOP_LOGPROBS) {
        return Err(ApiError::bad_field(
            "logprobs",
            format!("`logprobs` must be at most {MAX_TOP_LOGPROBS}"),
        ));
    }
    common(&f, defaults, prompt, top)
}

/// The fields both routes share.
fn common(
    f: &Fields,
    defaults: &RequestDefaults,
    prompt: String,
    top_logprobs: Option<usize>,
) -> Result<ParsedRequest, ApiError> {
    if f.usize("n")?.is_some_and(|n| n != 1) {
        return Err(ApiError::bad_field("n", "only `n: 1` is supported"));
    }
    if let Some(m) = f.get("model") {
        if !m.is_string() {
            return Err(ApiError::bad_field("model", "`model` must be a string"));
        }
    }
    let stream = f.bool("stream")?.unwrap_or(false);
    let include_usage = match f.get("stream_options") {
        None => false,
        Some(Value::Object(o)) => match o.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ApiError::bad_field(
                    "stream_options",
                    "`stream_options.include_usage` must be true or false",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::bad_field(
                "stream_options",
                "`stream_options` must be an object",
            ))
        }
    };
    let params = sampler_params(f, defaults)?;
    let max_tokens = reply_length(f, defaults)?;
    let stop = match f.strings("stop")? {
        Some(stop) => stop.into_iter().filter(|s| !s.is_empty()).collect(),
        None => defaults.stop.clone(),
    };
    let n_keep = f.i64("n_keep")?;
    if let Some(n) = n_keep.filter(|&n| n < -1) {
        return Err(bad(
            "n_keep",
            format!("must be -1 (the whole prompt) or more, got {n}"),
        ));
    }
    let options = JobOptions {
        n_keep,
        n_discard: f.usize("n_discard")?,
    };
    Ok(ParsedRequest {
        options,
        job: Job {
            prompt,
            params,
            limits: Limits { max_tokens, stop },
            trim_reply_start: false,
            ignore_eos: f.bool("ignore_eos")?.unwrap_or(false),
            top_logprobs,
            constraint: None,
        },
        stream,
        include_usage,
        logprobs: top_logprobs.is_some(),
    })
}

/// `max_tokens` (or `max_completion_tokens`, or llama.cpp's `n_predict`, where -1 means "as
/// many as allowed"), cut to the server's cap.
fn reply_length(f: &Fields, defaults: &RequestDefaults) -> Result<usize, ApiError> {
    let mut asked = None;
    for name in ["max_tokens", "max_completion_tokens", "n_predict"] {
        if let Some(n) = f.i64(name)? {
            asked = Some(match n {
                -1 if name == "n_predict" => defaults.max_tokens_cap,
                n if n < 1 => {
                    return Err(ApiError::bad_field(
                        name,
                        format!("`{name}` must be at least 1, got {n}"),
                    ))
                }
                n => n as usize,
            });
            break;
        }
    }
    Ok(asked
        .unwrap_or(defaults.max_tokens)
        .min(defaults.max_tokens_cap))
}

/// The profile's chain with the request's fields over it.
fn sampler_params(f: &Fields, defaults: &RequestDefaults) -> Result<SamplerParams, ApiError> {
    let mut p = defaults.params.clone();
    macro_rules! over {
        ($read:ident: $($name:literal => $field:ident),* $(,)?) => {
            $(if let Some(v) = f.$read($name)? { p.$field = v; })*
        };
    }
    over!(f32:
        "temperature" => temperature,
        "dynatemp_range" => dynatemp_range,
        "dynatemp_exponent" => dynatemp_exponent,
        "top_p" => top_p,
        "min_p" => min_p,
        "typical_p" => typical_p,
        "repeat_penalty" => repeat_penalty,
        "presence_penalty" => presence_penalty,
        "frequency_penalty" => frequency_penalty,
        "dry_multiplier" => dry_multiplier,
        "dry_base" => dry_base,
        "xtc_probability" => xtc_probability,
        "xtc_threshold" => xtc_threshold,
        "mirostat_tau" => mirostat_tau,
        "mirostat_eta" => mirostat_eta,
    );
    over!(usize:
        "dry_allowed_length" => dry_allowed_length,
        "min_keep" => min_keep,
    );
    // llama.cpp: top_k <= 0 keeps every token.
    if let Some(k) = f.i64("top_k")? {
        p.top_k = k.max(0) as usize;
    }
    if let Some(n) = f.i64("repeat_last_n")? {
        p.repeat_last_n = match n {
            -1 => defaults.ctx,
            n if n >= 0 => n as usize,
            n => return Err(bad("repeat_last_n", format!("must be -1 or more, got {n}"))),
        };
    }
    if let Some(n) = f.i64("dry_penalty_last_n")? {
        if n < -1 || n > i32::MAX as i64 {
            return Err(bad(
                "dry_penalty_last_n",
                format!("must be -1 or more, got {n}"),
            ));
        }
        p.dry_penalty_last_n = n as i32;
    }
    if let Some(b) = f.strings("dry_sequence_breakers")? {
        p.dry_sequence_breakers = b;
    }
    if let Some(level) = f.i64("mirostat")? {
        p.mirostat = u8::try_from(level)
            .ok()
            .and_then(Mirostat::from_level)
            .ok_or_else(|| bad("mirostat", format!("must be 0, 1 or 2, got {level}")))?;
    }
    if let Some(seed) = f.i64("seed")? {
        // llama.cpp: -1 (its default) draws a random seed.
        p.seed = match seed {
            -1 => None,
            s if s >= 0 => Some(s as u64),
            s => return Err(bad("seed", format!("must be -1 or more, got {s}"))),
        };
    }
    if let Some(names) = f.strings("samplers")? {
        p.samplers = parse_order(&names.join(";")).map_err(|e| bad("samplers", e))?;
    }
    p.validate()
        .map_err(|e| ApiError::bad_request(format!("bad sampler settings: {e}")))?;
    Ok(p)
}

fn bad(param: &str, message: String) -> ApiError {
    ApiError::bad_field(param, format!("`{param}` {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Dialogue, ModelKind};
    use crate::sampling::SamplerKind;
    use serde_json::json;

    fn defaults() -> RequestDefaults {
        RequestDefaults {
            params: SamplerParams {
                top_k: 7,
                temperature: 0.3,
                ..SamplerParams::default()
            },
            max_tokens: 100,
            max_tokens_cap: 500,
            stop: vec!["PROFILE".into()],
            ctx: 2048,
        }
    }

    fn style() -> ChatStyle {
        ChatStyle {
            kind: ModelKind::Instruct,
            chatml: false,
            default_system: None,
            dialogue_for: std::sync::Arc::new(|_| {
                Ok(Dialogue {
                    preamble: String::new(),
                    user: "U: ".into(),
                    assistant: "A:".into(),
                    stop: vec![],
                })
            }),
        }
    }

    #[test]
    fn request_fields_win_over_the_profile() {
        let body = json!({
            "prompt": "Once", "temperature": 0.0, "min_p": 0.1, "seed": 42, "repeat_last_n": -1,
            "mirostat": 2, "samplers": ["top_k", "temp"], "n_predict": 9, "stop": "\n",
            "ignore_eos": true, "logprobs": 3, "stream": true,
            "stream_options": {"include_usage": true}, "dry_sequence_breakers": ["x"]
        });
        let r = parse_completion(&body, &defaults()).unwrap();
        let p = &r.job.params;
        assert_eq!(p.temperature, 0.0);
        assert_eq!(
            p.top_k, 7,
            "the profile's value stays where the request says nothing"
        );
        assert_eq!(p.min_p, 0.1);
        assert_eq!(p.seed, Some(42));
        assert_eq!(p.repeat_last_n, 2048);
        assert_eq!(p.mirostat, Mirostat::V2);
        assert_eq!(
            p.samplers,
            vec![SamplerKind::TopK, SamplerKind::Temperature]
        );
        assert_eq!(p.dry_sequence_breakers, vec!["x".to_string()]);
        assert_eq!(r.job.limits.max_tokens, 9);
        assert_eq!(r.job.limits.stop, vec!["\n".to_string()]);
        assert!(r.job.ignore_eos && r.stream && r.include_usage && r.logprobs);
        assert_eq!(r.job.top_logprobs, Some(3));
    }

    #[test]
    fn reply_length_defaults_and_is_capped() {
        let r = parse_completion(&json!({"prompt": "x"}), &defaults()).unwrap();
        assert_eq!(r.job.limits.max_tokens, 100);
        assert_eq!(r.job.limits.stop, vec!["PROFILE".to_string()]);
        let r =
            parse_completion(&json!({"prompt": "x", "max_tokens": 100000}), &defaults()).unwrap();
        assert_eq!(r.job.limits.max_tokens, 500);
        let r = parse_completion(&json!({"prompt": "x", "n_predict": -1}), &defaults()).unwrap();
        assert_eq!(r.job.limits.max_tokens, 500);
        let e =
            parse_completion(&json!({"prompt": "x", "max_tokens": 0}), &defaults()).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("max_tokens"));
    }

    #[test]
    fn chat_logprobs_in_openai_terms() {
        let body = json!({"messages": [{"role": "user", "content": "Hi"}], "logprobs": true, "top_logprobs": 2});
        let r = parse_chat(&body, &defaults(), &style()).unwrap();
        assert_eq!(r.job.top_logprobs, Some(2));
        assert!(r.job.prompt.ends_with("<start_of_turn>model\n"));
        let r = parse_chat(
            &json!({"messages": [{"role": "user", "content": "Hi"}]}),
            &defaults(),
            &style(),
        )
        .unwrap();
        assert_eq!(r.job.top_logprobs, None);
        assert!(!r.logprobs && !r.stream);
        let e = parse_chat(
            &json!({"messages": [{"role": "user", "content": "Hi"}], "top_logprobs": 2}),
            &defaults(),
            &style(),
        )
        .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("top_logprobs"));
    }

    #[test]
    fn bad_fields_name_themselves() {
        let cases = [
            (json!({"prompt": "x", "temperature": "hot"}), "temperature"),
            (json!({"prompt": "x", "top_k": 1.5}), "top_k"),
            (json!({"prompt": "x", "mirostat": 3}), "mirostat"),
            (json!({"prompt": "x", "samplers": ["warp"]}), "samplers"),
            (json!({"prompt": "x", "stop": 5}), "stop"),
            (json!({"prompt": "x", "n": 2}), "n"),
            (json!({"prompt": "x", "seed": -5}), "seed"),
            (json!({"prompt": "x", "stream": "yes"}), "stream"),
            (
                json!({"prompt": "x", "stream_options": {"include_usage": 1}}),
                "stream_options",
            ),
            (json!({"prompt": "x", "logprobs": 50}), "logprobs"),
            (json!({"prompt": 5}), "prompt"),
            (json!({"prompt": ["a", "b"]}), "prompt"),
            (json!({}), "prompt"),
        ];
        for (body, param) in cases {
            let e = parse_completion(&body, &defaults()).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{body}: {e}");
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        }
        let e = parse_completion(&json!({"prompt": "x", "repeat_penalty": 0.0}), &defaults());
        assert!(e.unwrap_err().message.contains("repeat_penalty"));
        let e = parse_completion(&json!({"prompt": "x", "temperature": 1e300}), &defaults());
        assert!(e.is_err(), "a number past f32's range is not finite");
    }
}
