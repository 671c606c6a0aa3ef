use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::{Actor, Addr, Handler, SyncArbiter, SyncContext};

use super::messages::{EngineEvent, ModelSummary, ReplyStats};
use super::messages::{
    Generate, LoadModel, ModelSource, Prompt, ResetConversation, RestoreConversation, SharedEngine,
};
use crate::actors::metrics::{MetricsActor, MetricsHandle, ReplyFinished, TokenObserved};
use crate::actors::sampling::{HistoryUpdate, SampleNext, SamplingActor, SamplingHandle};
use crate::actors::supervision::{guard, ActorName, RestartSink, Supervised};
use crate::engine::draft::acceptance;
use crate::engine::{Engine, EngineError, GenEvent, PromptKind, Session, StepControl};
use crate::models;

pub use super::messages::EngineSink;

pub struct InferenceActor {
    pub(super) sink: EngineSink,
    sampler: Addr<SamplingActor>,
    metrics: Option<Addr<MetricsActor>>,
    /// Requests up to this id are cancelled; set from the UI thread without going through the
    /// mailbox, which is busy while a reply is generated.
    cancelled_upto: Arc<AtomicU64>,
    /// The engine is shared: the server (`actors::serve`) runs its slots on the same weights.
    pub(super) loaded: Option<(Arc<Engine>, Session)>,
    /// A remote model instead (models.toml `url`/`urls`): `loaded` is `None` meanwhile.
    pub(super) remote: Option<super::remote::RemoteBackend>,
    /// A model being switched to (loaded beside `loaded`, swapped in between replies).
    pub(super) switch: SwitchSlot,
    /// Where `ModelSource::Default` is found, or pulled to.
    models_dir: std::path::PathBuf,
    /// `--max-tokens`: replaces every `Generate`'s own limit (the profile's) when set.
    max_tokens: Option<usize>,
    /// Where a panic is reported (the actor is then rebuilt; see `actors::supervision`).
    restarts: RestartSink,
    /// The model in use, as it was loaded (or switched to): what a restarted actor loads again.
    pub(super) last_load: Option<LoadModel>,
    /// The token table constrained replies search (built once per loaded engine).
    token_tables: super::constrain::TokenTables,
}

/// A model loaded and waiting for `CommitSwitch`.
pub(super) struct Parked {
    pub(super) name: String,
    pub(super) engine: Box<Engine>,
    pub(super) session: Session,
    pub(super) started: Instant,
}

/// The actor's switch bookkeeping.
#[derive(Default)]
pub(super) struct SwitchSlot {
    /// Bumped by every request: a load that finishes after a newer request is dropped.
    pub(super) seq: u64,
    pub(super) parked: Option<Parked>,
    /// A remote model connected and waiting for `CommitSwitch`.
    pub(super) parked_remote: Option<super::remote::ParkedRemote>,
}

/// What the dashboard holds: the actor's address and the cancel switch.
#[derive(Clone)]
pub struct InferenceHandle {
    pub addr: Addr<InferenceActor>,
    cancelled_upto: Arc<AtomicU64>,
}

/// Starts the inference actor on its own thread (the forward pass is CPU-bound): engine events
/// go to `sink`, panics to `restarts`; each step's logits go to `sampler`, token events to
/// `metrics`; `models_dir` is where the default model is found or pulled to; `max_tokens`
/// (`--max-tokens`) replaces every request's own limit.
pub fn start(
    sink: EngineSink,
    restarts: RestartSink,
    sampler: &SamplingHandle,
    metrics: Option<&MetricsHandle>,
    models_dir: std::path::PathBuf,
    max_tokens: Option<usize>,
) -> InferenceHandle {
    let cancelled_upto = Arc::new(AtomicU64::new(0));
    let flag = cancelled_upto.clone();
    let sampler = sampler.addr.clone();
    let metrics = metrics.map(|m| m.addr.clone());
    let addr = SyncArbiter::start(1, move || InferenceActor {
        sink: sink.clone(),
        sampler: sampler.clone(),
        metrics: metrics.clone(),
        cancelled_upto: flag.clone(),
        loaded: None,
        remote: None,
        switch: Default::default(),
        models_dir: models_dir.clone(),
        max_tokens,
        restarts: restarts.clone(),
        last_load: None,
        token_tables: Default::default(),
    });
    InferenceHandle {
        addr,
        cancelled_upto,
    }
}

