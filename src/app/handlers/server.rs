//! The dashboard-level side of `app::server`: its keys, and (once the serve actor reports) its
//! events folded into [`AppState`]. The pane's own state lives in `app/server.rs`, which imports
//! nothing of `AppState`.
use std::time::Instant;

use crate::actors::inference::RemoteEvent;
use crate::app::chat::{ChatMessage, Role};
use crate::app::server::NodeRow;

impl crate::app::AppState {
    /// A model was (re)loaded: the last one's nodes and notes no longer hold (a remote model's
    /// come again with its next report).
    pub(crate) fn forget_remote(&mut self) {
        self.server.nodes.clear();
        self.server.cluster_model = None;
        self.sampler.not_applied = None;
    }

    /// What the inference actor reports about a remote model: its nodes for the server pane,
    /// settings its server does not apply (the sampler pane and the chat say so), and where a
    /// reply moved to another node (the chat marks it).
    pub(crate) fn on_remote(&mut self, event: RemoteEvent, now: Instant) {
        match event {
            RemoteEvent::Cluster { model, nodes } => {
                self.server.cluster_model = Some(model);
                self.server.nodes = nodes
                    .into_iter()
                    .map(|n| NodeRow {
                        url: n.url,
                        healthy: n.healthy,
                        in_flight: n.in_flight,
                        requests: n.requests,
                        errors: n.errors,
                        tokens_per_s: n.tokens_per_s,
                    })
                    .collect();
            }
            RemoteEvent::NotApplied {
                backend, settings, ..
            } => {
                let shown = Some((backend.clone(), settings.clone()));
                if self.sampler.not_applied != shown {
                    let text = format!(
                        "{backend} does not apply these settings, so they have no effect on its \
                         replies: {}",
                        settings.join(", ")
                    );
                    self.chat
                        .messages
                        .push(ChatMessage::new(Role::System, text));
                    self.set_status(
                        format!("not applied by {backend}: {}", settings.join(", ")),
                        now,
                    );
                    self.sampler.not_applied = shown;
                }
            }
            RemoteEvent::Resumed { at, from, to, .. } => {
                let before = self
                    .chat
                    .messages
                    .iter()
                    .rev()
                    .find(|m| m.streaming)
                    .map(|m| tail_before(&m.text, at))
                    .unwrap_or_default();
                self.chat.messages.push(ChatMessage::new(
                    Role::System,
                    format!(
                        "{from} failed mid-reply; the reply went on on {to} after «…{before}» \
                         ({at} bytes kept)"
                    ),
                ));
            }
            RemoteEvent::ServerTimings { .. } => {}
        }
    }

    /// The server pane is modal while open: its keys, help and Ctrl-C; nothing else.
    pub(crate) fn on_server_key(
        &mut self,
        key: crossterm::event::KeyEvent,
        now: std::time::Instant,
    ) -> Vec<crate::app::Effect> {
        use crate::app::Action as A;
        match self
            .keymap
            .lookup(crate::app::Focus::Server.contexts(), &key)
        {
            Some(a @ (A::ForceQuitArm | A::ToggleHelp | A::ToggleServer | A::ServerStartStop)) => {
                self.apply(a, now)
            }
            _ => vec![],
        }
    }
}

/// Up to 24 characters of `text` before byte `at` (clamped to a character boundary).
fn tail_before(text: &str, at: usize) -> String {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let start = head.char_indices().rev().nth(23).map_or(0, |(i, _)| i);
    head[start..].replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::actors::inference::{EngineEvent, RemoteEvent};
    use crate::app::{AppEvent, AppState, Role};
    use crate::remote::NodeStatus;

    #[test]
    fn the_remote_nodes_fill_the_pane_and_notes_reach_the_chat_once() {
        let now = Instant::now();
        let mut s = AppState::new();
        let node = |url: &str, healthy| NodeStatus {
            url: url.into(),
            healthy,
            in_flight: 1,
            requests: 5,
            errors: 0,
            tokens: 100,
            tokens_per_s: 50.0,
            last_error: None,
        };
        s.handle(
            AppEvent::Engine(EngineEvent::Remote(RemoteEvent::Cluster {
                model: "pool".into(),
                nodes: vec![node("http://a:1/v1", true), node("http://b:2/v1", false)],
            })),
            now,
        );
        assert_eq!(s.server.nodes.len(), 2);
        assert!(!s.server.nodes[1].healthy);
        for _ in 0..3 {
            s.handle(
                AppEvent::Engine(EngineEvent::Remote(RemoteEvent::NotApplied {
                    request: 1,
                    backend: "ollama".into(),
                    settings: vec!["top_k = 40".into(), "min_p = 0.05".into()],
                })),
                now,
            );
        }
        let notes: Vec<_> = s
            .chat
            .messages
            .iter()
            .filter(|m| m.role == Role::System && m.text.contains("does not apply"))
            .collect();
        assert_eq!(notes.len(), 1, "said once while the list stays the same");
        assert!(notes[0].text.contains("top_k = 40, min_p = 0.05"));
    }

    #[test]
    fn the_tail_before_a_resume_point_is_whole_characters() {
        assert_eq!(super::tail_before("héllo wörld", 2), "h", "inside é");
        assert_eq!(super::tail_before("héllo wörld", 3), "hé");
        assert_eq!(super::tail_before("abc", 99), "abc");
        let long = "x".repeat(50) + "END";
        assert_eq!(super::tail_before(&long, long.len()).len(), 24);
    }
}
