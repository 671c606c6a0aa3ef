//! One model served by one or several nodes (models.toml's `url` or `urls`).
//!
//! Each request goes to the less loaded of two nodes picked at random (tower's `balance::p2c`)
//! by requests in flight (`load::PendingRequests`). Its completion marker is held by the reply's
//! chunk stream, so a request counts until its body ends, not just until the headers arrive.
//! Nodes are health-checked periodically: a node that fails leaves the balancer (a discover
//! `Remove`) and comes back when its health check passes again. A reply whose node dies
//! mid-stream goes on on another node from the text already delivered (see [`Cluster::generate`]).
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tower::balance::p2c::Balance;
use tower::discover::Change;
use tower::load::completion::TrackCompletion;
use tower::load::pending_requests::Handle;
use tower::load::PendingRequests;
use tower::Service;

use super::capabilities::{Backend, Request};
use super::client::{ChunkStream, NodeClient, RemoteError};
use super::sse::ServerTimings;
use super::RemoteModel;

/// Counters of one node, shared by its service, the health loop and the snapshots.
#[derive(Debug, Default)]
struct NodeStats {
    healthy: AtomicBool,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    errors: AtomicU64,
    tokens: AtomicU64,
    /// The last reply's decode rate in thousandths of a token per second.
    rate_milli: AtomicU64,
    last_error: Mutex<Option<String>>,
}

#[derive(Debug)]
struct Node {
    client: NodeClient,
    stats: NodeStats,
}

/// A node as the cluster pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    pub url: String,
    pub healthy: bool,
    pub in_flight: usize,
    pub requests: u64,
    pub errors: u64,
    pub tokens: u64,
    /// The decode rate of the node's last reply.
    pub tokens_per_s: f64,
    pub last_error: Option<String>,
}

/// A streamed reply as one node sends it: its chunks hold the load marker and the in-flight
/// count until they end.
pub struct NodeResponse {
    pub node: usize,
    pub stream: ChunkStream,
}

/// Holds `held` while `inner` streams, and drops it as soon as `inner` ends.
struct Holding<H> {
    inner: ChunkStream,
    held: Option<H>,
}

impl<H: Send + Unpin + 'static> Stream for Holding<H> {
    type Item = <ChunkStream as Stream>::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.held = None;
        }
        polled
    }
}

fn holding<H: Send + Unpin + 'static>(inner: ChunkStream, held: H) -> ChunkStream {
    Box::pin(Holding {
        inner,
        held: Some(held),
    })
}

/// tower's completion marker moved into the body: the request stays pending for
/// `PendingRequests` until the reply's last chunk (or until the stream is dropped).
#[derive(Clone, Copy, Debug, Default)]
pub struct UntilBodyEnds;

impl TrackCompletion<Handle, NodeResponse> for UntilBodyEnds {
    type Output = NodeResponse;

    fn track_completion(&self, handle: Handle, mut response: NodeResponse) -> NodeResponse {
        response.stream = holding(response.stream, handle);
        response
    }
}

/// Decrements the node's in-flight count when the reply's stream goes.
struct InFlight(Arc<Node>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One node as a tower service: a request in, its streamed reply out.
#[derive(Clone)]
pub struct NodeService {
    index: usize,
    node: Arc<Node>,
    backend: Backend,
    model: Arc<str>,
}

impl Service<Arc<Request>> for NodeService {
    type Response = NodeResponse;
    type Error = RemoteError;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<NodeResponse, RemoteError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), RemoteError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Arc<Request>) -> Self::Future {
        let (index, node, backend, model) = (
            self.index,
            self.node.clone(),
            self.backend,
            self.model.clone(),
        );
        node.stats.requests.fetch_add(1, Ordering::SeqCst);
        node.stats.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(node.clone());
        Box::pin(async move {
            let stream = node.client.stream(backend, &model, &request).await?;
            Ok(NodeResponse {
                node: index,
                stream: holding(stream, guard),
            })
        })
    }
}

type Balanced = PendingRequests<NodeService, UntilBodyEnds>;
type Discovered = UnboundedReceiverStream<Result<Change<usize, Balanced>, Infallible>>;