impl InferenceHandle {
    /// Cancels `request` (and any earlier one) at the next token or prefill slice.
    pub fn cancel(&self, request: u64) {
        self.cancelled_upto.fetch_max(request, Ordering::SeqCst);
    }
}

impl Actor for InferenceActor {
    type Context = SyncContext<Self>;
}

impl InferenceActor {
    /// Connects to a remote model (its nodes are checked); it replaces the local one.
    fn load_remote(&mut self, spec: &crate::remote::RemoteModel) {
        (self.sink)(EngineEvent::LoadProgress {
            fraction: 0.5,
            message: format!("connecting to {}", spec.urls.join(", ")),
        });
        match super::remote::RemoteBackend::connect(spec, self.sink.clone()) {
            Ok(remote) => {
                let summary = remote.summary();
                self.loaded = None;
                self.remote = Some(remote);
                (self.sink)(EngineEvent::Loaded(summary));
            }
            Err(e) => {
                tracing::error!("connecting to {} failed: {e}", spec.name);
                (self.sink)(EngineEvent::LoadFailed(e));
            }
        }
    }

    /// A reply from the remote model, with the sampling actor's current settings.
    fn generate_remote(&mut self, msg: Generate) {
        let request = msg.request;
        let params = match futures::executor::block_on(
            self.sampler.send(crate::actors::sampling::CurrentParams),
        ) {
            Ok(p) => p,
            Err(e) => {
                return (self.sink)(EngineEvent::Failed {
                    request,
                    error: format!("sampling actor: {e}"),
                })
            }
        };
        let flag = self.cancelled_upto.clone();
        let cancelled = move || flag.load(Ordering::SeqCst) >= request;
        let Some(remote) = self.remote.as_mut() else {
            return;
        };
        remote.generate(msg, params, &cancelled, &self.sink, self.metrics.as_ref());
    }
}

crate::actors::supervision::handle_inject_panic!(InferenceActor);

impl Supervised for InferenceActor {
    const NAME: ActorName = ActorName::Inference;

    fn restart_sink(&self) -> &RestartSink {
        &self.restarts
    }

    /// The model in use is queued for the successor (the mailbox is kept); the dashboard
    /// restores the conversation when told.
    fn before_restart(&mut self, ctx: &mut SyncContext<Self>) {
        if let Some(load) = self.last_load.clone() {
            ctx.address().do_send(load);
        }
    }
}

impl Handler<LoadModel> for InferenceActor {
    type Result = ();

