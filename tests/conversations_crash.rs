//! Crash safety of stored conversations: a child process commits messages in a loop through the
//! conversations store (as the dashboard's actor does) and is killed with SIGKILL at random
//! moments. After every kill the store opens, and the conversation is exactly the messages
//! committed so far, in order, none torn, none lost that were seen before.
//!
//! The child is this test binary itself, started on `crash_child_appender`.
mod common;

use gemma_tui::conversations::{ConversationMeta, ConversationStore, StoredMessage, StoredRole};

const CHILD_DIR: &str = "GEMMA_TUI_CONV_CRASH_DIR";
const ID: u64 = 42;

fn meta() -> ConversationMeta {
    ConversationMeta {
        id: ID,
        title: String::new(),
        created_ms: 0,
        updated_ms: 0,
        profile: "balanced".into(),
        model: "m".into(),
        messages: 0,
    }
}

/// Message `n`: user for even n, assistant for odd, with a body long enough to span pages.
fn message(n: u32) -> StoredMessage {
    StoredMessage {
        role: if n.is_multiple_of(2) {
            StoredRole::User
        } else {
            StoredRole::Assistant
        },
        text: format!("message {n} ") + &"lorem ipsum ".repeat(200),
        prompt: None,
        system: None,
        at_ms: u64::from(n),
        decode_tok_s: None,
    }
}

#[test]
fn crash_child_appender() {
    let Some(dir) = common::crash::child_dir(CHILD_DIR) else {
        return;
    };
    let store = ConversationStore::in_dir(&dir);
    let mut n = store.load(ID).map(|(m, _)| m.messages).unwrap_or(0);
    loop {
        store.append(&meta(), &message(n)).unwrap();
        n += 1;
    }
}

#[test]
fn sigkill_during_appends_leaves_every_committed_message_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConversationStore::in_dir(dir.path());
    // 40 kills that land after a commit, in at most 399.
    let kills = common::crash::KillLoop::new("crash_child_appender", CHILD_DIR, dir.path());
    let last = kills.run(5_000..60_000, 40, 399, |kill, last| {
        let Ok((meta, messages)) = store.load(ID) else {
            assert_eq!(last, 0, "kill {kill}: the conversation vanished");
            return 0;
        };
        assert_eq!(meta.messages as usize, messages.len(), "kill {kill}");
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(*m, message(i as u32), "kill {kill}: message {i} differs");
        }
        messages.len() as u64
    });
    assert!(last >= 40, "only {last} messages in all");
}
