use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler, Message};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use crate::actors::messages::ConfigEvent;
use crate::config;

pub type ConfigSink = Arc<dyn Fn(ConfigEvent) + Send + Sync>;

/// Editors save in bursts (temp file, rename, chmod): one reload per burst.
const DEBOUNCE: Duration = Duration::from_millis(100);

pub struct ConfigActor {
    dir: PathBuf,
    /// `--profile`, which wins over settings.active_profile.
    profile: Option<String>,
    sink: ConfigSink,
    /// Kept alive for as long as the actor: dropping it stops the watch.
    watcher: Option<Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>>,
    /// Each config file's bytes at the last reload (they are small): the watcher also reports
    /// reads, ours included, which must not trigger a reload, and a same-size edit within one
    /// mtime tick must.
    seen: Vec<Option<Vec<u8>>>,
}

/// The files whose changes matter.
const WATCHED: [&str; 3] = ["settings.toml", "profiles.toml", "models.toml"];

impl ConfigActor {
    pub fn new(dir: PathBuf, profile: Option<String>, sink: ConfigSink) -> Self {
        Self {
            dir,
            profile,
            sink,
            watcher: None,
            seen: Vec::new(),
        }
    }

    fn fingerprint(&self) -> Vec<Option<Vec<u8>>> {
        WATCHED
            .iter()
            .map(|f| std::fs::read(self.dir.join(f)).ok())
            .collect()
    }

    fn reload(&self) {
        let report = config::load(&self.dir);
        if !report.warnings.is_empty() {
            let error = report.warnings.join("; ");
            tracing::warn!("config change not applied: {error}");
            return (self.sink)(ConfigEvent::Invalid(error));
        }
        match report.config.profile(self.profile.as_deref()) {
            Ok(p) => {
                let name = self
                    .profile
                    .clone()
                    .unwrap_or_else(|| report.config.settings.active_profile.clone());
                tracing::info!("config reloaded: profile {name}");
                (self.sink)(ConfigEvent::Reloaded {
                    profile: name,
                    sampler: p.sampler.clone(),
                });
            }
            Err(e) => (self.sink)(ConfigEvent::Invalid(e)),
        }
    }
}

/// Something in the config dir changed (sent by the watcher's thread).
#[derive(Message)]
#[rtype(result = "()")]
struct FilesChanged;

impl Actor for ConfigActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.seen = self.fingerprint();
        let addr = ctx.address();
        let watcher = new_debouncer(DEBOUNCE, move |res: DebounceEventResult| {
            // Our own .bak and temp files change too; a reload of unchanged content is harmless.
            if matches!(res, Ok(ref events) if !events.is_empty()) {
                addr.do_send(FilesChanged);
            }
        });
        let watched = watcher.and_then(|mut w| {
            std::fs::create_dir_all(&self.dir).ok();
            w.watcher()
                .watch(&self.dir, RecursiveMode::NonRecursive)
                .map(|_| w)
        });
        match watched {
            Ok(w) => self.watcher = Some(w),
            Err(e) => tracing::warn!(
                "cannot watch {} for changes (edits apply on restart): {e}",
                self.dir.display()
            ),
        }
    }
}

impl Handler<FilesChanged> for ConfigActor {
    type Result = ();

    fn handle(&mut self, _: FilesChanged, _: &mut Context<Self>) {
        let now = self.fingerprint();
        if now != self.seen {
            self.seen = now;
            self.reload();
        }
    }
}
