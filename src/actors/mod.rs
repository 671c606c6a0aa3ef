//! The actix actors: inference (owns the model and the KV cache), sampling (the sampler chain's
//! state), metrics (token events and sysinfo), conversations and RAG (their redb stores), bench
//! (suites and their history) and config (watches and writes the config dir).
//!
//! Every actor folder has the same shape:
//! - `messages.rs`: the messages it takes and the events it reports (`XEvent`, sent through an
//!   `XSink`, an `Arc<dyn Fn(XEvent)>` the runtime wraps into the dashboard's `AppEvent`);
//! - `actor.rs`: the actor, its typed handle `XHandle` (the address, plus whatever the dashboard
//!   needs beside the mailbox, like the inference actor's cancel switch) and one
//!   `start(...) -> XHandle` that receives every dependency explicitly: its sink, the paths and
//!   settings it uses, the handles of the actors it talks to. No actor reads the environment or a
//!   default directory; `runtime::wiring` gives them what `RunOptions` holds.
//!
//! Blocking work (the forward pass, embeddings, redb, file reads and writes) runs on an actor's
//! own thread (a `SyncArbiter` of one: inference, RAG, conversations, bench, config), never on the
//! async executor; sampling and metrics are short computations answered on the executor. The
//! actors that can fail on a bug (inference, RAG, conversations, bench) are supervised: see
//! [`supervision`].
pub mod bench;
pub mod config;
pub mod conversations;
pub mod inference;
pub mod metrics;
pub mod rag;
pub mod sampling;
pub mod serve;
pub mod supervision;
