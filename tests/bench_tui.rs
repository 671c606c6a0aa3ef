//! The bench pane: driven through the real actors (the bench actor has the inference actor run a
//! suite on the real model, into a real redb file), and its layout on ratatui's TestBackend.
mod common;

use std::time::{Duration, Instant};

use common::dashboard::{self, Dashboard, Sandbox};
use crossterm::event::KeyCode;
use gemma_tui::actors::bench::BenchEvent;
use gemma_tui::actors::inference::EngineEvent;
use gemma_tui::app::{AppEvent, AppState, Effect, EngineStatus};
use gemma_tui::bench::record::{IterationMetrics, RunRecord};
use gemma_tui::bench::{compare, BenchStore, Progress};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const TINY_SUITE: &str = "[suites.tiny]\ndescription = \"a test suite\"\nprompt_lengths = [16]\n\
gen_tokens = 12\nwarmup = 0\niterations = 2\nperplexity_tokens = 16\n\
[suites.slow]\nprompt_lengths = [16]\ngen_tokens = 4000\nwarmup = 0\niterations = 3\n\
engines = [\"candle\", \"llama-cpp\"]\n";

/// Selects `suite` in the open bench pane with the arrow keys, as a user would.
fn select(state: &mut AppState, suite: &str) {
    for _ in 0..state.bench.suites.len() {
        if state.bench.selected_suite() == Some(suite) {
            return;
        }
        state.handle(common::key(KeyCode::Down), Instant::now());
    }
    panic!("no suite {suite} in {:?}", state.bench.suites);
}

#[test]
fn the_bench_pane_runs_a_suite_through_the_actors_and_cancels_one() {
    // The only test in this binary that starts the actors (the sandbox moves the data dir).
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.config_dir().join("suites.toml"), TINY_SUITE).unwrap();
    dashboard::run(async {
        let mut d = Dashboard::start(sandbox.options_watching_config(512, 16));
        let mut state = AppState::new();
        let mut terminal = Terminal::new(TestBackend::new(130, 40)).unwrap();
        let mut phase = 0; // 0 loading, 1 tiny running, 2 slow running, 3 cancel sent
        let mut screens_with_gauge = 0;
        let mut progress_events = 0;
        let mut cancelled = false;
        // The status line each suite's start showed.
        let mut started = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(300);
        while !cancelled {
            assert!(
                Instant::now() < deadline,
                "the suites did not finish in 300 s"
            );
            let event = d.next(Duration::from_secs(120)).await;
            match &event {
                AppEvent::Engine(EngineEvent::LoadFailed(e)) => panic!("load failed: {e}"),
                AppEvent::Bench(BenchEvent::Failed(e)) => panic!("bench failed: {e}"),
                AppEvent::Bench(BenchEvent::Progress { .. }) => progress_events += 1,
                AppEvent::Bench(BenchEvent::Cancelled) => cancelled = true,
                _ => {}
            }
            let done = matches!(&event, AppEvent::Bench(BenchEvent::Done));
            let token = matches!(&event, AppEvent::Bench(BenchEvent::Progress { progress, .. }) if progress.token_ms.is_some());
            let start = matches!(&event, AppEvent::Bench(BenchEvent::Started { .. }));
            d.fold(&mut state, event);
            if start {
                started.push(state.status.as_ref().unwrap().text.clone());
            }
            let screen = dashboard::draw(&mut terminal, &mut state);
            if state.bench.running() && screen.contains("tiny · run 1/1") {
                screens_with_gauge += 1;
                assert!(screen.contains("per-token latency"), "{screen}");
            }
            if phase == 0 && state.engine == EngineStatus::Idle && !state.bench.suites.is_empty() {
                d.fold(&mut state, common::key(KeyCode::F(4)));
                select(&mut state, "tiny");
                let effects = state.handle(common::key(KeyCode::Enter), Instant::now());
                assert_eq!(effects, [Effect::StartBench("tiny".into())]);
                d.apply(effects);
                phase = 1;
            } else if phase == 1 && done {
                // A chat message is refused while a suite runs; here none runs any more.
                assert!(!state.bench.running());
                assert_eq!(state.bench.history.len(), 1, "the finished run is shown");
                select(&mut state, "slow");
                d.fold(&mut state, common::key(KeyCode::Enter));
                phase = 2;
            } else if phase == 2 && token {
                // Typing is refused while the suite has the model.
                assert!(state.bench.running());
                let effects = state.handle(common::key(KeyCode::Char('c')), Instant::now());
                assert_eq!(effects, [Effect::CancelBench]);
                d.apply(effects);
                phase = 3;
            }
        }
        // The slow suite names llama-cpp too: a build without it runs candle alone and says so,
        // as the headless `bench` does; the tiny suite names no engine it lacks.
        assert_eq!(started.len(), 2, "{started:?}");
        assert!(!started[0].contains("note"), "{started:?}");
        let lacks = "also names llama-cpp, which this build does not have";
        assert_eq!(
            started[1].contains(lacks),
            !cfg!(feature = "llama-cpp"),
            "{started:?}"
        );
        assert!(progress_events > 10, "{progress_events} progress events");
        assert!(screens_with_gauge > 0, "the gauge was drawn while running");
        assert!(!state.bench.running());
        assert!(state
            .bench
            .message
            .as_deref()
            .unwrap()
            .contains("cancelled"));
    });
    // The tiny run is stored; the cancelled one is not.
    let store = BenchStore::open(&sandbox.data_dir().join("bench.redb")).unwrap();
    let runs = store.list().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!((run.suite.as_str(), run.iterations.len()), ("tiny", 2));
    assert_eq!(run.token_latencies_ms.len(), 2 * 11);
    assert!(run.perplexity.unwrap().value.is_finite());
    assert!(run.iterations.iter().all(|i| i.decode_tok_s > 0.0));
}

