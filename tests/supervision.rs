//! A panic inside an actor does not take the dashboard down: the actor is restarted, the chat says
//! so, and the conversation and settings are kept. The panic is injected with the test-only
//! `InjectPanic` message, into the real actors running the real model.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, Dashboard, Sandbox};
use crossterm::event::KeyCode;
use gemma_tui::actors::bench::{BenchEvent, RefreshBench};
use gemma_tui::actors::conversations::{ConversationEvent, ListConversations};
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::actors::rag::{RagEvent, Remember, Search};
use gemma_tui::actors::supervision::{ActorName, InjectPanic};
use gemma_tui::app::{AppEvent, AppState, EngineStatus, Role};
use gemma_tui::rag::Tier;
use gemma_tui::runtime::RunOptions;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Types `text` and Enter, as a user would.
fn type_message(d: &Dashboard, text: &str) {
    for code in text.chars().map(KeyCode::Char).chain([KeyCode::Enter]) {
        d.tx.send(common::key(code)).unwrap();
    }
}

/// Folds events until `until` holds for one (returned, after it is folded).
async fn fold_until(
    d: &mut Dashboard,
    state: &mut AppState,
    what: &str,
    until: impl Fn(&AppEvent, &AppState) -> bool,
) -> AppEvent {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(Instant::now() < deadline, "no {what} within 180 s");
        let event = d.next(Duration::from_secs(120)).await;
        if let AppEvent::Engine(EngineEvent::LoadFailed(e)) = &event {
            panic!("load failed: {e}");
        }
        let done = until(&event, state);
        d.fold(state, event.clone());
        if done {
            return event;
        }
    }
}

/// Injects a panic into `addr`'s actor and waits for the restart report: it names `actor`, and
/// the chat shows the note.
async fn panic_and_restart<A>(
    d: &mut Dashboard,
    state: &mut AppState,
    addr: &actix::Addr<A>,
    actor: ActorName,
) where
    A: actix::Actor + actix::Handler<InjectPanic>,
    A::Context: actix::dev::ToEnvelope<A, InjectPanic>,
{
    addr.do_send(InjectPanic);
    let restarted = fold_until(d, state, "restart report", |e, _| {
        matches!(e, AppEvent::Restarted(_))
    })
    .await;
    let AppEvent::Restarted(r) = restarted else {
        unreachable!()
    };
    assert_eq!(r.actor, actor);
    assert!(r.reason.contains("injected panic"), "{}", r.reason);
    let note = format!("{} actor crashed", actor.label());
    assert!(state
        .chat
        .messages
        .iter()
        .any(|m| m.role == Role::System && m.text.contains(&note)));
}

fn finished(event: &AppEvent) -> bool {
    matches!(event, AppEvent::Engine(EngineEvent::Finished { .. }))
}

#[test]
fn an_inference_panic_restarts_the_actor_and_keeps_the_conversation() {
    let sandbox = Sandbox::new();
    dashboard::run(async {
        let mut d = Dashboard::start(sandbox.options(1024, 16));
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(110, 32)).unwrap();
        fold_until(&mut d, &mut state, "model load", |_, s| {
            s.engine == EngineStatus::Idle
        })
        .await;
        type_message(&d, "Describe the sea.");
        fold_until(&mut d, &mut state, "first reply", |e, _| finished(e)).await;
        let first_reply = state.chat.messages.last().unwrap().text.clone();
        assert!(!first_reply.trim().is_empty());
        let context_before = state.context_used;
        assert!(context_before > 0);

        d.actors.inference.addr.do_send(InjectPanic);
        let restarted = fold_until(&mut d, &mut state, "restart report", |e, _| {
            matches!(e, AppEvent::Restarted(_))
        })
        .await;
        let AppEvent::Restarted(r) = restarted else {
            unreachable!()
        };
        assert_eq!(r.actor, ActorName::Inference);
        assert!(r.reason.contains("injected panic"), "{}", r.reason);
        // The chat says what happened.
        let note = state.chat.messages.last().unwrap();
        assert_eq!(note.role, Role::System);
        assert!(
            note.text.contains("inference actor crashed"),
            "{}",
            note.text
        );
        let screen = dashboard::draw(&mut terminal, &mut state);
        assert!(screen.contains("restarted"), "{screen}");

        // The model is loaded again, then the conversation restored into its context.
        let restored = fold_until(&mut d, &mut state, "restored conversation", |e, _| {
            matches!(e, AppEvent::Engine(EngineEvent::Restored { .. }))
        })
        .await;
        let AppEvent::Engine(EngineEvent::Restored { context_used }) = restored else {
            unreachable!()
        };
        eprintln!("context: {context_before} tokens before the panic, {context_used} restored");
        // The earlier turn is in the engine's context again (re-rendered by the template, so
        // about, not exactly, as long as before).
        assert!(
            context_used * 2 >= context_before,
            "the engine's context holds the earlier turn ({context_used} of {context_before} tokens)"
        );
        fold_until(&mut d, &mut state, "idle after reload", |_, s| {
            s.engine == EngineStatus::Idle
        })
        .await;

        // The next message is answered, after the earlier turn.
        type_message(&d, "And the sky?");
        let done = fold_until(&mut d, &mut state, "second reply", |e, _| finished(e)).await;
        let AppEvent::Engine(EngineEvent::Finished {
            stats,
            context_used: after,
            ..
        }) = done
        else {
            unreachable!()
        };
        assert!(stats.generated_tokens > 0);
        assert!(
            after > context_used,
            "the second turn is added to the restored context ({context_used} -> {after})"
        );
        let said: Vec<_> = state
            .chat
            .messages
            .iter()
            .filter(|m| m.role == Role::User)
            .map(|m| m.text.as_str())
            .collect();
        assert_eq!(said, ["Describe the sea.", "And the sky?"]);
        assert!(state
            .chat
            .messages
            .iter()
            .any(|m| m.role == Role::Assistant && m.text == first_reply));
        let last = state.chat.messages.last().unwrap();
        assert_eq!(last.role, Role::Assistant);
        assert!(!last.streaming && !last.text.trim().is_empty());
    });
}

