//! The bench pane's state (F4): the suites to pick from, the running suite's progress with the
//! latest per-token latencies, and the stored history for the charts and the comparison view.
//! Pure: the bench actor's events fold in here, the keys come through named actions.
use std::collections::VecDeque;

use super::action::Action;
use super::effect::Effect;
use super::outcome::{Ctx, Outcome};
use crate::actors::bench::BenchEvent;
use crate::bench::{compare, Comparison, Progress, RunRecord};

/// Per-token latencies kept for the live sparkline.
pub const LIVE_LATENCIES: usize = 240;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BenchView {
    /// Throughput per run and the latency histogram.
    #[default]
    Charts,
    /// The latest run against its baseline (or the run before it).
    Compare,
}

/// A suite being run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRun {
    pub suite: String,
    /// Runs in the suite (models × profiles) and the current one (from 0).
    pub runs: usize,
    pub run: usize,
    pub progress: Option<Progress>,
    pub recent_ms: VecDeque<f64>,
    pub cancelling: bool,
    /// What the suite names that this build cannot run (see `BenchEvent::Started`).
    pub note: Option<String>,
}

impl BenchRun {
    /// 0..=1 over the whole suite.
    pub fn fraction(&self) -> f64 {
        let within = self.progress.as_ref().map_or(0.0, |p| p.fraction);
        ((self.run as f64 + within) / self.runs.max(1) as f64).clamp(0.0, 1.0)
    }
}

#[derive(Debug, Clone, Default)]
pub struct BenchPane {
    /// (name, description).
    pub suites: Vec<(String, String)>,
    pub selected: usize,
    pub run: Option<BenchRun>,
    /// Stored runs, oldest first.
    pub history: Vec<RunRecord>,
    pub baselines: Vec<(String, u64)>,
    pub view: BenchView,
    /// The latest finished run's comparison with its suite's baseline.
    pub last_verdict: Option<Comparison>,
    /// The outcome of the last suite, or an error.
    pub message: Option<String>,
}

impl BenchPane {
    pub fn running(&self) -> bool {
        self.run.is_some()
    }

    pub fn selected_suite(&self) -> Option<&str> {
        self.suites
            .get(self.selected.min(self.suites.len().saturating_sub(1)))
            .map(|(n, _)| n.as_str())
    }

    pub fn select(&mut self, delta: isize) {
        let n = self.suites.len();
        if n > 0 {
            self.selected = (self.selected as isize + delta).rem_euclid(n as isize) as usize;
        }
    }

    pub fn is_baseline(&self, id: u64) -> bool {
        self.baselines.iter().any(|(_, b)| *b == id)
    }

    /// The latest run against its suite's baseline, else against the previous run of its suite.
    pub fn comparison(&self) -> Option<(u64, u64, Comparison)> {
        let latest = self.history.last()?;
        let base = self
            .baselines
            .iter()
            .find(|(s, id)| *s == latest.suite && *id != latest.id)
            .and_then(|(_, id)| self.history.iter().find(|r| r.id == *id))
            .or_else(|| {
                self.history
                    .iter()
                    .rev()
                    .skip(1)
                    .find(|r| r.suite == latest.suite)
            })?;
        let c = compare(base, latest, crate::bench::compare::DEFAULT_THRESHOLD_PCT);
        Some((base.id, latest.id, c))
    }

