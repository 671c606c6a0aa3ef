//! The bench actor: resolves a suite into runs, has the inference actor execute them on its
//! thread (it owns the model and the CPU), stores each finished run in the history and tells the
//! dashboard how far it is.
mod actor;
mod messages;

pub use actor::{start, BenchActor, BenchHandle, BenchSink, AB_MODEL};
pub use messages::{BenchEvent, CancelBench, PinBaseline, RefreshBench, StartAb, StartBench};
