use std::sync::Arc;

use actix::{Actor, Addr, Handler, SyncArbiter, SyncContext};

use crate::actors::supervision::{guard, ActorName, RestartSink, Supervised};

use super::messages::ConversationEvent;
use super::messages::{
    Append, DeleteConversation, ListConversations, LoadConversation, RenameConversation, ResumeLast,
};
use crate::conversations::ConversationStore;

pub type ConversationSink = Arc<dyn Fn(ConversationEvent) + Send + Sync>;

pub struct ConversationsActor {
    /// None: this run stores no conversation (the list says so; appends are dropped).
    store: Option<ConversationStore>,
    sink: ConversationSink,
    /// Where a panic is reported (the actor is then rebuilt; see `actors::supervision`).
    restarts: RestartSink,
}

/// What the dashboard holds: the conversations actor's address.
#[derive(Clone)]
pub struct ConversationsHandle {
    pub addr: Addr<ConversationsActor>,
}

/// Starts the conversations actor on its own thread (redb commits block). `store` None: a run
/// that stores nothing (tests, a dashboard without a data dir).
pub fn start(
    store: Option<ConversationStore>,
    sink: ConversationSink,
    restarts: RestartSink,
) -> ConversationsHandle {
    let addr = SyncArbiter::start(1, move || ConversationsActor {
        store: store.clone(),
        sink: sink.clone(),
        restarts: restarts.clone(),
    });
    ConversationsHandle { addr }
}

impl Actor for ConversationsActor {
    type Context = SyncContext<Self>;
}

impl ConversationsActor {
    fn fail(&self, what: &str, e: String) {
        tracing::warn!("{what}: {e}");
        (self.sink)(ConversationEvent::Failed(format!("{what}: {e}")));
    }

    /// The store, or None after telling the dashboard (when asked for something) that there is none.
    fn store(&self, asked: bool) -> Option<&ConversationStore> {
        if self.store.is_none() && asked {
            (self.sink)(ConversationEvent::Failed(
                "conversations are not stored in this run".into(),
            ));
        }
        self.store.as_ref()
    }

    fn send_list(&self) {
        let Some(store) = self.store(true) else {
            return;
        };
        match store.list() {
            Ok(list) => (self.sink)(ConversationEvent::Listed(list)),
            Err(e) => self.fail("listing the conversations", e),
        }
    }

    fn send_loaded(&self, id: u64) {
        let Some(store) = self.store(true) else {
            return;
        };
        match store.load(id) {
            Ok((meta, messages)) => (self.sink)(ConversationEvent::Loaded { meta, messages }),
            Err(e) => self.fail("loading the conversation", e),
        }
    }
}

impl Handler<Append> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: Append, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let Some(store) = self.store(false) else {
                return;
            };
            if let Err(e) = store.append(&msg.meta, &msg.message) {
                self.fail("saving the message", e);
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<ListConversations> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, _: ListConversations, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.send_list();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<LoadConversation> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: LoadConversation, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.send_loaded(msg.0);
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<ResumeLast> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, _: ResumeLast, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let Some(store) = self.store(false) else {
                return;
            };
            match store.last() {
                Ok(Some(id)) => self.send_loaded(id),
                Ok(None) => {}
                Err(e) => self.fail("finding the last conversation", e),
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<RenameConversation> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: RenameConversation, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let Some(store) = self.store(true) else {
                return;
            };
            match store.rename(msg.id, &msg.title) {
                Ok(()) => self.send_list(),
                Err(e) => self.fail("renaming the conversation", e),
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<DeleteConversation> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: DeleteConversation, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let Some(store) = self.store(true) else {
                return;
            };
            match store.delete(msg.0) {
                Ok(()) => self.send_list(),
                Err(e) => self.fail("deleting the conversation", e),
            }
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

crate::actors::supervision::handle_inject_panic!(ConversationsActor);

impl Supervised for ConversationsActor {
    const NAME: ActorName = ActorName::Conversations;

    fn restart_sink(&self) -> &RestartSink {
        &self.restarts
    }
}