    fn handle(&mut self, msg: LoadModel, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        self.last_load = Some(msg.clone());
        match guard(|| {
            let sink = self.sink.clone();
            let path = match msg.source {
                ModelSource::Remote(spec) => return self.load_remote(&spec),
                ModelSource::Path(p) => p,
                ModelSource::Default => {
                    let pulled = models::pull_into(
                        &self.models_dir,
                        &models::DEFAULT_MODEL,
                        &models::python_command(),
                        &mut |p| {
                            sink(EngineEvent::LoadProgress {
                                fraction: p.fraction() * 0.9,
                                message: p.message(),
                            })
                        },
                    );
                    match pulled {
                        Ok(p) => p,
                        Err(e) => return sink(EngineEvent::LoadFailed(e.to_string())),
                    }
                }
            };
            if let Some(load) = self.last_load.as_mut() {
                load.source = ModelSource::Path(path.clone());
            }
            sink(EngineEvent::LoadProgress {
                fraction: 0.95,
                message: format!("loading {}", path.display()),
            });
            match Engine::load_with_rope(&path, msg.threads, msg.engine, &msg.rope) {
                Ok(mut engine) => {
                    if let Some(kind) = msg.kind_override {
                        engine.model_kind = kind;
                    }
                    let session = match engine.new_session(msg.context) {
                        Ok(s) => s,
                        Err(e) => return sink(EngineEvent::LoadFailed(e.to_string())),
                    };
                    let summary = summarize(&engine, &session);
                    tracing::info!(model = %summary.name, load_ms = summary.load_ms, "model loaded");
                    self.loaded = Some((Arc::new(engine), session));
                    self.remote = None;
                    sink(EngineEvent::Loaded(summary));
                }
                Err(e) => {
                    tracing::error!("loading {} failed: {e}", path.display());
                    sink(EngineEvent::LoadFailed(format!("{}: {e}", path.display())));
                }
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

pub fn summarize(engine: &Engine, session: &Session) -> ModelSummary {
    let cfg = &engine.cfg;
    ModelSummary {
        name: cfg.name.clone(),
        path: engine.path.display().to_string(),
        architecture: cfg.architecture.clone(),
        engine: engine.kind.name().into(),
        quantization: cfg.quantization_name(),
        file_size: engine.file_size,
        context_length: cfg.context_length,
        context_size: session.pass.capacity(),
        threads: engine.threads(),
        load_ms: engine.load_time.as_secs_f64() * 1000.0,
        kind: engine.model_kind.clone(),
        rope: rope_note(engine),
    }
}

/// The global layers' RoPE in a few words, when the user's settings changed it from the file's.
fn rope_note(engine: &Engine) -> Option<String> {
    let file = crate::engine::RopeScaling::default().resolve(&engine.cfg.rope);
    let r = engine.rope;
    if r == file {
        return None;
    }
    let kind = if r.ext_factor > 0.0 {
        "yarn"
    } else if r.freq_scale != 1.0 {
        "linear"
    } else {
        "base"
    };
    Some(format!(
        "rope {kind} x{} base {}",
        1.0 / r.freq_scale,
        r.freq_base
    ))
}

impl Handler<Generate> for InferenceActor {
    type Result = ();

    fn handle(&mut self, mut msg: Generate, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let sink = self.sink.clone();
            if let Some(n) = self.max_tokens {
                msg.limits.max_tokens = n;
            }
            let request = msg.request;
            if self.remote.is_some() {
                return self.generate_remote(msg);
            }
            let Some((engine, session)) = self.loaded.as_mut() else {
                return sink(EngineEvent::Failed {
                    request,
                    error: "no model is loaded".into(),
                });
            };
            let flag = self.cancelled_upto.clone();
            let cancelled = move || flag.load(Ordering::SeqCst) >= request;
            let sampler = self.sampler.clone();
            let metrics = self.metrics.clone();
            let prompt = match msg.prompt {
                Prompt::Chat(turn) => PromptKind::Chat {
                    format: engine.chat_format(|| turn.dialogue),
                    text: turn.text,
                    system: turn.system,
                },
                Prompt::Raw(text) => PromptKind::Raw(text),
            };
            if let Some(output) = &msg.output {
                let leading_space = matches!(
                    &prompt,
                    PromptKind::Chat { format, .. } if format.trims_reply_start()
                );
                let begun = self
                    .token_tables
                    .begin(&sampler, engine, output, leading_space);
                if let Err(e) = begun {
                    return sink(EngineEvent::Failed {
                        request,
                        error: e.to_string(),
                    });
                }
            }
            // The profile's context shift (llama.cpp's `--keep` counts after BOS).
            session.context_shift = msg.context_shift.map(|keep| keep + 1);
            let shifted_before = session.shifted;
            let prompt_tokens = engine.prompt_tokens(session, &prompt).len();
            sink(EngineEvent::PrefillStarted {
                request,
                prompt_tokens,
            });
            let tokenizer = &engine.tokenizer;
            let mut vocab_checked = false;
            // The conversation's length as the reply grows (the session itself is borrowed by the
            // loop): what the cache held, the prompt, and one per sampled token.
            let context_before = session.pass.len() + prompt_tokens;
            let sampled = std::cell::Cell::new(0usize);
            // The sampling actor keeps the history: each step sends what it has not seen (the whole
            // conversation once per reply, as another reply or a restore may have changed it, then
            // one token).
            let mut actor_knows = 0;
            // The profile's drafting (exact: the reply is the same either way).
            session.draft = msg.draft;
            let result = engine.generate(
                session,
                &prompt,
                &msg.limits,
                &cancelled,
                &mut |logits, history| {
                    // The first step of a reply makes sure the sampler knows the tokens' text.
                    if !vocab_checked {
                        vocab_checked = true;
                        crate::actors::sampling::ensure_vocabulary(&sampler, tokenizer)
                            .map_err(|e| EngineError::Kernel(format!("sampling actor: {e}")))?;
                    }
                    let next = SampleNext {
                        logits,
                        history: HistoryUpdate::since(history, actor_knows),
                        request,
                    };
                    actor_knows = history.len();
                    let id = futures::executor::block_on(sampler.send(next))
                        .map_err(|e| EngineError::Kernel(format!("sampling actor: {e}")))?
                        .map_err(|e| EngineError::Kernel(e.to_string()))?;
                    // Every token counts for the rate, also those a stop string holds back.
                    sampled.set(sampled.get() + 1);
                    if let Some(m) = &metrics {
                        m.do_send(TokenObserved { at: Instant::now() });
                    }
                    Ok(id)
                },
                &mut |event| {
                    if let GenEvent::Token { text, .. } = event {
                        if !text.is_empty() {
                            sink(EngineEvent::Token {
                                request,
                                text: text.to_string(),
                                context_used: context_before + sampled.get(),
                            });
                        }
                    }
                    if cancelled() {
                        StepControl::Stop
                    } else {
                        StepControl::Continue
                    }
                },
            );
            if let Some(output) = &msg.output {
                if let Some((c, complete)) = super::constrain::end(&sampler) {
                    tracing::info!(
                        "reply {request} under {}: {} steps, {} forced, {} tokens checked, \
                         complete: {complete}",
                        output.label,
                        c.steps,
                        c.forced,
                        c.checked
                    );
                }
            }
            match result {
                Ok(stats) => {
                    tracing::info!(
                    "reply {request}: {} prompt tokens, {} generated, ttft {:.0} ms, {:.1} tok/s ({:?})",
                    stats.prompt_ids.len(),
                    stats.generated_ids.len(),
                    stats.ttft_ms,
                    stats.decode_tok_s(),
                    stats.finish
                );
                    if let Some(m) = &self.metrics {
                        m.do_send(ReplyFinished {
                            ttft_ms: stats.ttft_ms,
                        });
                    }
                    sink(EngineEvent::Finished {
                        request,
                        reason: stats.finish,
                        stats: ReplyStats {
                            prompt_tokens: stats.prompt_ids.len(),
                            generated_tokens: stats.generated_ids.len(),
                            ttft_ms: stats.ttft_ms,
                            prefill_tok_s: stats.prefill_tok_s(),
                            decode_tok_s: stats.decode_tok_s(),
                            shifted: session.shifted - shifted_before,
                            draft_acceptance: (stats.drafted > 0)
                                .then(|| acceptance(stats.drafted, stats.draft_accepted)),
                        },
                        context_used: session.context_used(),
                    });
                }
                Err(e) => {
                    tracing::warn!(request, "generation failed: {e}");
                    sink(EngineEvent::Failed {
                        request,
                        error: e.to_string(),
                    });
                }
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<SharedEngine> for InferenceActor {
    type Result = Option<Arc<Engine>>;

    fn handle(&mut self, _: SharedEngine, _: &mut SyncContext<Self>) -> Self::Result {
        self.loaded.as_ref().map(|(engine, _)| engine.clone())
    }
}

impl Handler<ResetConversation> for InferenceActor {
    type Result = ();

    fn handle(&mut self, _: ResetConversation, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            if let Some((_, session)) = self.loaded.as_mut() {
                session.reset();
            }
            if let Some(remote) = self.remote.as_mut() {
                remote.reset();
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

/// Tokens kept free for the next turn and its reply when a restored history is cut to fit.
pub(super) const RESTORE_RESERVE: usize = 1024;

impl Handler<RestoreConversation> for InferenceActor {
    type Result = ();

    fn handle(&mut self, msg: RestoreConversation, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            if let Some(remote) = self.remote.as_mut() {
                // The API is stateless: the turns go with the next request.
                remote.restore(msg.turns.clone(), msg.system.clone());
                return (self.sink)(EngineEvent::Restored { context_used: 0 });
            }
            let Some((engine, session)) = self.loaded.as_mut() else {
                return;
            };
            let reserve = RESTORE_RESERVE.min(session.pass.capacity() / 2);
            let format = engine.chat_format(|| msg.dialogue);
            match engine.restore(session, &msg.turns, msg.system.as_deref(), &format, reserve) {
                Ok(n) if n < msg.turns.len() => tracing::info!(
                    "restored {n} of {} turns ({} tokens); the oldest did not fit the context",
                    msg.turns.len(),
                    session.context_used()
                ),
                Ok(n) => tracing::info!("restored {n} turns ({} tokens)", session.context_used()),
                Err(e) => tracing::warn!("restoring the conversation failed, starting empty: {e}"),
            }
            (self.sink)(EngineEvent::Restored {
                context_used: session.context_used(),
            });
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}
