//! Benchmark suites, their statistics, the run history and its reports. The pure parts (suites,
//! statistics, comparisons, report rendering) are separate from the ones that touch the engine
//! (runner, perplexity) or the disk (store).
pub mod ab;
pub mod bandwidth;
pub mod compare;
pub mod ctx_perplexity;
pub mod long_series;
pub mod machine;
pub mod parallel;
pub mod perplexity;
pub mod perplexity_chunks;
pub mod perplexity_stream;
pub mod plan;
pub mod record;
pub mod remote_run;
pub mod report;
pub mod runner;
pub mod stats;
pub mod store;
pub mod suite;

pub use compare::{compare, Comparison, Verdict};
pub use record::{RunRecord, METRICS};
pub use runner::{Progress, RunError, RunPlan};
pub use store::BenchStore;
pub use suite::Suite;
