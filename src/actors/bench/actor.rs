use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::{Actor, Addr, Handler, Message, SyncArbiter, SyncContext};

use super::messages::{BenchEvent, CancelBench, PinBaseline, RefreshBench, StartAb, StartBench};
use crate::actors::inference::{InferenceActor, RunAb, RunBench};
use crate::actors::supervision::{guard, ActorName, RestartSink, Supervised};
use crate::bench::ab::{AbModel, AbSide};
use crate::bench::plan::{plans, Overrides};
use crate::bench::suite::load_suites;
use crate::bench::{compare, BenchStore, RunError, RunRecord};
use crate::config::templates::{system_prompt, PromptVars};

pub type BenchSink = Arc<dyn Fn(BenchEvent) + Send + Sync>;

/// Runs shown in the dashboard's charts (the newest).
const HISTORY_RUNS: usize = 30;

pub struct BenchActor {
    sink: BenchSink,
    inference: Addr<InferenceActor>,
    config_dir: PathBuf,
    store_path: PathBuf,
    overrides: Overrides,
    /// Regression threshold in percent.
    threshold_pct: f64,
    cancel: Arc<AtomicBool>,
    running: bool,
    /// Where A/B sides find GGUFs by file name.
    models_dir: PathBuf,
    /// Where a panic is reported (the actor is then rebuilt; see `actors::supervision`).
    restarts: RestartSink,
}

/// What the dashboard holds: the bench actor's address.
#[derive(Clone)]
pub struct BenchHandle {
    pub addr: Addr<BenchActor>,
}

/// Starts the bench actor on its own thread (it reads suites, config and the redb history):
/// `suites_dir` is the config dir its suites and profiles are read from, `store_path` the
/// history, `models_dir` where A/B sides find GGUFs, `overrides` the dashboard's own flags.
pub fn start(
    sink: BenchSink,
    restarts: RestartSink,
    inference: Addr<InferenceActor>,
    suites_dir: PathBuf,
    store_path: PathBuf,
    models_dir: PathBuf,
    overrides: Overrides,
) -> BenchHandle {
    let addr = SyncArbiter::start(1, move || BenchActor {
        sink: sink.clone(),
        inference: inference.clone(),
        config_dir: suites_dir.clone(),
        store_path: store_path.clone(),
        overrides: overrides.clone(),
        threshold_pct: crate::bench::compare::DEFAULT_THRESHOLD_PCT,
        cancel: Arc::new(AtomicBool::new(false)),
        running: false,
        models_dir: models_dir.clone(),
        restarts: restarts.clone(),
    });
    BenchHandle { addr }
}

impl BenchActor {
    fn send_suites(&self) {
        match load_suites(&self.config_dir) {
            Ok(suites) => (self.sink)(BenchEvent::Suites(
                suites
                    .into_iter()
                    .map(|(name, s)| (name, s.description))
                    .collect(),
            )),
            Err(e) => (self.sink)(BenchEvent::Failed(e)),
        }
    }

    fn send_history(&self) {
        (self.sink)(match history(&self.store_path) {
            Ok((runs, baselines)) => BenchEvent::History { runs, baselines },
            Err(e) => BenchEvent::Failed(e),
        });
    }
}

/// The newest stored runs and the pinned baselines (suite, run id).
type History = (Vec<RunRecord>, Vec<(String, u64)>);

fn history(path: &std::path::Path) -> Result<History, String> {
    if !path.exists() {
        // Opening would create it: leave that to the first stored run.
        return Ok((Vec::new(), Vec::new()));
    }
    let store = BenchStore::open(path).map_err(|e| e.to_string())?;
    let mut runs = store.list().map_err(|e| e.to_string())?;
    runs.drain(..runs.len().saturating_sub(HISTORY_RUNS));
    Ok((runs, store.baselines().map_err(|e| e.to_string())?))
}

/// Stores a finished run and compares it with its suite's baseline (on the inference thread,
/// where the run finished: no disk IO on the async executor).
fn store_run(
    path: &std::path::Path,
    record: RunRecord,
    threshold_pct: f64,
) -> Result<BenchEvent, String> {
    let store = BenchStore::open(path).map_err(|e| e.to_string())?;
    let record = store.insert(record).map_err(|e| e.to_string())?;
    let against_baseline = store
        .baseline(&record.suite)
        .map_err(|e| e.to_string())?
        .filter(|b| b.id != record.id)
        .map(|b| Box::new(compare(&b, &record, threshold_pct)));
    Ok(BenchEvent::Finished {
        record: Box::new(record),
        against_baseline,
    })
}

