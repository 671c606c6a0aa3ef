//! Switching models while the old one keeps serving. A switch loads the new engine on a thread of
//! its own (the actor's thread keeps answering `Generate` with the old model), parks it in the
//! actor when it is ready, and swaps it in only when the dashboard says so (`CommitSwitch`, sent
//! between replies with the conversation's finished turns, which are re-prefilled for the new
//! model). The old model is dropped after the swap; a failed load leaves it in place.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::actors::supervision::{guard, Supervised};
use actix::{Addr, Handler, Message, SyncContext};

use super::actor::{summarize, EngineSink, InferenceActor, Parked, RESTORE_RESERVE};
use super::messages::{EngineEvent, SwitchEvent};
use crate::config::Config;
use crate::engine::{Dialogue, Engine, EngineKind, Session};

/// Load `path` in the background (see the module doc).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SwitchModel {
    /// How the dashboard names it (models.toml's name or the file name).
    pub name: String,
    pub path: PathBuf,
    pub threads: usize,
    pub engine: EngineKind,
    /// KV cache positions for the conversation.
    pub context: usize,
    /// The config as the dashboard has it: models.toml's `kind` for `path` wins over the metadata.
    pub config: Arc<Config>,
    /// RoPE scaling over the file's settings (models.toml's, the profile's, the flags').
    pub rope: crate::engine::RopeScaling,
}

/// From the loading thread: the new engine, ready.
#[derive(Message)]
#[rtype(result = "()")]
struct SwitchLoaded {
    seq: u64,
    name: String,
    engine: Box<Engine>,
    session: Session,
    started: Instant,
}

/// Swap in the parked model and re-prefill these finished turns (as `RestoreConversation`).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CommitSwitch {
    pub turns: Vec<(String, String)>,
    pub system: Option<String>,
    pub dialogue: Dialogue,
}

fn report(sink: &EngineSink, event: SwitchEvent) {
    sink(EngineEvent::Switch(event));
}

impl Handler<SwitchModel> for InferenceActor {
    type Result = ();

