//! The dashboard-level side of `app::rag`: the RAG component ([`RagState`]) is run with the
//! dashboard's facts, and the chat turn around it (waiting for the context, then generating,
//! remembering a finished turn) folded into [`AppState`].
use crate::actors::rag::RagEvent;
use crate::app::action::Action;
use crate::app::chat::Role;
use crate::app::effect::Effect;
use crate::app::rag::*;
use crate::app::state::AppState;
use crate::rag::memory::CONVERSATION_SOURCE;
use crate::rag::Tier;
use std::time::Instant;

impl AppState {
    /// The RAG keys (F6, Ctrl-R).
    pub(crate) fn apply_rag(&mut self, action: Action, now: Instant) -> Vec<Effect> {
        self.run(
            None,
            |s| &mut s.rag,
            |rag, ctx| rag.handle(action, ctx),
            now,
        )
    }

    /// Handles `/add` and `/remember` typed in the input; `None` when the text is a chat message.
    pub(crate) fn rag_command(&mut self, text: &str, now: Instant) -> Option<Vec<Effect>> {
        let parsed = parse_command(text)?;
        self.input.clear();
        let outcome = self.rag.command(parsed);
        Some(self.take(outcome, now))
    }

    /// What a new user turn starts: asking the RAG actor for context first when RAG is on for
    /// this message, else generating straight away.
    pub(crate) fn rag_route(&mut self, request: u64, text: String, now: Instant) -> Vec<Effect> {
        let input = self.input_text();
        let mut rag = std::mem::take(&mut self.rag);
        let ask = rag.route(request, &text, &self.ctx(&input));
        self.rag = rag;
        match ask {
            Some(effect) => vec![effect],
            None => self.generate_turn(request, text, "", now),
        }
    }

    /// Esc while the context is being built: the engine never saw the request, so the turn ends here.
    pub(crate) fn rag_cancel_pending(&mut self) -> bool {
        let Some((request, _)) = self.rag.pending.take() else {
            return false;
        };
        if self.chat.is_running(request) {
            self.chat.abandon();
            self.engine = crate::app::chat::EngineStatus::Idle;
        }
        true
    }

    /// After a reply finished: remember the turn when automatic memory is on.
    pub(crate) fn rag_after_reply(&mut self, request: u64) -> Vec<Effect> {
        if !(self.rag.available && self.rag.auto_remember) {
            return vec![];
        }
        let n = self.chat.messages.len();
        if n < 2 || self.chat.is_running(request) {
            return vec![];
        }
        let (user, reply) = (&self.chat.messages[n - 2], &self.chat.messages[n - 1]);
        if user.role != Role::User || reply.role != Role::Assistant || reply.text.trim().is_empty()
        {
            return vec![];
        }
        vec![Effect::RagRemember {
            text: format!("User: {}\nGemma: {}", user.text.trim(), reply.text.trim()),
            importance: 0.3,
            tier: Tier::Episodic,
            source: CONVERSATION_SOURCE.into(),
            quiet: true,
        }]
    }

