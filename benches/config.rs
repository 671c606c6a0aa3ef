//! Config load time (issue 5's goal: <= 5 ms): the three files read, parsed, overlaid on the
//! embedded defaults and validated, with and without user files; and hot-reload latency (goal
//! <= 300 ms): from a saved profiles.toml to the config actor's `Reloaded` event, through real
//! file-system events and the 100 ms debouncer.
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gemma_tui::actors::config::ConfigEvent;
use gemma_tui::config;

fn bench_load(c: &mut Criterion) {
    let empty = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/configs/valid");
    for (fixture, file) in [
        ("new_profile.profiles.toml", "profiles.toml"),
        ("active_coding.settings.toml", "settings.toml"),
        ("extra_model.models.toml", "models.toml"),
    ] {
        std::fs::copy(format!("{fixtures}/{fixture}"), user.path().join(file)).unwrap();
    }
    assert!(config::load(user.path()).warnings.is_empty());
    c.bench_function("config load, defaults only", |b| {
        b.iter(|| config::load(empty.path()))
    });
    c.bench_function("config load, three user files", |b| {
        b.iter(|| config::load(user.path()))
    });
}

fn bench_reload(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.toml");
    let (tx, rx) = std::sync::mpsc::channel::<ConfigEvent>();
    let watched = dir.path().to_path_buf();
    // The actor lives in its own actix system on a thread of its own, as in the dashboard.
    std::thread::spawn(move || {
        gemma_tui::runtime::actix_system(1).block_on(async move {
            let tx = std::sync::Mutex::new(tx);
            let _config = gemma_tui::actors::config::start(
                watched,
                None,
                std::sync::Arc::new(move |e| {
                    let _ = tx.lock().unwrap().send(e);
                }),
            );
            std::future::pending::<()>().await
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut version = 0u32;
    let mut group = c.benchmark_group("config reload");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("write to applied", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                let temp = 0.1 + f64::from(version % 50) / 100.0;
                let text = format!("[profiles.balanced.sampler]\ntemperature = {temp}\n");
                let start = Instant::now();
                config::write_atomic(&path, text.as_bytes()).unwrap();
                loop {
                    match rx.recv_timeout(Duration::from_secs(5)) {
                        Ok(ConfigEvent::Reloaded { config, .. })
                            if (f64::from(config.profiles["balanced"].sampler.temperature)
                                - temp)
                                .abs()
                                < 1e-6 =>
                        {
                            break
                        }
                        Ok(_) => continue,
                        Err(e) => panic!("no reload within 5 s: {e}"),
                    }
                }
                total += start.elapsed();
                // Let the debouncer settle so the next write starts a fresh burst.
                std::thread::sleep(Duration::from_millis(150));
                while rx.try_recv().is_ok() {}
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_load, bench_reload);
criterion_main!(benches);
