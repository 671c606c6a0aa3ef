//! The model handle: the loaded engine behind an `Arc`, and the blocking generation every kalosm
//! call runs on a thread of its own.
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::KalosmError;
use crate::config::{PromptVars, TemplateSet};
use crate::engine::generate::PREFILL_CHUNK;
use crate::engine::{
    ChatFormat, Engine, EngineError, GenEvent, GenerationStats, Limits, PromptKind, Session,
    StepControl,
};
use crate::sampling::constrained::TokenTable;
use crate::sampling::{Sampler, SamplerKind, SamplerParams, Vocab};

/// Chooses a reply's next token from a step's logits and the conversation so far.
pub(crate) type Pick<'a> = dyn FnMut(&[f32], &[u32]) -> Result<u32, KalosmError> + 'a;

/// The context a kalosm session gets unless the builder says otherwise (clamped to the model's).
pub const DEFAULT_CONTEXT: usize = 4096;

/// Our Gemma engine as a kalosm model. Cloning it is cheap (one `Arc`); every clone drives the
/// same loaded weights, each session has its own KV cache.
#[derive(Clone)]
pub struct GemmaModel {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    context: usize,
    chat_format: Option<ChatFormat>,
    table: OnceLock<Arc<TokenTable>>,
    vocab: OnceLock<Arc<Vocab>>,
}

impl fmt::Debug for GemmaModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GemmaModel")
            .field("path", &self.inner.engine.path)
            .field("context", &self.inner.context)
            .finish()
    }
}

/// Loads a GGUF file as a [`GemmaModel`].
#[derive(Debug, Clone)]
pub struct GemmaModelBuilder {
    path: PathBuf,
    threads: usize,
    context: usize,
    chat_format: Option<ChatFormat>,
}

impl GemmaModelBuilder {
    /// Forward-pass threads (default: the machine's cores).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Tokens a session can hold (default [`DEFAULT_CONTEXT`]).
    pub fn with_context(mut self, context: usize) -> Self {
        self.context = context.max(1);
        self
    }

    /// The chat format, instead of the one the GGUF's metadata implies (Gemma's turns for an
    /// instruction-tuned model, the `dialogue` transcript for a base model).
    pub fn with_chat_format(mut self, format: ChatFormat) -> Self {
        self.chat_format = Some(format);
        self
    }

    /// Loads the file (blocking: it maps the weights and builds the tokenizer).
    pub fn build(self) -> Result<GemmaModel, KalosmError> {
        let engine = Engine::load(&self.path, self.threads)?;
        Ok(GemmaModel::with_engine(
            engine,
            self.context,
            self.chat_format,
        ))
    }
}

