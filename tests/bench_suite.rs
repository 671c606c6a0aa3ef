//! Benchmark suites and their history through the release binary: the quick suite on the real
//! model into a real redb file in a temp dir, the regression verdict and its exit code on
//! constructed runs, and the exports parsed back.
mod common;

use common::bench::{record, records, text, BenchHome};
use gemma_tui::bench::record::{IterationMetrics, RunRecord, SCHEMA_VERSION};

/// A stored-shape run of suite `suite` whose iterations decode at these rates.
fn constructed(suite: &str, decode: &[f64]) -> RunRecord {
    let iterations = decode
        .iter()
        .map(|&d| IterationMetrics {
            decode_tok_s: d,
            prefill_tok_s: 5.0 * d,
            ttft_ms: 20_000.0 / d,
            latency_p50_ms: 1000.0 / d,
            latency_p95_ms: 1100.0 / d,
            latency_p99_ms: 1200.0 / d,
            latency_max_ms: 1300.0 / d,
            load_ms: 150.0,
            peak_rss_mb: 350.0,
            avg_rss_mb: 300.0,
            cpu_ms: 1000.0,
        })
        .collect();
    RunRecord {
        model: "gemma-3-270m-q4_k_m".into(),
        token_latencies_ms: vec![16.0, 17.0, 18.0],
        ..RunRecord::example(suite, iterations)
    }
}

