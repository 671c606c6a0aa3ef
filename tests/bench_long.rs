//! The long-context suite on the real model, scaled down (prompts of 256 and 1024 tokens,
//! perplexity of the harbour fixture at contexts 128 and 256, with and without linear x8 scaling)
//! through the release binary's suite runner: every point lands in the stored record, and the
//! HTML report draws the long-context charts.
mod common;

use std::path::Path;

use common::bench::{records, text, BenchHome};

#[test]
fn a_small_long_context_suite_records_every_point_and_the_report_charts_them() {
    let bench = BenchHome::with_model().args(&["--threads", "2"]);
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perplexity/harbour.txt");
    // Overlays the built-in suite key by key: its engines and RoPE list stay.
    bench.write_config(
        "suites.toml",
        &format!(
            "[suites.long-context]\nprompt_lengths = [256, 1024]\ngen_tokens = 4\n\
             perplexity_ctx = [128, 256]\nperplexity_text = {:?}\n",
            fixture.to_str().unwrap()
        ),
    );
    let out = bench.run(&["bench", "--suite", "long-context", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let records = records(&out);
    let engines: Vec<&str> = records.iter().map(|r| r.engine.as_str()).collect();
    if cfg!(feature = "llama-cpp") {
        assert_eq!(engines, ["candle", "llama-cpp"]);
    } else {
        assert_eq!(engines, ["candle"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("llama-cpp, which this build does not have"),
            "the run says it left llama.cpp out: {stderr}"
        );
    }
    for r in &records {
        assert_eq!(r.iterations.len(), 1, "one iteration");
        let lengths: Vec<usize> = r.prompts.iter().map(|p| p.prompt_tokens).collect();
        assert_eq!(lengths, [256, 1024]);
        for p in &r.prompts {
            assert_eq!(p.prefill_tok_s.len(), 1);
            assert!(p.prefill_tok_s[0] > 0.0);
            assert_eq!(p.peak_rss_mb.len(), 1, "peak memory per prompt length");
            // The model's weights alone are over 100 MB resident.
            assert!(p.peak_rss_mb[0] > 100.0, "{:?}", p.peak_rss_mb);
            assert!(p.peak_rss_mb[0] <= r.iterations[0].peak_rss_mb + 1e-6);
        }
        let points: Vec<(usize, &str)> = r
            .perplexity_ctx
            .iter()
            .map(|p| (p.n_ctx, p.rope.as_str()))
            .collect();
        assert_eq!(
            points,
            [
                (128, "none"),
                (256, "none"),
                (128, "linear:8"),
                (256, "linear:8")
            ]
        );
        for p in &r.perplexity_ctx {
            assert!(p.ppl.is_finite() && p.ppl > 1.0 && p.ppl < 1000.0, "{p:?}");
            assert!(p.tokens > 0 && p.ppl_error > 0.0);
        }
        // Scaling a context the model was trained far beyond costs it: x8 is worse.
        assert!(r.perplexity_ctx[2].ppl > r.perplexity_ctx[0].ppl);
    }

    // `bench show` prints the new figures too.
    let out = bench.run(&["bench", "show", "latest"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    for line in ["pp1024 peak RSS (MB)", "perplexity ctx 256 linear:8"] {
        assert!(shown.contains(line), "{line}: {shown}");
    }

    let html_path = bench.home.path().join("report.html");
    let out = bench.run(&["bench", "report", "-o", html_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        6,
        "three charts over runs, three long-context"
    );
    for title in [
        "Prompt speed against prompt length",
        "Peak memory against prompt length",
        "Perplexity against context",
        "rope none",
        "rope linear:8",
    ] {
        assert!(html.contains(title), "{title}");
    }
}
