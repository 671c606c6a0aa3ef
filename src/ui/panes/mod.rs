//! One file per pane. Each `render` reads the state (and updates scroll bookkeeping).
pub mod ab;
pub mod bench;
pub mod chat;
pub mod graphs;
pub mod help;
pub mod input;
pub mod inspector;
pub mod log;
pub mod picker;
pub mod rag;
pub mod sampler;
pub mod server;
pub mod status;
