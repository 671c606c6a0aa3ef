use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, AsyncContext, Context, Handler};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::messages::MetricsSnapshot;
use super::messages::{ReplyFinished, TokenObserved};
use super::rate::RateWindow;

pub type MetricsSink = Arc<dyn Fn(MetricsSnapshot) + Send + Sync>;

/// What the dashboard and the inference actor hold: the metrics actor's address.
#[derive(Clone)]
pub struct MetricsHandle {
    pub addr: Addr<MetricsActor>,
}

/// Starts the metrics actor (on the executor: it folds token events and reads this process's
/// own /proc entry at 4 Hz, a few microseconds); its snapshots go to `sink`.
pub fn start(sink: MetricsSink) -> MetricsHandle {
    MetricsHandle {
        addr: MetricsActor::new(sink).start(),
    }
}

const SAMPLE_EVERY: Duration = Duration::from_millis(250);

pub struct MetricsActor {
    started: Instant,
    sink: MetricsSink,
    /// `None` where sysinfo cannot read this platform's process table.
    system: Option<System>,
    pid: Pid,
    rate: RateWindow,
    total_tokens: u64,
    last_ttft_ms: Option<f64>,
}

impl MetricsActor {
    pub fn new(sink: MetricsSink) -> Self {
        Self {
            started: Instant::now(),
            sink,
            system: System::new().ok(),
            pid: Pid::from_u32(std::process::id()),
            rate: RateWindow::new(Duration::from_secs(1)),
            total_tokens: 0,
            last_ttft_ms: None,
        }
    }

    fn sample(&mut self) {
        let (rss, cpu) = match self.system.as_mut() {
            Some(system) => {
                system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[self.pid]),
                    true,
                    ProcessRefreshKind::nothing().with_memory().with_cpu(),
                );
                system
                    .process(self.pid)
                    .map(|p| (p.memory(), p.cpu_usage()))
                    .unwrap_or((0, 0.0))
            }
            None => (0, 0.0),
        };
        let now = Instant::now();
        (self.sink)(MetricsSnapshot {
            t: now.duration_since(self.started).as_secs_f64(),
            token_rate: self.rate.rate(now),
            last_ttft_ms: self.last_ttft_ms,
            rss_bytes: rss,
            cpu_percent: cpu,
            total_tokens: self.total_tokens,
        });
    }
}

impl Actor for MetricsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(SAMPLE_EVERY, |actor, _| actor.sample());
    }
}

impl Handler<TokenObserved> for MetricsActor {
    type Result = ();

    fn handle(&mut self, msg: TokenObserved, _: &mut Context<Self>) {
        self.rate.record(msg.at);
        self.total_tokens += 1;
    }
}

impl Handler<ReplyFinished> for MetricsActor {
    type Result = ();

    fn handle(&mut self, msg: ReplyFinished, _: &mut Context<Self>) {
        self.last_ttft_ms = Some(msg.ttft_ms);
    }
}
