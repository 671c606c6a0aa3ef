//! The serve actor on the real model: start on a free port, answer over a real socket, report
//! the request and the status, refuse what it must, stop.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::config::Config;
use crate::engine::Engine;
use crate::serve::setup::{server_config, ServeLimits};

fn engine() -> Arc<Engine> {
    let path = crate::models::default_model_path();
    assert!(
        path.exists(),
        "the default model is missing at {}",
        path.display()
    );
    Arc::new(Engine::load(&path, 2).expect("load the default model"))
}

fn options(host: &str, api_key: Option<&str>) -> ServeOptions {
    let dir = tempfile::tempdir().unwrap();
    let limits = ServeLimits {
        api_key: api_key.map(str::to_string),
        parallel: 2,
        ctx: 512,
        max_body: 1 << 16,
        max_tokens_cap: 16,
        max_queue: 4,
    };
    ServeOptions {
        host: host.into(),
        port: 0,
        insecure: false,
        config: server_config(&Config::defaults(), dir.path(), None, "test-model", limits).unwrap(),
    }
}

type Events = Arc<Mutex<Vec<ServeEvent>>>;

fn recording() -> (ServeSink, Events) {
    let events: Events = Arc::default();
    let e = events.clone();
    (Arc::new(move |ev| e.lock().unwrap().push(ev)), events)
}

/// Waits (up to 30 s) for an event `pick` accepts.
async fn wait_for<T>(events: &Events, pick: impl Fn(&ServeEvent) -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(t) = events.lock().unwrap().iter().find_map(&pick) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no such event in {:?}", events.lock().unwrap());
}

#[test]
fn stop_without_a_server_reports_stopped() {
    actix::System::new().block_on(async {
        let (sink, events) = recording();
        let handle = start(sink);
        handle.addr.send(StopServer).await.unwrap();
        assert_eq!(events.lock().unwrap().as_slice(), [ServeEvent::Stopped]);
    });
}

#[test]
fn serves_reports_and_stops_on_the_real_model() {
    let engine = engine();
    actix::System::new().block_on(async move {
        let (sink, events) = recording();
        let handle = start(sink);
        // A public address without a key is refused before anything listens.
        handle
            .addr
            .send(StartServer { engine: engine.clone(), options: options("0.0.0.0", None) })
            .await
            .unwrap();
        let refused = wait_for(&events, |e| match e {
            ServeEvent::Failed(m) => Some(m.clone()),
            _ => None,
        })
        .await;
        assert!(refused.contains("--api-key"), "{refused}");

        handle
            .addr
            .send(StartServer { engine: engine.clone(), options: options("127.0.0.1", Some("k")) })
            .await
            .unwrap();
        let addr = wait_for(&events, |e| match e {
            ServeEvent::Started { addr } => Some(*addr),
            _ => None,
        })
        .await;
        assert_ne!(addr.port(), 0);
        // A second start while it runs is refused.
        handle
            .addr
            .send(StartServer { engine, options: options("127.0.0.1", Some("k")) })
            .await
            .unwrap();
        wait_for(&events, |e| match e {
            ServeEvent::Failed(m) if m.contains("already running") => Some(()),
            _ => None,
        })
        .await;

        let client = reqwest::Client::new();
        let health = client.get(format!("http://{addr}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let reply: serde_json::Value = client
            .post(format!("http://{addr}/v1/completions"))
            .bearer_auth("k")
            .json(&serde_json::json!({"prompt": "The capital of France is", "max_tokens": 4, "temperature": 0}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply["usage"]["completion_tokens"], 4, "{reply}");
        let record = wait_for(&events, |e| match e {
            ServeEvent::Request(r) => Some(r.clone()),
            _ => None,
        })
        .await;
        assert_eq!((record.route, record.status, record.generated_tokens), ("/v1/completions", 200, 4));
        assert!(record.prompt_tokens > 3 && record.ms > 0.0);
        let status = wait_for(&events, |e| match e {
            ServeEvent::Status(s) if s.pool.requests_total >= 1 => Some(s.clone()),
            _ => None,
        })
        .await;
        assert_eq!((status.addr, status.pool.parallel, status.ok), (Some(addr), 2, 1));

        handle.addr.send(StopServer).await.unwrap();
        wait_for(&events, |e| (*e == ServeEvent::Stopped).then_some(())).await;
        assert!(
            client.get(format!("http://{addr}/health")).send().await.is_err(),
            "the port is closed after the stop"
        );
    });
}
