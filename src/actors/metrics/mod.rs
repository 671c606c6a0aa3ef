//! The metrics actor: token events plus process memory and CPU (sysinfo) at 4 Hz, folded into
//! `MetricsSnapshot`s for the live graphs.
mod actor;
mod messages;
pub mod rate;

pub use actor::{start, MetricsActor, MetricsHandle, MetricsSink};
pub use messages::{MetricsSnapshot, ReplyFinished, TokenObserved};
