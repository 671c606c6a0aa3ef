//! The balancer, the completion marker and the resume on real sockets: small OpenAI-style
//! servers on loopback (axum) that stream a known reply slowly and can drop the connection
//! mid-stream. (tests/remote_cluster.rs runs the same against real `gemma-tui serve` processes.)
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use futures::StreamExt;
use serde_json::{json, Value};
use tower::load::Load;

use super::*;
use crate::remote::capabilities::{Message, Prompt};
use crate::sampling::SamplerParams;

/// A fake node: replies "w0 w1 ... w{N-1} " one word per chunk, continuing after the words of a
/// trailing assistant message; while `deaths` (shared by fakes) is above zero, a request takes
/// one and drops the connection after `die_after` words.
#[derive(Clone)]
struct Fake {
    words: usize,
    delay: Duration,
    deaths: Arc<AtomicUsize>,
    die_after: usize,
    served: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Fake {
    fn new(words: usize, delay_ms: u64) -> Self {
        Self {
            words,
            delay: Duration::from_millis(delay_ms),
            deaths: Default::default(),
            die_after: 0,
            served: Default::default(),
            bodies: Default::default(),
        }
    }
}

async fn chat(State(fake): State<Fake>, body: axum::Json<Value>) -> axum::response::Response {
    fake.served.fetch_add(1, Ordering::SeqCst);
    fake.bodies.lock().unwrap().push(body.0.clone());
    let messages = body.0["messages"].as_array().cloned().unwrap_or_default();
    let done = match messages.last() {
        Some(m) if m["role"] == "assistant" => {
            m["content"].as_str().unwrap().split_whitespace().count()
        }
        _ => 0,
    };
    let max = body.0["max_tokens"].as_u64().unwrap_or(1000) as usize;
    let end = fake.words.min(done + max);
    let dies = fake
        .deaths
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
        .is_ok();
    let fake2 = fake.clone();
    let events = futures::stream::iter(done..=end).then(move |i| {
        let fake = fake2.clone();
        async move {
            tokio::time::sleep(fake.delay).await;
            if dies && i >= done + fake.die_after {
                return Err(std::io::Error::other("node died"));
            }
            let chunk = if i == end {
                let reason = if end == fake.words { "stop" } else { "length" };
                json!({"choices": [{"delta": {}, "finish_reason": reason}]}).to_string()
                    + "\n\ndata: [DONE]"
            } else {
                json!({"choices": [{"delta": {"content": format!("w{i} ")}}]}).to_string()
            };
            Ok(format!("data: {chunk}\n\n"))
        }
    });
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from_stream(events))
        .unwrap()
}

async fn start(fake: Fake) -> String {
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/v1/models",
            get(|| async {
                axum::Json(json!({"data": [{"id": "fake", "owned_by": "gemma-tui"}]}))
            }),
        )
        .route("/v1/chat/completions", post(chat))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

fn spec(urls: Vec<String>) -> RemoteModel {
    RemoteModel {
        name: "test".into(),
        urls,
        api_key: None,
        model: String::new(),
        backend: None,
    }
}

fn request(max_tokens: usize) -> Request {
    Request {
        prompt: Prompt::Chat(vec![Message::new("user", "count")]),
        params: SamplerParams::greedy(),
        max_tokens,
        stop: vec![],
    }
}

fn full(words: usize) -> String {
    (0..words).map(|i| format!("w{i} ")).collect()
}

