//! What a benchmark run is, as stored: the settings it ran under, the machine, and the figures of
//! every measured iteration; and the metric table that every view (CLI, TUI, report) reads.
use serde::{Deserialize, Serialize};

use super::bandwidth::DecodeBound;
use super::machine::Machine;
use super::stats::{summarize, Summary};
use super::suite::Suite;

/// Bumped when a stored record's shape changes; older records are read by upgrading them, newer
/// ones are refused with a clear error instead of being misread.
pub const SCHEMA_VERSION: u32 = 1;

/// One iteration's figures (over all of the suite's prompts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct IterationMetrics {
    pub load_ms: f64,
    /// Mean over the prompts: prefill plus choosing the first token.
    pub ttft_ms: f64,
    /// All prompt tokens over all prefill time.
    pub prefill_tok_s: f64,
    /// All generated tokens after the first over their time.
    pub decode_tok_s: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub peak_rss_mb: f64,
    pub avg_rss_mb: f64,
    /// User plus system CPU time of the process during the iteration.
    pub cpu_ms: f64,
}

/// The quality figure: perplexity of the model on the bundled held-out text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perplexity {
    /// Tokens scored (predictions made).
    pub tokens: usize,
    pub value: f64,
}

/// One prompt of the suite on its own: its figures in every measured iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PromptFigures {
    /// "pp128", or the start of a literal prompt.
    pub label: String,
    pub prompt_tokens: usize,
    /// Per iteration: the prompt's tokens over its prefill time.
    pub prefill_tok_s: Vec<f64>,
    /// Per iteration: the decode steps after it over their time (0 with no decode step).
    pub decode_tok_s: Vec<f64>,
    /// Per iteration: the process's peak resident memory while this prompt ran (the model
    /// included), in MB; the long-context suite plots it against the prompt length. Records
    /// stored before it was measured have none.
    #[serde(default)]
    pub peak_rss_mb: Vec<f64>,
}

/// The chunked perplexity (llama-perplexity's method) of the bundled long text at one context
/// and one RoPE setting, for the perplexity-against-context chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CtxPerplexity {
    pub n_ctx: usize,
    /// The suite's `perplexity_rope` entry it ran under ("none", "linear:8", ...).
    pub rope: String,
    pub ppl: f64,
    pub ppl_error: f64,
    /// Predictions scored.
    pub tokens: usize,
}

/// One stored run: one suite under one model, one profile and one engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: u32,
    /// Assigned by the store (0 before it is stored).
    pub id: u64,
    /// Unix seconds at the start.
    pub started_at: u64,
    pub suite: String,
    /// The suite's settings as run.
    pub suite_settings: Suite,
    pub model: String,
    pub model_path: String,
    pub profile: String,
    /// The profile's full settings as run (sampler included).
    pub profile_settings: serde_json::Value,
    pub engine: String,
    pub threads: usize,
    pub machine: Machine,
    /// The program's version.
    pub version: String,
    pub iterations: Vec<IterationMetrics>,
    /// Every measured decode step's latency (all iterations), for the histogram.
    pub token_latencies_ms: Vec<f64>,
    pub perplexity: Option<Perplexity>,
    /// Each prompt's own figures, in the suite's order (older records have none).
    #[serde(default)]
    pub prompts: Vec<PromptFigures>,
    /// Per iteration, when the suite measures the pipeline: the per-token time of a reply through
    /// the actors over the bare generation loop's, minus one, in percent.
    #[serde(default)]
    pub pipeline_overhead_pct: Vec<f64>,
    /// When the suite measures concurrent streams: each stream count's figures.
    #[serde(default)]
    pub parallel: Vec<ParallelFigures>,
    /// A run on a remote engine: where, and which metrics it could not measure and why.
    #[serde(default)]
    pub remote: Option<RemoteTarget>,
    /// When the suite sets `perplexity_ctx`: the chunked perplexity per (context, RoPE setting).
    #[serde(default)]
    pub perplexity_ctx: Vec<CtxPerplexity>,
    /// The machine's read bandwidth and the bytes a decode step reads, measured once per bench
    /// run after its iterations: the decode speed no engine can pass here. None when the run did
    /// not decode, ran remotely or with `--no-bandwidth`, and in records stored before it.
    #[serde(default)]
    pub decode_bound: Option<DecodeBound>,
}

impl RunRecord {
    /// A record of `suite` around `iterations`, with placeholder metadata (model "m", profile
    /// balanced, 2 threads, no latencies or perplexity): for tests and examples of the store, the
    /// comparison and the views. Callers set what they look at.
    pub fn example(suite: &str, iterations: Vec<IterationMetrics>) -> Self {
        Self {
            schema: SCHEMA_VERSION,
            id: 0,
            started_at: 1_795_914_000,
            suite: suite.into(),
            suite_settings: Default::default(),
            model: "m".into(),
            model_path: "m.gguf".into(),
            profile: "balanced".into(),
            profile_settings: serde_json::json!({}),
            engine: "candle".into(),
            threads: 2,
            machine: Default::default(),
            version: "0.1.0".into(),
            iterations,
            token_latencies_ms: Vec::new(),
            perplexity: None,
            prompts: Vec::new(),
            pipeline_overhead_pct: Vec::new(),
            parallel: Vec::new(),
            remote: None,
            perplexity_ctx: Vec::new(),
            decode_bound: None,
        }
    }

