use std::path::PathBuf;
use std::sync::Arc;

use actix::{Actor, Addr, Handler, SyncArbiter, SyncContext};

use crate::actors::supervision::{guard, ActorName, RestartSink, Supervised};

use super::messages::{Add, BuildContext, Evict, RagEvent, Remember, Search, Stats};
use crate::rag::index::Hit;
use crate::rag::tokens::GemmaTokens;
use crate::rag::{now_secs, Memory, RagSettings, Tier};

pub type RagSink = Arc<dyn Fn(RagEvent) + Send + Sync>;

pub struct RagActor {
    sink: RagSink,
    settings: RagSettings,
    store_path: PathBuf,
    model_dir: PathBuf,
    gguf: PathBuf,
    memory: Option<Memory>,
    gemma: Option<GemmaTokens>,
    /// Where a panic is reported (the actor is then rebuilt; see `actors::supervision`).
    restarts: RestartSink,
}

/// What the dashboard holds: the RAG actor's address.
#[derive(Clone)]
pub struct RagHandle {
    pub addr: Addr<RagActor>,
}

/// Starts the RAG actor on its own thread (embedding is CPU-bound, the store is redb): the memory
/// at `store_path`, MiniLM from `model_dir`; `gguf` is the Gemma model whose tokenizer counts
/// the context budget.
pub fn start(
    sink: RagSink,
    restarts: RestartSink,
    settings: RagSettings,
    store_path: PathBuf,
    model_dir: PathBuf,
    gguf: PathBuf,
) -> RagHandle {
    let addr = SyncArbiter::start(1, move || RagActor {
        sink: sink.clone(),
        settings: settings.clone(),
        store_path: store_path.clone(),
        model_dir: model_dir.clone(),
        gguf: gguf.clone(),
        memory: None,
        gemma: None,
        restarts: restarts.clone(),
    });
    RagHandle { addr }
}

impl RagActor {
    fn send_stats(&self) {
        if let Some(m) = &self.memory {
            (self.sink)(RagEvent::Stats { memories: m.len() });
        }
    }

    fn evict(&mut self) {
        if let Some(m) = &mut self.memory {
            if let Err(e) = m.evict(now_secs()) {
                tracing::warn!(error = %e, "RAG eviction failed");
            }
        }
    }

    /// Tokens of `text` in Gemma's tokenizer; without it (an unreadable GGUF), a conservative
    /// estimate of one token per three bytes, so the budget is never exceeded by much.
    fn count(gemma: Option<&GemmaTokens>, text: &str) -> usize {
        match gemma {
            Some(g) => g.count(text),
            None => text.len().div_ceil(3),
        }
    }
}

impl Actor for RagActor {
    type Context = SyncContext<Self>;

    fn started(&mut self, _: &mut SyncContext<Self>) {
        match Memory::open(&self.store_path, &self.model_dir, self.settings.clone()) {
            Ok(m) => self.memory = Some(m),
            Err(e) => {
                tracing::warn!(error = %e, "RAG memory unavailable");
                (self.sink)(RagEvent::Unavailable(e.to_string()));
                return;
            }
        }
        match GemmaTokens::from_gguf(&self.gguf) {
            Ok(g) => self.gemma = Some(g),
            Err(e) => {
                tracing::warn!(error = %e, "no Gemma tokenizer for the RAG budget; estimating")
            }
        }
        self.evict();
        self.send_stats();
    }
}

impl Handler<BuildContext> for RagActor {
    type Result = ();

    fn handle(&mut self, msg: BuildContext, ctx: &mut SyncContext<Self>) {
        let request = msg.request;
        // Supervised: see actors::supervision.
        match guard(|| {
            let gemma = self.gemma.as_ref();
            let result = match &mut self.memory {
                Some(m) => m
                    .build_context(&msg.query, msg.budget, &|s| Self::count(gemma, s))
                    .map_err(|e| e.to_string()),
                None => Err("the RAG memory is not available".to_string()),
            };
            (self.sink)(RagEvent::Context {
                request: msg.request,
                result,
            });
        }) {
            Ok(r) => r,
            Err(reason) => {
                // The dashboard is waiting for this context: it sends the message without it.
                (self.sink)(RagEvent::Context {
                    request,
                    result: Err(format!("the RAG actor panicked: {reason}")),
                });
                self.restart(ctx, reason);
            }
        }
    }
}

impl Handler<Add> for RagActor {
    type Result = ();

    fn handle(&mut self, msg: Add, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let sink = self.sink.clone();
            let result = match &mut self.memory {
                Some(m) => m
                    .add_paths(&msg.paths, Tier::Semantic, 0.5, Vec::new(), &mut |e| {
                        sink(RagEvent::Ingest(e))
                    })
                    .map_err(|e| e.to_string()),
                None => Err("the RAG memory is not available".to_string()),
            };
            (self.sink)(RagEvent::IngestDone(result));
            self.send_stats();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<Remember> for RagActor {
    type Result = ();

    fn handle(&mut self, msg: Remember, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let result = match &mut self.memory {
                Some(m) => m
                    .remember(&msg.text, msg.importance, msg.tier, Vec::new(), &msg.source)
                    .map_err(|e| e.to_string()),
                None => Err("the RAG memory is not available".to_string()),
            };
            (self.sink)(RagEvent::Remembered {
                result,
                quiet: msg.quiet,
            });
            self.evict();
            self.send_stats();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<Evict> for RagActor {
    type Result = ();

    fn handle(&mut self, _: Evict, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.evict();
            self.send_stats();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<Stats> for RagActor {
    type Result = ();

    fn handle(&mut self, _: Stats, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.send_stats();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<Search> for RagActor {
    type Result = Result<Vec<Hit>, String>;

    fn handle(&mut self, msg: Search, ctx: &mut SyncContext<Self>) -> Self::Result {
        // Supervised: see actors::supervision.
        match guard(|| match &mut self.memory {
            Some(m) => m.search(&msg.query, msg.k).map_err(|e| e.to_string()),
            None => Err("the RAG memory is not available".to_string()),
        }) {
            Ok(r) => r,
            Err(reason) => {
                let error = format!("the RAG actor panicked: {reason}");
                self.restart(ctx, reason);
                Err(error)
            }
        }
    }
}

crate::actors::supervision::handle_inject_panic!(RagActor);

impl Supervised for RagActor {
    const NAME: ActorName = ActorName::Rag;

    fn restart_sink(&self) -> &RestartSink {
        &self.restarts
    }

    /// The store is closed before the successor opens it.
    fn before_restart(&mut self, _: &mut SyncContext<Self>) {
        self.memory = None;
    }
}