impl GemmaModel {
    /// A builder for the GGUF file at `path`.
    pub fn builder(path: impl AsRef<Path>) -> GemmaModelBuilder {
        GemmaModelBuilder {
            path: path.as_ref().to_path_buf(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            context: DEFAULT_CONTEXT,
            chat_format: None,
        }
    }

    /// An engine already loaded, with sessions of `context` tokens.
    pub fn from_engine(engine: Engine, context: usize) -> Self {
        Self::with_engine(engine, context, None)
    }

    fn with_engine(engine: Engine, context: usize, chat_format: Option<ChatFormat>) -> Self {
        Self {
            inner: Arc::new(Inner {
                engine,
                context: context.max(1),
                chat_format,
                table: OnceLock::new(),
                vocab: OnceLock::new(),
            }),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The context of each session.
    pub fn context(&self) -> usize {
        self.inner.context
    }

    /// The chat format a new conversation uses; `system` goes into a base model's transcript.
    pub fn chat_format(&self, system: Option<&str>) -> ChatFormat {
        if let Some(format) = &self.inner.chat_format {
            return format.clone();
        }
        self.inner.engine.chat_format(|| {
            let vars = PromptVars {
                system: system.unwrap_or_default().trim().to_string(),
                model: self.model_name(),
                ..PromptVars::default()
            };
            // The built-in template always renders; the fallback is the same transcript's shape.
            TemplateSet::builtin()
                .dialogue(&vars)
                .unwrap_or_else(|_| crate::engine::Dialogue {
                    preamble: String::new(),
                    user: "User: ".into(),
                    assistant: "Assistant:".into(),
                    stop: vec!["\nUser:".into()],
                })
        })
    }

    fn model_name(&self) -> String {
        self.inner
            .engine
            .path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// Every token's bytes, for the constrained driver (built once).
    pub(crate) fn token_table(&self) -> Arc<TokenTable> {
        let tokenizer = &self.inner.engine.tokenizer;
        self.inner
            .table
            .get_or_init(|| Arc::new(TokenTable::for_tokenizer(tokenizer)))
            .clone()
    }

    /// Our sampler chain for `params` (DRY gets the vocabulary's text).
    pub(crate) fn sampler(&self, params: SamplerParams) -> Result<Sampler, KalosmError> {
        params.validate().map_err(KalosmError::Sampler)?;
        let mut sampler = Sampler::new(params);
        if sampler.params.is_active(SamplerKind::Dry) {
            let tokenizer = &self.inner.engine.tokenizer;
            let vocab = self
                .inner
                .vocab
                .get_or_init(|| {
                    Arc::new(Vocab::from_fn(tokenizer.vocab_size(), |id| {
                        tokenizer.token_text(id)
                    }))
                })
                .clone();
            let tokenize = |s: &str| tokenizer.encode(s, false, false);
            sampler.set_vocab(vocab, Some(&tokenize));
        }
        Ok(sampler)
    }

    /// Runs `job` on a thread of its own and awaits its answer. Dropping the future asks the job
    /// to stop (the flag it is handed).
    pub(crate) async fn run_blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&GemmaModel, &AtomicBool) -> T + Send + 'static,
    ) -> Result<T, KalosmError> {
        let (tx, rx) = futures::channel::oneshot::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop(cancel.clone());
        let model = self.clone();
        std::thread::Builder::new()
            .name("gemma-kalosm".into())
            .spawn(move || {
                let _ = tx.send(job(&model, &cancel));
            })
            .map_err(|_| KalosmError::WorkerStopped)?;
        let out = rx.await.map_err(|_| KalosmError::WorkerStopped);
        drop(guard);
        out
    }

    /// The engine session for a conversation: the live one, or a new one with `tokens` prefilled
    /// (a session loaded from bytes, or one whose copy could not share the engine's cache).
    pub(crate) fn revive(
        &self,
        live: Option<Session>,
        tokens: &[u32],
        turns: usize,
    ) -> Result<Session, KalosmError> {
        if let Some(live) = live {
            return Ok(live);
        }
        let engine = &self.inner.engine;
        let mut session = engine.new_session(self.inner.context)?;
        if let Some(&bad) = tokens
            .iter()
            .find(|&&t| t as usize >= engine.tokenizer.vocab_size())
        {
            return Err(EngineError::BadToken(bad).into());
        }
        if tokens.len() >= session.pass.capacity() {
            return Err(EngineError::ContextFull(session.pass.capacity()).into());
        }
        for chunk in tokens.chunks(PREFILL_CHUNK) {
            session.forward(chunk)?;
        }
        session.tokens = tokens.to_vec();
        session.turns = turns;
        Ok(session)
    }

    /// One `Engine::generate` call: `pick(logits, history)` chooses each token, `on_token` gets the
    /// text as it is shown. Returns the reply's text and the engine's figures.
    pub(crate) fn generate_blocking(
        &self,
        session: &mut Session,
        prompt: &PromptKind,
        limits: &Limits,
        pick: &mut Pick<'_>,
        cancel: &AtomicBool,
        on_token: &mut dyn FnMut(String) -> Result<(), KalosmError>,
    ) -> Result<(String, GenerationStats), KalosmError> {
        let mut pick_error = None;
        let mut token_error = None;
        let mut text = String::new();
        let result = {
            let mut sample = |logits: Vec<f32>, history: &[u32]| {
                pick(&logits, history).map_err(|e| {
                    let message = e.to_string();
                    pick_error = Some(e);
                    EngineError::Kernel(message)
                })
            };
            let mut on_event = |event: GenEvent<'_>| match event {
                GenEvent::Token { text: shown, .. } => {
                    text.push_str(shown);
                    match on_token(shown.to_string()) {
                        Ok(()) => StepControl::Continue,
                        Err(e) => {
                            token_error = Some(e);
                            StepControl::Stop
                        }
                    }
                }
                GenEvent::PrefillDone { .. } => StepControl::Continue,
            };
            self.inner.engine.generate(
                session,
                prompt,
                limits,
                &|| cancel.load(Ordering::Relaxed),
                &mut sample,
                &mut on_event,
            )
        };
        if let Some(e) = pick_error.or(token_error) {
            return Err(e);
        }
        Ok((text, result?))
    }
}

/// Sets the flag when the awaiting future goes away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
