//! Runs one suite under one model and one profile on the calling thread and returns the record.
//! Every iteration loads the model afresh (so load time has a spread too and the peak RSS is the
//! iteration's own), prefills each prompt into an empty cache, then generates with the profile's
//! sampler, timing every step. The headless command calls this directly (or has a child process
//! of its own call it, one iteration each, when it compares engines); the dashboard calls it on
//! the inference actor's thread.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::machine::Machine;
use super::parallel;
use super::perplexity;
use super::record::{
    IterationMetrics, ParallelFigures, Perplexity, PromptFigures, RunRecord, SCHEMA_VERSION,
};
use super::stats::{max, percentile};
use super::suite::{PromptSpec, Suite};
use crate::config::Profile;
use crate::engine::{Engine, EngineKind, FinishReason, GenEvent, Limits, PromptKind, StepControl};
use crate::sampling::Sampler;

/// The text synthetic prompts are cut from.
pub const PROMPT_TEXT: &str =
    "The history of computing is a story of people who wanted to calculate \
faster than they could by hand. Early machines used gears and levers; later ones used relays, \
vacuum tubes and finally transistors etched by the billion into silicon. Each step made \
machines smaller, cheaper and faster, and each step changed what people asked of them. ";

/// The seed of a profile that leaves it unset, so that runs generate the same tokens.
const BENCH_SEED: u64 = 0x5eed;

/// Everything one run needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunPlan {
    pub suite_name: String,
    pub suite: Suite,
    pub model_name: String,
    pub model_path: PathBuf,
    pub profile_name: String,
    pub profile: Profile,
    pub threads: usize,
    pub engine: EngineKind,
}

/// Where a run is, for a gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// 0..=1 over the whole run.
    pub fraction: f64,
    /// 1-based; counts warm-ups and measured iterations separately.
    pub iteration: usize,
    pub iterations: usize,
    pub warmup: bool,
    /// "pp128", "perplexity", ...
    pub phase: String,
    /// The latest decode step's latency.
    pub token_ms: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the run was cancelled")]
    Cancelled,
    #[error("{0}")]
    Engine(String),
}

/// What the domain cannot measure itself: a reply's per-token time through the actors over the
/// bare generation loop's, minus one, in percent, for the plan's model and engine (the headless
/// command supplies it; a suite with `pipeline` and no probe skips the figure).
pub type PipelineProbe<'a> = &'a mut dyn FnMut(&RunPlan) -> Result<f64, RunError>;

/// One prompt's measurement.
struct PromptResult {
    prompt_tokens: usize,
    prefill_s: f64,
    ttft_ms: f64,
    latencies_ms: Vec<f64>,
}

