//! The per-token cost of constrained generation on the real default model: a decode step (the
//! forward pass and the choice of the next token) with a JSON Schema constraint against the same
//! step without one, and the choice alone (the candidate search and the sampler chain over the
//! valid tokens) against the plain sampler chain over all 262,144 logits.
//!
//! Each measured step is a real step of a reply (seeded, so every run sees the same replies);
//! when a reply ends, a new one starts from the prompt outside the measured time.
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gemma_tui::engine::{Engine, Session};
use gemma_tui::sampling::constrained::{
    schema_text_to_regex, Constraint, FullMatchRegex, TokenTable,
};
use gemma_tui::sampling::{Sampler, SamplerParams};

const PROMPT: &str = "Describe a person as JSON.\n";
const SCHEMA: &str = r#"{"type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "email": {"type": "string", "maxLength": 30},
        "languages": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3}
    },
    "required": ["name", "age"]}"#;
/// An unconstrained reply is cut here (a constrained one ends by itself, well before).
const REPLY_TOKENS: usize = 64;

fn engine() -> Engine {
    let path = std::env::var_os("GEMMA_TUI_MODEL")
        .map(Into::into)
        .unwrap_or_else(gemma_tui::models::default_model_path);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Engine::load(&path, threads).expect("the default model (run `gemma-tui model pull`)")
}

/// What one measured step includes.
#[derive(Clone, Copy)]
enum Timed {
    /// The forward pass and the choice of the token.
    Step,
    /// The choice only.
    Choice,
}

/// Runs `steps` decode steps of seeded replies and returns the time the `timed` part took.
struct Replies<'a> {
    engine: &'a Engine,
    session: Session,
    logits: Vec<f32>,
    history: Vec<u32>,
    sampler: Sampler,
    constraint: Option<Constraint<FullMatchRegex>>,
    regex: Option<Arc<FullMatchRegex>>,
    table: Arc<TokenTable>,
    reply_len: usize,
    seed: u64,
}

impl<'a> Replies<'a> {
    fn new(engine: &'a Engine, regex: Option<Arc<FullMatchRegex>>, table: Arc<TokenTable>) -> Self {
        let mut r = Self {
            engine,
            session: engine.new_session(512).unwrap(),
            logits: Vec::new(),
            history: Vec::new(),
            sampler: Sampler::new(SamplerParams::default()),
            constraint: None,
            regex,
            table,
            reply_len: 0,
            seed: 0,
        };
        r.restart();
        r
    }

    /// A new reply from the prompt (not measured).
    fn restart(&mut self) {
        self.seed += 1;
        self.session.reset();
        self.history = self.engine.tokenizer.encode(PROMPT, true, false);
        self.logits = self.session.forward(&self.history).unwrap();
        self.sampler = Sampler::new(SamplerParams {
            seed: Some(self.seed),
            ..SamplerParams::default()
        });
        self.constraint = self.regex.as_ref().map(|re| {
            Constraint::new(
                re.clone(),
                self.table.clone(),
                self.engine.tokenizer.eog_tokens().to_vec(),
            )
            .with_leading_space(true)
        });
        self.reply_len = 0;
    }

    fn run(&mut self, steps: u64, timed: Timed) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..steps {
            let start = Instant::now();
            let id = match self.constraint.as_mut() {
                Some(c) => c
                    .next_token(&mut self.sampler, &self.logits, &self.history)
                    .unwrap(),
                None => self
                    .sampler
                    .sample_with_history(&self.logits, &self.history)
                    .unwrap(),
            };
            let chosen = start.elapsed();
            let ended = self.engine.tokenizer.is_eog(id) || self.reply_len + 1 >= REPLY_TOKENS;
            if ended {
                total += chosen;
                self.restart();
                continue;
            }
            let start = Instant::now();
            self.logits = self.session.forward(&[id]).unwrap();
            let forward = start.elapsed();
            total += match timed {
                Timed::Step => chosen + forward,
                Timed::Choice => chosen,
            };
            self.history.push(id);
            self.reply_len += 1;
        }
        total
    }
}

fn benches(c: &mut Criterion) {
    let e = engine();
    let t = &e.tokenizer;
    let table = Arc::new(TokenTable::from_fn(t.vocab_size(), |id| t.token_bytes(id)));
    let regex = Arc::new(FullMatchRegex::new(&schema_text_to_regex(SCHEMA).unwrap()).unwrap());

    for (group, timed) in [
        ("decode_step", Timed::Step),
        ("token_choice", Timed::Choice),
    ] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(8));
        let mut plain = Replies::new(&e, None, table.clone());
        g.bench_function("unconstrained", |b| b.iter_custom(|n| plain.run(n, timed)));
        let mut constrained = Replies::new(&e, Some(regex.clone()), table.clone());
        g.bench_function("json_schema", |b| {
            b.iter_custom(|n| constrained.run(n, timed))
        });
        g.finish();
    }
}

criterion_group!(constrained_benches, benches);
criterion_main!(constrained_benches);
