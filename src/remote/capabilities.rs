//! Which of our sampler settings each kind of server takes, and the request bodies sent to it.
//!
//! llama-server and gemma-tui take llama.cpp's fields under llama.cpp's names; vLLM takes top_k,
//! min_p, the penalties (its `repetition_penalty` over the whole text) and a seed; Ollama's
//! OpenAI endpoint and OpenAI itself little beyond temperature, top_p, the presence and
//! frequency penalties, a seed and stop strings. A setting a server does not take is listed by
//! [`not_applied`] (shown by `ask` and the dashboard), never dropped silently.
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::sampling::{Mirostat, SamplerKind, SamplerParams};

/// The kind of server behind a remote model (models.toml's `backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    LlamaServer,
    Vllm,
    Ollama,
    GemmaTui,
    /// The plain OpenAI API (also what an unknown server is taken for).
    #[default]
    Openai,
}

impl Backend {
    pub const ALL: [Backend; 5] = [
        Backend::LlamaServer,
        Backend::Vllm,
        Backend::Ollama,
        Backend::GemmaTui,
        Backend::Openai,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Backend::LlamaServer => "llama-server",
            Backend::Vllm => "vllm",
            Backend::Ollama => "ollama",
            Backend::GemmaTui => "gemma-tui",
            Backend::Openai => "openai",
        }
    }

    /// A guess from `/v1/models`' `owned_by` (llama-server says "llamacpp", vLLM "vllm", Ollama
    /// "library" or its namespace) and the URL (Ollama's usual port 11434). Unknown: OpenAI.
    pub fn detect(owned_by: &str, url: &str) -> Backend {
        let owner = owned_by.to_ascii_lowercase();
        if owner.contains("llamacpp") || owner.contains("llama.cpp") {
            Backend::LlamaServer
        } else if owner.contains("vllm") {
            Backend::Vllm
        } else if owner.contains("gemma-tui") {
            Backend::GemmaTui
        } else if owner.contains("ollama") || owner == "library" || url.contains(":11434") {
            Backend::Ollama
        } else {
            Backend::Openai
        }
    }

    /// Whether this kind of server takes `field` (a [`SamplerParams`] field name).
    pub fn accepts(self, field: &str) -> bool {
        const OPENAI: &[&str] = &[
            "temperature",
            "top_p",
            "presence_penalty",
            "frequency_penalty",
            "seed",
        ];
        const VLLM: &[&str] = &[
            "temperature",
            "top_p",
            "top_k",
            "min_p",
            "presence_penalty",
            "frequency_penalty",
            "repeat_penalty",
            "seed",
        ];
        match self {
            Backend::LlamaServer | Backend::GemmaTui => true,
            Backend::Vllm => VLLM.contains(&field),
            Backend::Ollama | Backend::Openai => OPENAI.contains(&field),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Backend::ALL.iter().map(|b| b.name()).collect();
                format!("unknown backend `{s}` (known: {})", known.join(", "))
            })
    }
}

/// A setting the server will not apply, with its value as set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplied {
    pub field: &'static str,
    pub value: String,
}

impl std::fmt::Display for NotApplied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}", self.field, self.value)
    }
}

