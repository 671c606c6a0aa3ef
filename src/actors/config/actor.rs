use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, Handler, Message, SyncArbiter, SyncContext};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use super::messages::{ConfigEvent, SaveProfile};
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
    /// The templates at the last reload: a user template that breaks keeps its last good
    /// version (not the built-in of the same name).
    templates: Option<config::TemplateSet>,
    /// The last good keymap and theme: a broken edit of either keeps them.
    keymap: Arc<crate::config::keymap::Keymap>,
    theme: crate::config::theme::Theme,
}

/// The files whose changes matter.
const WATCHED: [&str; 5] = [
    "settings.toml",
    "profiles.toml",
    "models.toml",
    "keymap.toml",
    "theme.toml",
];

/// What the dashboard holds: the config actor's address.
#[derive(Clone)]
pub struct ConfigHandle {
    pub addr: Addr<ConfigActor>,
}

/// Starts the config actor on its own thread (a `SyncArbiter`: it reads and writes files), watching
/// `dir`; `profile` is `--profile`, followed across reloads. It runs while the handle (or a clone of
/// its address) lives.
pub fn start(dir: PathBuf, profile: Option<String>, sink: ConfigSink) -> ConfigHandle {
    let addr = SyncArbiter::start(1, move || {
        ConfigActor::new(dir.clone(), profile.clone(), sink.clone())
    });
    ConfigHandle { addr }
}

impl ConfigActor {
    fn new(dir: PathBuf, profile: Option<String>, sink: ConfigSink) -> Self {
        Self {
            profile,
            sink,
            watcher: None,
            seen: Vec::new(),
            templates: None,
            keymap: Arc::new(crate::config::keymap::load_keymap(&dir).unwrap_or_default()),
            theme: crate::config::theme::load_theme(&dir).unwrap_or_default(),
            dir,
        }
    }

    /// The watched files' bytes: the three config files, then the templates (by name).
    fn fingerprint(&self) -> Vec<Option<Vec<u8>>> {
        let mut prints: Vec<Option<Vec<u8>>> = WATCHED
            .iter()
            .map(|f| std::fs::read(self.dir.join(f)).ok())
            .collect();
        let templates = config::template_files::templates_dir(&self.dir);
        let mut names: Vec<_> = std::fs::read_dir(&templates)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        names.sort();
        for path in names {
            prints.push(Some(path.to_string_lossy().into_owned().into_bytes()));
            prints.push(std::fs::read(&path).ok());
        }
        prints
    }

    fn reload(&mut self) {
        let report = config::load(&self.dir);
        if !report.warnings.is_empty() {
            let error = report.warnings.join("; ");
            tracing::warn!("config change not applied: {error}");
            return (self.sink)(ConfigEvent::Invalid(error));
        }
        if let Err(e) = report.config.profile(self.profile.as_deref()) {
            return (self.sink)(ConfigEvent::Invalid(e));
        }
        let mut templates = config::load_templates(&self.dir);
        if let Some(last) = &self.templates {
            for e in &templates.errors {
                if let Some(good) = last.templates.get(&e.template) {
                    templates.templates.insert(e.template.clone(), good.clone());
                }
            }
        }
        self.templates = Some(templates.clone());
        tracing::info!("config reloaded ({} templates)", templates.templates.len());
        let mut errors: Vec<String> = templates.errors.iter().map(|e| e.to_string()).collect();
        match crate::config::keymap::load_keymap(&self.dir) {
            Ok(k) => self.keymap = Arc::new(k),
            Err(e) => errors.push(e.to_string()),
        }
        match crate::config::theme::load_theme(&self.dir) {
            Ok(t) => self.theme = t,
            Err(e) => errors.push(e.to_string()),
        }
        (self.sink)(ConfigEvent::Reloaded {
            config: Arc::new(report.config),
            templates: Arc::new(templates),
            keymap: self.keymap.clone(),
            theme: self.theme,
        });
        if !errors.is_empty() {
            (self.sink)(ConfigEvent::Invalid(errors.join("; ")));
        }
    }
}

/// Something in the config dir changed (sent by the watcher's thread).
#[derive(Message)]
#[rtype(result = "()")]
struct FilesChanged;

impl Actor for ConfigActor {
    type Context = SyncContext<Self>;

    fn started(&mut self, ctx: &mut SyncContext<Self>) {
        self.seen = self.fingerprint();
        self.templates = Some(config::load_templates(&self.dir));
        let addr = ctx.address();
        let watcher = new_debouncer(DEBOUNCE, move |res: DebounceEventResult| {
            // Our own .bak and temp files change too; a reload of unchanged content is harmless.
            if matches!(res, Ok(ref events) if !events.is_empty()) {
                addr.do_send(FilesChanged);
            }
        });
        let watched = watcher.and_then(|mut w| {
            // templates/ too: created here so that a template added later is seen.
            std::fs::create_dir_all(config::template_files::templates_dir(&self.dir)).ok();
            w.watcher()
                .watch(&self.dir, RecursiveMode::Recursive)
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

    fn handle(&mut self, _: FilesChanged, _: &mut SyncContext<Self>) {
        let now = self.fingerprint();
        if now != self.seen {
            self.seen = now;
            self.reload();
        }
    }
}

impl Handler<SaveProfile> for ConfigActor {
    type Result = Result<Arc<config::Config>, String>;

    fn handle(&mut self, msg: SaveProfile, _: &mut SyncContext<Self>) -> Self::Result {
        save_profile(&self.dir, &msg.name, &msg.profile)
    }
}

/// Writes `profile` as `name` into the config dir's profiles.toml (atomically, the old file kept
/// as .bak) and returns the config as it now reads.
fn save_profile(
    dir: &std::path::Path,
    name: &str,
    profile: &config::Profile,
) -> Result<Arc<config::Config>, String> {
    let table = config::edit::to_table(profile)?;
    config::store::edit_profiles(dir, |user: &mut toml::Table, config: &config::Config| {
        if config.profiles.contains_key(name) && config::BUILTIN_PROFILES.contains(&name) {
            return Err(format!(
                "`{name}` is a built-in profile; choose another name"
            ));
        }
        let profiles = user
            .entry("profiles")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match profiles {
            toml::Value::Table(t) => {
                t.insert(name.to_string(), toml::Value::Table(table.clone()));
                Ok(())
            }
            _ => Err("profiles.toml: `profiles` is not a table".into()),
        }
    })?;
    Ok(Arc::new(config::load(dir).config))
}
