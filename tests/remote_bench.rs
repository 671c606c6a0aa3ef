//! `gemma-tui bench --model NAME` on a remote engine: a real `gemma-tui serve` process on
//! loopback with the real default model, a models.toml `url` entry naming it, and the bench's
//! stored record read back: the tokens generated, TTFT, decode and prefill rates measured (the
//! prefill from the server's `timings`), the metrics of the local process left out and said why.
mod common;
mod serve_support;

use std::time::{Duration, Instant};

use common::bench::{record, text, BenchHome};

/// Waits until the node's model is loaded (`/health` 200).
fn wait_healthy(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(120);
        let client = gemma_tui::remote::NodeClient::new(url, None).unwrap();
        while client.health().await.is_err() {
            assert!(Instant::now() < deadline, "{url} never became healthy");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

#[test]
fn a_remote_model_is_benchmarked_stored_and_listed() {
    let node = serve_support::Server::spawn_with_threads(1, &[]);
    let url = node.v1();
    wait_healthy(&url);

    let bench = BenchHome::without_model();
    bench.write_config("models.toml", &format!("[models.far]\nurl = \"{url}\"\n"));

    let args = [
        "bench",
        "--model",
        "far",
        "--runs",
        "2",
        "--prompt-tokens",
        "32",
        "--gen-tokens",
        "16",
    ];
    let out = bench.run(&[&args[..], &["--json"][..]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let r = record(&out);
    let remote = r.remote.as_ref().expect("the record says it ran remotely");
    assert_eq!(remote.urls, std::slice::from_ref(&url));
    assert_eq!(remote.backend, "gemma-tui");
    assert_eq!(r.engine, "remote gemma-tui");
    assert_eq!(r.model, "far");
    // Greedy on a base model continuing prose: every reply runs to its token budget.
    assert_eq!(remote.generated_tokens, [16, 16], "{}", text(&out));
    assert_eq!(r.iterations.len(), 2);
    for it in &r.iterations {
        assert!(it.ttft_ms > 0.0 && it.ttft_ms < 60_000.0, "{it:?}");
        assert!(
            it.decode_tok_s > 1.0 && it.decode_tok_s < 10_000.0,
            "{it:?}"
        );
        assert!(
            it.latency_p50_ms > 0.0 && it.latency_p50_ms <= it.latency_max_ms,
            "{it:?}"
        );
        // gemma-tui serve sends llama-server's timings: the prefill rate is the server's.
        assert!(it.prefill_tok_s > 0.0, "{it:?}");
        // The model's process is the server: nothing of ours is passed off as its figures.
        assert_eq!((it.peak_rss_mb, it.cpu_ms, it.load_ms), (0.0, 0.0, 0.0));
    }
    // 15 decode steps per reply, one latency each.
    assert_eq!(r.token_latencies_ms.len(), 2 * 15);
    assert!(r.prompts[0].prompt_tokens > 16, "{:?}", r.prompts);
    let keys: Vec<&str> = remote
        .not_measured
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(
        keys.contains(&"peak_rss_mb") && keys.contains(&"cpu_ms"),
        "{keys:?}"
    );
    assert!(!keys.contains(&"prefill_tok_s"), "{keys:?}");

    // The text report marks what was not measured, and the history lists the run.
    let out = bench.run(&args);
    assert!(out.status.success(), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("remote gemma-tui"), "{report}");
    assert!(
        report.contains("not measured: the model's memory is the server's process"),
        "{report}"
    );
    let list = bench.run(&["bench", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains(&format!("#{}", r.id)), "{listed}");
    assert!(listed.contains("far"), "{listed}");
}

#[test]
fn a_remote_model_nobody_serves_is_a_clear_error() {
    let bench = BenchHome::without_model();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/v1", l.local_addr().unwrap());
    drop(l);
    bench.write_config("models.toml", &format!("[models.gone]\nurl = \"{dead}\"\n"));
    let out = bench.run(&[
        "bench",
        "--model",
        "gone",
        "--runs",
        "1",
        "--gen-tokens",
        "4",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gone") && err.contains("no node answers"),
        "{err}"
    );
}