/// Each field with its value and whether that value changes anything: a field left at the value
/// that disables it (top_k 0, min_p 0, DRY off, ...) needs no server support, and a stage's own
/// parameters only matter while the stage is on.
fn settings(p: &SamplerParams) -> Vec<(&'static str, String, bool)> {
    let penalties = p.is_active(SamplerKind::Penalties);
    let dry = p.is_active(SamplerKind::Dry);
    let xtc = p.is_active(SamplerKind::Xtc);
    let dynatemp = p.dynatemp_range > 0.0;
    let mirostat = p.mirostat != Mirostat::Off;
    vec![
        ("temperature", p.temperature.to_string(), true),
        ("dynatemp_range", p.dynatemp_range.to_string(), dynatemp),
        (
            "dynatemp_exponent",
            p.dynatemp_exponent.to_string(),
            dynatemp,
        ),
        ("top_k", p.top_k.to_string(), p.top_k > 0),
        ("top_p", p.top_p.to_string(), p.top_p < 1.0),
        ("min_p", p.min_p.to_string(), p.min_p > 0.0),
        ("typical_p", p.typical_p.to_string(), p.typical_p < 1.0),
        (
            "repeat_penalty",
            p.repeat_penalty.to_string(),
            penalties && p.repeat_penalty != 1.0,
        ),
        (
            "frequency_penalty",
            p.frequency_penalty.to_string(),
            penalties && p.frequency_penalty != 0.0,
        ),
        (
            "presence_penalty",
            p.presence_penalty.to_string(),
            penalties && p.presence_penalty != 0.0,
        ),
        // Servers without it count the penalties over the whole text.
        ("repeat_last_n", p.repeat_last_n.to_string(), penalties),
        ("dry_multiplier", p.dry_multiplier.to_string(), dry),
        ("dry_base", p.dry_base.to_string(), dry),
        ("dry_allowed_length", p.dry_allowed_length.to_string(), dry),
        ("dry_penalty_last_n", p.dry_penalty_last_n.to_string(), dry),
        (
            "dry_sequence_breakers",
            format!("{:?}", p.dry_sequence_breakers),
            dry,
        ),
        ("xtc_probability", p.xtc_probability.to_string(), xtc),
        ("xtc_threshold", p.xtc_threshold.to_string(), xtc),
        ("mirostat", p.mirostat.level().to_string(), mirostat),
        ("mirostat_tau", p.mirostat_tau.to_string(), mirostat),
        ("mirostat_eta", p.mirostat_eta.to_string(), mirostat),
        ("min_keep", p.min_keep.to_string(), p.min_keep > 0),
        (
            "samplers",
            crate::sampling::format_order(&p.samplers),
            p.samplers != SamplerKind::DEFAULT_ORDER,
        ),
        (
            "seed",
            p.seed.map(|s| s.to_string()).unwrap_or_default(),
            p.seed.is_some(),
        ),
    ]
}

/// The settings in `params` that a `backend` server does not apply (empty when all are).
pub fn not_applied(backend: Backend, params: &SamplerParams) -> Vec<NotApplied> {
    settings(params)
        .into_iter()
        .filter(|(field, _, matters)| *matters && !backend.accepts(field))
        .map(|(field, value, _)| NotApplied { field, value })
        .collect()
}

/// What is asked for: a chat (messages, the last may be an assistant turn the reply continues)
/// or a plain completion of a text.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Chat(Vec<Message>),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

impl Prompt {
    /// The path under the base URL (`.../v1`).
    pub fn path(&self) -> &'static str {
        match self {
            Prompt::Chat(_) => "chat/completions",
            Prompt::Text(_) => "completions",
        }
    }

    /// The same prompt with `text` already delivered: for a chat, the reply so far as a
    /// trailing assistant message (appended to one already there) that the server continues;
    /// for a completion, appended to the prompt.
    pub fn continued(&self, text: &str) -> Prompt {
        match self {
            Prompt::Text(p) => Prompt::Text(format!("{p}{text}")),
            Prompt::Chat(messages) => {
                let mut messages = messages.clone();
                match messages.last_mut() {
                    Some(m) if m.role == "assistant" => m.content.push_str(text),
                    _ => messages.push(Message::new("assistant", text)),
                }
                Prompt::Chat(messages)
            }
        }
    }
}

/// One streamed request: what to send besides the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub prompt: Prompt,
    pub params: SamplerParams,
    pub max_tokens: usize,
    pub stop: Vec<String>,
}