pub fn run(
    plan: &RunPlan,
    on_progress: &mut dyn FnMut(&Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<RunRecord, RunError> {
    run_with(plan, None, on_progress, cancelled)
}

/// `run`, with the pipeline's overhead measured after each measured iteration when the suite
/// asks for it and `pipeline` is given.
pub fn run_with(
    plan: &RunPlan,
    mut pipeline: Option<PipelineProbe>,
    on_progress: &mut dyn FnMut(&Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<RunRecord, RunError> {
    let suite = &plan.suite;
    suite.validate().map_err(RunError::Engine)?;
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let specs = suite.prompt_specs();
    // Work units: each prompt of each pass, and the perplexity pass.
    let passes = suite.warmup + suite.iterations;
    let ppl_units = usize::from(suite.perplexity_tokens > 0);
    let total_units = (passes * specs.len() + ppl_units) as f64;
    let mut iterations = Vec::new();
    let mut token_latencies = Vec::new();
    let mut prompts: Vec<PromptFigures> = specs
        .iter()
        .map(|s| PromptFigures {
            label: s.label(),
            ..Default::default()
        })
        .collect();
    let mut pipeline_overhead_pct = Vec::new();
    let mut threads = plan.threads;
    for pass in 0..passes {
        let warmup = pass < suite.warmup;
        let (iteration, of) = if warmup {
            (pass + 1, suite.warmup)
        } else {
            (pass - suite.warmup + 1, suite.iterations)
        };
        reset_peak_rss();
        let rss = RssSampler::start();
        let cpu0 = cpu_time();
        let t_load = Instant::now();
        let engine = Engine::load_with(&plan.model_path, plan.threads, plan.engine)
            .map_err(|e| RunError::Engine(format!("{}: {e}", plan.model_path.display())))?;
        let load_ms = t_load.elapsed().as_secs_f64() * 1000.0;
        threads = engine.threads();
        let mut results = Vec::new();
        let (mut load_peak, mut prompt_peaks) = (0u64, Vec::new());
        for (i, spec) in specs.iter().enumerate() {
            let unit = (pass * specs.len() + i) as f64;
            let mut report = |done: usize, token_ms: Option<f64>| {
                on_progress(&Progress {
                    fraction: (unit + done as f64 / suite.gen_tokens as f64) / total_units,
                    iteration,
                    iterations: of,
                    warmup,
                    phase: spec.label(),
                    token_ms,
                })
            };
            report(0, None);
            // Each prompt's own peak: the mark is reset before it, and what came before (the load,
            // an earlier prompt) is kept for the iteration's peak first.
            load_peak = load_peak.max(peak_rss_bytes().unwrap_or(0));
            reset_peak_rss();
            results.push(measure_prompt(
                &engine,
                spec,
                suite.gen_tokens,
                &plan.profile,
                // A suite comparing drafting modes measures replies as chat runs them.
                !suite.drafts.is_empty(),
                &mut report,
                cancelled,
            )?);
            prompt_peaks.push(peak_rss_bytes().unwrap_or(0));
        }
        let cpu_ms = (cpu_time() - cpu0).as_secs_f64() * 1000.0;
        drop(engine);
        let (sampled_peak, avg_rss) = rss.stop();
        if warmup {
            continue;
        }
        for ((fig, r), &peak) in prompts.iter_mut().zip(&results).zip(&prompt_peaks) {
            fig.prompt_tokens = r.prompt_tokens;
            fig.peak_rss_mb.push(peak as f64 / 1e6);
            fig.prefill_tok_s
                .push(r.prompt_tokens as f64 / r.prefill_s.max(1e-9));
            let decode_s = r.latencies_ms.iter().sum::<f64>() / 1000.0;
            fig.decode_tok_s.push(if r.latencies_ms.is_empty() {
                0.0
            } else {
                r.latencies_ms.len() as f64 / decode_s.max(1e-9)
            });
        }
        let latencies: Vec<f64> = results
            .iter()
            .flat_map(|r| r.latencies_ms.iter().copied())
            .collect();
        let prompt_tokens: usize = results.iter().map(|r| r.prompt_tokens).sum();
        let prefill_s: f64 = results.iter().map(|r| r.prefill_s).sum();
        let decode_s: f64 = latencies.iter().sum::<f64>() / 1000.0;
        let peak = peak_rss_bytes()
            .unwrap_or(0)
            .max(sampled_peak)
            .max(load_peak)
            .max(prompt_peaks.iter().copied().max().unwrap_or(0));
        iterations.push(IterationMetrics {
            load_ms,
            ttft_ms: results.iter().map(|r| r.ttft_ms).sum::<f64>() / results.len() as f64,
            prefill_tok_s: prompt_tokens as f64 / prefill_s.max(1e-9),
            decode_tok_s: if latencies.is_empty() {
                0.0
            } else {
                latencies.len() as f64 / decode_s.max(1e-9)
            },
            // With one generated token there are no decode steps: 0, not NaN, which JSON
            // cannot hold (a stored NaN would make the record unreadable).
            latency_p50_ms: finite(percentile(&latencies, 50.0)),
            latency_p95_ms: finite(percentile(&latencies, 95.0)),
            latency_p99_ms: finite(percentile(&latencies, 99.0)),
            latency_max_ms: finite(max(&latencies)),
            peak_rss_mb: peak as f64 / 1e6,
            avg_rss_mb: avg_rss / 1e6,
            cpu_ms,
        });
        token_latencies.extend(latencies);
    }
    // After every iteration's figures, so that none of them holds what the probe leaves behind
    // (it loads the model twice, once under the actors): one measurement per iteration.
    if let Some(probe) = pipeline.as_mut().filter(|_| suite.pipeline) {
        for i in 0..suite.iterations {
            if cancelled() {
                return Err(RunError::Cancelled);
            }
            on_progress(&Progress {
                fraction: (passes * specs.len()) as f64 / total_units,
                iteration: i + 1,
                iterations: suite.iterations,
                warmup: false,
                phase: "pipeline".into(),
                token_ms: None,
            });
            pipeline_overhead_pct.push(probe(plan)?);
        }
    }
    let parallel = measure_parallel(plan, on_progress, cancelled)?;
    let perplexity = if suite.perplexity_tokens > 0 {
        on_progress(&Progress {
            fraction: (total_units - 1.0) / total_units,
            iteration: 1,
            iterations: 1,
            warmup: false,
            phase: "perplexity".into(),
            token_ms: None,
        });
        let engine = Engine::load_with(&plan.model_path, plan.threads, plan.engine)
            .map_err(|e| RunError::Engine(e.to_string()))?;
        let (tokens, value) = perplexity::measure(&engine, suite.perplexity_tokens, cancelled)
            .map_err(|e| {
                if cancelled() {
                    RunError::Cancelled
                } else {
                    RunError::Engine(e.to_string())
                }
            })?;
        Some(Perplexity { tokens, value })
    } else {
        None
    };
    let perplexity_ctx = super::ctx_perplexity::measure(
        suite,
        &plan.model_path,
        plan.threads,
        plan.engine,
        &mut |done, total, phase| {
            on_progress(&Progress {
                fraction: done as f64 / total as f64,
                iteration: done + 1,
                iterations: total,
                warmup: false,
                phase,
                token_ms: None,
            })
        },
        cancelled,
    )
    .map_err(|e| match e {
        super::ctx_perplexity::Stop::Cancelled => RunError::Cancelled,
        super::ctx_perplexity::Stop::Failed(e) => RunError::Engine(e),
    })?;
    on_progress(&Progress {
        fraction: 1.0,
        iteration: suite.iterations,
        iterations: suite.iterations,
        warmup: false,
        phase: "done".into(),
        token_ms: None,
    });
    Ok(RunRecord {
        schema: SCHEMA_VERSION,
        id: 0,
        started_at,
        suite: plan.suite_name.clone(),
        suite_settings: suite.clone(),
        model: plan.model_name.clone(),
        model_path: plan.model_path.display().to_string(),
        profile: plan.profile_name.clone(),
        profile_settings: serde_json::to_value(&plan.profile).unwrap_or_default(),
        engine: plan.engine.name().to_string(),
        threads,
        machine: Machine::detect(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        iterations,
        token_latencies_ms: token_latencies,
        perplexity,
        prompts,
        pipeline_overhead_pct,
        parallel,
        remote: None,
        perplexity_ctx,
        decode_bound: None,
    })
}

/// The suite's concurrent-stream counts on the slot pool, after the iterations (one model load
/// for all): per measured iteration, each count once, in the suite's order. The prompt is the
/// suite's first; each stream generates `gen_tokens` with the profile's sampler, seeded.
fn measure_parallel(
    plan: &RunPlan,
    on_progress: &mut dyn FnMut(&Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<ParallelFigures>, RunError> {
    let suite = &plan.suite;
    if suite.parallel.is_empty() {
        return Ok(Vec::new());
    }
    let engine = Engine::load_with(&plan.model_path, plan.threads, plan.engine)
        .map_err(|e| RunError::Engine(e.to_string()))?;
    let spec = suite.prompt_specs().remove(0);
    let ids = prompt_tokens(&engine, &spec);
    let prompt = engine.tokenizer.decode(&ids[1.min(ids.len())..]);
    let engine = Arc::new(engine);
    let mut params = plan.profile.sampler.clone();
    params.seed = params.seed.or(Some(BENCH_SEED));
    let mut figures: Vec<ParallelFigures> = suite
        .parallel
        .iter()
        .map(|&streams| ParallelFigures {
            streams,
            ..Default::default()
        })
        .collect();
    for i in 0..suite.iterations {
        for fig in figures.iter_mut() {
            if cancelled() {
                return Err(RunError::Cancelled);
            }
            on_progress(&Progress {
                fraction: 1.0,
                iteration: i + 1,
                iterations: suite.iterations,
                warmup: false,
                phase: format!("{} streams", fig.streams),
                token_ms: None,
            });
            let run = parallel::measure(&engine, fig.streams, &prompt, suite.gen_tokens, &params)
                .map_err(RunError::Engine)?;
            fig.aggregate_tok_s.push(run.aggregate_tok_s);
            fig.stream_tok_s.push(run.stream_tok_s);
        }
    }
    Ok(figures)
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// The prompt's tokens: synthetic ones cut to length, or the literal text (BOS first).
pub fn prompt_tokens(engine: &Engine, spec: &PromptSpec) -> Vec<u32> {
    match spec {
        PromptSpec::Length(n) => {
            let mut ids = engine
                .tokenizer
                .encode(&PROMPT_TEXT.repeat(n / 40 + 2), true, false);
            ids.truncate(*n);
            ids
        }
        PromptSpec::Text(text) => engine.tokenizer.encode(text, true, false),
    }
}

fn measure_prompt(
    engine: &Engine,
    spec: &PromptSpec,
    gen_tokens: usize,
    profile: &Profile,
    as_reply: bool,
    report: &mut dyn FnMut(usize, Option<f64>),
    cancelled: &dyn Fn() -> bool,
) -> Result<PromptResult, RunError> {
    let fail = |e: crate::engine::EngineError| RunError::Engine(e.to_string());
    let mut params = profile.sampler.clone();
    params.seed = params.seed.or(Some(BENCH_SEED));
    let mut sampler = Sampler::new(params);
    if let (PromptSpec::Text(text), true) = (spec, as_reply) {
        return measure_reply(
            engine, text, gen_tokens, profile, sampler, report, cancelled,
        );
    }
    let prompt = prompt_tokens(engine, spec);
    let mut history = prompt.clone();
    let mut session = engine
        .new_session(prompt.len() + gen_tokens + 8)
        .map_err(fail)?;
    let t0 = Instant::now();
    let mut logits = session.forward(&prompt).map_err(fail)?;
    let prefill_s = t0.elapsed().as_secs_f64();
    let mut next = sampler
        .sample_with_history(&logits, &history)
        .map_err(|e| RunError::Engine(e.to_string()))?;
    let ttft_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let mut latencies_ms = Vec::with_capacity(gen_tokens);
    // The first token came from the prefill; each later one is one decode step.
    for done in 1..gen_tokens {
        if cancelled() {
            return Err(RunError::Cancelled);
        }
        history.push(next);
        let t = Instant::now();
        logits = session.forward(&[next]).map_err(fail)?;
        next = sampler
            .sample_with_history(&logits, &history)
            .map_err(|e| RunError::Engine(e.to_string()))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        latencies_ms.push(ms);
        report(done, Some(ms));
    }
    Ok(PromptResult {
        prompt_tokens: prompt.len(),
        prefill_s,
        ttft_ms,
        latencies_ms,
    })
}

/// In a suite with `drafts`, a literal prompt runs as a reply does: through `Engine::generate` (special markers parsed, an
/// end-of-turn token ends it) with the profile's drafting, so a `draft` profile is measured as it
/// runs in chat. A step's latency is the time since the previous token was sampled: a verified
/// draft hands over several tokens at once.
fn measure_reply(
    engine: &Engine,
    text: &str,
    gen_tokens: usize,
    profile: &Profile,
    mut sampler: Sampler,
    report: &mut dyn FnMut(usize, Option<f64>),
    cancelled: &dyn Fn() -> bool,
) -> Result<PromptResult, RunError> {
    let fail = |e: crate::engine::EngineError| RunError::Engine(e.to_string());
    let prompt = PromptKind::Raw(text.to_string());
    let mut session = engine
        .new_session(engine.tokenizer.encode(text, true, true).len() + gen_tokens + 8)
        .map_err(fail)?;
    session.draft = profile.draft_params();
    let t0 = Instant::now();
    let mut last = t0;
    let (mut prefill_s, mut ttft_ms) = (0.0, 0.0);
    let mut latencies_ms = Vec::with_capacity(gen_tokens);
    let stats = engine
        .generate(
            &mut session,
            &prompt,
            &Limits::tokens(gen_tokens),
            cancelled,
            &mut |logits, history| {
                let id = sampler
                    .sample_with_history(&logits, history)
                    .map_err(|e| crate::engine::EngineError::Kernel(e.to_string()))?;
                let now = Instant::now();
                if ttft_ms == 0.0 {
                    ttft_ms = (now - t0).as_secs_f64() * 1000.0;
                } else {
                    let ms = (now - last).as_secs_f64() * 1000.0;
                    latencies_ms.push(ms);
                    report(latencies_ms.len(), Some(ms));
                }
                last = now;
                Ok(id)
            },
            &mut |event| {
                if let GenEvent::PrefillDone { ms, .. } = event {
                    prefill_s = ms / 1000.0;
                }
                StepControl::Continue
            },
        )
        .map_err(fail)?;
    if stats.finish == FinishReason::Cancelled {
        return Err(RunError::Cancelled);
    }
    Ok(PromptResult {
        prompt_tokens: stats.prompt_ids.len(),
        prefill_s,
        ttft_ms,
        latencies_ms,
    })
}

/// Resets the kernel's peak-RSS mark (VmHWM) so the next reading is this iteration's own.
fn reset_peak_rss() {
    // "5" resets the peak resident set size (Linux 4.0+); elsewhere the sampler's peak remains.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last reset (VmHWM), in bytes.
fn peak_rss_bytes() -> Option<u64> {
    proc_status_kb("VmHWM:").map(|kb| kb * 1024)
}

fn current_rss_bytes() -> Option<u64> {
    proc_status_kb("VmRSS:").map(|kb| kb * 1024)
}

fn proc_status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User plus system CPU time of the whole process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Samples the resident set every 10 ms on a thread of its own, for the average and a peak where
/// VmHWM is not available.
struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, f64)>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut peak, mut sum, mut n) = (0u64, 0f64, 0u64);
            loop {
                if let Some(rss) = current_rss_bytes() {
                    peak = peak.max(rss);
                    sum += rss as f64;
                    n += 1;
                }
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (peak, if n > 0 { sum / n as f64 } else { 0.0 })
        });
        Self { stop, handle }
    }

    /// (peak, average) in bytes.
    fn stop(self) -> (u64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or((0, 0.0))
    }
}