impl Actor for BenchActor {
    type Context = SyncContext<Self>;

    fn started(&mut self, _: &mut SyncContext<Self>) {
        let config = crate::config::load(&self.config_dir).config;
        let mut sides: Vec<String> = config.profiles.keys().cloned().collect();
        sides.extend(ab_models(&config, &self.models_dir));
        (self.sink)(BenchEvent::Profiles(sides));
        self.send_suites();
        self.send_history();
    }
}

impl Handler<StartBench> for BenchActor {
    type Result = ();

    fn handle(&mut self, msg: StartBench, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            if self.running {
                return (self.sink)(BenchEvent::Failed("a suite is already running".into()));
            }
            let config = crate::config::load(&self.config_dir).config;
            let (plans, note) = match plans(&self.config_dir, &config, &msg.suite, &self.overrides)
            {
                Ok(p) => p,
                Err(e) => return (self.sink)(BenchEvent::Failed(e)),
            };
            if let Some(note) = &note {
                tracing::warn!("{note}");
            }
            self.running = true;
            self.cancel.store(false, Ordering::SeqCst);
            (self.sink)(BenchEvent::Started {
                suite: msg.suite.clone(),
                runs: plans.len(),
                note,
            });
            let (progress_sink, finished_sink) = (self.sink.clone(), self.sink.clone());
            let (path, threshold) = (self.store_path.clone(), self.threshold_pct);
            let request = RunBench {
                plans,
                progress: Arc::new(move |run, progress| {
                    progress_sink(BenchEvent::Progress { run, progress })
                }),
                finished: Arc::new(move |record| {
                    finished_sink(
                        store_run(&path, record, threshold).unwrap_or_else(BenchEvent::Failed),
                    )
                }),
                cancel: self.cancel.clone(),
            };
            // The run goes on on the inference thread; its end comes back as a message.
            let (inference, me) = (self.inference.clone(), ctx.address());
            actix::System::current().arbiter().spawn(async move {
                let result = inference
                    .send(request)
                    .await
                    .map_err(|e| RunError::Engine(format!("inference actor: {e}")))
                    .and_then(|r| r);
                me.do_send(SuiteEnded(result));
            });
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

/// A suite's end, from the task that waited for the inference actor.
#[derive(Message)]
#[rtype(result = "()")]
struct SuiteEnded(Result<(), RunError>);

impl Handler<SuiteEnded> for BenchActor {
    type Result = ();

    fn handle(&mut self, msg: SuiteEnded, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.running = false;
            // The history first: once the end is reported, the store is closed (a test or
            // another process may open it).
            self.send_history();
            (self.sink)(match msg.0 {
                Ok(()) => BenchEvent::Done,
                Err(RunError::Cancelled) => BenchEvent::Cancelled,
                Err(e) => BenchEvent::Failed(e.to_string()),
            });
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<CancelBench> for BenchActor {
    type Result = ();

    fn handle(&mut self, _: CancelBench, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.cancel.store(true, Ordering::SeqCst);
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<RefreshBench> for BenchActor {
    type Result = ();

    fn handle(&mut self, _: RefreshBench, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            self.send_suites();
            self.send_history();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

impl Handler<PinBaseline> for BenchActor {
    type Result = ();

    fn handle(&mut self, msg: PinBaseline, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let result = BenchStore::open(&self.store_path)
                .and_then(|s| s.set_baseline(msg.run))
                .map_err(|e| e.to_string());
            if let Err(e) = result {
                (self.sink)(BenchEvent::Failed(e));
            }
            self.send_history();
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

/// Most tokens each A/B side generates (the profiles' own limit when lower).
const AB_MAX_TOKENS: usize = 256;

/// An A/B side that names a model rather than a profile: `model:NAME`, sent as
/// `model:NAME@PROFILE` (the profile it runs under; settings' active one when absent).
pub const AB_MODEL: &str = "model:";

/// The A/B sides that are models: models.toml's names, then the models dir's GGUFs no entry
/// names (by file name).
fn ab_models(config: &crate::config::Config, dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = config.models.keys().cloned().collect();
    let named: Vec<PathBuf> = config
        .models
        .values()
        .map(|m| PathBuf::from(&m.path))
        .collect();
    if let Ok(installed) = crate::models::list_installed_in(dir) {
        for m in installed {
            let default = m.path == dir.join(crate::models::DEFAULT_MODEL.file_name);
            let in_config = named.contains(&m.path)
                || default && config.models.values().any(|e| e.path.is_empty());
            if !in_config {
                names.push(m.name);
            }
        }
    }
    names
        .into_iter()
        .map(|n| format!("{AB_MODEL}{n}"))
        .collect()
}

/// `NAME` of a `model:NAME` side: a models.toml name, a GGUF in the models dir, or a path.
fn ab_model(config: &crate::config::Config, dir: &Path, name: &str) -> Result<AbModel, String> {
    let path = match config.models.get(name) {
        Some(e) if e.path.is_empty() => dir.join(crate::models::DEFAULT_MODEL.file_name),
        Some(e) => PathBuf::from(&e.path),
        None => {
            let installed = dir.join(name);
            if installed.is_file() {
                installed
            } else {
                PathBuf::from(name)
            }
        }
    };
    if !path.is_file() {
        return Err(format!("model {name}: {} does not exist", path.display()));
    }
    Ok(AbModel {
        kind_override: config.kind_override(&path),
        path,
    })
}

impl Handler<StartAb> for BenchActor {
    type Result = ();

    fn handle(&mut self, msg: StartAb, ctx: &mut SyncContext<Self>) {
        // Supervised: see actors::supervision.
        match guard(|| {
            let config = crate::config::load(&self.config_dir).config;
            let templates = crate::config::load_templates(&self.config_dir);
            let side = |side: &str| {
                let (name, model) = match side.strip_prefix(AB_MODEL) {
                    Some(rest) => {
                        let (model, profile) = rest.rsplit_once('@').unwrap_or((rest, ""));
                        let profile = Some(profile)
                            .filter(|p| !p.is_empty())
                            .unwrap_or(&config.settings.active_profile);
                        (profile, Some(ab_model(&config, &self.models_dir, model)?))
                    }
                    None => (side, None),
                };
                let p = config.profile(Some(name))?;
                let template = templates.get(&p.template)?;
                let system = system_prompt(p.system_prompt(), template).map(str::to_string);
                let dialogue = templates.dialogue(&PromptVars {
                    system: system.clone().unwrap_or_default(),
                    profile: name.to_string(),
                    ..PromptVars::default()
                })?;
                let stop = p.stop.iter().chain(&template.meta.stop).cloned().collect();
                Ok::<_, String>((
                    AbSide {
                        label: side.to_string(),
                        sampler: p.sampler.clone(),
                        system,
                        dialogue,
                        stop,
                        model,
                    },
                    p.max_tokens,
                ))
            };
            let (a, b) = match (side(&msg.a), side(&msg.b)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return (self.sink)(BenchEvent::AbDone(Some(e))),
            };
            self.cancel.store(false, Ordering::SeqCst);
            let sink = self.sink.clone();
            let request = RunAb {
                prompt: msg.prompt,
                max_tokens: a.1.min(b.1).min(AB_MAX_TOKENS),
                sides: [a.0, b.0],
                updates: Arc::new(move |u| sink(BenchEvent::Ab(u))),
                cancel: self.cancel.clone(),
            };
            let (inference, sink) = (self.inference.clone(), self.sink.clone());
            actix::System::current().arbiter().spawn(async move {
                sink(BenchEvent::AbDone(match inference.send(request).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(e) => Some(format!("inference actor: {e}")),
                }))
            });
        }) {
            Ok(r) => r,
            Err(reason) => self.restart(ctx, reason),
        }
    }
}

crate::actors::supervision::handle_inject_panic!(BenchActor);

impl Supervised for BenchActor {
    const NAME: ActorName = ActorName::Bench;

    fn restart_sink(&self) -> &RestartSink {
        &self.restarts
    }

    /// A running suite is cancelled (its end reaches the successor).
    fn before_restart(&mut self, _: &mut SyncContext<Self>) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}