    /// Folds one report of the RAG actor: a context goes on to the turn waiting for it.
    pub(crate) fn on_rag(&mut self, event: RagEvent, now: Instant) -> Vec<Effect> {
        match event {
            RagEvent::Context { request, result } => {
                let Some((pending, text)) = self.rag.pending.take_if(|(r, _)| *r == request) else {
                    return vec![];
                };
                debug_assert_eq!(pending, request);
                if !self.chat.is_running(request) {
                    return vec![];
                }
                // The memories go into the template's {rag_context}.
                let (rag_context, outcome) = self.rag.context_built(request, &text, result);
                let mut effects = self.take(outcome, now);
                effects.extend(self.generate_turn(request, text, &rag_context, now));
                effects
            }
            event => {
                let done = matches!(event, RagEvent::IngestDone(_));
                let outcome = self.rag.on_event(event);
                let effects = self.take(outcome, now);
                if done {
                    self.chat.scroll.to_bottom();
                }
                effects
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::chat::EngineStatus;
    use crate::app::{Action, AppEvent};
    use crate::rag::memory::REMEMBER_SOURCE;
    use crate::rag::InjectedMemory;
    use crate::rag::{BuiltContext, RagSettings};

    #[test]
    fn commands_parse_and_chat_text_does_not() {
        assert_eq!(
            parse_command("/add docs notes.md"),
            Some(Ok(RagCommand::Add(vec!["docs".into(), "notes.md".into()])))
        );
        assert_eq!(
            parse_command("/remember my cat is Miso --importance 0.9 --tier working"),
            Some(Ok(RagCommand::Remember {
                text: "my cat is Miso".into(),
                importance: 0.9,
                tier: Tier::Working
            }))
        );
        assert!(parse_command("/add").unwrap().is_err());
        assert!(parse_command("/remember x --importance 3")
            .unwrap()
            .is_err());
        assert!(parse_command("/remember x --tier forever")
            .unwrap()
            .is_err());
        assert_eq!(parse_command("what is /add?"), None);
        assert_eq!(parse_command("/addition"), None);
    }

    fn ready(settings: Option<&RagSettings>) -> AppState {
        let mut s = AppState::new();
        s.engine = EngineStatus::Idle;
        s.rag = RagState::new(settings);
        s
    }

    fn type_and_send(s: &mut AppState, text: &str) -> Vec<Effect> {
        s.input.editor.insert_str(text);
        s.apply(Action::Send, Instant::now())
    }

    fn built(text: &str) -> BuiltContext {
        BuiltContext {
            text: format!("[notes.md]\n{text}\n"),
            memories: vec![InjectedMemory {
                id: 7,
                source: "notes.md".into(),
                text: text.into(),
                relevance: 0.8,
                recency: 1.0,
                importance: 0.5,
                score: 0.78,
                tokens: 9,
                truncated: false,
            }],
            tokens: 9,
            budget: 1024,
        }
    }

    #[test]
    fn with_rag_on_the_prompt_waits_for_the_context_then_carries_it() {
        let mut s = ready(Some(&RagSettings::default()));
        let fx = type_and_send(&mut s, "Where is Paris?");
        assert_eq!(
            fx,
            vec![Effect::RagContext {
                request: 1,
                query: "Where is Paris?".into(),
                budget: 1024
            }]
        );
        let fx = s.handle(
            AppEvent::Rag(RagEvent::Context {
                request: 1,
                result: Ok(built("Paris is in France.")),
            }),
            Instant::now(),
        );
        // The default template puts the memories (the {rag_context}) before the question.
        match &fx[..] {
            [Effect::StoreMessage(stored), Effect::Generate {
                request: 1, turn, ..
            }] => {
                let text = &turn.text;
                assert!(text.contains("Paris is in France.") && text.ends_with("Where is Paris?"));
                assert_eq!(
                    stored.1.prompt.as_ref(),
                    Some(text),
                    "the model's view is stored"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.rag.last.as_ref().unwrap().context.memories[0].id, 7);
        // The chat shows what the user typed, not the injected prompt.
        assert_eq!(s.chat.messages[0].text, "Where is Paris?");
    }

    #[test]
    fn ctrl_r_skips_rag_for_one_message_and_a_profile_without_rag_never_asks() {
        let mut s = ready(Some(&RagSettings::default()));
        s.apply(Action::ToggleRagNextMessage, Instant::now());
        let fx = type_and_send(&mut s, "hi");
        assert!(matches!(
            &fx[..],
            [Effect::StoreMessage(_), Effect::Generate { .. }]
        ));
        assert!(s.rag.next_message);
        let mut off = ready(None);
        let fx = type_and_send(&mut off, "hi");
        assert!(matches!(
            &fx[..],
            [Effect::StoreMessage(_), Effect::Generate { .. }]
        ));
    }

    #[test]
    fn esc_while_the_context_is_built_ends_the_turn() {
        let mut s = ready(Some(&RagSettings::default()));
        type_and_send(&mut s, "question");
        s.apply(Action::CancelGeneration, Instant::now());
        assert!(!s.is_generating());
        let fx = s.handle(
            AppEvent::Rag(RagEvent::Context {
                request: 1,
                result: Ok(built("late")),
            }),
            Instant::now(),
        );
        assert!(fx.is_empty());
    }

    #[test]
    fn slash_commands_become_rag_effects_not_chat_messages() {
        let mut s = ready(Some(&RagSettings::default()));
        let fx = type_and_send(
            &mut s,
            "/remember the wifi password is on the fridge --tier short_term",
        );
        assert_eq!(
            fx,
            vec![Effect::RagRemember {
                text: "the wifi password is on the fridge".into(),
                importance: 0.7,
                tier: Tier::ShortTerm,
                source: REMEMBER_SOURCE.into(),
                quiet: false,
            }]
        );
        let fx = type_and_send(&mut s, "/add ./docs");
        assert_eq!(
            fx,
            vec![Effect::RagAdd {
                paths: vec!["./docs".into()]
            }]
        );
        assert!(s.chat.messages.iter().all(|m| m.role != Role::User));
        assert!(s.input_text().is_empty());
    }

    #[test]
    fn a_finished_turn_is_remembered_only_with_auto_remember() {
        let on = RagSettings {
            auto_remember: true,
            ..RagSettings::default()
        };
        for (settings, expected) in [(on, 1), (RagSettings::default(), 0)] {
            let mut s = ready(Some(&settings));
            s.rag.next_message = false;
            type_and_send(&mut s, "hello");
            s.handle(
                AppEvent::Engine(crate::actors::inference::EngineEvent::Token {
                    request: 1,
                    text: "hi there".into(),
                    context_used: 0,
                }),
                Instant::now(),
            );
            let fx = s.handle(
                AppEvent::Engine(crate::actors::inference::EngineEvent::Finished {
                    request: 1,
                    reason: crate::engine::FinishReason::EndOfTurn,
                    stats: Default::default(),
                    context_used: 10,
                }),
                Instant::now(),
            );
            let remembered: Vec<&Effect> = fx
                .iter()
                .filter(|e| matches!(e, Effect::RagRemember { .. }))
                .collect();
            assert_eq!(remembered.len(), expected);
            if let Some(Effect::RagRemember { text, tier, .. }) = remembered.first() {
                assert_eq!(text, "User: hello\nGemma: hi there");
                assert_eq!(*tier, Tier::Episodic);
            }
        }
    }
}