#[test]
fn a_conversations_panic_restarts_the_store_actor() {
    let sandbox = Sandbox::new();
    dashboard::run(async {
        let mut d = Dashboard::start(RunOptions {
            data_dir: Some(sandbox.data_dir().to_path_buf()),
            ..sandbox.options(512, 8)
        });
        let mut state = AppState::new();
        let addr = d.actors.conversations.addr.clone();
        panic_and_restart(&mut d, &mut state, &addr, ActorName::Conversations).await;
        // The restarted actor answers.
        d.actors.conversations.addr.do_send(ListConversations);
        fold_until(&mut d, &mut state, "conversation list", |e, _| {
            matches!(e, AppEvent::Conversations(ConversationEvent::Listed(_)))
        })
        .await;
    });
}

#[test]
fn a_bench_panic_restarts_the_bench_actor() {
    let sandbox = Sandbox::new();
    dashboard::run(async {
        let mut d = Dashboard::start(sandbox.options(512, 8));
        let mut state = AppState::new();
        let addr = d.actors.bench.addr.clone();
        panic_and_restart(&mut d, &mut state, &addr, ActorName::Bench).await;
        // The restarted actor answers.
        d.actors.bench.addr.do_send(RefreshBench);
        fold_until(&mut d, &mut state, "suite list", |e, _| {
            matches!(e, AppEvent::Bench(BenchEvent::Suites(_)))
        })
        .await;
    });
}

#[test]
fn a_rag_panic_restarts_the_memory_actor_and_keeps_the_memories() {
    let sandbox = Sandbox::new();
    dashboard::run(async {
        let mut d = Dashboard::start(RunOptions {
            rag: Some(gemma_tui::rag::RagSettings::default()),
            ..sandbox.options(512, 8)
        });
        let mut state = AppState::new();
        let rag = d.actors.rag.as_ref().expect("RAG is on").addr.clone();
        fold_until(&mut d, &mut state, "the memory store opened", |e, _| {
            matches!(e, AppEvent::Rag(RagEvent::Stats { .. }))
        })
        .await;
        rag.do_send(Remember {
            text: "The lighthouse keeper's cat is called Biscuit.".into(),
            importance: 0.8,
            tier: Tier::LongTerm,
            source: "test".into(),
            quiet: true,
        });
        fold_until(&mut d, &mut state, "the memory stored", |e, _| {
            matches!(
                e,
                AppEvent::Rag(RagEvent::Remembered {
                    result: Ok(Some(_)),
                    ..
                })
            )
        })
        .await;
        panic_and_restart(&mut d, &mut state, &rag, ActorName::Rag).await;
        // The restarted actor answers from the same store: the memory is still there.
        let hits = rag
            .send(Search {
                query: "the cat's name".into(),
                k: 3,
            })
            .await
            .expect("the restarted actor answers")
            .expect("a search");
        assert!(hits.iter().any(|h| h.text.contains("Biscuit")), "{hits:?}");
    });
}
