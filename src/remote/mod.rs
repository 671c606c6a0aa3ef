//! Engines on other machines: llama-server, vLLM, Ollama or another gemma-tui, spoken to over the
//! OpenAI HTTP API. A remote model is one URL or several ([`cluster`]); [`capabilities`] says
//! which sampler settings each kind of server applies and builds the request bodies; [`client`]
//! speaks to one node; [`sse`] reads the streams.
pub mod capabilities;
pub mod client;
pub mod cluster;
pub mod sse;

pub use capabilities::{not_applied, Backend, Message, NotApplied, Prompt, Request};
pub use client::{NodeClient, RemoteError};
pub use cluster::{Cluster, NodeStatus, Reply, ReplyEvent};
pub use sse::ServerTimings;

/// A models.toml entry with `url` or `urls`: what it takes to reach the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteModel {
    /// The models.toml name.
    pub name: String,
    /// Base URLs, each ending in `/v1` as the OpenAI clients expect.
    pub urls: Vec<String>,
    /// Read from `api_key_env` when the model is used.
    pub api_key: Option<String>,
    /// The served model's name; empty: the first one `/v1/models` lists.
    pub model: String,
    /// `None`: guessed from `/v1/models` ([`Backend::detect`]).
    pub backend: Option<Backend>,
}

/// How often a cluster's nodes are health-checked.
pub const HEALTH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
