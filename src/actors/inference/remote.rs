//! A remote model behind the inference actor, beside the local engine: the same messages
//! (LoadModel, Generate, reset/restore, A/B) over HTTP to one node or a balanced cluster.
//!
//! The actor's thread stays synchronous: the backend owns a small tokio runtime (one worker)
//! that runs the HTTP client, the cluster's health loop and the status reports, and the actor
//! blocks on it for a reply as it blocks on the forward pass for a local one. The API is
//! stateless, so the conversation's finished turns are kept here and sent whole each time.
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;

use super::messages::{
    EngineEvent, EngineSink, Generate, ModelSummary, Prompt, RemoteEvent, ReplyStats,
};
use crate::actors::metrics::{MetricsActor, ReplyFinished, TokenObserved};
use crate::bench::ab::{AbSide, AbUpdate};
use crate::engine::{DetectedKind, FinishReason, Limits, ModelKind};
use crate::remote::{self, Cluster, Message, RemoteModel, ReplyEvent, Request};
use crate::sampling::SamplerParams;

/// How often the cluster pane hears about the nodes.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// A remote connection waiting for `CommitSwitch` (see `switch_remote`).
pub(super) struct ParkedRemote {
    pub(super) name: String,
    pub(super) backend: RemoteBackend,
    pub(super) started: Instant,
}

pub(super) struct RemoteBackend {
    runtime: tokio::runtime::Runtime,
    cluster: Arc<Cluster>,
    /// Finished turns (user text, reply), oldest first: the history every request carries.
    turns: Vec<(String, String)>,
    /// The conversation's system prompt, from its last chat turn or a restore.
    system: Option<String>,
    /// Tokens of the last request and its reply, as the server counted them (the status bar).
    context_used: usize,
    load_ms: f64,
    reporter: tokio::task::JoinHandle<()>,
}

impl RemoteBackend {
    /// One bench plan on this model (`bench::remote_run`), on the backend's runtime.
    pub(super) fn run_bench(
        &self,
        plan: &crate::bench::RunPlan,
        on_progress: &mut dyn FnMut(&crate::bench::Progress),
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<crate::bench::RunRecord, crate::bench::RunError> {
        let run = crate::bench::remote_run::run(plan, &self.cluster, on_progress, cancelled);
        self.runtime.block_on(run)
    }
}

impl Drop for RemoteBackend {
    fn drop(&mut self) {
        self.reporter.abort();
    }
}

impl RemoteBackend {
    /// Checks the nodes (at least one must answer) and starts reporting their status to `sink`.
    pub(super) fn connect(spec: &RemoteModel, sink: EngineSink) -> Result<Self, String> {
        let started = Instant::now();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("remote-http")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let cluster = runtime
            .block_on(Cluster::connect(spec, remote::HEALTH_EVERY))
            .map_err(|e| e.to_string())?;
        let cluster = Arc::new(cluster);
        let reported = Arc::downgrade(&cluster);
        let reporter = runtime.spawn(async move {
            let mut tick = tokio::time::interval(STATUS_EVERY);
            loop {
                tick.tick().await;
                let Some(cluster) = reported.upgrade() else {
                    return;
                };
                sink(EngineEvent::Remote(RemoteEvent::Cluster {
                    model: cluster.name.clone(),
                    nodes: cluster.status(),
                }));
            }
        });
        tracing::info!(model = %spec.name, backend = %cluster.backend, served = %cluster.model, urls = ?spec.urls, "remote model connected");
        Ok(Self {
            runtime,
            cluster,
            turns: Vec::new(),
            system: None,
            context_used: 0,
            load_ms: started.elapsed().as_secs_f64() * 1000.0,
            reporter,
        })
    }

    /// The remote as the status bar shows a model: the backend kind as its engine, the URLs as
    /// its path.
    pub(super) fn summary(&self) -> ModelSummary {
        let c = &self.cluster;
        ModelSummary {
            name: c.name.clone(),
            path: c.urls().join(", "),
            architecture: format!("remote: {}", c.model),
            engine: c.backend.name().into(),
            load_ms: self.load_ms,
            kind: DetectedKind {
                kind: ModelKind::Instruct,
                because: "a remote engine applies its own chat template".into(),
            },
            ..ModelSummary::default()
        }
    }

    pub(super) fn reset(&mut self) {
        self.turns.clear();
        self.context_used = 0;
    }

    pub(super) fn restore(&mut self, turns: Vec<(String, String)>, system: Option<String>) {
        self.turns = turns;
        self.system = system;
    }

    /// The request for a prompt: a chat turn goes with the whole history; raw text (the
    /// benchmarks) as a plain completion.
    fn request(&mut self, prompt: &Prompt, limits: &Limits, params: SamplerParams) -> Request {
        let prompt = match prompt {
            Prompt::Raw(text) => remote::Prompt::Text(text.clone()),
            Prompt::Chat(turn) => {
                self.system = turn.system.clone();
                let mut messages = Vec::new();
                if let Some(system) = &self.system {
                    messages.push(Message::new("system", system.clone()));
                }
                for (user, reply) in &self.turns {
                    messages.push(Message::new("user", user.clone()));
                    messages.push(Message::new("assistant", reply.clone()));
                }
                messages.push(Message::new("user", turn.text.clone()));
                remote::Prompt::Chat(messages)
            }
        };
        Request {
            prompt,
            params,
            max_tokens: limits.max_tokens,
            stop: limits.stop.clone(),
        }
    }

