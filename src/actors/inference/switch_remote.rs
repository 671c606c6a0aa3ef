//! Switching to a remote model (a models.toml entry with `url`/`urls`) from the picker: the
//! nodes are checked on a thread of their own while the current model keeps serving, the
//! connection is parked, and `CommitSwitch` swaps it in with the conversation's finished turns
//! (sent whole with the next request, the API being stateless).
use std::time::Instant;

use actix::{Addr, Handler, Message, SyncContext};

use super::actor::InferenceActor;
use super::messages::{EngineEvent, EngineSink, SwitchEvent};
use super::remote::{ParkedRemote, RemoteBackend};
use crate::actors::supervision::{guard, Supervised};
use crate::remote::RemoteModel;

/// From the connecting thread: the remote, reachable.
#[derive(Message)]
#[rtype(result = "()")]
struct RemoteConnected {
    seq: u64,
    parked: ParkedRemote,
}

/// Connects on a thread of its own and parks the result in the actor.
pub(super) fn connect_in_background(
    seq: u64,
    spec: RemoteModel,
    sink: EngineSink,
    addr: Addr<InferenceActor>,
) {
    let started = Instant::now();
    let name = spec.name.clone();
    sink(EngineEvent::Switch(SwitchEvent::Progress {
        name: name.clone(),
        fraction: 0.5,
        message: format!("connecting to {}", spec.urls.join(", ")),
    }));
    let spawned = std::thread::Builder::new()
        .name("remote-switch".into())
        .spawn({
            let sink = sink.clone();
            let name = name.clone();
            move || match RemoteBackend::connect(&spec, sink.clone()) {
                Ok(backend) => addr.do_send(RemoteConnected {
                    seq,
                    parked: ParkedRemote {
                        name,
                        backend,
                        started,
                    },
                }),
                Err(error) => {
                    tracing::warn!("switch to {name} failed: {error}");
                    sink(EngineEvent::Switch(SwitchEvent::Failed { name, error }));
                }
            }
        });
    if let Err(e) = spawned {
        let error = format!("cannot start a connecting thread: {e}");
        sink(EngineEvent::Switch(SwitchEvent::Failed { name, error }));
    }
}

impl Handler<RemoteConnected> for InferenceActor {
    type Result = ();

    fn handle(&mut self, msg: RemoteConnected, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            if msg.seq != self.switch.seq {
                return tracing::info!(model = %msg.parked.name, "switch: a newer request replaced this one");
            }
            let name = msg.parked.name.clone();
            self.switch.parked_remote = Some(msg.parked);
            (self.sink)(EngineEvent::Switch(SwitchEvent::Ready { name }));
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl InferenceActor {
    /// Swaps the parked remote in, with `turns` as its history; false when none is parked.
    pub(super) fn commit_remote(
        &mut self,
        turns: Vec<(String, String)>,
        system: Option<String>,
    ) -> bool {
        let Some(ParkedRemote {
            name,
            mut backend,
            started,
        }) = self.switch.parked_remote.take()
        else {
            return false;
        };
        let restored = turns.len();
        backend.restore(turns, system);
        let summary = backend.summary();
        self.loaded = None;
        self.remote = Some(backend);
        let total_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(model = %name, restored, total_ms, "switch: the remote model serves");
        (self.sink)(EngineEvent::Switch(SwitchEvent::Swapped {
            summary,
            context_used: 0,
            restored,
            total_ms,
            restore_ms: 0.0,
        }));
        true
    }
}
