//! A `urls` model over real `gemma-tui serve` processes on loopback, with the real default
//! model: requests spread over the nodes, `ask --model NAME` goes through it, a node down at
//! start is skipped, and a node killed while replies stream loses none of them.
mod common;
mod serve_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gemma_tui::remote::{Backend, Cluster, Message, Prompt, RemoteModel, ReplyEvent, Request};
use gemma_tui::sampling::SamplerParams;

/// Waits until every node's model is loaded (`/health` 200).
async fn wait_healthy(urls: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for url in urls {
        let client = gemma_tui::remote::NodeClient::new(url, None).unwrap();
        while client.health().await.is_err() {
            assert!(Instant::now() < deadline, "{url} never became healthy");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/v1")
}

fn request(max_tokens: usize) -> Request {
    Request {
        prompt: Prompt::Chat(vec![Message::new(
            "user",
            "Write a short story about a lighthouse keeper.",
        )]),
        params: SamplerParams::greedy(),
        max_tokens,
        stop: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_urls_model_spreads_survives_a_killed_node_and_skips_a_dead_one() {
    let home = tempfile::tempdir().unwrap();
    let mut nodes: Vec<serve_support::Server> = (0..3)
        .map(|_| serve_support::Server::spawn_with_threads(1, &[]))
        .collect();
    let live: Vec<String> = nodes.iter().map(|n| n.v1()).collect();
    wait_healthy(&live).await;
    let down = dead_url();
    let mut urls = live.clone();
    urls.push(down.clone());

    // `ask` through the models.toml entry; the node down at start is skipped.
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    let quoted: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    std::fs::write(
        home.path().join("config/models.toml"),
        format!(
            "[models.pool]\nurls = [{}]\n\n[models.as-openai]\nurl = \"{}\"\nbackend = \"openai\"\n",
            quoted.join(", "),
            live[0]
        ),
    )
    .unwrap();
    let out = common::stdout_of(common::headless(home.path()).args([
        "ask",
        "--model",
        "pool",
        "--json",
        "--max-tokens",
        "12",
        "--temp",
        "0",
        "What is the capital of France?",
    ]));
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(json["backend"], "gemma-tui", "{json}");
    assert!(
        live.contains(&json["node"].as_str().unwrap().to_string()),
        "{json}"
    );
    assert!(!json["text"].as_str().unwrap().is_empty(), "{json}");
    assert!(json["generated_tokens"].as_u64().unwrap() > 0, "{json}");
    assert!(json["timings"]["ttft_ms"].as_f64().unwrap() > 0.0, "{json}");

    // A backend that does not take top_k: the reply comes, and stderr says what was not applied.
    let out = common::headless(home.path())
        .args([
            "ask",
            "--model",
            "as-openai",
            "--max-tokens",
            "4",
            "--top-k",
            "20",
            "Hi",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("as-openai (openai) does not apply: top_k = 20"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());

    let spec = RemoteModel {
        name: "pool".into(),
        urls,
        api_key: None,
        model: String::new(),
        backend: None,
    };
    let cluster = Cluster::connect(&spec, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(cluster.backend, Backend::GemmaTui);
    let status = cluster.status();
    assert!(!status[3].healthy, "the dead node is skipped: {status:?}");

    // Six concurrent replies spread over the three nodes.
    let replies = futures::future::join_all(
        (0..6).map(|_| async { cluster.generate(&request(16), &|| false, &mut |_| {}).await }),
    )
    .await;
    for r in &replies {
        let r = r.as_ref().unwrap();
        assert_eq!(r.tokens, 16, "{r:?}");
    }
    let status = cluster.status();
    for s in &status[..3] {
        assert!(s.requests >= 1, "every node served: {status:?}");
        assert_eq!(s.in_flight, 0);
    }
    assert_eq!(status[3].requests, 0);

    // The reply uninterrupted, for comparison.
    let reference = cluster
        .generate(&request(64), &|| false, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(reference.tokens, 64);

    // Three replies stream; once each has some text, the node serving one of them is killed
    // (every node in flight then is mid-stream, none still prefilling or already done).
    let pieces: [AtomicUsize; 3] = Default::default();
    let streaming = futures::future::join_all((0..3).map(|i| {
        let (pieces, cluster) = (&pieces, &cluster);
        async move {
            let mut resumed = Vec::new();
            let reply = cluster
                .generate(&request(64), &|| false, &mut |e| match e {
                    ReplyEvent::Text(_) => {
                        pieces[i].fetch_add(1, Ordering::SeqCst);
                    }
                    ReplyEvent::Resumed { at, .. } => resumed.push(at),
                })
                .await;
            (reply, resumed)
        }
    }));
    let killer = async {
        while pieces.iter().any(|p| p.load(Ordering::SeqCst) < 3) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let busy = cluster
            .status()
            .iter()
            .position(|s| s.in_flight > 0)
            .expect("a node is streaming");
        let _ = nodes[busy].child.kill();
        busy
    };
    let (results, killed) = futures::join!(streaming, killer);
    let mut resumes = 0;
    for (reply, resumed) in results {
        let reply = reply.expect("every reply completes");
        assert_eq!(reply.tokens, 64, "the whole reply: {reply:?}");
        assert_eq!(reply.finish_reason, "length");
        assert_eq!(reply.resumed, resumed.len());
        for at in &resumed {
            assert!(*at > 0 && *at < reply.text.len());
        }
        resumes += resumed.len();
        eprintln!(
            "reply: {} tokens in {:.0} ms (uninterrupted: {:.0} ms), resumed at bytes {resumed:?}",
            reply.tokens, reply.total_ms, reference.total_ms
        );
        assert_eq!(
            reply.text, reference.text,
            "a resumed reply reads as the uninterrupted one (greedy)"
        );
    }
    assert!(resumes >= 1, "the killed node was serving a reply");
    let status = cluster.status();
    assert!(
        !status[killed].healthy && status[killed].errors >= 1,
        "{status:?}"
    );
    nodes.clear();
}