    /// Folds one event in; returns a line for the status bar, if the event deserves one.
    pub fn on_event(&mut self, event: BenchEvent) -> Option<String> {
        match event {
            BenchEvent::Suites(suites) => {
                let keep = self.selected_suite().map(str::to_string);
                self.suites = suites;
                self.selected = keep
                    .and_then(|k| self.suites.iter().position(|(n, _)| *n == k))
                    .or_else(|| self.suites.iter().position(|(n, _)| n == "quick"))
                    .unwrap_or(0);
                None
            }
            BenchEvent::History { runs, baselines } => {
                self.history = runs;
                self.baselines = baselines;
                None
            }
            BenchEvent::Started { suite, runs, note } => {
                self.message = None;
                self.last_verdict = None;
                let mut text = format!("benchmark `{suite}` started ({runs} runs)");
                if let Some(note) = &note {
                    text.push_str(&format!("; note: {note}"));
                }
                self.run = Some(BenchRun {
                    suite,
                    runs,
                    run: 0,
                    progress: None,
                    recent_ms: VecDeque::with_capacity(LIVE_LATENCIES),
                    cancelling: false,
                    note,
                });
                Some(text)
            }
            BenchEvent::Progress { run, progress } => {
                if let Some(r) = &mut self.run {
                    r.run = run;
                    if let Some(ms) = progress.token_ms.filter(|v| v.is_finite()) {
                        if r.recent_ms.len() >= LIVE_LATENCIES {
                            r.recent_ms.pop_front();
                        }
                        r.recent_ms.push_back(ms);
                    }
                    r.progress = Some(progress);
                }
                None
            }
            BenchEvent::Finished {
                record,
                against_baseline,
            } => {
                let id = record.id;
                self.history.push(*record);
                let regression = against_baseline.as_ref().is_some_and(|c| c.regression);
                self.last_verdict = against_baseline.map(|c| *c);
                if regression {
                    self.view = BenchView::Compare;
                    let text = format!("run #{id} is a REGRESSION against its baseline");
                    self.message = Some(text.clone());
                    Some(text)
                } else {
                    Some(format!("benchmark run #{id} stored"))
                }
            }
            BenchEvent::Done => {
                let (suite, note) = self
                    .run
                    .take()
                    .map(|r| (r.suite, r.note))
                    .unwrap_or_default();
                if self.message.is_none() {
                    // The note stays with the result, so what the suite left out is not
                    // forgotten once the status bar moves on.
                    self.message = Some(match note {
                        Some(note) => format!("suite `{suite}` done; note: {note}"),
                        None => format!("suite `{suite}` done"),
                    });
                }
                Some(format!("benchmark `{suite}` done"))
            }
            BenchEvent::Cancelled => {
                self.run = None;
                self.message = Some("cancelled: the unfinished run was not stored".into());
                Some("benchmark cancelled".into())
            }
            BenchEvent::Profiles(_) | BenchEvent::Ab(_) | BenchEvent::AbDone(_) => None,
            BenchEvent::Failed(e) => {
                self.run = None;
                self.message = Some(format!("failed: {e}"));
                Some(format!("benchmark failed: {e}"))
            }
        }
    }
}