/// What the health loop and the requests share.
struct Shared {
    nodes: Vec<Arc<Node>>,
    backend: Backend,
    model: Arc<str>,
    changes: UnboundedSender<Result<Change<usize, Balanced>, Infallible>>,
}

impl Shared {
    fn service(&self, index: usize) -> Balanced {
        let service = NodeService {
            index,
            node: self.nodes[index].clone(),
            backend: self.backend,
            model: self.model.clone(),
        };
        PendingRequests::new(service, UntilBodyEnds)
    }

    /// Puts the node in the balancer or takes it out when its health changes.
    fn set_health(&self, index: usize, healthy: bool, error: Option<String>) {
        let stats = &self.nodes[index].stats;
        if let Some(e) = error {
            *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        }
        if stats.healthy.swap(healthy, Ordering::SeqCst) == healthy {
            return;
        }
        let url = &self.nodes[index].client.base;
        let change = if healthy {
            tracing::info!(%url, "remote node up: in the balancer");
            Change::Insert(index, self.service(index))
        } else {
            tracing::warn!(%url, "remote node down: skipped until its health check passes");
            Change::Remove(index)
        };
        let _ = self.changes.send(Ok(change));
    }

    async fn check_all(&self) {
        let checks = self.nodes.iter().map(|n| n.client.health());
        let results = futures::future::join_all(checks).await;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(()) => self.set_health(i, true, None),
                Err(e) => self.set_health(i, false, Some(e.to_string())),
            }
        }
    }
}

/// A remote model: its nodes, the balancer over them, the health loop.
pub struct Cluster {
    pub name: String,
    pub backend: Backend,
    /// The model name sent in requests.
    pub model: String,
    shared: Arc<Shared>,
    balance: tokio::sync::Mutex<Balance<Discovered, Arc<Request>>>,
    health: tokio::task::JoinHandle<()>,
    /// How long a request waits for a healthy node.
    wait_for_node: Duration,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.health.abort();
    }
}

/// What a streamed reply reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyEvent {
    /// A piece of the reply.
    Text(String),
    /// The node serving the reply failed mid-stream; the reply goes on on `to`, from byte `at`
    /// of the text delivered so far.
    Resumed {
        at: usize,
        from: String,
        to: String,
        error: String,
    },
}

/// A finished (or cancelled) reply, measured on our side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    pub text: String,
    /// "stop", "length", ..., or "cancelled".
    pub finish_reason: String,
    /// Reply tokens: the servers' usage counts when sent, else one per streamed piece.
    pub tokens: usize,
    pub prompt_tokens: Option<usize>,
    pub ttft_ms: f64,
    /// From the first piece to the last.
    pub decode_tok_s: f64,
    pub total_ms: f64,
    /// The last node's `timings`, when it sends them (llama-server, gemma-tui).
    pub timings: Option<ServerTimings>,
    /// The node that finished the reply.
    pub node: String,
    /// How many times the reply moved to another node.
    pub resumed: usize,
}

