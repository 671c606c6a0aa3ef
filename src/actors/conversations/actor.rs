use std::sync::Arc;

use actix::{Actor, Handler, SyncContext};

use super::messages::ConversationEvent;
use super::messages::{
    Append, DeleteConversation, ListConversations, LoadConversation, RenameConversation, ResumeLast,
};
use crate::conversations::ConversationStore;

pub type ConversationSink = Arc<dyn Fn(ConversationEvent) + Send + Sync>;

pub struct ConversationsActor {
    pub store: ConversationStore,
    pub sink: ConversationSink,
}

impl Actor for ConversationsActor {
    type Context = SyncContext<Self>;
}

impl ConversationsActor {
    fn fail(&self, what: &str, e: String) {
        tracing::warn!("{what}: {e}");
        (self.sink)(ConversationEvent::Failed(format!("{what}: {e}")));
    }

    fn send_list(&self) {
        match self.store.list() {
            Ok(list) => (self.sink)(ConversationEvent::Listed(list)),
            Err(e) => self.fail("listing the conversations", e),
        }
    }

    fn send_loaded(&self, id: u64) {
        match self.store.load(id) {
            Ok((meta, messages)) => (self.sink)(ConversationEvent::Loaded { meta, messages }),
            Err(e) => self.fail("loading the conversation", e),
        }
    }
}

impl Handler<Append> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: Append, _: &mut SyncContext<Self>) {
        if let Err(e) = self.store.append(&msg.meta, &msg.message) {
            self.fail("saving the message", e);
        }
    }
}

impl Handler<ListConversations> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, _: ListConversations, _: &mut SyncContext<Self>) {
        self.send_list();
    }
}

impl Handler<LoadConversation> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: LoadConversation, _: &mut SyncContext<Self>) {
        self.send_loaded(msg.0);
    }
}

impl Handler<ResumeLast> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, _: ResumeLast, _: &mut SyncContext<Self>) {
        match self.store.last() {
            Ok(Some(id)) => self.send_loaded(id),
            Ok(None) => {}
            Err(e) => self.fail("finding the last conversation", e),
        }
    }
}

impl Handler<RenameConversation> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: RenameConversation, _: &mut SyncContext<Self>) {
        match self.store.rename(msg.id, &msg.title) {
            Ok(()) => self.send_list(),
            Err(e) => self.fail("renaming the conversation", e),
        }
    }
}

impl Handler<DeleteConversation> for ConversationsActor {
    type Result = ();

    fn handle(&mut self, msg: DeleteConversation, _: &mut SyncContext<Self>) {
        match self.store.delete(msg.0) {
            Ok(()) => self.send_list(),
            Err(e) => self.fail("deleting the conversation", e),
        }
    }
}
