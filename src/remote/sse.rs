//! Server-sent events as the OpenAI API streams them: `data: {json}` lines separated by blank
//! lines, `:` comment lines (keep-alives) ignored, and `data: [DONE]` at the end. Each data
//! event's JSON is a completion chunk, or an `{"error": {...}}` object a server sends when it
//! fails after the stream has started.
use serde::Deserialize;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    /// The payload of a `data:` event (several `data:` lines joined with newlines).
    Data(String),
    /// `data: [DONE]`: the server finished the stream.
    Done,
}

/// Cuts a byte stream into events as it arrives: bytes may split anywhere, even inside a UTF-8
/// character, so whole lines are decoded only once their newline is in.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(event) = self.line(line) {
                events.push(event);
            }
        }
        events
    }

    /// The end of the body: an event not yet closed by a blank line still counts (some servers
    /// end with `data: [DONE]` and no blank line after it).
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let rest = std::mem::take(&mut self.pending);
        let mut events = Vec::new();
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(&rest).trim_end().to_string();
            events.extend(self.line(&line));
        }
        events.extend(self.line(""));
        events
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            // A blank line dispatches the event gathered so far.
            if self.data.is_empty() {
                return None;
            }
            let data = std::mem::take(&mut self.data).join("\n");
            return Some(if data.trim() == "[DONE]" {
                SseEvent::Done
            } else {
                SseEvent::Data(data)
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        // `event:`, `id:` and `retry:` carry nothing the OpenAI API uses.
        if field == "data" {
            self.data.push(value.to_string());
        }
        None
    }
}

/// llama-server's `timings` object (also sent by gemma-tui serve), read when a server sends it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ServerTimings {
    pub prompt_n: f64,
    pub prompt_ms: f64,
    pub prompt_per_second: f64,
    pub predicted_n: f64,
    pub predicted_ms: f64,
    pub predicted_per_second: f64,
}

/// Token counts of a `usage` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
}

/// What one data event says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// Reply text in this chunk (`choices[0].delta.content`, or `choices[0].text` for
    /// `/v1/completions`); empty for the role-only first chunk and the final one.
    pub text: String,
    /// `choices[0].finish_reason` when set: "stop", "length", ...
    pub finish_reason: Option<String>,
    pub timings: Option<ServerTimings>,
    pub usage: Option<Usage>,
}

/// A data event that cannot be used, or an `error` object from the server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChunkError {
    #[error("the server reported an error: {0}")]
    Server(String),
    #[error("a stream event is not a completion chunk: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct RawChunk {
    #[serde(default)]
    choices: Vec<RawChoice>,
    timings: Option<ServerTimings>,
    usage: Option<Usage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawChoice {
    #[serde(default)]
    delta: Option<RawDelta>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawDelta {
    #[serde(default)]
    content: Option<String>,
}

/// Reads one data event's JSON.
pub fn parse_chunk(data: &str) -> Result<Chunk, ChunkError> {
    let raw: RawChunk = serde_json::from_str(data)
        .map_err(|e| ChunkError::Malformed(format!("{e}: {}", clip(data))))?;
    if let Some(error) = raw.error {
        return Err(ChunkError::Server(error_message(&error)));
    }
    let mut chunk = Chunk {
        timings: raw.timings,
        usage: raw.usage,
        ..Chunk::default()
    };
    if let Some(choice) = raw.choices.into_iter().next() {
        let delta = choice.delta.and_then(|d| d.content);
        chunk.text = delta.or(choice.text).unwrap_or_default();
        chunk.finish_reason = choice.finish_reason;
    }
    Ok(chunk)
}

/// The message of an OpenAI-style error object (`{"message": ...}`), or the object itself.
pub fn error_message(error: &serde_json::Value) -> String {
    error
        .get("message")
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| clip(&error.to_string()))
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(parts: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out: Vec<SseEvent> = parts.iter().flat_map(|b| p.push(b)).collect();
        out.extend(p.finish());
        out
    }

    #[test]
    fn events_split_anywhere_come_out_whole_and_comments_are_ignored() {
        let body =
            "data: {\"a\":1}\n\n: keep-alive\n\ndata: {\"b\":\"\u{e9}\"}\r\n\r\ndata: [DONE]\n\n";
        let bytes = body.as_bytes();
        let expected = vec![
            SseEvent::Data("{\"a\":1}".into()),
            SseEvent::Data("{\"b\":\"\u{e9}\"}".into()),
            SseEvent::Done,
        ];
        // Every split point, including inside the two-byte character.
        for cut in 0..bytes.len() {
            assert_eq!(all(&[&bytes[..cut], &bytes[cut..]]), expected, "cut {cut}");
        }
        // Byte by byte.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(all(&singles), expected);
    }

    #[test]
    fn multi_line_data_joins_and_a_last_event_without_blank_line_counts() {
        let got = all(&[b"event: x\ndata: one\ndata: two\n\ndata: [DONE]"]);
        assert_eq!(got, vec![SseEvent::Data("one\ntwo".into()), SseEvent::Done]);
    }

    #[test]
    fn chunks_give_delta_text_finish_timings_and_errors() {
        let first = r#"{"id":"x","choices":[{"index":0,"delta":{"role":"assistant"}}]}"#;
        assert_eq!(parse_chunk(first).unwrap(), Chunk::default());
        let piece = r#"{"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}"#;
        assert_eq!(parse_chunk(piece).unwrap().text, "Hel");
        let completion = r#"{"choices":[{"text":"lo","finish_reason":null}]}"#;
        assert_eq!(parse_chunk(completion).unwrap().text, "lo");
        let last = r#"{"choices":[{"delta":{},"finish_reason":"length"}],
            "timings":{"prompt_n":5,"prompt_ms":10.0,"prompt_per_second":500.0,
                       "predicted_n":8,"predicted_ms":80.0,"predicted_per_second":100.0}}"#;
        let c = parse_chunk(last).unwrap();
        assert_eq!(c.finish_reason.as_deref(), Some("length"));
        assert_eq!(c.timings.unwrap().predicted_per_second, 100.0);
        let usage =
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;
        assert_eq!(
            parse_chunk(usage).unwrap().usage.unwrap().completion_tokens,
            4
        );
        let err = r#"{"error":{"message":"slot crashed","type":"server_error"}}"#;
        assert_eq!(
            parse_chunk(err).unwrap_err(),
            ChunkError::Server("slot crashed".into())
        );
        assert!(matches!(
            parse_chunk("not json"),
            Err(ChunkError::Malformed(_))
        ));
    }
}