impl Cluster {
    /// Checks every node (those down are skipped until they come up), learns the served model
    /// name and the backend kind from `/v1/models` when models.toml does not say, and starts
    /// the health loop (every `health_every`).
    pub async fn connect(spec: &RemoteModel, health_every: Duration) -> Result<Self, RemoteError> {
        let clients = spec
            .urls
            .iter()
            .map(|u| NodeClient::new(u, spec.api_key.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let health: Vec<_> = futures::future::join_all(clients.iter().map(|c| c.health())).await;
        let Some(up) = health.iter().position(Result::is_ok) else {
            let errors: Vec<String> = health
                .iter()
                .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
                .collect();
            return Err(RemoteError::NoNode(format!(
                "{}: no node answers: {}",
                spec.name,
                errors.join("; ")
            )));
        };
        let (mut model, mut backend) = (spec.model.clone(), spec.backend);
        if model.is_empty() || backend.is_none() {
            let listed = clients[up].models().await?;
            let first = listed.first().cloned().unwrap_or_default();
            let served = listed.iter().find(|m| m.id == model).unwrap_or(&first);
            if model.is_empty() {
                model = served.id.clone();
            }
            backend = backend.or(Some(Backend::detect(&served.owned_by, &clients[up].base)));
        }
        let (tx, rx) = unbounded_channel();
        let shared = Arc::new(Shared {
            nodes: clients
                .into_iter()
                .map(|client| {
                    Arc::new(Node {
                        client,
                        stats: NodeStats::default(),
                    })
                })
                .collect(),
            backend: backend.unwrap_or_default(),
            model: model.as_str().into(),
            changes: tx,
        });
        for (i, r) in health.into_iter().enumerate() {
            match r {
                Ok(()) => shared.set_health(i, true, None),
                Err(e) => {
                    tracing::warn!("{}: node down at start: {e}", spec.name);
                    shared.set_health(i, false, Some(e.to_string()))
                }
            }
        }
        let weak = Arc::downgrade(&shared);
        let health = tokio::spawn(health_loop(weak, health_every));
        Ok(Self {
            name: spec.name.clone(),
            backend: shared.backend,
            model,
            shared,
            balance: tokio::sync::Mutex::new(Balance::new(UnboundedReceiverStream::new(rx))),
            health,
            wait_for_node: health_every + Duration::from_secs(1),
        })
    }

    /// Each node's state, for the cluster pane.
    pub fn status(&self) -> Vec<NodeStatus> {
        self.shared
            .nodes
            .iter()
            .map(|n| {
                let s = &n.stats;
                NodeStatus {
                    url: n.client.base.clone(),
                    healthy: s.healthy.load(Ordering::SeqCst),
                    in_flight: s.in_flight.load(Ordering::SeqCst),
                    requests: s.requests.load(Ordering::SeqCst),
                    errors: s.errors.load(Ordering::SeqCst),
                    tokens: s.tokens.load(Ordering::SeqCst),
                    tokens_per_s: s.rate_milli.load(Ordering::SeqCst) as f64 / 1000.0,
                    last_error: s
                        .last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                }
            })
            .collect()
    }

    pub fn urls(&self) -> Vec<String> {
        self.shared
            .nodes
            .iter()
            .map(|n| n.client.base.clone())
            .collect()
    }

    /// Sends `request` to the least loaded healthy node (waiting a little for one to come up).
    pub async fn send(&self, request: Request) -> Result<NodeResponse, RemoteError> {
        let call = {
            let mut balance = self.balance.lock().await;
            let ready = futures::future::poll_fn(|cx| balance.poll_ready(cx));
            match tokio::time::timeout(self.wait_for_node, ready).await {
                Ok(Ok(())) => balance.call(Arc::new(request)),
                Ok(Err(e)) => return Err(RemoteError::NoNode(format!("{}: {e}", self.name))),
                Err(_) => {
                    return Err(RemoteError::NoNode(format!(
                        "{}: no healthy node (of {})",
                        self.name,
                        self.shared.nodes.len()
                    )))
                }
            }
        };
        call.await.map_err(|e| match e.downcast::<RemoteError>() {
            Ok(e) => *e,
            Err(e) => RemoteError::NoNode(e.to_string()),
        })
    }

    /// A node failed a request: counted, and out of the balancer until its health check passes.
    fn failed(&self, node: usize, error: &RemoteError) {
        self.shared.nodes[node]
            .stats
            .errors
            .fetch_add(1, Ordering::SeqCst);
        self.shared.set_health(node, false, Some(error.to_string()));
    }

    /// Streams one reply, measured here: TTFT from the request to the first piece, the decode
    /// rate from the first piece to the last. A node that fails (before or during the reply)
    /// is taken out and the request goes to another; text already delivered is kept and sent
    /// as the start of the reply (a trailing assistant message) for the next node to continue,
    /// and `on` hears where ([`ReplyEvent::Resumed`]). `cancelled` is polled every 50 ms and
    /// at every piece: a cancel drops the stream (the server sees the connection close).
    pub async fn generate(
        &self,
        request: &Request,
        cancelled: &(dyn Fn() -> bool + Sync),
        on: &mut (dyn FnMut(ReplyEvent) + Send),
    ) -> Result<Reply, RemoteError> {
        let started = Instant::now();
        let mut reply = Reply::default();
        let (mut first, mut last) = (None::<Instant>, None::<Instant>);
        let mut failure: Option<(String, RemoteError)> = None;
        // Every node once, and one more try for a node that came back.
        let attempts = self.shared.nodes.len() + 1;
        for attempt in 0..attempts {
            let budget = request.max_tokens.saturating_sub(reply.tokens);
            if budget == 0 {
                reply.finish_reason = "length".into();
                break;
            }
            let this = Request {
                prompt: if reply.text.is_empty() {
                    request.prompt.clone()
                } else {
                    request.prompt.continued(&reply.text)
                },
                max_tokens: budget,
                ..request.clone()
            };
            let response = match self.send(this).await {
                Ok(r) => r,
                Err(e) if e.retryable() && attempt + 1 < attempts => {
                    tracing::warn!("{}: {e}; trying another node", self.name);
                    if let RemoteError::Connect { url, .. } | RemoteError::Status { url, .. } = &e {
                        if let Some(i) =
                            self.shared.nodes.iter().position(|n| &n.client.base == url)
                        {
                            self.failed(i, &e);
                        }
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let node = &self.shared.nodes[response.node];
            let url = node.client.base.clone();
            if let Some((from, error)) = failure.take() {
                if !reply.text.is_empty() {
                    reply.resumed += 1;
                    tracing::info!(from = %from, to = %url, at = reply.text.len(), "reply resumed on another node");
                    on(ReplyEvent::Resumed {
                        at: reply.text.len(),
                        from,
                        to: url.clone(),
                        error: error.to_string(),
                    });
                }
            }
            let mut stream = response.stream;
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let (mut pieces, mut usage_tokens) = (0usize, None);
            let attempt_start = Instant::now();
            let outcome: Result<(), RemoteError> = loop {
                let item = tokio::select! {
                    item = stream.next() => item,
                    _ = tick.tick() => {
                        if cancelled() { break Ok(()); }
                        continue;
                    }
                };
                match item {
                    None => break Ok(()),
                    Some(Err(e)) => break Err(e),
                    Some(Ok(chunk)) => {
                        if !chunk.text.is_empty() {
                            let now = Instant::now();
                            first.get_or_insert(now);
                            last = Some(now);
                            pieces += 1;
                            reply.text.push_str(&chunk.text);
                            on(ReplyEvent::Text(chunk.text));
                        }
                        if let Some(f) = chunk.finish_reason {
                            reply.finish_reason = f;
                        }
                        if let Some(t) = chunk.timings {
                            reply.timings = Some(t);
                        }
                        if let Some(u) = chunk.usage {
                            usage_tokens = Some(u.completion_tokens);
                            if reply.resumed == 0 {
                                reply.prompt_tokens = Some(u.prompt_tokens);
                            }
                        }
                        if cancelled() {
                            break Ok(());
                        }
                    }
                }
            };
            drop(stream);
            let attempt_tokens = usage_tokens.unwrap_or(pieces);
            reply.tokens += attempt_tokens;
            node.stats
                .tokens
                .fetch_add(attempt_tokens as u64, Ordering::SeqCst);
            let secs = attempt_start.elapsed().as_secs_f64();
            if secs > 0.0 && attempt_tokens > 0 {
                let rate = attempt_tokens as f64 / secs;
                node.stats
                    .rate_milli
                    .store((rate * 1000.0) as u64, Ordering::SeqCst);
            }
            reply.node = url.clone();
            match outcome {
                Ok(()) if cancelled() => {
                    reply.finish_reason = "cancelled".into();
                    break;
                }
                Ok(()) => break,
                Err(e) if e.retryable() && attempt + 1 < attempts => {
                    tracing::warn!("{}: {e}; the reply goes on on another node", self.name);
                    self.failed(response.node, &e);
                    failure = Some((url, e));
                }
                Err(e) => {
                    self.failed(response.node, &e);
                    return Err(e);
                }
            }
        }
        if let Some((_, e)) = failure {
            return Err(e);
        }
        reply.total_ms = started.elapsed().as_secs_f64() * 1000.0;
        reply.ttft_ms = first.map_or(reply.total_ms, |f| (f - started).as_secs_f64() * 1000.0);
        if let (Some(f), Some(l)) = (first, last) {
            let secs = (l - f).as_secs_f64();
            if secs > 0.0 && reply.tokens > 1 {
                reply.decode_tok_s = (reply.tokens - 1) as f64 / secs;
            }
        }
        Ok(reply)
    }
}

async fn health_loop(shared: Weak<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.check_all().await;
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
