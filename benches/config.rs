//! Config load time (issue 5's goal: <= 5 ms): the three files read, parsed, overlaid on the
//! embedded defaults and validated, with and without user files.
use criterion::{criterion_group, criterion_main, Criterion};
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

criterion_group!(benches, bench_load);
criterion_main!(benches);