/// A port nothing listens on.
async fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn the_load_marker_lasts_until_the_body_ends_not_the_headers() {
    let url = start(Fake::new(5, 40)).await;
    let node = Arc::new(Node {
        client: NodeClient::new(&url, None).unwrap(),
        stats: NodeStats::default(),
    });
    let service = NodeService {
        index: 0,
        node: node.clone(),
        backend: Backend::GemmaTui,
        model: "fake".into(),
    };
    let idle = PendingRequests::new(service.clone(), UntilBodyEnds).load();
    let mut balanced = PendingRequests::new(service, UntilBodyEnds);
    let response = balanced.call(Arc::new(request(100))).await.unwrap();
    // The headers are in, the body is still streaming: still pending.
    assert!(balanced.load() > idle, "the count ended with the headers");
    assert_eq!(node.stats.in_flight.load(Ordering::SeqCst), 1);
    let pieces: Vec<_> = response.stream.collect().await;
    assert_eq!(pieces.len(), 6, "five words and the finish");
    assert_eq!(balanced.load(), idle, "the count outlived the body");
    assert_eq!(node.stats.in_flight.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn concurrent_requests_spread_to_the_least_loaded_nodes() {
    let fakes = [Fake::new(8, 30), Fake::new(8, 30)];
    let urls = vec![start(fakes[0].clone()).await, start(fakes[1].clone()).await];
    let cluster = Cluster::connect(&spec(urls), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        (cluster.model.as_str(), cluster.backend),
        ("fake", Backend::GemmaTui)
    );
    let replies = futures::future::join_all((0..6).map(|_| {
        let cluster = &cluster;
        async move {
            cluster
                .generate(&request(100), &|| false, &mut |_| {})
                .await
        }
    }))
    .await;
    for r in replies {
        let r = r.unwrap();
        assert_eq!(
            (r.text.as_str(), r.finish_reason.as_str()),
            (full(8).as_str(), "stop")
        );
        assert_eq!(r.tokens, 8);
        assert!(r.ttft_ms > 0.0 && r.decode_tok_s > 0.0, "{r:?}");
    }
    let status = cluster.status();
    // With two nodes p2c compares both: the requests alternate on the in-flight counts.
    assert_eq!(
        status.iter().map(|s| s.requests).collect::<Vec<_>>(),
        [3, 3]
    );
    assert!(status
        .iter()
        .all(|s| s.in_flight == 0 && s.healthy && s.tokens == 24));
}

#[tokio::test]
async fn a_node_dying_mid_stream_does_not_lose_the_reply() {
    // The first request dies after three words, on whichever node gets it; the other
    // continues the reply.
    let mut fake = Fake::new(12, 10);
    fake.deaths = Arc::new(AtomicUsize::new(1));
    fake.die_after = 3;
    let fakes = [
        fake.clone(),
        Fake {
            served: Default::default(),
            bodies: Default::default(),
            ..fake
        },
    ];
    let urls = vec![start(fakes[0].clone()).await, start(fakes[1].clone()).await];
    let cluster = Cluster::connect(&spec(urls.clone()), Duration::from_secs(60))
        .await
        .unwrap();
    let mut events = Vec::new();
    let reply = cluster
        .generate(&request(100), &|| false, &mut |e| events.push(e))
        .await
        .unwrap();
    assert_eq!(reply.text, full(12), "the whole reply, once");
    assert_eq!(
        (reply.finish_reason.as_str(), reply.resumed, reply.tokens),
        ("stop", 1, 12)
    );
    let resumed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ReplyEvent::Resumed { at, from, to, .. } => Some((*at, from.clone(), to.clone())),
            ReplyEvent::Text(_) => None,
        })
        .collect();
    assert_eq!(resumed.len(), 1);
    let (at, from, to) = resumed[0].clone();
    assert_eq!(at, full(3).len());
    assert_ne!(from, to);
    // The second node was sent the delivered text as the assistant turn to continue, and the
    // rest of the token budget.
    let second = if to == urls[0] { &fakes[0] } else { &fakes[1] };
    let body = second.bodies.lock().unwrap()[0].clone();
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": full(3)})
    );
    assert_eq!(body["max_tokens"], 97);
    let status = cluster.status();
    let dead = status.iter().find(|s| s.url == from).unwrap();
    assert_eq!((dead.errors, dead.healthy), (1, false));
    assert!(
        dead.last_error.as_deref().unwrap().contains("stream broke"),
        "{dead:?}"
    );
}

#[tokio::test]
async fn a_node_down_at_start_is_skipped_and_all_down_is_an_error() {
    let fake = Fake::new(3, 1);
    let urls = vec![dead_url().await, start(fake.clone()).await];
    let cluster = Cluster::connect(&spec(urls.clone()), Duration::from_secs(60))
        .await
        .unwrap();
    for _ in 0..4 {
        let r = cluster
            .generate(&request(10), &|| false, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(r.node, urls[1]);
    }
    let status = cluster.status();
    assert!(!status[0].healthy && status[0].requests == 0);
    assert!(status[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("cannot connect"));
    assert_eq!(status[1].requests, 4);
    let err = Cluster::connect(&spec(vec![dead_url().await]), Duration::from_secs(60))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("no node answers"), "{err}");
}

#[tokio::test]
async fn a_cancel_drops_the_stream_and_frees_the_node() {
    let url = start(Fake::new(100, 20)).await;
    let cluster = Cluster::connect(&spec(vec![url]), Duration::from_secs(60))
        .await
        .unwrap();
    let pieces = AtomicUsize::new(0);
    let reply = cluster
        .generate(
            &request(1000),
            &|| pieces.load(Ordering::SeqCst) >= 2,
            &mut |e| {
                if let ReplyEvent::Text(_) = e {
                    pieces.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (reply.finish_reason.as_str(), reply.text.as_str()),
        ("cancelled", "w0 w1 ")
    );
    assert_eq!(cluster.status()[0].in_flight, 0);
}