    /// One reply, streamed to `sink` as the local engine streams it: `PrefillStarted`, tokens,
    /// `Finished` with the timings measured here (or `Failed`). A cancel drops the stream.
    pub(super) fn generate(
        &mut self,
        msg: Generate,
        params: SamplerParams,
        cancelled: &(dyn Fn() -> bool + Sync),
        sink: &EngineSink,
        metrics: Option<&Addr<MetricsActor>>,
    ) {
        let Generate {
            request,
            prompt,
            limits,
            output,
            // A remote engine manages its own context.
            context_shift: _,
            draft: _,
        } = msg;
        let mut skipped = remote::not_applied(self.cluster.backend, &params);
        if let Some(output) = &output {
            // The remote engine gets the request's text; a local constraint cannot go with it.
            skipped.push(crate::remote::NotApplied {
                field: "output constraint",
                value: output.label.clone(),
            });
        }
        if !skipped.is_empty() {
            sink(EngineEvent::Remote(RemoteEvent::NotApplied {
                request,
                backend: self.cluster.backend.name().into(),
                settings: skipped.iter().map(ToString::to_string).collect(),
            }));
        }
        let body = self.request(&prompt, &limits, params);
        sink(EngineEvent::PrefillStarted {
            request,
            prompt_tokens: 0,
        });
        let context_before = self.context_used;
        let mut pieces = 0;
        let cluster = self.cluster.clone();
        let result =
            self.runtime.block_on(
                cluster.generate(&body, cancelled, &mut |event| match event {
                    ReplyEvent::Text(text) => {
                        pieces += 1;
                        if let Some(m) = metrics {
                            m.do_send(TokenObserved { at: Instant::now() });
                        }
                        sink(EngineEvent::Token {
                            request,
                            text,
                            context_used: context_before + pieces,
                        });
                    }
                    ReplyEvent::Resumed { at, from, to, .. } => {
                        sink(EngineEvent::Remote(RemoteEvent::Resumed {
                            request,
                            at,
                            from,
                            to,
                        }))
                    }
                }),
            );
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(request, "remote generation failed: {e}");
                return sink(EngineEvent::Failed {
                    request,
                    error: e.to_string(),
                });
            }
        };
        if let Some(timings) = reply.timings.clone() {
            sink(EngineEvent::Remote(RemoteEvent::ServerTimings {
                request,
                timings,
            }));
        }
        if let Prompt::Chat(turn) = prompt {
            self.turns.push((turn.text, reply.text.clone()));
        }
        let prompt_tokens = reply.prompt_tokens.unwrap_or(0);
        self.context_used = prompt_tokens + reply.tokens;
        tracing::info!(
            "remote reply {request} from {}: {} tokens, ttft {:.0} ms, {:.1} tok/s ({}, resumed {}x)",
            reply.node,
            reply.tokens,
            reply.ttft_ms,
            reply.decode_tok_s,
            reply.finish_reason,
            reply.resumed
        );
        if let Some(m) = metrics {
            m.do_send(ReplyFinished {
                ttft_ms: reply.ttft_ms,
            });
        }
        sink(EngineEvent::Finished {
            request,
            reason: finish_reason(&reply.finish_reason),
            stats: ReplyStats {
                prompt_tokens,
                generated_tokens: reply.tokens,
                ttft_ms: reply.ttft_ms,
                prefill_tok_s: if reply.ttft_ms > 0.0 {
                    prompt_tokens as f64 / (reply.ttft_ms / 1000.0)
                } else {
                    0.0
                },
                decode_tok_s: reply.decode_tok_s,
                shifted: 0,
                draft_acceptance: None,
            },
            context_used: self.context_used,
        });
    }

    /// Both A/B sides at once on the remote, each with its own settings (a cluster spreads them
    /// over two nodes).
    pub(super) fn run_ab(
        &self,
        prompt: &str,
        sides: &[AbSide; 2],
        max_tokens: usize,
        updates: &(dyn Fn(AbUpdate) + Send + Sync),
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), String> {
        let cluster = self.cluster.clone();
        let run = |side: usize| {
            let s = &sides[side];
            let mut messages = Vec::new();
            if let Some(system) = &s.system {
                messages.push(Message::new("system", system.clone()));
            }
            messages.push(Message::new("user", prompt));
            let request = Request {
                prompt: remote::Prompt::Chat(messages),
                params: s.sampler.clone(),
                max_tokens,
                stop: s.stop.clone(),
            };
            let cluster = cluster.clone();
            async move {
                let started = Instant::now();
                let mut tokens = 0;
                let rate =
                    |tokens: usize| tokens as f64 / started.elapsed().as_secs_f64().max(1e-9);
                let reply = cluster
                    .generate(&request, cancelled, &mut |event| {
                        if let ReplyEvent::Text(text) = event {
                            tokens += 1;
                            updates(AbUpdate {
                                side,
                                text,
                                tokens,
                                tok_s: rate(tokens),
                                done: false,
                            });
                        }
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                updates(AbUpdate {
                    side,
                    text: String::new(),
                    tokens: reply.tokens,
                    tok_s: reply.decode_tok_s,
                    done: true,
                });
                Ok::<(), String>(())
            }
        };
        let (a, b) = self.runtime.block_on(futures::future::join(run(0), run(1)));
        a.and(b)
    }
}

/// The server's `finish_reason` as the chat knows reasons.
fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "length" => FinishReason::MaxTokens,
        "cancelled" => FinishReason::Cancelled,
        _ => FinishReason::EndOfTurn,
    }
}