    /// Appends `other`'s measured iterations (a later run of the same plan, e.g. from another
    /// process) to this record's: iterations, latencies, per-prompt figures and pipeline overhead;
    /// the perplexity is the first one measured.
    pub fn absorb(&mut self, other: RunRecord) {
        self.iterations.extend(other.iterations);
        self.token_latencies_ms.extend(other.token_latencies_ms);
        self.pipeline_overhead_pct
            .extend(other.pipeline_overhead_pct);
        if self.perplexity.is_none() {
            self.perplexity = other.perplexity;
        }
        if self.perplexity_ctx.is_empty() {
            self.perplexity_ctx = other.perplexity_ctx;
        }
        for theirs in other.parallel {
            match self
                .parallel
                .iter_mut()
                .find(|p| p.streams == theirs.streams)
            {
                Some(mine) => {
                    mine.aggregate_tok_s.extend(theirs.aggregate_tok_s);
                    mine.stream_tok_s.extend(theirs.stream_tok_s);
                }
                None => self.parallel.push(theirs),
            }
        }
        if self.prompts.is_empty() {
            self.prompts = other.prompts;
        } else {
            for (mine, theirs) in self.prompts.iter_mut().zip(other.prompts) {
                mine.prefill_tok_s.extend(theirs.prefill_tok_s);
                mine.decode_tok_s.extend(theirs.decode_tok_s);
                mine.peak_rss_mb.extend(theirs.peak_rss_mb);
            }
        }
    }
}

/// Where a remote run ran, stored with its record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteTarget {
    /// The node URLs of the models.toml entry.
    pub urls: Vec<String>,
    /// "llama-server", "vllm", "ollama", "gemma-tui", "openai".
    pub backend: String,
    /// The model name the server was asked for.
    pub served_model: String,
    /// Per measured iteration and prompt, the reply tokens the server generated (its usage
    /// count, else one per streamed piece): a reply may stop early at an end of text.
    pub generated_tokens: Vec<usize>,
    /// Metric keys (of [`METRICS`]) not measured on this run, each with the reason.
    pub not_measured: Vec<(String, String)>,
}

/// One stream count's figures over the measured iterations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParallelFigures {
    pub streams: usize,
    /// All streams' tokens per second of wall time, per iteration.
    pub aggregate_tok_s: Vec<f64>,
    /// The streams' mean own decode rate (tokens after the first over the time after the
    /// first), per iteration.
    pub stream_tok_s: Vec<f64>,
}

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
}

/// A metric every view shows the same way.
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// Whether a significant worsening of it flags a regression (the noisiest tails do not).
    pub gates_regression: bool,
    pub value: fn(&IterationMetrics) -> f64,
}

pub const METRICS: [Metric; 11] = [
    Metric {
        key: "decode_tok_s",
        label: "decode",
        unit: "tok/s",
        better: Better::Higher,
        gates_regression: true,
        value: |m| m.decode_tok_s,
    },
    Metric {
        key: "prefill_tok_s",
        label: "prefill",
        unit: "tok/s",
        better: Better::Higher,
        gates_regression: true,
        value: |m| m.prefill_tok_s,
    },
    Metric {
        key: "ttft_ms",
        label: "time to first token",
        unit: "ms",
        better: Better::Lower,
        gates_regression: true,
        value: |m| m.ttft_ms,
    },
    Metric {
        key: "latency_p50_ms",
        label: "token latency p50",
        unit: "ms",
        better: Better::Lower,
        gates_regression: true,
        value: |m| m.latency_p50_ms,
    },
    Metric {
        key: "latency_p95_ms",
        label: "token latency p95",
        unit: "ms",
        better: Better::Lower,
        gates_regression: true,
        value: |m| m.latency_p95_ms,
    },
    Metric {
        key: "latency_p99_ms",
        label: "token latency p99",
        unit: "ms",
        better: Better::Lower,
        gates_regression: false,
        value: |m| m.latency_p99_ms,
    },
    Metric {
        key: "latency_max_ms",
        label: "token latency max",
        unit: "ms",
        better: Better::Lower,
        gates_regression: false,
        value: |m| m.latency_max_ms,
    },
    Metric {
        key: "load_ms",
        label: "load",
        unit: "ms",
        better: Better::Lower,
        gates_regression: false,
        value: |m| m.load_ms,
    },
    Metric {
        key: "peak_rss_mb",
        label: "peak RSS",
        unit: "MB",
        better: Better::Lower,
        gates_regression: true,
        value: |m| m.peak_rss_mb,
    },
    Metric {
        key: "avg_rss_mb",
        label: "average RSS",
        unit: "MB",
        better: Better::Lower,
        gates_regression: false,
        value: |m| m.avg_rss_mb,
    },
    Metric {
        key: "cpu_ms",
        label: "CPU time",
        unit: "ms",
        better: Better::Lower,
        gates_regression: false,
        value: |m| m.cpu_ms,
    },
];

