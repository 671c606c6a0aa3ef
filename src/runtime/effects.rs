//! Executing the state machine's effects: each becomes a message to the actor it concerns.
use crate::actors::bench::{CancelBench, PinBaseline, RefreshBench, StartAb, StartBench};
use crate::actors::config::SaveProfile;
use crate::actors::conversations as conv;
use crate::actors::inference::{Generate, Prompt, ResetConversation, RestoreConversation};
use crate::actors::sampling::{Configure, ResetSampler};
use crate::app::{AppEvent, Effect};

use super::wiring::{Actors, RunOptions};

/// Carries out one effect of the state machine; returns true when the dashboard should quit.
/// `last_request` is the newest request sent: a cancel covers it and everything before.
pub fn apply_effect(
    effect: Effect,
    actors: &Actors,
    opts: &RunOptions,
    last_request: &mut u64,
) -> bool {
    match effect {
        Effect::Generate {
            request,
            turn,
            limits,
            output,
            context_shift,
            draft,
        } => {
            *last_request = (*last_request).max(request);
            actors.inference.addr.do_send(Generate {
                request,
                prompt: Prompt::Chat(turn),
                limits,
                output,
                context_shift,
                draft,
            });
            false
        }
        Effect::RestoreConversation {
            turns,
            system,
            dialogue,
        } => {
            actors.inference.cancel(*last_request);
            actors.inference.addr.do_send(RestoreConversation {
                turns,
                system,
                dialogue,
            });
            actors.sampler.addr.do_send(ResetSampler);
            false
        }
        Effect::StoreMessage(record) => {
            let (meta, message) = *record;
            actors
                .conversations
                .addr
                .do_send(conv::Append { meta, message });
            false
        }
        Effect::ListConversations => {
            actors.conversations.addr.do_send(conv::ListConversations);
            false
        }
        Effect::LoadConversation(id) => {
            actors
                .conversations
                .addr
                .do_send(conv::LoadConversation(id));
            false
        }
        Effect::RenameConversation { id, title } => {
            actors
                .conversations
                .addr
                .do_send(conv::RenameConversation { id, title });
            false
        }
        Effect::DeleteConversation(id) => {
            actors
                .conversations
                .addr
                .do_send(conv::DeleteConversation(id));
            false
        }
        Effect::SaveProfile { name, profile } => {
            // Written by the config actor, on its thread; the answer comes back as an event.
            let events = actors.events.clone();
            let config = actors.config.as_ref().map(|c| c.addr.clone());
            actix::spawn(async move {
                let result = match config {
                    Some(addr) => match addr
                        .send(SaveProfile {
                            name: name.clone(),
                            profile: *profile,
                        })
                        .await
                    {
                        Ok(result) => result,
                        Err(e) => Err(format!("the config actor is gone: {e}")),
                    },
                    None => Err("no config dir in this run".into()),
                };
                let _ = events.send(AppEvent::ProfileSaved { name, result });
            });
            false
        }
        Effect::Cancel => {
            actors.inference.cancel(*last_request);
            false
        }
        Effect::ResetConversation => {
            actors.inference.cancel(*last_request);
            actors.inference.addr.do_send(ResetConversation);
            actors.sampler.addr.do_send(ResetSampler);
            false
        }
        Effect::ConfigureSampler(params) => {
            actors.sampler.addr.do_send(Configure(params));
            false
        }
        Effect::StartBench(suite) => {
            actors.bench.addr.do_send(StartBench { suite });
            false
        }
        Effect::CancelBench => {
            actors.bench.addr.do_send(CancelBench);
            false
        }
        Effect::RefreshBench => {
            actors.bench.addr.do_send(RefreshBench);
            false
        }
        Effect::StartAb { prompt, a, b } => {
            actors.bench.addr.do_send(StartAb { prompt, a, b });
            false
        }
        Effect::PinBaseline(run) => {
            actors.bench.addr.do_send(PinBaseline { run });
            false
        }
        Effect::Models(e) => {
            let load = super::models::LoadSettings {
                threads: opts.threads,
                engine: opts.engine,
                context: opts.context,
                models_dir: opts.paths.models_dir.clone(),
                profile: opts.active_profile.clone(),
                rope_flags: opts.rope,
            };
            super::models::apply(e, &actors.inference, &actors.events, &load);
            false
        }
        Effect::StartServer(start) => {
            super::serve::start_server(*start, actors, opts);
            false
        }
        Effect::StopServer => {
            actors.serve.addr.do_send(crate::actors::serve::StopServer);
            false
        }
        Effect::Quit => {
            actors.serve.addr.do_send(crate::actors::serve::StopServer);
            actors.inference.cancel(*last_request);
            actors.bench.addr.do_send(CancelBench);
            true
        }
        Effect::RagContext {
            request,
            query,
            budget,
        } => {
            if let Some(rag) = &actors.rag {
                rag.addr.do_send(crate::actors::rag::BuildContext {
                    request,
                    query,
                    budget,
                });
            }
            false
        }
        Effect::RagAdd { paths } => {
            if let Some(rag) = &actors.rag {
                rag.addr.do_send(crate::actors::rag::Add { paths });
            }
            false
        }
        Effect::RagRemember {
            text,
            importance,
            tier,
            source,
            quiet,
        } => {
            if let Some(rag) = &actors.rag {
                rag.addr.do_send(crate::actors::rag::Remember {
                    text,
                    importance,
                    tier,
                    source,
                    quiet,
                });
            }
            false
        }
    }
}
