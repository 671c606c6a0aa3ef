//! gemma-tui's engine through kalosm's own API, on the real default model (a base model: the
//! checks are on structure, not on the quality of the text).
mod common;

use std::future::IntoFuture;

use futures::executor::block_on;
use futures::StreamExt;
use gemma_tui::engine::chat::render_turn;
use gemma_tui::engine::{Engine, GenEvent, Limits, PromptKind, StepControl};
use gemma_tui::kalosm::{GemmaChatSession, GemmaModel};
use gemma_tui::sampling::{argmax, SamplerParams};
use kalosm_language_model::{
    ChatMessage, ChatModel, ChatModelExt, ChatSession, CreateChatSession,
    CreateTextCompletionSession, GenerationParameters, MessageType, TextCompletionModel,
    TextCompletionModelExt, TextCompletionSession,
};
use kalosm_sample::{CreateParserState, Parse, ParseStatus, Parser, StringParser};

fn model() -> GemmaModel {
    GemmaModel::builder(common::model_path())
        .with_threads(2)
        .with_context(1024)
        .build()
        .expect("load the default model")
}

/// Awaits a kalosm builder (they are `IntoFuture`, not `Future`).
fn wait<F: IntoFuture>(f: F) -> F::Output {
    block_on(IntoFuture::into_future(f))
}

fn greedy(max_tokens: usize) -> (SamplerParams, Limits) {
    (SamplerParams::greedy(), Limits::tokens(max_tokens))
}

#[derive(Parse, Clone, Debug, PartialEq)]
struct Pet {
    #[parse(with = StringParser::new(1..=16))]
    name: String,
    age: u8,
}

/// The value `T`'s own parser reads from `text` (all of it, after the transcript's space).
fn parse_whole<T: Parse>(text: &str) -> T {
    let parser = T::new_parser();
    match parser.parse(&parser.create_parser_state(), text.trim_start().as_bytes()) {
        Ok(ParseStatus::Finished { result, remaining }) => {
            assert!(remaining.is_empty(), "left over: {remaining:?} in {text:?}");
            result
        }
        Ok(ParseStatus::Incomplete { .. }) => panic!("incomplete: {text:?}"),
        Err(e) => panic!("does not parse: {text:?}: {e:?}"),
    }
}

