//! The RAG actor: owns the memory (redb store, index, MiniLM) and Gemma's tokenizer on its own
//! thread (a `SyncArbiter`), because embedding is CPU-bound and must not run on the executor.
mod actor;
mod messages;

pub use actor::{start, RagActor, RagHandle, RagSink};
pub use messages::{Add, BuildContext, Evict, RagEvent, Remember, Search, Stats};
