//! Supervision: a panic inside an actor's handler does not take the dashboard down; the actor is
//! restarted with its dependencies and the dashboard is told (`Restarted`), so it can say so in the
//! chat and hand back what the actor lost (the inference actor's conversation).
//!
//! Why catch_unwind around the handlers, and what actix 0.13.5 does on its own (read in its source,
//! src/sync.rs, src/supervisor.rs, and actix-rt's `spawn`):
//! - A `SyncArbiter` worker runs `SyncContext::run`, a loop over its queue with no `catch_unwind`: a
//!   panic in a handler unwinds out of the loop and ends the worker thread. With our one thread per
//!   actor nothing reads the queue any more, and the arbiter's forwarding future then hits
//!   `assert!(queue.send(msg).is_ok())` on the next message: a second panic, on the system arbiter.
//! - An async actor (`Context`) is a future spawned with `tokio::task::spawn_local`; a panic ends
//!   that task (tokio catches it), the mailbox is dropped and every later `do_send` is lost silently.
//!   `Supervised` + `Supervisor::start` restarts an actor that *stops*, not one that panics: the
//!   panic unwinds through the supervisor's own future as well.
//! - `SyncContext::stop()` is, for sync actors, a restart: after the current message the context
//!   calls `stopping`/`stopped`, builds a new actor with the arbiter's factory and calls `started`,
//!   on the same thread and with the same mailbox (queued messages are kept).
//!
//! So each supervised handler runs its body through [`guard`] (`catch_unwind`): on a panic the
//! actor reports `Restarted` and calls `ctx.stop()`, and the factory (which holds the actor's
//! dependencies: paths, settings, sinks, other handles) builds it afresh. State that may be
//! half-updated by the panic is dropped with the old actor; what must survive is carried by the
//! actor (the inference actor queues a reload of its model for its successor) or by the dashboard
//! (the conversation's turns, sent back with `RestoreConversation`). The sampler's profile lives in
//! the sampling actor and is untouched. Async actors (bench) catch the same way and rebuild their
//! state in place.
//!
//! The panic hook: ratatui's restores the terminal on any panic, which would leave a running
//! dashboard in the main screen. [`install_panic_hook`] sends a panic inside [`guard`] to the log
//! instead and hands every other panic to the hook installed before it.
use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use actix::{Actor, ActorContext, Message, SyncContext};

/// The supervised actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorName {
    Inference,
    Rag,
    Bench,
    Conversations,
}

impl ActorName {
    pub fn label(self) -> &'static str {
        match self {
            ActorName::Inference => "inference",
            ActorName::Rag => "RAG",
            ActorName::Bench => "bench",
            ActorName::Conversations => "conversations",
        }
    }
}

/// An actor panicked and was restarted.
#[derive(Debug, Clone, PartialEq)]
pub struct Restarted {
    pub actor: ActorName,
    /// The panic's message.
    pub reason: String,
}

/// Where the supervised actors report their restarts.
pub type RestartSink = Arc<dyn Fn(Restarted) + Send + Sync>;

/// For tests only: the receiving actor panics inside its handler, as a bug would.
#[doc(hidden)]
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// A supervised actor (on a `SyncArbiter`): its name, where it reports, and what it does after a
/// panic before its successor is built.
pub trait Supervised: Actor<Context = SyncContext<Self>> {
    const NAME: ActorName;

    fn restart_sink(&self) -> &RestartSink;

    /// Called after a panic, before the actor is rebuilt (queue a reload, cancel a run, close a
    /// store).
    fn before_restart(&mut self, _ctx: &mut SyncContext<Self>) {}

    /// After a panic in a handler: logs it, lets the actor prepare, tells the dashboard, and has
    /// the context rebuild the actor from its factory once this message is done
    /// (`SyncContext::stop`; the mailbox and its queued messages are kept).
    fn restart(&mut self, ctx: &mut SyncContext<Self>, reason: String) {
        let actor = Self::NAME;
        tracing::error!("{} actor panicked: {reason}; restarting it", actor.label());
        self.before_restart(ctx);
        (self.restart_sink())(Restarted { actor, reason });
        ctx.stop();
    }
}

/// The test-only [`InjectPanic`] handler of a [`Supervised`] actor.
macro_rules! handle_inject_panic {
    ($actor:ty) => {
        impl actix::Handler<$crate::actors::supervision::InjectPanic> for $actor {
            type Result = ();

            fn handle(
                &mut self,
                _: $crate::actors::supervision::InjectPanic,
                ctx: &mut actix::SyncContext<Self>,
            ) {
                use $crate::actors::supervision::Supervised;
                if let Err(reason) =
                    $crate::actors::supervision::guard(|| panic!("injected panic (a test)"))
                {
                    self.restart(ctx, reason);
                }
            }
        }
    };
}
pub(crate) use handle_inject_panic;

thread_local! {
    /// Set while a guarded handler runs on this thread: its panic is caught.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `body`, catching a panic: `Err(its message)`.
pub fn guard<R>(body: impl FnOnce() -> R) -> Result<R, String> {
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(body));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Logs a panic caught by [`guard`] (with its place) and hands any other panic to the hook
/// installed before this one (ratatui's, which restores the terminal). Install after ratatui's.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if GUARDED.with(Cell::get) {
            let place = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            tracing::error!(
                "actor panicked{place}: {}; restarting it",
                panic_message(info.payload())
            );
        } else {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_returns_the_value_or_the_panic_message() {
        assert_eq!(guard(|| 3), Ok(3));
        assert_eq!(
            guard(|| panic!("boom {}", 1)),
            Err::<(), _>("boom 1".into())
        );
        assert_eq!(guard(|| panic!("static")), Err::<(), _>("static".into()));
        // The flag is cleared after a caught panic.
        assert!(!GUARDED.with(Cell::get));
    }
}
