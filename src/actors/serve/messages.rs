use std::net::SocketAddr;
use std::sync::Arc;

use actix::Message;

use crate::engine::Engine;
use crate::serve::slots::PoolStatus;
use crate::serve::{RequestRecord, ServerConfig};

/// What the serve actor tells the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum ServeEvent {
    /// Listening (and the model's slots started) at `addr`.
    Started { addr: SocketAddr },
    /// The server stopped after its requests in flight finished.
    Stopped,
    /// It could not start, or it ended with an error.
    Failed(String),
    /// Once a second while it runs: the slots and the rates.
    Status(ServeStatus),
    /// One answered completion request.
    Request(RequestRecord),
}

/// The pane's figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServeStatus {
    pub addr: Option<SocketAddr>,
    pub pool: PoolStatus,
    /// Generated tokens per second over the last 10 s, all slots together.
    pub tokens_per_second: f64,
    /// Answers by status class since the start.
    pub ok: u64,
    pub errors: u64,
}

/// Where to listen and how to serve.
#[derive(Clone)]
pub struct ServeOptions {
    pub host: String,
    /// 0 picks a free port (the `Started` event says which).
    pub port: u16,
    /// Listen on a non-loopback address without a key.
    pub insecure: bool,
    pub config: ServerConfig,
}

/// Serve the loaded model (the inference actor's `SharedEngine`).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct StartServer {
    pub engine: Arc<Engine>,
    pub options: ServeOptions,
}

/// Stop accepting, let the requests in flight finish, then report `Stopped`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StopServer;