    fn handle(&mut self, msg: SwitchModel, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.switch.seq += 1;
            // A model parked for an earlier request is not the one wanted any more.
            self.switch.parked = None;
            self.switch.parked_remote = None;
            let seq = self.switch.seq;
            let sink = self.sink.clone();
            let addr = ctx.address();
            if let Some(entry) = msg.config.models.get(&msg.name).filter(|m| m.is_remote()) {
                return match entry.remote(&msg.name) {
                    Ok(Some(spec)) => {
                        super::switch_remote::connect_in_background(seq, spec, sink, addr)
                    }
                    Ok(None) => {}
                    Err(error) => report(
                        &sink,
                        SwitchEvent::Failed {
                            name: msg.name.clone(),
                            error,
                        },
                    ),
                };
            }
            let name = msg.name.clone();
            let spawned = std::thread::Builder::new()
                .name("model-switch".into())
                .spawn(move || load(seq, msg, sink, addr));
            if let Err(e) = spawned {
                let error = format!("cannot start a loading thread: {e}");
                report(&self.sink, SwitchEvent::Failed { name, error });
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

/// The loading thread: the file, the engine, a session; then back to the actor's mailbox.
fn load(seq: u64, msg: SwitchModel, sink: EngineSink, addr: Addr<InferenceActor>) {
    let started = Instant::now();
    let name = msg.name.clone();
    let progress = |fraction: f64, message: String| {
        report(
            &sink,
            SwitchEvent::Progress {
                name: name.clone(),
                fraction,
                message,
            },
        )
    };
    let loaded = (|| -> Result<(Engine, Session), String> {
        read_through(&msg.path, &mut |f| {
            progress(f * 0.8, format!("reading {}", msg.path.display()))
        })
        .map_err(|e| format!("{}: {e}", msg.path.display()))?;
        progress(0.8, "preparing the weights".into());
        let mut engine = Engine::load_with_rope(&msg.path, msg.threads, msg.engine, &msg.rope)
            .map_err(|e| format!("{}: {e}", msg.path.display()))?;
        if let Some(kind) = msg.config.kind_override(&msg.path) {
            engine.model_kind = kind;
        }
        let session = engine.new_session(msg.context).map_err(|e| e.to_string())?;
        progress(1.0, "loaded; swapping in after the current reply".into());
        Ok((engine, session))
    })();
    match loaded {
        Ok((engine, session)) => {
            tracing::info!(
                model = %name,
                load_ms = started.elapsed().as_secs_f64() * 1000.0,
                "switch: the new model is loaded beside the old one"
            );
            addr.do_send(SwitchLoaded {
                seq,
                name,
                engine: Box::new(engine),
                session,
                started,
            });
        }
        Err(error) => {
            tracing::warn!("switch to {name} failed: {error}");
            report(&sink, SwitchEvent::Failed { name, error });
        }
    }
}

/// Reads the whole file once, reporting the fraction read: on a cold cache this is where a load
/// waits, so the gauge moves with the disk; the engine then maps pages already in memory.
fn read_through(path: &Path, progress: &mut dyn FnMut(f64)) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    let total = file.metadata()?.len().max(1);
    let mut buf = vec![0u8; 8 << 20];
    let (mut done, mut last) = (0u64, -1.0f64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        done += n as u64;
        let f = done as f64 / total as f64;
        // About fifty reports per file: enough for a gauge, few enough for the event loop.
        if f - last >= 0.02 || done >= total {
            last = f;
            progress(f.min(1.0));
        }
    }
}

impl Handler<SwitchLoaded> for InferenceActor {
    type Result = ();

    fn handle(&mut self, msg: SwitchLoaded, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            if msg.seq != self.switch.seq {
                tracing::info!(model = %msg.name, "switch: a newer request replaced this load");
                return;
            }
            let name = msg.name.clone();
            self.switch.parked = Some(Parked {
                name: msg.name,
                engine: msg.engine,
                session: msg.session,
                started: msg.started,
            });
            report(&self.sink, SwitchEvent::Ready { name });
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<CommitSwitch> for InferenceActor {
    type Result = ();

    fn handle(&mut self, msg: CommitSwitch, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            if self.commit_remote(msg.turns.clone(), msg.system.clone()) {
                return;
            }
            let Some(Parked {
                name,
                engine,
                mut session,
                started,
            }) = self.switch.parked.take()
            else {
                return tracing::warn!("switch: a commit without a loaded model; ignored");
            };
            let t = Instant::now();
            let reserve = RESTORE_RESERVE.min(session.pass.capacity() / 2);
            let format = engine.chat_format(|| msg.dialogue);
            let restored = match engine.restore(
                &mut session,
                &msg.turns,
                msg.system.as_deref(),
                &format,
                reserve,
            ) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!("switch: re-prefilling the conversation failed, empty: {e}");
                    0
                }
            };
            let restore_ms = t.elapsed().as_secs_f64() * 1000.0;
            let summary = summarize(&engine, &session);
            let context_used = session.context_used();
            // The old engine goes once the new one holds the conversation; its weights were freed
            // in another thread's malloc arena than the new ones live in, which glibc keeps unless
            // asked to give it back.
            // A restarted actor loads this model again, as it is loaded now.
            if let Some(load) = self.last_load.as_mut() {
                load.source = super::messages::ModelSource::Path(engine.path.clone());
                load.context = session.pass.capacity();
                load.kind_override = Some(engine.model_kind.clone());
            }
            drop(self.loaded.replace((Arc::from(engine), session)));
            self.remote = None;
            release_freed_memory();
            let total_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(
                model = %name,
                restored,
                context_used,
                restore_ms,
                total_ms,
                "switch: swapped in"
            );
            report(
                &self.sink,
                SwitchEvent::Swapped {
                    summary,
                    context_used,
                    restored,
                    total_ms,
                    restore_ms,
                },
            );
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

/// Returns freed heap memory to the system (glibc keeps it in its arenas otherwise: after a
/// switch the process would go on holding about two models' worth).
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}
