//! The dashboard's actors on a remote model: a real `gemma-tui serve` process on loopback,
//! loaded as `ModelSource::Remote`; replies stream as tokens and finish with timings measured
//! here, settings the backend does not take are reported, a cancel stops the reply, and the
//! cluster's status arrives for the pane.
mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::dashboard::{run, Dashboard, Sandbox};
use gemma_tui::actors::inference::{
    ChatTurn, EngineEvent, Generate, ModelSource, Prompt, RemoteEvent, SwitchEvent,
};
use gemma_tui::app::AppEvent;
use gemma_tui::engine::{Dialogue, FinishReason, Limits};
use gemma_tui::remote::{Backend, RemoteModel};
use gemma_tui::runtime::RunOptions;
use gemma_tui::sampling::{Mirostat, SamplerParams};

fn turn(text: &str) -> Prompt {
    Prompt::Chat(ChatTurn {
        text: text.into(),
        system: None,
        dialogue: Dialogue {
            preamble: String::new(),
            user: "User: ".into(),
            assistant: "Assistant:".into(),
            stop: vec![],
        },
    })
}

#[test]
fn the_inference_actor_streams_a_remote_model_like_a_local_one() {
    let home = tempfile::tempdir().unwrap();
    let mut server = common::headless_with_model(home.path())
        .args(["serve", "--port", "0", "--threads", "1"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("serve exited").unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            break format!("{}/v1", addr.trim());
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let sandbox = Sandbox::new();
    // Taken for a plain OpenAI server: Mirostat and top_k are then not applied, and said so.
    let spec = RemoteModel {
        name: "remote".into(),
        urls: vec![url.clone()],
        api_key: None,
        model: String::new(),
        backend: Some(Backend::Openai),
    };
    let opts = RunOptions {
        sampler: SamplerParams {
            mirostat: Mirostat::V2,
            ..SamplerParams::greedy()
        },
        ..RunOptions::new(ModelSource::Remote(spec), 1, sandbox.paths())
    };
    run(async move {
        let mut d = Dashboard::start(opts);
        // The server answers 503 while its model loads: the actor fails the load until then.
        let summary = loop {
            match d.next(Duration::from_secs(120)).await {
                AppEvent::Engine(EngineEvent::Loaded(s)) => break s,
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => {
                    assert!(e.contains("503") || e.contains("no node"), "{e}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    d.actors
                        .inference
                        .addr
                        .do_send(gemma_tui::actors::inference::LoadModel {
                            source: d.opts.model.clone(),
                            threads: 1,
                            engine: d.opts.engine,
                            context: 4096,
                            kind_override: None,
                            rope: Default::default(),
                        });
                }
                _ => {}
            }
        };
        assert_eq!(
            (summary.engine.as_str(), summary.path.as_str()),
            ("openai", url.as_str())
        );

        let generate = |request, text: &str, max_tokens| Generate {
            request,
            prompt: turn(text),
            limits: Limits {
                max_tokens,
                stop: vec![],
            },
            output: None,
            context_shift: None,
            draft: None,
        };
        d.actors
            .inference
            .addr
            .do_send(generate(1, "Hello there.", 8));
        let (mut text, mut not_applied, mut cluster) = (String::new(), None, false);
        let stats = loop {
            match d.next(Duration::from_secs(60)).await {
                AppEvent::Engine(EngineEvent::Token {
                    request: 1,
                    text: t,
                    ..
                }) => text.push_str(&t),
                AppEvent::Engine(EngineEvent::Remote(RemoteEvent::NotApplied {
                    request: 1,
                    settings,
                    ..
                })) => not_applied = Some(settings),
                AppEvent::Engine(EngineEvent::Remote(RemoteEvent::Cluster { nodes, .. })) => {
                    assert_eq!(nodes[0].url, url);
                    cluster = true;
                }
                AppEvent::Engine(EngineEvent::Finished {
                    request: 1,
                    reason,
                    stats,
                    ..
                }) => {
                    assert_eq!(reason, FinishReason::MaxTokens);
                    break stats;
                }
                AppEvent::Engine(EngineEvent::Failed { error, .. }) => panic!("{error}"),
                _ => {}
            }
        };
        assert!(!text.is_empty());
        assert_eq!(stats.generated_tokens, 8);
        let first_prompt_tokens = stats.prompt_tokens;
        assert!(
            stats.prompt_tokens > 0 && stats.ttft_ms > 0.0 && stats.decode_tok_s > 0.0,
            "{stats:?}"
        );
        let not_applied = not_applied.expect("the settings openai does not take");
        assert!(
            not_applied.contains(&"mirostat = 2".to_string()),
            "{not_applied:?}"
        );
        assert!(
            not_applied.contains(&"top_k = 40".to_string()),
            "{not_applied:?}"
        );

        // A long reply, cancelled after its first tokens.
        d.actors
            .inference
            .addr
            .do_send(generate(2, "Tell me a long story.", 400));
        let mut tokens = 0;
        loop {
            match d.next(Duration::from_secs(60)).await {
                AppEvent::Engine(EngineEvent::Token { request: 2, .. }) => {
                    tokens += 1;
                    if tokens == 2 {
                        d.actors.inference.cancel(2);
                    }
                }
                AppEvent::Engine(EngineEvent::Finished {
                    request: 2,
                    reason,
                    stats,
                    ..
                }) => {
                    assert_eq!(reason, FinishReason::Cancelled);
                    assert!(stats.generated_tokens < 100, "{stats:?}");
                    break;
                }
                AppEvent::Engine(EngineEvent::Failed { error, .. }) => panic!("{error}"),
                _ => {}
            }
        }
        // The pane's data arrives every second: the node, healthy, with both requests done.
        assert!(cluster, "a cluster status came during the replies");
        loop {
            if let AppEvent::Engine(EngineEvent::Remote(RemoteEvent::Cluster { nodes, .. })) =
                d.next(Duration::from_secs(5)).await
            {
                assert!(nodes[0].healthy, "{nodes:?}");
                assert_eq!((nodes[0].requests, nodes[0].in_flight), (2, 0), "{nodes:?}");
                break;
            }
        }

        // The A/B panes: both sides stream on the remote, each with its own settings.
        let updates = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = updates.clone();
        let side = |label: &str, temperature| gemma_tui::bench::ab::AbSide {
            label: label.into(),
            sampler: SamplerParams {
                temperature,
                seed: Some(1),
                ..SamplerParams::greedy()
            },
            system: None,
            dialogue: match turn("") {
                Prompt::Chat(t) => t.dialogue,
                Prompt::Raw(_) => unreachable!(),
            },
            stop: vec![],
            model: None,
        };
        let ran = d
            .actors
            .inference
            .addr
            .send(gemma_tui::actors::inference::RunAb {
                prompt: "Name a colour.".into(),
                sides: [side("A", 0.0), side("B", 1.0)],
                max_tokens: 6,
                updates: std::sync::Arc::new(move |u| sink.lock().unwrap().push(u)),
                cancel: Default::default(),
            })
            .await
            .unwrap();
        assert_eq!(ran, Ok(()));
        let updates = updates.lock().unwrap().clone();
        for side in 0..2 {
            let last = updates
                .iter()
                .rfind(|u| u.side == side)
                .expect("a side streamed");
            // Greedy side A runs to max_tokens, which so reached the remote; side B draws at
            // temperature 1, where the end of the turn may come first (any change to the
            // logits' last bits moves its draws), but never past max_tokens.
            let full = if side == 0 { 6..=6 } else { 1..=6 };
            assert!(last.done && full.contains(&last.tokens), "{last:?}");
        }

        // Switching to another remote entry from the picker: connected in the background, then
        // swapped in with the conversation's turns.
        let mut config = gemma_tui::config::Config::defaults();
        config.models.insert(
            "other".into(),
            gemma_tui::config::ModelEntry {
                url: url.clone(),
                backend: Some(Backend::GemmaTui),
                ..Default::default()
            },
        );
        d.actors
            .inference
            .addr
            .do_send(gemma_tui::actors::inference::SwitchModel {
                name: "other".into(),
                path: "other".into(),
                threads: 1,
                engine: d.opts.engine,
                context: 4096,
                config: std::sync::Arc::new(config),
                rope: Default::default(),
            });
        loop {
            match d.next(Duration::from_secs(30)).await {
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Ready { name })) => {
                    assert_eq!(name, "other");
                    d.actors
                        .inference
                        .addr
                        .do_send(gemma_tui::actors::inference::CommitSwitch {
                            turns: vec![("Hello there.".into(), text.clone())],
                            system: None,
                            dialogue: match turn("") {
                                Prompt::Chat(t) => t.dialogue,
                                Prompt::Raw(_) => unreachable!(),
                            },
                        });
                }
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Swapped {
                    summary,
                    restored,
                    ..
                })) => {
                    assert_eq!(
                        (summary.name.as_str(), summary.engine.as_str()),
                        ("other", "gemma-tui")
                    );
                    assert_eq!(restored, 1);
                    break;
                }
                AppEvent::Engine(EngineEvent::Switch(SwitchEvent::Failed { error, .. })) => {
                    panic!("{error}")
                }
                _ => {}
            }
        }
        d.actors.inference.addr.do_send(generate(3, "And then?", 4));
        loop {
            match d.next(Duration::from_secs(60)).await {
                AppEvent::Engine(EngineEvent::Finished {
                    request: 3, stats, ..
                }) => {
                    // The history went with the request: its prompt is longer than the first one.
                    assert!(stats.prompt_tokens > first_prompt_tokens, "{stats:?}");
                    break;
                }
                AppEvent::Engine(EngineEvent::Failed { error, .. }) => panic!("{error}"),
                _ => {}
            }
        }
    });
    let _ = server.kill();
    let _ = server.wait();
}
