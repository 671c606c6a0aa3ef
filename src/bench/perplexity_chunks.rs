//! Perplexity of a text the way llama.cpp's `llama-perplexity` measures it, so the figures
//! compare: the text tokenized with BOS and cut into `n_chunk = n_tokens / n_ctx` chunks of
//! `n_ctx` tokens; each chunk's first token replaced by BOS, the chunk evaluated in one pass from
//! an empty cache, and the positions from `n_ctx / 2` on scored (the logits at position j
//! predict token j + 1, so `n_ctx - n_ctx / 2 - 1` predictions per chunk). The estimate is
//! exp(mean NLL) and its error llama.cpp's: ppl x sqrt((mean(NLL²) - mean(NLL)²) / (count - 1)).
use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{Engine, EngineError, EngineKind, ForwardPass, RopeScaling};

/// The smallest context that scores anything per chunk (n_ctx - n_ctx/2 - 1 >= 1).
pub const MIN_CTX: usize = 4;

/// How a tokenized text is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChunkPlan {
    pub n_ctx: usize,
    pub n_chunk: usize,
    /// The first scored position in a chunk.
    pub first: usize,
}

impl ChunkPlan {
    /// llama-perplexity's plan for `n_tokens` tokens; like it, refuses a text of fewer than
    /// 2 x n_ctx tokens.
    pub fn new(n_tokens: usize, n_ctx: usize) -> Result<Self, String> {
        if n_ctx < MIN_CTX {
            return Err(format!(
                "a context of {n_ctx} tokens is too small: perplexity needs at least {MIN_CTX}"
            ));
        }
        if n_tokens < 2 * n_ctx {
            return Err(format!(
                "the text has {n_tokens} tokens; a context of {n_ctx} needs at least {} \
                 (llama-perplexity's rule: two chunks)",
                2 * n_ctx
            ));
        }
        Ok(Self {
            n_ctx,
            n_chunk: n_tokens / n_ctx,
            first: n_ctx / 2,
        })
    }

    /// Predictions scored per chunk.
    pub fn scored_per_chunk(&self) -> usize {
        self.n_ctx - self.first - 1
    }

    /// Chunk `i` as it is evaluated: its tokens with the first replaced by `bos`.
    pub fn chunk(&self, tokens: &[u32], i: usize, bos: u32) -> Vec<u32> {
        let mut chunk = tokens[i * self.n_ctx..(i + 1) * self.n_ctx].to_vec();
        chunk[0] = bos;
        chunk
    }
}

/// Running sums of the negative log-likelihoods.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NllSums {
    pub nll: f64,
    pub nll2: f64,
    pub count: usize,
}

impl NllSums {
    pub fn add(&mut self, nll: f64) {
        self.nll += nll;
        self.nll2 += nll * nll;
        self.count += 1;
    }

    pub fn merge(&mut self, other: NllSums) {
        self.nll += other.nll;
        self.nll2 += other.nll2;
        self.count += other.count;
    }

    /// exp(mean NLL); NaN with nothing scored.
    pub fn perplexity(&self) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        (self.nll / self.count as f64).exp()
    }

    /// llama-perplexity's standard error of the estimate; NaN when it cannot say (fewer than
    /// two predictions, or a variance rounded below zero).
    pub fn error(&self) -> f64 {
        if self.count < 2 {
            return f64::NAN;
        }
        let n = self.count as f64;
        let mean = self.nll / n;
        let variance = self.nll2 / n - mean * mean;
        if variance <= 0.0 {
            return f64::NAN;
        }
        (variance / (n - 1.0)).sqrt() * self.perplexity()
    }
}

/// What a measurement found (the `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct PerplexityReport {
    pub engine: String,
    /// The global layers' RoPE the figure was measured with.
    pub rope: crate::engine::RopeParams,
    pub file: String,
    pub tokens: usize,
    pub n_ctx: usize,
    pub chunks: usize,
    pub tokens_scored: usize,
    pub ppl: f64,
    pub ppl_error: f64,
    /// The running estimate after each chunk (what llama-perplexity prints as `[i]value`).
    pub running: Vec<f64>,
    /// Each chunk's own perplexity.
    pub per_chunk: Vec<f64>,
    pub seconds: f64,
}

