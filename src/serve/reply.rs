//! The answer's JSON, in OpenAI's shapes (chat and text completions, streamed chunks and whole
//! responses) with llama-server's `timings` on the last chunk or the response.
use serde_json::{json, Value};

use super::slots::{JobStats, TokenOut};
use crate::engine::FinishReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Chat,
    Completion,
}

impl Route {
    /// The route's name in events and logs.
    pub fn name(self) -> &'static str {
        match self {
            Route::Chat => "/v1/chat/completions",
            Route::Completion => "/v1/completions",
        }
    }
}

/// What every chunk of one reply repeats.
#[derive(Debug, Clone)]
pub struct ReplyMeta {
    pub route: Route,
    pub id: String,
    pub created: u64,
    pub model: String,
}

impl ReplyMeta {
    pub fn new(route: Route, model: &str) -> Self {
        let prefix = match route {
            Route::Chat => "chatcmpl",
            Route::Completion => "cmpl",
        };
        Self {
            route,
            id: format!("{prefix}-{:024x}", rand::random::<u128>() >> 32),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            model: model.to_string(),
        }
    }

    fn chunk(&self, choice: Value) -> Value {
        let object = match self.route {
            Route::Chat => "chat.completion.chunk",
            Route::Completion => "text_completion",
        };
        json!({
            "id": self.id,
            "object": object,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [choice],
        })
    }

    /// The chat stream's first chunk: the assistant role, no text yet.
    pub fn role_chunk(&self) -> Value {
        self.chunk(json!({
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": null,
            "finish_reason": null,
        }))
    }

    /// A piece of text (and its tokens' log-probabilities when asked for); `offset`: where it
    /// starts in the reply's text (a text completion's `text_offset`).
    pub fn content_chunk(&self, piece: &TokenOut, logprobs: bool, offset: usize) -> Value {
        let pieces = std::slice::from_ref(piece);
        let lp = logprobs.then(|| self.logprobs(pieces, offset));
        match self.route {
            Route::Chat => self.chunk(json!({
                "index": 0,
                "delta": {"content": piece.text},
                "logprobs": lp,
                "finish_reason": null,
            })),
            Route::Completion => self.chunk(json!({
                "index": 0,
                "text": piece.text,
                "logprobs": lp,
                "finish_reason": null,
            })),
        }
    }

    /// The last chunk with a choice: why the reply ended, and llama-server's timings.
    pub fn finish_chunk(&self, stats: &JobStats) -> Value {
        let mut chunk = match self.route {
            Route::Chat => self.chunk(json!({
                "index": 0, "delta": {}, "logprobs": null, "finish_reason": finish_reason(stats.finish),
            })),
            Route::Completion => self.chunk(json!({
                "index": 0, "text": "", "logprobs": null, "finish_reason": finish_reason(stats.finish),
            })),
        };
        chunk["timings"] = timings(stats);
        chunk["truncated"] = json!(stats.shifts > 0);
        chunk
    }

    /// `stream_options.include_usage`: no choices, only the counts.
    pub fn usage_chunk(&self, stats: &JobStats) -> Value {
        let mut chunk = self.chunk(Value::Null);
        chunk["choices"] = json!([]);
        chunk["usage"] = usage(stats);
        chunk
    }

    /// The whole reply, not streamed.
    pub fn response(
        &self,
        text: &str,
        pieces: &[TokenOut],
        logprobs: bool,
        stats: &JobStats,
    ) -> Value {
        let lp = logprobs.then(|| self.logprobs(pieces, 0));
        let (object, choice) = match self.route {
            Route::Chat => (
                "chat.completion",
                json!({
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": lp,
                    "finish_reason": finish_reason(stats.finish),
                }),
            ),
            Route::Completion => (
                "text_completion",
                json!({
                    "index": 0,
                    "text": text,
                    "logprobs": lp,
                    "finish_reason": finish_reason(stats.finish),
                }),
            ),
        };
        json!({
            "id": self.id,
            "object": object,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [choice],
            "usage": usage(stats),
            "timings": timings(stats),
            // llama-server's flag for a reply whose context was shifted.
            "truncated": stats.shifts > 0,
        })
    }

