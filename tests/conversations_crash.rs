//! Crash safety of stored conversations: a child process commits messages in a loop through the
//! conversations store (as the dashboard's actor does) and is killed with SIGKILL at random
//! moments. After every kill the store opens, and the conversation is exactly the messages
//! committed so far, in order, none torn, none lost that were seen before.
//!
//! The child is this test binary itself, started on `crash_child_appender`.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gemma_tui::conversations::{ConversationMeta, ConversationStore, StoredMessage, StoredRole};
use rand::Rng;

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
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = ConversationStore::in_dir(Path::new(&dir));
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
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let (mut last, mut advanced) = (0u32, 0);
    for kill in 1..=400 {
        if advanced >= 40 {
            break;
        }
        assert!(kill < 400, "only {advanced} kills landed after a commit");
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_appender",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.gen_range(5_000..60_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        let Ok((meta, messages)) = store.load(ID) else {
            assert_eq!(last, 0, "kill {kill}: the conversation vanished");
            continue;
        };
        assert_eq!(meta.messages as usize, messages.len(), "kill {kill}");
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(*m, message(i as u32), "kill {kill}: message {i} differs");
        }
        let n = messages.len() as u32;
        assert!(
            n >= last,
            "kill {kill}: {n} messages after {last}: a commit was lost"
        );
        advanced += usize::from(n > last);
        last = n;
    }
    assert!(last >= 40, "only {last} messages in all");
}