fn run(id: u64, decode: &[f64]) -> RunRecord {
    let mut r = RunRecord::example(
        "quick",
        decode
            .iter()
            .map(|&d| IterationMetrics {
                decode_tok_s: d,
                prefill_tok_s: 4.0 * d,
                latency_p50_ms: 1000.0 / d,
                ..Default::default()
            })
            .collect(),
    );
    r.id = id;
    r.token_latencies_ms = (0..200).map(|i| 14.0 + (i % 17) as f64 * 0.5).collect();
    r
}

/// A pane with three stored runs (the first the baseline) and a suite half done.
fn busy_pane() -> AppState {
    let now = Instant::now();
    let mut s = AppState::new();
    s.handle(
        AppEvent::Bench(BenchEvent::Suites(vec![
            ("long-context".into(), "long".into()),
            ("quick".into(), "a smoke test".into()),
            ("standard".into(), "pp128 and pp512".into()),
        ])),
        now,
    );
    let runs = vec![
        run(1, &[60.0, 61.0, 60.5]),
        run(2, &[59.0, 60.0, 61.0]),
        run(3, &[45.0, 44.0, 46.0]),
    ];
    s.handle(
        AppEvent::Bench(BenchEvent::History {
            runs,
            baselines: vec![("quick".into(), 1)],
        }),
        now,
    );
    s.handle(common::key(KeyCode::F(4)), now);
    s.handle(
        AppEvent::Bench(BenchEvent::Started {
            suite: "quick".into(),
            runs: 1,
            note: None,
        }),
        now,
    );
    s.handle(
        AppEvent::Bench(BenchEvent::Progress {
            run: 0,
            progress: Progress {
                fraction: 0.5,
                iteration: 2,
                iterations: 3,
                warmup: false,
                phase: "pp64".into(),
                token_ms: Some(16.4),
            },
        }),
        now,
    );
    s
}

#[test]
fn the_pane_shows_progress_throughput_histogram_and_comparison() {
    let mut s = busy_pane();
    let screen = common::render(&mut s, 130, 40);
    for want in [
        "Benchmarks",
        "quick · run 1/1",
        "iteration 2/3 · pp64 · 16.4 ms/token",
        "tok/s per run",
        "#1*",
        "#3",
        "run #3 per-token latency",
        "a smoke test",
    ] {
        assert!(screen.contains(want), "missing {want:?} in\n{screen}");
    }
    s.handle(common::key(KeyCode::Char('v')), Instant::now());
    let screen = common::render(&mut s, 130, 40);
    assert!(screen.contains("run #3 against #1 (baseline)"), "{screen}");
    assert!(screen.contains("slower REGRESSION"), "{screen}");
    // The help overlay lists the bench keys (paging down: it is taller than the screen).
    s.handle(common::key(KeyCode::F(1)), Instant::now());
    let mut screens = String::new();
    for _ in 0..8 {
        screens.push_str(&common::render(&mut s, 130, 60));
        s.handle(common::key(KeyCode::PageDown), Instant::now());
    }
    assert!(screens.contains("Bench pane"), "{screens}");
    assert!(screens.contains("Run the selected suite"), "{screens}");
}

#[test]
fn the_pane_never_panics_at_small_sizes() {
    let mut s = busy_pane();
    for w in 0..40 {
        for h in 0..14 {
            common::render(&mut s, w, h);
        }
    }
    s.handle(common::key(KeyCode::Char('v')), Instant::now());
    for (w, h) in [(1, 1), (20, 5), (60, 12), (200, 60)] {
        common::render(&mut s, w, h);
    }
}

#[test]
fn keys_start_cancel_and_pin_through_effects() {
    let now = Instant::now();
    let mut s = AppState::new();
    s.handle(
        AppEvent::Engine(EngineEvent::Loaded(Default::default())),
        now,
    );
    s.handle(
        AppEvent::Bench(BenchEvent::Suites(vec![
            ("quick".into(), String::new()),
            ("standard".into(), String::new()),
        ])),
        now,
    );
    assert_eq!(
        s.handle(common::key(KeyCode::F(4)), now),
        [Effect::RefreshBench]
    );
    s.handle(common::key(KeyCode::Down), now);
    assert_eq!(
        s.handle(common::key(KeyCode::Enter), now),
        [Effect::StartBench("standard".into())]
    );
    assert!(
        s.handle(common::key(KeyCode::Char('c')), now).is_empty(),
        "nothing runs yet"
    );
    s.handle(
        AppEvent::Bench(BenchEvent::Started {
            suite: "standard".into(),
            runs: 1,
            note: None,
        }),
        now,
    );
    assert!(
        s.handle(common::key(KeyCode::Enter), now).is_empty(),
        "one at a time"
    );
    assert_eq!(
        s.handle(common::key(KeyCode::Char('c')), now),
        [Effect::CancelBench]
    );
    s.handle(AppEvent::Bench(BenchEvent::Cancelled), now);
    let base = run(1, &[60.0, 61.0]);
    let c = compare(&base, &base, 5.0);
    s.handle(
        AppEvent::Bench(BenchEvent::Finished {
            record: Box::new(base),
            against_baseline: Some(Box::new(c)),
        }),
        now,
    );
    assert_eq!(
        s.handle(common::key(KeyCode::Char('b')), now),
        [Effect::PinBaseline(1)]
    );
    // Esc closes the pane; typing reaches the input again.
    s.handle(common::key(KeyCode::Esc), now);
    assert!(!s.is_open(gemma_tui::app::Layer::Bench));
}