impl RunRecord {
    pub fn values(&self, metric: &Metric) -> Vec<f64> {
        self.iterations.iter().map(metric.value).collect()
    }

    pub fn summary(&self, metric: &Metric) -> Summary {
        summarize(&self.values(metric))
    }

    /// Whether the run measured the metric `key` (a remote run leaves some out).
    pub fn measured(&self, key: &str) -> bool {
        self.remote
            .as_ref()
            .is_none_or(|t| t.not_measured.iter().all(|(k, _)| k != key))
    }

    pub fn metric(&self, key: &str) -> Option<Summary> {
        METRICS
            .iter()
            .find(|m| m.key == key)
            .map(|m| self.summary(m))
    }

    /// "#12 standard gemma-3-270m/balanced candle 2026-11-29 01:02".
    pub fn title(&self) -> String {
        format!(
            "#{} {} {}/{} {} {}",
            self.id,
            self.suite,
            self.model,
            self.profile,
            self.engine,
            format_time(self.started_at)
        )
    }
}

/// Unix seconds as "YYYY-MM-DD HH:MM" UTC (Howard Hinnant's days-to-civil algorithm).
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00");
        assert_eq!(format_time(1_795_914_000), "2026-11-29 01:00");
    }

    #[test]
    fn absorbing_a_later_run_appends_its_iterations() {
        let it = |d: f64| IterationMetrics {
            decode_tok_s: d,
            ..Default::default()
        };
        let prompt = |v: f64| PromptFigures {
            label: "pp8".into(),
            prompt_tokens: 8,
            prefill_tok_s: vec![v],
            decode_tok_s: vec![v / 10.0],
            peak_rss_mb: vec![v * 2.0],
        };
        let streams = |n: usize, v: f64| ParallelFigures {
            streams: n,
            aggregate_tok_s: vec![v],
            stream_tok_s: vec![v / n as f64],
        };
        let mut a = RunRecord {
            prompts: vec![prompt(100.0)],
            parallel: vec![streams(1, 80.0)],
            pipeline_overhead_pct: vec![1.0],
            token_latencies_ms: vec![10.0],
            ..RunRecord::example("s", vec![it(50.0)])
        };
        let b = RunRecord {
            prompts: vec![prompt(200.0)],
            parallel: vec![streams(1, 90.0), streams(4, 200.0)],
            pipeline_overhead_pct: vec![2.0],
            token_latencies_ms: vec![20.0],
            perplexity: Some(Perplexity {
                tokens: 8,
                value: 3.0,
            }),
            ..RunRecord::example("s", vec![it(60.0)])
        };
        a.absorb(b);
        assert_eq!(a.values(&METRICS[0]), [50.0, 60.0]);
        assert_eq!(a.prompts[0].prefill_tok_s, [100.0, 200.0]);
        assert_eq!(a.prompts[0].decode_tok_s, [10.0, 20.0]);
        assert_eq!(a.prompts[0].peak_rss_mb, [200.0, 400.0]);
        assert_eq!(a.pipeline_overhead_pct, [1.0, 2.0]);
        assert_eq!(a.parallel.len(), 2);
        assert_eq!(a.parallel[0].aggregate_tok_s, [80.0, 90.0]);
        assert_eq!(a.parallel[1].aggregate_tok_s, [200.0]);
        assert_eq!(a.token_latencies_ms, [10.0, 20.0]);
        assert_eq!(a.perplexity.map(|p| p.value), Some(3.0));
    }

    #[test]
    fn records_stored_before_per_prompt_memory_still_read() {
        // A record as version 0.1 stored it: prompts without peak_rss_mb, no perplexity_ctx or
        // decode_bound, and suite settings without the long-context keys.
        let old = serde_json::json!({
            "schema": 1, "id": 3, "started_at": 1_795_914_000u64, "suite": "long-context",
            "suite_settings": {"prompt_lengths": [2048], "gen_tokens": 64},
            "model": "m", "model_path": "m", "profile": "p", "profile_settings": {},
            "engine": "candle", "threads": 2,
            "machine": {"cpu": "c", "cores": 2, "physical_cores": null, "memory_bytes": 1, "os": ""},
            "version": "0", "iterations": [], "token_latencies_ms": [], "perplexity": null,
            "prompts": [{"label": "pp2048", "prompt_tokens": 2048, "prefill_tok_s": [900.0],
                         "decode_tok_s": [50.0]}]
        });
        let r: RunRecord = serde_json::from_value(old).unwrap();
        assert!(r.prompts[0].peak_rss_mb.is_empty());
        assert!(r.perplexity_ctx.is_empty());
        assert!(r.decode_bound.is_none());
        assert!(r.suite_settings.perplexity_ctx.is_empty());
        assert_eq!(r.suite_settings.prompt_lengths, [2048]);
    }

    #[test]
    fn metric_keys_are_unique() {
        let mut keys: Vec<_> = METRICS.iter().map(|m| m.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), METRICS.len());
    }
}
