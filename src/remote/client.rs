//! One OpenAI-compatible server: streamed completions, its models, its health.
use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde::Deserialize;

use super::capabilities::{request_body, Backend, Request};
use super::sse::{error_message, parse_chunk, Chunk, SseEvent, SseParser};

/// How long a connection may take to open, and a health check to answer: a node slower than
/// this is as good as down for an interactive reply.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemoteError {
    #[error("{url}: cannot connect: {message}")]
    Connect { url: String, message: String },
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// The stream broke or ended before the reply did (the node died, the connection dropped).
    #[error("{url}: the stream broke: {message}")]
    Stream { url: String, message: String },
    /// The server sent an `error` object in the stream.
    #[error("{url}: {message}")]
    Server { url: String, message: String },
    #[error("{0}")]
    NoNode(String),
}

impl RemoteError {
    /// Whether another node may succeed where this one failed: not for a request the server
    /// refused as bad (4xx), which any node would refuse.
    pub fn retryable(&self) -> bool {
        match self {
            RemoteError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => true,
        }
    }
}

/// The chunks of one streamed reply; ends after `[DONE]` (or a finish reason and the end of the
/// body), or with an error when the stream breaks first.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, RemoteError>> + Send>>;

/// A model as `/v1/models` lists it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    #[serde(default)]
    pub owned_by: String,
}

#[derive(Debug, Clone)]
pub struct NodeClient {
    /// The base URL, `.../v1`, without a trailing slash.
    pub base: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl NodeClient {
    pub fn new(base: &str, api_key: Option<String>) -> Result<Self, RemoteError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| RemoteError::Connect {
                url: base.into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            api_key,
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// The server's root (the base without `/v1`), where llama-server answers `/health`.
    fn root(&self) -> &str {
        self.base.strip_suffix("/v1").unwrap_or(&self.base)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    fn connect_error(&self, e: reqwest::Error) -> RemoteError {
        RemoteError::Connect {
            url: self.base.clone(),
            message: source_chain(&e),
        }
    }

    /// Sends `request` (streamed) and returns its chunks once the response headers are in.
    pub async fn stream(
        &self,
        backend: Backend,
        model: &str,
        request: &Request,
    ) -> Result<ChunkStream, RemoteError> {
        let body = request_body(backend, model, request);
        let response = self
            .authorized(self.http.post(self.url(request.prompt.path())))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.connect_error(e))?;
        let response = self.checked(response).await?;
        Ok(chunks(self.base.clone(), response))
    }

    /// A non-2xx answer as an error with the server's message.
    async fn checked(&self, response: reqwest::Response) -> Result<reqwest::Response, RemoteError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").map(error_message))
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(RemoteError::Status {
            url: self.base.clone(),
            status: status.as_u16(),
            message,
        })
    }

    /// `/v1/models`.
    pub async fn models(&self) -> Result<Vec<ModelInfo>, RemoteError> {
        #[derive(Deserialize)]
        struct List {
            data: Vec<ModelInfo>,
        }
        let response = self
            .authorized(self.http.get(self.url("models")))
            .timeout(HEALTH_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.connect_error(e))?;
        let list: List =
            self.checked(response)
                .await?
                .json()
                .await
                .map_err(|e| RemoteError::Stream {
                    url: self.base.clone(),
                    message: format!("/models is not a model list: {e}"),
                })?;
        Ok(list.data)
    }

    /// Ready to serve: `/health` answers 200 (503 while a model loads); servers without it
    /// (OpenAI, Ollama, vLLM behind some proxies) are asked `/v1/models` instead.
    pub async fn health(&self) -> Result<(), RemoteError> {
        let response = self
            .authorized(self.http.get(format!("{}/health", self.root())))
            .timeout(HEALTH_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.connect_error(e))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            404 | 405 => self.models().await.map(|_| ()),
            _ => self.checked(response).await.map(|_| ()),
        }
    }
}

/// The whole chain of an error's causes ("error sending request: connection refused").
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// Parses the body into chunks as it arrives.
fn chunks(url: String, response: reqwest::Response) -> ChunkStream {
    struct State {
        url: String,
        body: Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
        parser: SseParser,
        ready: std::collections::VecDeque<SseEvent>,
        finished: bool,
        done: bool,
    }
    let state = State {
        url,
        body: Box::pin(response.bytes_stream().map(|r| r.map(|b| b.to_vec()))),
        parser: SseParser::default(),
        ready: Default::default(),
        finished: false,
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            if let Some(event) = s.ready.pop_front() {
                match event {
                    SseEvent::Done => return None,
                    SseEvent::Data(data) => {
                        let item = match parse_chunk(&data) {
                            Ok(chunk) => {
                                s.finished |= chunk.finish_reason.is_some();
                                Ok(chunk)
                            }
                            Err(e) => {
                                s.done = true;
                                Err(RemoteError::Server {
                                    url: s.url.clone(),
                                    message: e.to_string(),
                                })
                            }
                        };
                        return Some((item, s));
                    }
                }
            }
            match s.body.next().await {
                Some(Ok(bytes)) => s.ready.extend(s.parser.push(&bytes)),
                Some(Err(e)) => {
                    s.done = true;
                    let message = source_chain(&e);
                    return Some((
                        Err(RemoteError::Stream {
                            url: s.url.clone(),
                            message,
                        }),
                        s,
                    ));
                }
                None => {
                    let tail = s.parser.finish();
                    if tail.is_empty() {
                        // A body that ends without `[DONE]` is whole only if a finish reason came.
                        if s.finished {
                            return None;
                        }
                        s.done = true;
                        let message = "the connection closed before the reply finished".into();
                        return Some((
                            Err(RemoteError::Stream {
                                url: s.url.clone(),
                                message,
                            }),
                            s,
                        ));
                    }
                    s.ready.extend(tail);
                }
            }
        }
    }))
}