/// Why [`load_engine`] gave no engine; the caller words and files it (a command's exit code, a
/// suite's failure).
#[derive(Debug, PartialEq)]
pub enum LoadError {
    /// The model would not load (the message names the file).
    Model(String),
    /// The context asked for is beyond the model's (the message names `ctx_name`).
    Context(String),
}

/// The model at `path` with the RoPE settings already resolved (a suite's entry; models.toml,
/// the profile and the flags), checked to hold a context of `n_ctx`: what `gemma-tui perplexity`
/// and a suite's perplexity against context both need before they score. `ctx_name` is the
/// setting that asked for `n_ctx`, for the error.
pub fn load_engine(
    path: &std::path::Path,
    threads: usize,
    kind: EngineKind,
    rope: &RopeScaling,
    n_ctx: usize,
    ctx_name: &str,
) -> Result<Engine, LoadError> {
    let engine = Engine::load_with_rope(path, threads, kind, rope)
        .map_err(|e| LoadError::Model(format!("{}: {e}", path.display())))?;
    if n_ctx > engine.cfg.context_length {
        return Err(LoadError::Context(format!(
            "{ctx_name} {n_ctx} is beyond the model's context of {} tokens",
            engine.cfg.context_length
        )));
    }
    Ok(engine)
}

/// Scores every chunk of `tokens` on `pass` (emptied before each chunk; its logits have `vocab`
/// values a position); `on_chunk(i, running)` is called after chunk i. Returns the sums over all
/// chunks and each chunk's own.
pub fn score_chunks(
    pass: &mut dyn ForwardPass,
    vocab: usize,
    tokens: &[u32],
    plan: &ChunkPlan,
    bos: u32,
    on_chunk: &mut dyn FnMut(usize, &NllSums),
) -> Result<(NllSums, Vec<NllSums>), EngineError> {
    let mut total = NllSums::default();
    let mut per_chunk = Vec::with_capacity(plan.n_chunk);
    for i in 0..plan.n_chunk {
        let chunk = plan.chunk(tokens, i, bos);
        // The targets are the text's own tokens: the one replaced by BOS is never a target.
        let targets = &tokens[i * plan.n_ctx..(i + 1) * plan.n_ctx];
        pass.truncate(0);
        let sums = score_chunk(pass, &chunk, targets, plan.first, vocab)?;
        total.merge(sums);
        per_chunk.push(sums);
        on_chunk(i, &total);
    }
    Ok((total, per_chunk))
}

/// One chunk: the NLL of `targets[j + 1]` under the logits of position j, for j from `first` to
/// the second-to-last position.
fn score_chunk(
    pass: &mut dyn ForwardPass,
    chunk: &[u32],
    targets: &[u32],
    first: usize,
    vocab: usize,
) -> Result<NllSums, EngineError> {
    let last = chunk.len() - 1;
    let mut sums = NllSums::default();
    let mut failure = None;
    pass.forward_logits(chunk, first, &mut |index, logits| {
        // Each row's log-sum-exp over the whole vocabulary dominates the cost: in parallel.
        let block: Vec<f64> = logits
            .par_chunks(vocab)
            .enumerate()
            .filter(|(r, _)| index + r < last)
            .map(|(r, row)| nll_as_llama_cpp(row, targets[index + r + 1]))
            .collect();
        if failure.is_none() && (logits.len() % vocab != 0 || block.iter().any(|v| !v.is_finite()))
        {
            failure = Some(index);
        }
        block.into_iter().for_each(|v| sums.add(v));
    })?;
    if let Some(index) = failure {
        return Err(EngineError::Kernel(format!(
            "the logits from position {index} on are not finite (or not whole rows)"
        )));
    }
    Ok(sums)
}

