//! The bridge's pure parts: sampler mapping, session bytes, repeated history, reply parsing.
use kalosm_language_model::{
    ChatMessage, ChatSession, GenerationParameters, MessageType, TextCompletionSession,
};
use kalosm_sample::Parse;

use super::chat::new_messages;
use super::constraints::parse_reply;
use super::{GemmaChatSession, GemmaSession, IntoSamplerParams, KalosmError};
use crate::engine::Limits;
use crate::sampling::{Mirostat, SamplerParams};

#[test]
fn generation_parameters_map_onto_our_chain() {
    let p = GenerationParameters::new()
        .with_temperature(0.5)
        .with_seed(7)
        .with_max_length(12)
        .with_stop_on(Some("\n".to_string()))
        .with_repetition_penalty(1.1)
        .with_repetition_penalty_range(32);
    let ours = p.sampler_params();
    assert_eq!(ours.temperature, 0.5);
    assert_eq!(ours.seed, Some(7));
    assert_eq!(ours.repeat_penalty, 1.1);
    assert_eq!(ours.repeat_last_n, 32);
    assert_eq!(ours.mirostat, Mirostat::V2);
    assert_eq!(ours.mirostat_tau, p.tau());
    assert!(ours.validate().is_ok());
    assert_eq!(
        p.limits(),
        Limits {
            max_tokens: 12,
            stop: vec!["\n".into()]
        }
    );
    // Temperature 0 is greedy: no Mirostat draw.
    let greedy = GenerationParameters::new().with_temperature(0.0);
    assert_eq!(greedy.sampler_params().mirostat, Mirostat::Off);
    assert_eq!(greedy.limits().max_tokens, usize::MAX);
    assert!(greedy.limits().stop.is_empty());
    // Our own settings pass through untouched.
    let mine = SamplerParams {
        top_k: 5,
        min_p: 0.2,
        ..SamplerParams::default()
    };
    assert_eq!(mine.sampler_params(), mine);
    assert_eq!(
        (mine.clone(), Limits::tokens(3)).limits(),
        Limits::tokens(3)
    );
}

#[test]
fn completion_session_bytes_round_trip_and_bad_bytes_are_errors() {
    let session = GemmaSession {
        tokens: vec![2, 651, 6037],
        ..GemmaSession::default()
    };
    let bytes = session.to_bytes().unwrap();
    let back = GemmaSession::from_bytes(&bytes).unwrap();
    assert_eq!(back.tokens(), session.tokens());
    assert_eq!(back.cached_len(), None);
    assert!(matches!(
        GemmaSession::from_bytes(b"not a session"),
        Err(KalosmError::Session(_))
    ));
    assert!(matches!(
        GemmaSession::from_bytes(br#"{"version":99,"tokens":[]}"#),
        Err(KalosmError::Session(_))
    ));
}

#[test]
fn chat_session_bytes_keep_history() {
    let empty = GemmaChatSession::default();
    let back = GemmaChatSession::from_bytes(&empty.to_bytes().unwrap()).unwrap();
    assert!(back.history().is_empty());
    assert!(back.tokens().is_empty());
    assert!(GemmaChatSession::from_bytes(&[0xFF, 0x00]).is_err());
}

#[test]
fn a_repeated_history_is_not_fed_twice() {
    let m = |role, text: &str| ChatMessage::new(role, text);
    let history = vec![
        m(MessageType::UserMessage, "hi"),
        m(MessageType::ModelAnswer, "hello"),
    ];
    let new = m(MessageType::UserMessage, "more");
    let mut with_history = history.clone();
    with_history.push(new.clone());
    let only_new = std::slice::from_ref(&new);
    assert_eq!(new_messages(&history, &with_history), only_new);
    assert_eq!(new_messages(&history, only_new), only_new);
    assert_eq!(new_messages(&[], &with_history), &with_history[..]);
}

#[test]
fn replies_parse_whole_or_not_at_all() {
    let n = i32::new_parser();
    assert_eq!(parse_reply(&n, " 17").ok(), Some(17));
    assert!(matches!(parse_reply(&n, "x"), Err(KalosmError::Parse(_))));
    assert!(matches!(parse_reply(&n, ""), Err(KalosmError::Parse(_))));
}
