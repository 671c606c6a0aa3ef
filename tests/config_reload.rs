//! Hot reload with real file events: the config actor watching a temp config dir sees a saved
//! profile edit and reports the new settings; a broken edit is reported with its position and the
//! last good settings stay.
use std::sync::Arc;
use std::time::Duration;

use gemma_tui::actors::config::ConfigEvent;
use gemma_tui::app::Action;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Saves `text` as `path` the way editors do, by renaming a finished file over it: a plain
/// `fs::write` truncates first, and the watcher may read the file half written (an empty or cut
/// template is another edit than the one this test makes; seen under load). The file is
/// finished outside the watched dir, on the same file system (both under the temp dir).
fn save(path: &std::path::Path, text: &str) {
    let mut file = tempfile::NamedTempFile::new_in(std::env::temp_dir()).unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    file.persist(path).unwrap();
}

async fn next(rx: &mut UnboundedReceiver<ConfigEvent>) -> ConfigEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a config event after the edit")
        .expect("the actor is running")
}

#[test]
fn saved_edits_apply_and_broken_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.toml");
    gemma_tui::runtime::actix_system(1).block_on(async {
        let (tx, mut rx) = unbounded_channel();
        let _config = gemma_tui::actors::config::start(
            dir.path().to_path_buf(),
            Some("balanced".into()),
            Arc::new(move |e| {
                let _ = tx.send(e);
            }),
        );
        // Let the watch start before the first write.
        tokio::time::sleep(Duration::from_millis(300)).await;
        save(&path, "[profiles.balanced.sampler]\ntemperature = 0.3\n");
        match next(&mut rx).await {
            ConfigEvent::Reloaded { config, .. } => {
                let sampler = &config.profiles["balanced"].sampler;
                assert!((sampler.temperature - 0.3).abs() < 1e-6, "{sampler:?}");
            }
            other => panic!("expected the new settings, got {other:?}"),
        }
        // Drain a possible second event of the same save (editors and notify may split it).
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(400), rx.recv()).await {}
        save(
            &path,
            "[profiles.balanced.sampler]\ntemperature = \"hot\"\n",
        );
        match next(&mut rx).await {
            ConfigEvent::Invalid(error) => {
                assert!(error.contains("profiles.toml:2:"), "{error}");
            }
            other => panic!("expected the error, got {other:?}"),
        }
        // The broken file is left as the user wrote it, for them to fix.
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"hot\""));
        save(&path, "[profiles.balanced.sampler]\ntemperature = 0.3\n");
        assert!(matches!(next(&mut rx).await, ConfigEvent::Reloaded { .. }));
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(400), rx.recv()).await {}

        // A template saved in templates/ is used from the next message.
        let template = dir.path().join("templates/concise.md");
        save(&template, "+++\n+++\nTersely: {query}");
        match next(&mut rx).await {
            ConfigEvent::Reloaded { templates, .. } => {
                let t = templates.get("concise").unwrap();
                let vars = gemma_tui::config::PromptVars {
                    query: "why?".into(),
                    ..Default::default()
                };
                assert_eq!(t.render(&vars).unwrap(), "Tersely: why?");
            }
            other => panic!("expected the new template, got {other:?}"),
        }
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(400), rx.recv()).await {}
        // A broken template is reported with its line and variable; the last good one stays.
        save(&template, "+++\n+++\nTersely:\n{qurey}");
        let mut saw_error = false;
        for _ in 0..2 {
            match next(&mut rx).await {
                ConfigEvent::Reloaded { templates, .. } => {
                    let t = templates.get("concise").unwrap();
                    assert_eq!(t.body, "Tersely: {query}", "the last good version stays");
                }
                ConfigEvent::Invalid(error) => {
                    assert!(error.contains("concise.md:4:"), "{error}");
                    assert!(error.contains("unknown variable `qurey`"), "{error}");
                    saw_error = true;
                    break;
                }
            }
        }
        assert!(saw_error);
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(400), rx.recv()).await {}

        // keymap.toml: a rebinding applies; a broken one is reported and the last good stays.
        let keymap = dir.path().join("keymap.toml");
        save(&keymap, "[global]\npick_profile = [\"F9\"]\n");
        let label = |e: &ConfigEvent| match e {
            ConfigEvent::Reloaded { keymap, .. } => keymap.label_for(Action::OpenProfilePicker),
            other => panic!("expected the new keymap, got {other:?}"),
        };
        assert_eq!(label(&next(&mut rx).await).as_deref(), Some("F9"));
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(400), rx.recv()).await {}
        save(&keymap, "[global]\npick_profile = [\"F99\"]\n");
        assert_eq!(label(&next(&mut rx).await).as_deref(), Some("F9"));
        match next(&mut rx).await {
            ConfigEvent::Invalid(error) => {
                assert!(error.contains("keymap.toml:2:1: `F99`"), "{error}")
            }
            other => panic!("expected the error, got {other:?}"),
        }
        actix::System::current().stop();
    });
}