/// The JSON body of a streamed request to a `backend` server serving `model`: the settings it
/// takes, under its names; the others are left out (and listed by [`not_applied`]).
pub fn request_body(backend: Backend, model: &str, request: &Request) -> Value {
    let p = &request.params;
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    match &request.prompt {
        Prompt::Chat(messages) => body.insert("messages".into(), json!(messages)),
        Prompt::Text(text) => body.insert("prompt".into(), json!(text)),
    };
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    body.insert("max_tokens".into(), json!(request.max_tokens));
    if !request.stop.is_empty() {
        body.insert("stop".into(), json!(request.stop));
    }
    let active: Vec<&str> = settings(p)
        .into_iter()
        .filter(|(field, _, matters)| *matters && backend.accepts(field))
        .map(|(field, _, _)| field)
        .collect();
    // Temperature always goes: every server has its own default, ours must win.
    for field in active {
        let value = match field {
            "temperature" => json!(p.temperature),
            "dynatemp_range" => json!(p.dynatemp_range),
            "dynatemp_exponent" => json!(p.dynatemp_exponent),
            "top_k" => json!(p.top_k),
            "top_p" => json!(p.top_p),
            "min_p" => json!(p.min_p),
            "typical_p" => json!(p.typical_p),
            "repeat_penalty" => json!(p.repeat_penalty),
            "frequency_penalty" => json!(p.frequency_penalty),
            "presence_penalty" => json!(p.presence_penalty),
            "repeat_last_n" => json!(p.repeat_last_n),
            "dry_multiplier" => json!(p.dry_multiplier),
            "dry_base" => json!(p.dry_base),
            "dry_allowed_length" => json!(p.dry_allowed_length),
            "dry_penalty_last_n" => json!(p.dry_penalty_last_n),
            "dry_sequence_breakers" => json!(p.dry_sequence_breakers),
            "xtc_probability" => json!(p.xtc_probability),
            "xtc_threshold" => json!(p.xtc_threshold),
            "mirostat" => json!(p.mirostat.level()),
            "mirostat_tau" => json!(p.mirostat_tau),
            "mirostat_eta" => json!(p.mirostat_eta),
            "min_keep" => json!(p.min_keep),
            // llama.cpp's own names for the stages.
            "samplers" => json!(p
                .samplers
                .iter()
                .map(|k| match k {
                    SamplerKind::Typical => "typ_p",
                    k => k.name(),
                })
                .collect::<Vec<_>>()),
            "seed" => json!(p.seed),
            _ => continue,
        };
        // vLLM names llama.cpp's repeat_penalty `repetition_penalty`.
        let name = match (backend, field) {
            (Backend::Vllm, "repeat_penalty") => "repetition_penalty",
            _ => field,
        };
        body.insert(name.into(), value);
    }
    // A disabled top_k/top_p must still reach servers whose defaults differ from llama.cpp's:
    // llama-server and gemma-tui default to top_k 40, vLLM to no top_k.
    if matches!(backend, Backend::LlamaServer | Backend::GemmaTui) {
        body.entry("top_k").or_insert(json!(p.top_k));
        body.entry("top_p").or_insert(json!(p.top_p));
        body.entry("min_p").or_insert(json!(p.min_p));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[NotApplied]) -> Vec<&'static str> {
        list.iter().map(|n| n.field).collect()
    }

    fn busy_params() -> SamplerParams {
        SamplerParams {
            temperature: 0.7,
            top_k: 20,
            top_p: 0.9,
            min_p: 0.1,
            typical_p: 0.8,
            repeat_penalty: 1.1,
            presence_penalty: 0.5,
            dry_multiplier: 0.8,
            mirostat: Mirostat::V2,
            seed: Some(7),
            ..SamplerParams::default()
        }
    }

    #[test]
    fn the_table_says_who_takes_what() {
        let p = busy_params();
        assert!(not_applied(Backend::LlamaServer, &p).is_empty());
        assert!(not_applied(Backend::GemmaTui, &p).is_empty());
        assert_eq!(
            fields(&not_applied(Backend::Vllm, &p)),
            [
                "typical_p",
                "repeat_last_n",
                "dry_multiplier",
                "dry_base",
                "dry_allowed_length",
                "dry_penalty_last_n",
                "dry_sequence_breakers",
                "mirostat",
                "mirostat_tau",
                "mirostat_eta"
            ]
        );
        let openai = fields(&not_applied(Backend::Openai, &p));
        assert_eq!(openai, fields(&not_applied(Backend::Ollama, &p)));
        for f in [
            "top_k",
            "min_p",
            "typical_p",
            "repeat_penalty",
            "mirostat",
            "dry_base",
        ] {
            assert!(openai.contains(&f), "{f} in {openai:?}");
        }
        for f in ["temperature", "top_p", "presence_penalty", "seed"] {
            assert!(!openai.contains(&f), "{f} in {openai:?}");
        }
        let value = &not_applied(Backend::Openai, &p)[0];
        assert_eq!(value.to_string(), "top_k = 20");
    }

    #[test]
    fn settings_that_change_nothing_are_not_reported() {
        let off = SamplerParams {
            top_k: 0,
            min_p: 0.0,
            ..SamplerParams::greedy()
        };
        assert!(
            not_applied(Backend::Openai, &off).is_empty(),
            "{:?}",
            not_applied(Backend::Openai, &off)
        );
        // llama.cpp's defaults have top_k 40 and min_p 0.05: OpenAI cannot apply them.
        let defaults = fields(&not_applied(Backend::Openai, &SamplerParams::default()));
        assert_eq!(defaults, ["top_k", "min_p"]);
    }

    #[test]
    fn bodies_carry_what_the_server_takes_under_its_names() {
        let request = Request {
            prompt: Prompt::Chat(vec![Message::new("user", "hi")]),
            params: busy_params(),
            max_tokens: 16,
            stop: vec!["User:".into()],
        };
        let llama = request_body(Backend::LlamaServer, "m", &request);
        assert_eq!(llama["model"], "m");
        assert_eq!(llama["stream"], true);
        assert_eq!(llama["messages"][0]["content"], "hi");
        assert_eq!(llama["max_tokens"], 16);
        assert_eq!(llama["stop"][0], "User:");
        assert_eq!(llama["top_k"], 20);
        assert_eq!(llama["mirostat"], 2);
        assert_eq!(llama["dry_multiplier"].as_f64().unwrap() as f32, 0.8);
        assert_eq!(llama["seed"], 7);
        assert!(llama["typical_p"].is_number());
        let vllm = request_body(Backend::Vllm, "m", &request);
        assert_eq!(vllm["top_k"], 20);
        assert!(vllm.get("repeat_penalty").is_none());
        assert_eq!(vllm["repetition_penalty"].as_f64().unwrap() as f32, 1.1);
        assert!(vllm.get("mirostat").is_none());
        let openai = request_body(Backend::Openai, "m", &request);
        for absent in [
            "top_k",
            "min_p",
            "typical_p",
            "mirostat",
            "repeat_penalty",
            "dry_base",
        ] {
            assert!(openai.get(absent).is_none(), "{absent} sent to openai");
        }
        assert_eq!(openai["seed"], 7);
        assert_eq!(openai["presence_penalty"], 0.5);
        // A disabled top_k still reaches llama-server, whose default is 40.
        let plain = Request {
            params: SamplerParams {
                top_k: 0,
                ..SamplerParams::greedy()
            },
            ..request.clone()
        };
        assert_eq!(request_body(Backend::GemmaTui, "m", &plain)["top_k"], 0);
        assert_eq!(
            request_body(Backend::GemmaTui, "m", &plain)["temperature"],
            0.0
        );
        // A completion sends a prompt instead of messages.
        let text = Request {
            prompt: Prompt::Text("Once".into()),
            ..request
        };
        let body = request_body(Backend::Openai, "m", &text);
        assert_eq!(body["prompt"], "Once");
        assert!(body.get("messages").is_none());
    }

    #[test]
    fn a_continued_prompt_keeps_the_delivered_text_as_the_assistant_turn() {
        let chat = Prompt::Chat(vec![Message::new("user", "hi")]);
        let once = chat.continued("Hello");
        let twice = once.continued(" there");
        assert_eq!(
            twice,
            Prompt::Chat(vec![
                Message::new("user", "hi"),
                Message::new("assistant", "Hello there")
            ])
        );
        assert_eq!(
            Prompt::Text("A".into()).continued("B"),
            Prompt::Text("AB".into())
        );
    }

    #[test]
    fn backends_parse_by_name_and_are_detected_from_models() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
        assert!("vLLM"
            .parse::<Backend>()
            .unwrap_err()
            .contains("known: llama-server"));
        assert_eq!(
            Backend::detect("llamacpp", "http://x:8080/v1"),
            Backend::LlamaServer
        );
        assert_eq!(Backend::detect("vllm", "http://x/v1"), Backend::Vllm);
        assert_eq!(Backend::detect("library", "http://x/v1"), Backend::Ollama);
        assert_eq!(Backend::detect("", "http://x:11434/v1"), Backend::Ollama);
        assert_eq!(Backend::detect("openai", "https://api/v1"), Backend::Openai);
    }
}