#[test]
fn a_typed_task_returns_the_value_its_streamed_text_parses_to() {
    let model = model();
    let task = model
        .task("You describe the pet in the message as a JSON object.")
        .with_example("My cat Tom is 4.", r#"{ "name": "Tom", "age": 4 }"#)
        .typed::<Pet>();
    let mut stream = task
        .run("Our dog Rex turned 3 last week.")
        .with_sampler(greedy(64));
    let mut raw = String::new();
    let mut pieces = 0;
    block_on(async {
        while let Some(piece) = stream.next().await {
            raw.push_str(&piece);
            pieces += 1;
        }
    });
    let pet: Pet = wait(stream).expect("a typed reply");
    assert!(pieces > 1, "streamed in pieces: {raw:?}");
    assert_eq!(parse_whole::<Pet>(&raw), pet, "raw text {raw:?}");
    assert!(!pet.name.is_empty() && pet.name.len() <= 16, "{pet:?}");

    // The same through text completion (consumed as a stream: kalosm 0.4.1's `complete(..).await`
    // never runs the job).
    let mut stream = model
        .complete(r#"A pet as JSON: { "name": "Rex", "age": 3 }. Another pet as JSON: "#)
        .typed::<Pet>()
        .with_sampler(greedy(64));
    let mut raw = String::new();
    block_on(async {
        while let Some(piece) = stream.next().await {
            raw.push_str(&piece);
        }
    });
    let pet: Pet = wait(stream).expect("a typed completion");
    assert_eq!(parse_whole::<Pet>(&raw), pet, "raw text {raw:?}");
}

#[test]
fn a_greedy_completion_streams_what_our_engine_generates_token_for_token() {
    let model = model();
    let prompt = "The three primary colours are";
    let n = 24;

    // Our engine, directly.
    let engine: &Engine = model.engine();
    let mut direct = engine.new_session(1024).unwrap();
    let mut direct_pieces = Vec::new();
    let stats = engine
        .generate(
            &mut direct,
            &PromptKind::Raw(prompt.into()),
            &Limits::tokens(n),
            &|| false,
            &mut |logits: Vec<f32>, _: &[u32]| Ok(argmax(&logits)),
            &mut |event| {
                if let GenEvent::Token { text, .. } = event {
                    direct_pieces.push(text.to_string());
                }
                StepControl::Continue
            },
        )
        .unwrap();
    assert!(!stats.generated_ids.is_empty());

    // Through kalosm's trait with our greedy chain: the same pieces, the same tokens.
    let mut session = model.new_session().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    block_on(
        model.stream_text_with_callback(&mut session, prompt, greedy(n), move |piece| {
            let _ = tx.send(piece);
            Ok(())
        }),
    )
    .unwrap();
    let pieces: Vec<String> = rx.try_iter().collect();
    assert_eq!(pieces, direct_pieces);
    assert_eq!(session.tokens(), &direct.tokens[..]);
    assert_eq!(
        session.tokens().len(),
        stats.prompt_ids.len() + stats.generated_ids.len()
    );

    // Through `complete` with kalosm's own parameters at temperature 0 (and without its default
    // repetition penalty of 1.3, which our chain applies as kalosm does): the same text.
    let mut stream = model.complete(prompt).with_sampler(
        GenerationParameters::new()
            .with_temperature(0.0)
            .with_repetition_penalty(1.0)
            .with_max_length(n as u32),
    );
    let streamed: Vec<String> = block_on(async {
        let mut all = Vec::new();
        while let Some(piece) = stream.next().await {
            all.push(piece);
        }
        all
    });
    assert_eq!(streamed, direct_pieces);

    // A saved session loads (its tokens prefilled again) and goes on as the live one does.
    let bytes = session.to_bytes().unwrap();
    let mut loaded = gemma_tui::kalosm::GemmaSession::from_bytes(&bytes).unwrap();
    let mut live_copy = session.try_clone().unwrap();
    let go_on = |m: &GemmaModel, s: &mut gemma_tui::kalosm::GemmaSession| {
        block_on(m.stream_text_with_callback(s, " And", greedy(8), |_| Ok(()))).unwrap();
        s.tokens().to_vec()
    };
    assert_eq!(go_on(&model, &mut loaded), go_on(&model, &mut live_copy));
}

fn user(text: &str) -> ChatMessage {
    ChatMessage::new(MessageType::UserMessage, text)
}

fn turn(model: &GemmaModel, session: &mut GemmaChatSession, messages: &[ChatMessage]) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    block_on(
        model.add_messages_with_callback(session, messages, greedy(24), move |piece| {
            let _ = tx.send(piece);
            Ok(())
        }),
    )
    .unwrap();
    rx.try_iter().collect()
}

#[test]
fn a_chat_prefills_only_new_turns_and_its_clones_are_independent() {
    let model = model();
    let tokenizer = &model.engine().tokenizer;
    let system = "Answer in one short sentence.";
    let first = "What is the capital of France?";
    let mut session = model.new_chat_session().unwrap();
    let reply1 = turn(
        &model,
        &mut session,
        &[
            ChatMessage::new(MessageType::SystemPrompt, system),
            user(first),
        ],
    );
    let format = session.format().expect("chosen at the first turn").clone();
    let first_ids = tokenizer.encode(
        &render_turn(
            &PromptKind::Chat {
                text: first.into(),
                system: Some(system.into()),
                format: format.clone(),
            },
            0,
        ),
        true,
        true,
    );
    assert_eq!(session.last_prefill(), first_ids.len());
    assert_eq!(&session.tokens()[..first_ids.len()], &first_ids[..]);
    assert_eq!(session.turns(), 1);
    let history1 = session.history();
    assert_eq!(history1.len(), 3, "{history1:?}");
    assert_eq!(history1[2].role(), MessageType::ModelAnswer);
    assert_eq!(history1[2].content(), reply1);
    let tokens1 = session.tokens().to_vec();
    let cached1 = session.cached_len();
    assert!(cached1.is_some());

    // Two copies; one goes its own way.
    let mut wanderer = session.try_clone().unwrap();
    let mut twin = session.try_clone().unwrap();
    let saved = session.to_bytes().unwrap();
    turn(
        &model,
        &mut wanderer,
        &[user("Write a long poem about the sea.")],
    );
    assert_eq!(wanderer.turns(), 2);
    assert_eq!(session.tokens(), &tokens1[..]);
    assert_eq!(session.history(), history1);
    assert_eq!(session.cached_len(), cached1);

    // The second turn prefills only its own tokens on top of the first.
    let second = "And of Japan?";
    let reply2 = turn(&model, &mut session, &[user(second)]);
    let second_ids = tokenizer.encode(
        &render_turn(
            &PromptKind::Chat {
                text: second.into(),
                system: None,
                format,
            },
            1,
        ),
        false,
        true,
    );
    assert_eq!(session.last_prefill(), second_ids.len());
    assert_eq!(&session.tokens()[..tokens1.len()], &tokens1[..]);
    assert_eq!(
        &session.tokens()[tokens1.len()..tokens1.len() + second_ids.len()],
        &second_ids[..]
    );
    assert_eq!(session.history().len(), 5);

    // The untouched copy and a session loaded from bytes (prefilled again) answer the same.
    assert_eq!(turn(&model, &mut twin, &[user(second)]), reply2);
    assert_eq!(twin.tokens(), session.tokens());
    let mut loaded = GemmaChatSession::from_bytes(&saved).unwrap();
    assert_eq!(loaded.history(), history1);
    assert_eq!(turn(&model, &mut loaded, &[user(second)]), reply2);
    assert_eq!(loaded.tokens(), session.tokens());

    // kalosm's `Chat`, which hands the session only its new messages.
    let mut chat = model.chat().with_system_prompt(system);
    let answer = wait(chat(first).with_sampler(greedy(24))).unwrap();
    assert_eq!(answer, reply1);
    let history = chat.session().unwrap().history();
    assert_eq!(history, history1);
}
