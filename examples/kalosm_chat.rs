//! gemma-tui's engine through kalosm's API: a chat turn and a typed task.
//!
//!     cargo run --release --example kalosm_chat [-- path/to/model.gguf]
//!
//! Without a path it loads the default model (`gemma-tui model pull` fetches it; `GEMMA_TUI_MODEL`
//! or `GEMMA_TUI_MODELS_DIR` point elsewhere). The default model is a base model: expect short,
//! plain answers, not an assistant's.
use std::future::IntoFuture;
use std::io::Write;

use futures::executor::block_on;
use futures::StreamExt;
use gemma_tui::engine::Limits;
use gemma_tui::kalosm::GemmaModel;
use gemma_tui::sampling::SamplerParams;
use kalosm_language_model::{ChatModelExt, GenerationParameters};
use kalosm_sample::{Parse, StringParser};

/// What the typed task extracts from a sentence.
#[derive(Parse, Clone, Debug, PartialEq)]
struct Pet {
    #[parse(with = StringParser::new(1..=24))]
    name: String,
    age: u8,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("GEMMA_TUI_MODEL").map(Into::into))
        .unwrap_or_else(gemma_tui::models::default_model_path);
    let model = GemmaModel::builder(&path).build()?;
    println!(
        "loaded {} ({:?})",
        path.display(),
        model.engine().model_kind.kind
    );

    // A chat turn, streamed; kalosm's own parameters map onto our sampler chain.
    let mut chat = model
        .chat()
        .with_system_prompt("The assistant answers briefly.");
    let mut reply = chat("What is the capital of France?").with_sampler(
        GenerationParameters::new()
            .with_temperature(0.0)
            .with_max_length(32),
    );
    print!("chat: ");
    block_on(async {
        while let Some(piece) = reply.next().await {
            print!("{piece}");
            let _ = std::io::stdout().flush();
        }
    });
    println!();

    // A typed task: the reply is constrained to `Pet`'s grammar and parsed; our own sampler
    // settings (llama.cpp's semantics) and limits ride along.
    let task = model
        .task("You describe the pet in the message as a JSON object.")
        .with_example("My cat Tom is 4.", r#"{ "name": "Tom", "age": 4 }"#)
        .typed::<Pet>();
    let run = task
        .run("Our dog Rex turned 3 last week.")
        .with_sampler((SamplerParams::greedy(), Limits::tokens(64)));
    let pet: Pet = block_on(IntoFuture::into_future(run))?;
    println!("typed: {pet:?}");
    Ok(())
}