/// `-log softmax(logits)[target]` as llama-perplexity computes it: single-precision exponentials
/// (half the cost of double ones over a 262,144-token row) summed in double precision.
pub(crate) fn nll_as_llama_cpp(logits: &[f32], target: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| (l - max).exp() as f64).sum();
    let Some(&logit) = logits.get(target as usize) else {
        return f64::INFINITY;
    };
    (max - logit) as f64 + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_llama_perplexity_s() {
        let plan = ChunkPlan::new(1300, 512).unwrap();
        assert_eq!((plan.n_chunk, plan.first), (2, 256));
        assert_eq!(plan.scored_per_chunk(), 255);
        assert!(ChunkPlan::new(1023, 512).unwrap_err().contains("1024"));
        assert!(ChunkPlan::new(100, 3).unwrap_err().contains("too small"));
        let tokens: Vec<u32> = (10..30).collect();
        let plan = ChunkPlan::new(tokens.len(), 8).unwrap();
        assert_eq!(plan.n_chunk, 2, "the tail that fills no chunk is dropped");
        assert_eq!(
            plan.chunk(&tokens, 1, 2),
            vec![2, 19, 20, 21, 22, 23, 24, 25]
        );
    }

    #[test]
    fn the_estimate_and_its_error_follow_llama_cpp_s_formula() {
        let mut sums = NllSums::default();
        for v in [1.0, 2.0, 3.0] {
            sums.add(v);
        }
        // mean 2, mean of squares 14/3, variance 2/3; error sqrt((2/3) / 2) * e^2.
        assert!((sums.perplexity() - 2f64.exp()).abs() < 1e-12);
        let expected = (1.0f64 / 3.0).sqrt() * 2f64.exp();
        assert!((sums.error() - expected).abs() < 1e-12, "{}", sums.error());
        let mut one = NllSums::default();
        one.add(1.0);
        assert!(one.error().is_nan() && NllSums::default().perplexity().is_nan());
    }

    /// A "model" over three tokens whose next-token logits depend on the current token alone.
    struct TableModel {
        len: usize,
        fed: Vec<u32>,
    }

    const TABLE: [[f32; 3]; 3] = [[0.0, 1.0, 2.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]];

    impl ForwardPass for TableModel {
        fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, EngineError> {
            self.len += tokens.len();
            self.fed.extend_from_slice(tokens);
            Ok(TABLE[*tokens.last().unwrap() as usize].to_vec())
        }
        fn len(&self) -> usize {
            self.len
        }
        fn capacity(&self) -> usize {
            usize::MAX
        }
        fn truncate(&mut self, len: usize) {
            self.len = self.len.min(len);
        }
    }

    fn nll(from: usize, to: usize) -> f64 {
        let row = TABLE[from];
        let z: f64 = row.iter().map(|&l| (l as f64).exp()).sum();
        z.ln() - row[to] as f64
    }

    #[test]
    fn chunks_score_their_second_half_after_a_bos_by_hand() {
        // n_ctx 6: chunks [0..6) and [6..12), first 3, positions 3 and 4 scored in each.
        let tokens = [1, 0, 2, 1, 0, 2, 2, 2, 1, 0, 0, 1, 2];
        let plan = ChunkPlan::new(tokens.len(), 6).unwrap();
        let mut model = TableModel {
            len: 0,
            fed: Vec::new(),
        };
        let mut running = Vec::new();
        let (total, per_chunk) = score_chunks(&mut model, 3, &tokens, &plan, 0, &mut |i, s| {
            running.push((i, s.perplexity()))
        })
        .unwrap();
        // Chunk 0: position 3 (token 1) predicts 0, position 4 (token 0) predicts 2.
        // Chunk 1: position 3 (token 0) predicts 0, position 4 (token 0) predicts 1.
        let chunk0 = nll(1, 0) + nll(0, 2);
        let chunk1 = nll(0, 0) + nll(0, 1);
        assert_eq!(total.count, 4);
        // Single-precision exponentials, as llama-perplexity's: agreement to about 1e-7.
        assert!((per_chunk[0].nll - chunk0).abs() < 1e-6);
        assert!((per_chunk[1].nll - chunk1).abs() < 1e-6);
        assert!((total.perplexity() - ((chunk0 + chunk1) / 4.0).exp()).abs() < 1e-6);
        assert_eq!(running.len(), 2);
        assert!((running[0].1 - (chunk0 / 2.0).exp()).abs() < 1e-6);
        // Each chunk started from an empty cache with BOS (0) in place of its first token.
        assert_eq!(&model.fed[..4], &[0, 0, 2, 1]);
        assert_eq!(model.fed[6], 0, "chunk 1 starts with BOS, not token 2");
    }
}
