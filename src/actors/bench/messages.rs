use actix::Message;

use crate::bench::{Comparison, Progress, RunRecord};

/// What the bench actor tells the dashboard.
#[derive(Debug, Clone)]
pub enum BenchEvent {
    /// The suites that can be started: (name, description).
    Suites(Vec<(String, String)>),
    /// The stored runs (oldest first, the last few) and the pinned baselines (suite, run id).
    History {
        runs: Vec<RunRecord>,
        baselines: Vec<(String, u64)>,
    },
    /// A suite started: `runs` runs (models × profiles); `note` says what of the suite this
    /// build cannot run (an engine it lacks), as the headless `bench` does.
    Started {
        suite: String,
        runs: usize,
        note: Option<String>,
    },
    /// Where the current run is; `run` counts from 0.
    Progress {
        run: usize,
        progress: Progress,
    },
    /// A run finished and was stored; compared with the suite's baseline when one is pinned.
    Finished {
        record: Box<RunRecord>,
        against_baseline: Option<Box<Comparison>>,
    },
    /// Every run of the suite is done.
    Done,
    Cancelled,
    Failed(String),
    /// The profiles the A/B panes can pick from.
    Profiles(Vec<String>),
    /// One A/B side advanced.
    Ab(crate::bench::ab::AbUpdate),
    /// The A/B replies ended (with the error, if one failed).
    AbDone(Option<String>),
}

impl PartialEq for BenchEvent {
    /// Events carry floats and large records; the dashboard's tests compare their kind only.
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Start a suite by name.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StartBench {
    pub suite: String,
}

/// Stop the running suite at its next token (nothing of the unfinished run is stored).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CancelBench;

/// Send the suites and the stored history again.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RefreshBench;

/// Stream a prompt under two profiles side by side.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StartAb {
    pub prompt: String,
    pub a: String,
    pub b: String,
}

/// Pin a stored run as its suite's baseline.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PinBaseline {
    pub run: u64,
}