impl BenchPane {
    /// One of the bench pane's actions: what it changes here and what it asks for.
    pub fn handle(&mut self, action: Action, ctx: &Ctx) -> Outcome {
        match action {
            Action::ToggleBench => {
                if ctx.open {
                    return Outcome::close();
                }
                return Outcome::open().and(Effect::RefreshBench);
            }
            Action::BenchPrevSuite => self.select(-1),
            Action::BenchNextSuite => self.select(1),
            Action::BenchStart => {
                if self.running() {
                    return Outcome::status("a suite is already running");
                } else if ctx.generating {
                    return Outcome::status("a reply is being generated: wait for it first");
                } else if !ctx.engine_idle {
                    return Outcome::status("the model is not ready yet");
                } else if let Some(suite) = self.selected_suite() {
                    return Outcome::effect(Effect::StartBench(suite.to_string()));
                }
            }
            Action::BenchCancel => {
                if let Some(run) = &mut self.run {
                    run.cancelling = true;
                    return Outcome::status("cancelling the benchmark…").and(Effect::CancelBench);
                }
            }
            Action::BenchToggleView => {
                self.view = match self.view {
                    BenchView::Charts => BenchView::Compare,
                    BenchView::Compare => BenchView::Charts,
                }
            }
            Action::BenchPinBaseline => {
                if let Some(latest) = self.history.last() {
                    let (id, suite) = (latest.id, latest.suite.clone());
                    return Outcome::status(format!("run #{id} is the baseline of `{suite}`"))
                        .and(Effect::PinBaseline(id));
                }
            }
            _ => {}
        }
        Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::IterationMetrics;

    fn record(id: u64, suite: &str, decode: &[f64]) -> RunRecord {
        let mut r = RunRecord::example(
            suite,
            decode
                .iter()
                .map(|&d| IterationMetrics {
                    decode_tok_s: d,
                    ..Default::default()
                })
                .collect(),
        );
        r.id = id;
        r
    }

    fn progress(fraction: f64, token_ms: Option<f64>) -> Progress {
        Progress {
            fraction,
            iteration: 1,
            iterations: 3,
            warmup: false,
            phase: "pp64".into(),
            token_ms,
        }
    }

    #[test]
    fn a_suite_runs_from_start_to_done() {
        let mut p = BenchPane::default();
        p.on_event(BenchEvent::Suites(vec![
            ("long-context".into(), String::new()),
            ("quick".into(), String::new()),
        ]));
        assert_eq!(p.selected_suite(), Some("quick"), "quick is preselected");
        p.select(1);
        assert_eq!(p.selected_suite(), Some("long-context"), "wraps around");
        let status = p.on_event(BenchEvent::Started {
            suite: "quick".into(),
            runs: 2,
            note: Some("suite `quick` also names llama-cpp".into()),
        });
        assert!(status
            .unwrap()
            .ends_with("; note: suite `quick` also names llama-cpp"));
        assert!(p.running());
        p.on_event(BenchEvent::Progress {
            run: 1,
            progress: progress(0.5, Some(16.5)),
        });
        let run = p.run.as_ref().unwrap();
        assert_eq!(run.fraction(), 0.75);
        assert_eq!(run.recent_ms.iter().copied().collect::<Vec<_>>(), [16.5]);
        for _ in 0..LIVE_LATENCIES + 5 {
            p.on_event(BenchEvent::Progress {
                run: 1,
                progress: progress(0.6, Some(17.0)),
            });
        }
        assert_eq!(p.run.as_ref().unwrap().recent_ms.len(), LIVE_LATENCIES);
        let status = p.on_event(BenchEvent::Finished {
            record: Box::new(record(4, "quick", &[60.0])),
            against_baseline: None,
        });
        assert_eq!(status.as_deref(), Some("benchmark run #4 stored"));
        p.on_event(BenchEvent::Done);
        assert!(!p.running());
        assert_eq!(p.history.len(), 1);
        assert_eq!(
            p.message.as_deref(),
            Some("suite `quick` done; note: suite `quick` also names llama-cpp"),
            "what the suite left out stays in the pane"
        );
    }

    #[test]
    fn a_regression_switches_to_the_comparison() {
        let mut p = BenchPane::default();
        let base = record(1, "quick", &[60.0, 61.0, 60.5]);
        let slow = record(2, "quick", &[40.0, 41.0, 40.5]);
        p.on_event(BenchEvent::History {
            runs: vec![base.clone()],
            baselines: vec![("quick".into(), 1)],
        });
        p.on_event(BenchEvent::Started {
            suite: "quick".into(),
            runs: 1,
            note: None,
        });
        let c = compare(&base, &slow, 5.0);
        let status = p.on_event(BenchEvent::Finished {
            record: Box::new(slow),
            against_baseline: Some(Box::new(c)),
        });
        assert!(status.unwrap().contains("REGRESSION"));
        assert_eq!(p.view, BenchView::Compare);
        let (a, b, c) = p.comparison().unwrap();
        assert_eq!((a, b, c.regression), (1, 2, true));
        assert!(p.is_baseline(1) && !p.is_baseline(2));
    }

    #[test]
    fn without_a_baseline_the_previous_run_of_the_suite_is_compared() {
        let mut p = BenchPane::default();
        p.on_event(BenchEvent::History {
            runs: vec![
                record(1, "quick", &[60.0, 61.0]),
                record(2, "standard", &[50.0, 51.0]),
                record(3, "quick", &[60.0, 61.0]),
            ],
            baselines: vec![],
        });
        let (a, b, c) = p.comparison().unwrap();
        assert_eq!((a, b, c.regression), (1, 3, false));
        p.on_event(BenchEvent::Failed("boom".into()));
        assert_eq!(p.message.as_deref(), Some("failed: boom"));
    }
}