#[test]
fn the_quick_suite_on_the_real_model_is_stored_and_checked_against_the_baseline() {
    let bench = BenchHome::with_model();
    let out = bench.run(&["bench", "--suite", "quick", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = record(&out);

    // The record as stored, read back from the redb file itself.
    let store = bench.store();
    let stored = store.get(printed.id).unwrap().expect("the run is stored");
    assert_eq!(stored, printed);
    assert_eq!((stored.id, stored.schema), (1, SCHEMA_VERSION));
    assert_eq!(stored.suite, "quick");
    assert_eq!(stored.profile, "balanced", "the active profile");
    assert_eq!(stored.engine, "candle");
    assert_eq!(stored.version, env!("CARGO_PKG_VERSION"));
    assert!(stored.machine.cores >= 1 && stored.machine.memory_bytes > 0);
    assert!(stored.threads >= 1);
    assert_eq!(stored.profile_settings["sampler"]["top_k"], 40);
    let suite = &stored.suite_settings;
    assert_eq!(stored.iterations.len(), suite.iterations);
    assert_eq!(
        stored.token_latencies_ms.len(),
        suite.iterations * (suite.gen_tokens - 1),
        "one latency per decode step of every measured iteration"
    );
    for it in &stored.iterations {
        assert!(it.prefill_tok_s > 0.0 && it.decode_tok_s > 0.0, "{it:?}");
        assert!(
            it.load_ms > 0.0 && it.ttft_ms > 0.0 && it.cpu_ms > 0.0,
            "{it:?}"
        );
        assert!(it.latency_p50_ms <= it.latency_p95_ms);
        assert!(it.latency_p95_ms <= it.latency_p99_ms);
        assert!(it.latency_p99_ms <= it.latency_max_ms);
        // The model's weights are memory-mapped: at least the touched ones are resident.
        assert!(it.peak_rss_mb > 100.0 && it.avg_rss_mb > 50.0, "{it:?}");
        assert!(it.avg_rss_mb <= it.peak_rss_mb * 1.01, "{it:?}");
    }
    drop(store);
    let ppl = stored
        .perplexity
        .expect("the quick suite scores perplexity");
    assert_eq!(ppl.tokens, suite.perplexity_tokens);
    // A 270M base model on plain English prose: far better than chance (262,144) and no
    // better than a perfect predictor.
    assert!(ppl.value > 1.0 && ppl.value < 200.0, "{ppl:?}");

    let list = bench.run(&["bench", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("#1"),
        "{}",
        text(&list)
    );
    let show = bench.run(&["bench", "show", "latest"]);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        shown.contains("decode (tok/s)") && shown.contains("95% CI"),
        "{shown}"
    );

    // A constructed baseline far faster than any real run: the next run regresses against it,
    // is still stored, and the command exits with 6.
    let store = bench.store();
    let fast = store
        .insert(constructed("quick", &[5000.0, 5001.0, 4999.0]))
        .unwrap();
    drop(store);
    let pin = bench.run(&["bench", "baseline", &fast.id.to_string()]);
    assert!(pin.status.success(), "{}", text(&pin));
    let again = bench.run(&["bench", "--quick"]);
    assert_eq!(again.status.code(), Some(6), "{}", text(&again));
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        out.contains("REGRESSION") && out.contains("slower"),
        "{out}"
    );
    let store = bench.store();
    assert_eq!(store.list().unwrap().len(), 3, "the regressed run is kept");
}

#[test]
fn compare_gives_verdicts_and_exits_6_on_a_regression() {
    let bench = BenchHome::with_model();
    let store = bench.store();
    store
        .insert(constructed("standard", &[60.0, 61.0, 59.5, 60.5, 60.2]))
        .unwrap();
    store
        .insert(constructed("standard", &[48.0, 47.5, 48.3, 47.9, 48.1]))
        .unwrap();
    store
        .insert(constructed("standard", &[60.1, 59.0, 61.2, 60.3, 60.0]))
        .unwrap();
    drop(store);
    let worse = bench.run(&["bench", "compare", "1", "2"]);
    assert_eq!(worse.status.code(), Some(6), "{}", text(&worse));
    let out = String::from_utf8_lossy(&worse.stdout);
    assert!(out.contains("verdict: REGRESSION"), "{out}");
    let decode = out.lines().find(|l| l.starts_with("decode")).unwrap();
    assert!(
        decode.contains("slower") && decode.contains("-20."),
        "{decode}"
    );

    let better = bench.run(&["bench", "compare", "2", "1"]);
    assert!(better.status.success(), "{}", text(&better));
    assert!(String::from_utf8_lossy(&better.stdout).contains("faster"));

    let same = bench.run(&["bench", "compare", "1", "3", "--json"]);
    assert!(same.status.success(), "{}", text(&same));
    let v: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(v["regression"], false);
    let d = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "decode_tok_s")
        .unwrap();
    assert_eq!(d["verdict"], "no_significant_change", "{d}");

    // Baseline by name: `compare baseline latest`.
    let pin = bench.run(&["bench", "baseline", "1"]);
    assert!(pin.status.success(), "{}", text(&pin));
    let vs = bench.run(&["bench", "compare", "baseline", "2"]);
    assert_eq!(vs.status.code(), Some(6), "{}", text(&vs));
    let list = bench.run(&["bench", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("#1*"),
        "{}",
        text(&list)
    );
}

#[test]
fn exports_parse_and_the_report_holds_svg_charts() {
    let bench = BenchHome::with_model();
    let store = bench.store();
    for rates in [[60.0, 61.0], [58.0, 59.0], [62.0, 63.5]] {
        store.insert(constructed("quick", &rates)).unwrap();
    }
    drop(store);
    let out_dir = tempfile::tempdir().unwrap();
    let path = |name: &str| out_dir.path().join(name);
    for name in ["runs.json", "runs.csv", "report.html"] {
        let o = bench.run(&["bench", "report", "-o", path(name).to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let runs: Vec<RunRecord> =
        serde_json::from_str(&std::fs::read_to_string(path("runs.json")).unwrap()).unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);

    let mut csv = csv::Reader::from_path(path("runs.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = header
        .iter()
        .position(|h| h == "decode_tok_s_mean")
        .unwrap();
    let means: Vec<f64> = csv
        .records()
        .map(|r| r.unwrap()[col].parse().unwrap())
        .collect();
    assert_eq!(means, [60.5, 58.5, 62.75]);

    let html = std::fs::read_to_string(path("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "throughput, latency, memory"
    );
    assert!(html.contains("Throughput") && html.contains("Memory"));

    // --last and an unknown extension.
    let o = bench.run(&[
        "bench",
        "report",
        "-o",
        path("two.json").to_str().unwrap(),
        "--last",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let two: Vec<RunRecord> =
        serde_json::from_str(&std::fs::read_to_string(path("two.json")).unwrap()).unwrap();
    assert_eq!(two.len(), 2);
    let bad = bench.run(&["bench", "report", "-o", path("r.pdf").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(5), "{}", text(&bad));
    assert!(!path("r.pdf").exists());
}

#[test]
fn bad_suites_and_runs_are_refused_clearly() {
    let bench = BenchHome::with_model();
    let o = bench.run(&["bench", "--suite", "nope"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("unknown suite `nope` (known: long-context, quick, spec, standard)"));

    bench.write_config(
        "suites.toml",
        "[suites.mine]\nprompt_lengths = [16]\ngen_tokns = 4\n",
    );
    let o = bench.run(&["bench", "--suite", "mine"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("line 3") && text(&o).contains("gen_tokns"),
        "{}",
        text(&o)
    );

    let o = bench.run(&["bench", "show", "7"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no run #7"), "{}", text(&o));
    let o = bench.run(&["bench", "compare", "baseline"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no runs are stored yet"), "{}", text(&o));
    // A subcommand and run flags together are a usage error.
    let o = bench.run(&["bench", "--suite", "quick", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn a_user_suite_runs_and_lists() {
    let bench = BenchHome::with_model();
    bench.write_config(
        "suites.toml",
        "[suites.tiny]\ndescription = \"two literal prompts\"\nprompt_lengths = []\n\
         prompts = [\"The capital of France is\", \"def add(a, b):\"]\ngen_tokens = 4\n\
         warmup = 0\niterations = 2\nprofiles = [\"precise\", \"creative\"]\n\
         [suites.one]\nprompt_lengths = [8]\ngen_tokens = 1\nwarmup = 0\niterations = 2\n",
    );
    let suites = bench.run(&["bench", "suites"]);
    assert!(String::from_utf8_lossy(&suites.stdout).contains("tiny           two literal prompts"));
    let o = bench.run(&["bench", "--suite", "tiny", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let runs = records(&o);
    let profiles: Vec<&str> = runs.iter().map(|r| r.profile.as_str()).collect();
    assert_eq!(profiles, ["precise", "creative"]);
    assert!(runs
        .iter()
        .all(|r| r.iterations.len() == 2 && r.perplexity.is_none()));
    assert_eq!(runs[0].token_latencies_ms.len(), 2 * 2 * 3);

    // One generated token: no decode steps, and the record still stores and reads back.
    let o = bench.run(&["bench", "--suite", "one", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = bench.run(&["bench", "show", "latest", "--json"]);
    assert!(shown.status.success(), "{}", text(&shown));
    let r = record(&shown);
    assert!(r.token_latencies_ms.is_empty());
    assert!(r
        .iterations
        .iter()
        .all(|i| i.decode_tok_s == 0.0 && i.latency_p50_ms == 0.0));
}

/// `bench` without `--suite` is the pp/tg measurement, a suite run like the others: stored under
/// its lengths, greedy, and with `--full` each prompt's own figures, in the record and the report.
#[test]
fn the_pp_tg_measurement_is_a_stored_suite_run() {
    let bench = BenchHome::with_model();
    let out = bench.run(&[
        "bench",
        "--prompt-tokens",
        "16",
        "--gen-tokens",
        "4",
        "--runs",
        "2",
        "--full",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let r = record(&out);
    assert_eq!(
        (r.id, r.suite.as_str(), r.profile.as_str()),
        (1, "pp16-tg4-full", "greedy")
    );
    assert_eq!(r.profile_settings["sampler"]["temperature"], 0.0);
    assert_eq!(r.iterations.len(), 2);
    let labels: Vec<&str> = r.prompts.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["pp16", "pp1", "pp512"]);
    for p in &r.prompts {
        assert_eq!((p.prefill_tok_s.len(), p.decode_tok_s.len()), (2, 2));
        assert!(
            p.prefill_tok_s
                .iter()
                .chain(&p.decode_tok_s)
                .all(|&v| v > 0.0),
            "{p:?}"
        );
    }
    assert_eq!(r.prompts[2].prompt_tokens, 512);
    assert!(r.pipeline_overhead_pct.is_empty());
    let store = bench.store();
    assert_eq!(store.get(1).unwrap().as_ref(), Some(&r));
    drop(store);
    let shown = bench.run(&["bench", "show", "latest"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("suite pp16-tg4-full") && shown.contains("pp512 prefill (tok/s)"),
        "{shown}"
    );
}

/// What a child process of an engine comparison does: one plan, its record on stdout, nothing
/// stored (the parent merges the rounds and stores one record per engine).
#[test]
fn a_child_plan_prints_its_record_and_stores_nothing() {
    use gemma_tui::bench::suite::Suite;
    use gemma_tui::bench::RunPlan;
    let bench = BenchHome::with_model();
    let plan = RunPlan {
        suite_name: "pp8-tg2".into(),
        suite: Suite {
            prompt_lengths: vec![8],
            gen_tokens: 2,
            warmup: 0,
            iterations: 1,
            ..Suite::default()
        },
        model_name: "m".into(),
        model_path: common::model_path(),
        profile_name: "balanced".into(),
        profile: gemma_tui::config::Config::defaults()
            .profile(Some("balanced"))
            .unwrap()
            .clone(),
        threads: 1,
        engine: Default::default(),
    };
    let json = serde_json::to_string(&plan).unwrap();
    let out = bench.run(&["bench", "--child-plan", &json]);
    assert!(out.status.success(), "{}", text(&out));
    let r = record(&out);
    assert_eq!((r.id, r.suite.as_str(), r.threads), (0, "pp8-tg2", 1));
    assert_eq!(r.iterations.len(), 1);
    assert_eq!(r.prompts[0].prompt_tokens, 8);
    let store = bench.store();
    assert!(store.list().unwrap().is_empty(), "a child stores nothing");
}
