//! `gemma-tui perplexity` on a text written for this project (tests/fixtures/perplexity), and,
//! with the `llama-cpp` feature, our figure against llama.cpp's on the same chunks (the same
//! chunking code; only the logits differ), with and without RoPE scaling.
mod common;

use gemma_tui::bench::perplexity_chunks::ChunkPlan;
use gemma_tui::engine::Engine;

const TEXT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/perplexity/harbour.txt"
);

fn perplexity(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    common::headless_with_model(home.path())
        .arg("perplexity")
        .args(args)
        .output()
        .expect("run gemma-tui")
}

/// The text's tokens as the tool counts them (BOS first, one trailing newline dropped).
fn text_tokens() -> usize {
    let engine = Engine::load(&common::model_path(), 1).unwrap();
    let text = std::fs::read_to_string(TEXT).unwrap();
    engine
        .tokenizer
        .encode(text.strip_suffix('\n').unwrap_or(&text), true, false)
        .len()
}

#[test]
fn the_tool_prints_llama_perplexity_s_lines_and_a_consistent_json_report() {
    let plan = ChunkPlan::new(text_tokens(), 128).unwrap();
    let out = perplexity(&[TEXT, "--ctx", "128", "--threads", "2"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `[1]35.9881,[2]...,[n]x,` then the final line.
    let mut lines = stdout.lines();
    let running: Vec<f64> = lines
        .next()
        .unwrap()
        .trim_end_matches(',')
        .split(',')
        .enumerate()
        .map(|(i, item)| {
            let value = item
                .strip_prefix(&format!("[{}]", i + 1))
                .unwrap_or_else(|| panic!("chunk {} in {stdout}", i + 1));
            assert_eq!(value.split('.').nth(1).map(str::len), Some(4), "{item}");
            value.parse().unwrap()
        })
        .collect();
    assert_eq!(running.len(), plan.n_chunk, "{stdout}");
    let last = lines.next().unwrap();
    let (ppl, err) = last
        .strip_prefix("Final estimate: PPL = ")
        .and_then(|rest| rest.split_once(" +/- "))
        .unwrap_or_else(|| panic!("{last}"));
    let (ppl, err): (f64, f64) = (ppl.parse().unwrap(), err.parse().unwrap());
    assert_eq!(
        format!("{ppl:.4}"),
        format!("{:.4}", running[running.len() - 1])
    );
    // A 270M base model on plain English prose: far from 1 (memorised) and from the vocabulary.
    assert!((5.0..200.0).contains(&ppl), "{ppl}");
    assert!(err > 0.0 && err < ppl / 4.0, "{err}");

    let out = perplexity(&[TEXT, "--ctx", "128", "--threads", "1", "--json"]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let num = |k: &str| {
        report[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k}: {report}"))
    };
    assert_eq!(num("chunks") as usize, plan.n_chunk);
    assert_eq!(
        num("tokens_scored") as usize,
        plan.n_chunk * plan.scored_per_chunk()
    );
    // Another thread count gives the same figure (the kernels sum in a fixed order).
    assert!(
        (num("ppl") - ppl).abs() <= 1e-4 * ppl,
        "{} vs {ppl}",
        num("ppl")
    );
    assert!((num("ppl_error") - err).abs() <= 1e-3 * err);
    // Equal chunks: the estimate is the geometric mean of the chunks' own figures.
    let per_chunk: Vec<f64> = report["per_chunk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let geometric = (per_chunk.iter().map(|p| p.ln()).sum::<f64>() / per_chunk.len() as f64).exp();
    assert!((geometric - num("ppl")).abs() < 1e-6 * geometric);
    assert_eq!(report["running"].as_array().unwrap().len(), plan.n_chunk);
    // The running estimates went to stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("[1]"));
}

#[test]
fn bad_input_gets_one_clear_line() {
    let missing = perplexity(&["/nonexistent/text.txt"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("cannot read /nonexistent/text.txt"), "{err}");

    let short = perplexity(&[TEXT, "--ctx", "4096"]);
    let err = String::from_utf8_lossy(&short.stderr);
    assert_eq!(short.status.code(), Some(4), "{err}");
    assert!(err.contains("needs at least 8192"), "{err}");

    let tiny = perplexity(&[TEXT, "--ctx", "2"]);
    let err = String::from_utf8_lossy(&tiny.stderr);
    assert_eq!(tiny.status.code(), Some(4), "{err}");
    assert!(err.contains("too small"), "{err}");

    // Beyond the model's 32k context: found once the model is loaded, a usage error as above.
    let long = perplexity(&[TEXT, "--ctx", "40000"]);
    let err = String::from_utf8_lossy(&long.stderr);
    assert_eq!(long.status.code(), Some(4), "{err}");
    assert!(
        err.contains("--ctx 40000 is beyond the model's context of 32768 tokens"),
        "{err}"
    );

    let scale = perplexity(&[TEXT, "--rope-scale", "0"]);
    let err = String::from_utf8_lossy(&scale.stderr);
    assert!(!scale.status.success() && err.contains("positive"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[cfg(feature = "llama-cpp")]
mod against_llama_cpp {
    use super::*;
    use gemma_tui::bench::perplexity_chunks::score_chunks;
    use gemma_tui::engine::{EngineKind, RopeScaling, RopeScalingKind};

    /// The text's perplexity at `n_ctx` on `kind` with `rope`, through the tool's own code.
    fn measure(kind: EngineKind, rope: &RopeScaling, n_ctx: usize) -> f64 {
        let engine = Engine::load_with_rope(&common::model_path(), 2, kind, rope).unwrap();
        let text = std::fs::read_to_string(TEXT).unwrap();
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let tokens = engine.tokenizer.encode(text, true, false);
        let plan = ChunkPlan::new(tokens.len(), n_ctx).unwrap();
        let mut session = engine.new_session(n_ctx).unwrap();
        let bos = engine.tokenizer.bos;
        let vocab = engine.cfg.vocab_size;
        let (sums, _) = score_chunks(
            session.pass.as_mut(),
            vocab,
            &tokens,
            &plan,
            bos,
            &mut |_, _| {},
        )
        .unwrap();
        sums.perplexity()
    }

    /// Ours against llama.cpp's with the same settings; returns ours.
    fn parity(label: &str, rope: &RopeScaling) -> f64 {
        let ours = measure(EngineKind::Candle, rope, 256);
        let theirs = measure(EngineKind::LlamaCpp, rope, 256);
        let diff = (ours / theirs - 1.0) * 100.0;
        eprintln!("{label}: ours {ours:.4}, llama.cpp {theirs:.4} ({diff:+.2}%)");
        assert!(diff.abs() < 0.5, "{label}: {ours} vs {theirs}");
        ours
    }

    #[test]
    fn our_perplexity_equals_llama_cpp_s_with_and_without_rope_scaling() {
        let plain = parity("no scaling", &RopeScaling::default());
        let linear = parity(
            "linear x8",
            &RopeScaling {
                scaling: Some(RopeScalingKind::Linear),
                scale: Some(8.0),
                ..Default::default()
            },
        );
        let yarn = parity(
            "YaRN x8 from 256",
            &RopeScaling {
                scaling: Some(RopeScalingKind::Yarn),
                scale: Some(8.0),
                yarn_orig_ctx: Some(256),
                ..Default::default()
            },
        );
        // The settings reached the model: each moves the figure well beyond the tolerance.
        for (label, scaled) in [("linear", linear), ("YaRN", yarn)] {
            let moved = (scaled / plain - 1.0).abs() * 100.0;
            assert!(moved > 1.0, "{label} moved perplexity by only {moved:.2}%");
        }
    }
}

/// `--stream`: the text read as one stream through a shifting 256-position cache, as an endless
/// chat reads it. It shifts again and again, scores every prediction from position 128 on, and
/// stays near the chunked figure (the two score different predictions: within 15%).
#[test]
fn a_stream_with_context_shifts_scores_near_the_chunked_figure() {
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![TEXT, "--ctx", "256", "--threads", "2", "--json"];
        args.extend_from_slice(extra);
        let out = perplexity(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON object")
    };
    let chunked = json(&[]);
    let stream = json(&["--stream", "--keep", "4"]);
    let n = text_tokens();
    assert_eq!(stream["mode"], "stream");
    assert_eq!(
        stream["tokens_scored"].as_u64().unwrap() as usize,
        n - 1 - 128
    );
    // Each shift drops half of the 252 positions after the kept 4.
    let shifts = stream["shifts"].as_u64().unwrap() as usize;
    assert!(shifts >= (n - 256) / 126, "{shifts} shifts over {n} tokens");
    let (a, b) = (
        chunked["ppl"].as_f64().unwrap(),
        stream["ppl"].as_f64().unwrap(),
    );
    assert!((b / a - 1.0).abs() < 0.15, "chunked {a}, stream {b}");
}