    /// OpenAI's log-probability shapes: chat `{"content": [{token, logprob, bytes,
    /// top_logprobs}]}`; text completions the legacy parallel lists. `offset`: where the first
    /// piece starts in the reply's text.
    fn logprobs(&self, pieces: &[TokenOut], offset: usize) -> Value {
        let with: Vec<_> = pieces.iter().filter_map(|p| p.logprob.as_ref()).collect();
        match self.route {
            Route::Chat => json!({"content": with.iter().map(|lp| json!({
                "token": lp.token,
                "logprob": lp.logprob,
                "bytes": lp.token.as_bytes(),
                "top_logprobs": lp.top.iter().map(|(t, l)| json!({
                    "token": t, "logprob": l, "bytes": t.as_bytes(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()}),
            Route::Completion => {
                let mut text_offset = Vec::with_capacity(with.len());
                let mut at = offset;
                for lp in &with {
                    text_offset.push(at);
                    at += lp.token.len();
                }
                json!({
                    "tokens": with.iter().map(|lp| &lp.token).collect::<Vec<_>>(),
                    "token_logprobs": with.iter().map(|lp| lp.logprob).collect::<Vec<_>>(),
                    "top_logprobs": with.iter().map(|lp| {
                        lp.top.iter().map(|(t, l)| (t.clone(), json!(l))).collect::<serde_json::Map<_, _>>()
                    }).collect::<Vec<_>>(),
                    "text_offset": text_offset,
                })
            }
        }
    }
}

/// Identifies the build that answered (OpenAI's field; clients log it).
const FINGERPRINT: &str = concat!("gemma-tui-", env!("CARGO_PKG_VERSION"));

/// OpenAI's reasons: `stop` when the model or a stop string ended the reply, `length` when a
/// limit did.
pub fn finish_reason(finish: FinishReason) -> &'static str {
    match finish {
        FinishReason::MaxTokens | FinishReason::ContextFull => "length",
        FinishReason::EndOfTurn | FinishReason::StopString | FinishReason::Cancelled => "stop",
    }
}

pub fn usage(stats: &JobStats) -> Value {
    json!({
        "prompt_tokens": stats.prompt_n,
        "completion_tokens": stats.predicted_n,
        "total_tokens": stats.prompt_n + stats.predicted_n,
    })
}

/// llama-server's `timings` object.
pub fn timings(stats: &JobStats) -> Value {
    let per = |n: usize, ms: f64| {
        if n > 0 && ms > 0.0 {
            (ms / n as f64, 1000.0 * n as f64 / ms)
        } else {
            (0.0, 0.0)
        }
    };
    let (prompt_per_token_ms, prompt_per_second) = per(stats.prompt_n, stats.prompt_ms);
    let (predicted_per_token_ms, predicted_per_second) = per(stats.predicted_n, stats.predicted_ms);
    let mut t = json!({
        "cache_n": 0,
        "prompt_n": stats.prompt_n,
        "prompt_ms": stats.prompt_ms,
        "prompt_per_token_ms": prompt_per_token_ms,
        "prompt_per_second": prompt_per_second,
        "predicted_n": stats.predicted_n,
        "predicted_ms": stats.predicted_ms,
        "predicted_per_token_ms": predicted_per_token_ms,
        "predicted_per_second": predicted_per_second,
    });
    // As llama-server: the draft figures only when something was drafted.
    if stats.draft_n > 0 {
        t["draft_n"] = json!(stats.draft_n);
        t["draft_n_accepted"] = json!(stats.draft_n_accepted);
    }
    if stats.shifts > 0 {
        t["context_shifts"] = json!(stats.shifts);
        t["context_shifted_n"] = json!(stats.shifted);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::slots::TokenLogprob;

    fn stats() -> JobStats {
        JobStats {
            finish: FinishReason::MaxTokens,
            prompt_n: 10,
            prompt_ms: 20.0,
            predicted_n: 4,
            predicted_ms: 100.0,
            ttft_ms: 25.0,
            draft_n: 0,
            draft_n_accepted: 0,
            shifts: 0,
            shifted: 0,
        }
    }

    fn piece(text: &str) -> TokenOut {
        TokenOut {
            text: text.into(),
            id: 1,
            logprob: Some(TokenLogprob {
                token: text.into(),
                logprob: -0.5,
                top: vec![(text.into(), -0.5), ("x".into(), -1.5)],
            }),
        }
    }

    #[test]
    fn chat_chunks_have_openai_shapes() {
        let m = ReplyMeta::new(Route::Chat, "gemma");
        assert!(m.id.starts_with("chatcmpl-"));
        let first = m.role_chunk();
        assert_eq!(first["object"], "chat.completion.chunk");
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        let c = m.content_chunk(&piece(" Paris"), true, 0);
        assert_eq!(c["choices"][0]["delta"]["content"], " Paris");
        assert_eq!(
            c["choices"][0]["logprobs"]["content"][0]["top_logprobs"][1]["token"],
            "x"
        );
        let fin = m.finish_chunk(&stats());
        assert_eq!(fin["choices"][0]["finish_reason"], "length");
        assert_eq!(fin["timings"]["predicted_per_second"], 40.0);
        assert_eq!(fin["timings"]["prompt_per_token_ms"], 2.0);
        let u = m.usage_chunk(&stats());
        assert_eq!(u["choices"], json!([]));
        assert_eq!(u["usage"]["total_tokens"], 14);
    }

    #[test]
    fn completion_response_has_text_usage_and_legacy_logprobs() {
        let m = ReplyMeta::new(Route::Completion, "gemma");
        let pieces = [piece("a"), piece("bc")];
        let r = m.response("abc", &pieces, true, &stats());
        assert_eq!(r["object"], "text_completion");
        assert_eq!(r["choices"][0]["text"], "abc");
        assert_eq!(r["choices"][0]["logprobs"]["text_offset"], json!([0, 1]));
        assert_eq!(r["choices"][0]["logprobs"]["top_logprobs"][0]["x"], -1.5);
        assert_eq!(r["usage"]["completion_tokens"], 4);
        assert_eq!(r["timings"]["prompt_n"], 10);
        let r = m.response("abc", &pieces, false, &stats());
        assert_eq!(r["choices"][0]["logprobs"], Value::Null);
    }

    #[test]
    fn drafts_and_shifts_show_only_when_they_happened() {
        let m = ReplyMeta::new(Route::Chat, "gemma");
        let plain = m.finish_chunk(&stats());
        assert!(plain["timings"].get("draft_n").is_none(), "{plain}");
        assert_eq!(plain["truncated"], false);
        let busy = JobStats {
            draft_n: 12,
            draft_n_accepted: 9,
            shifts: 2,
            shifted: 200,
            ..stats()
        };
        let fin = m.finish_chunk(&busy);
        assert_eq!(fin["timings"]["draft_n"], 12);
        assert_eq!(fin["timings"]["draft_n_accepted"], 9);
        assert_eq!(fin["timings"]["context_shifts"], 2);
        assert_eq!(fin["truncated"], true);
        assert_eq!(m.response("x", &[], false, &busy)["truncated"], true);
    }
}
