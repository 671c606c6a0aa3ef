//! The engine as an OpenAI-compatible server: slots that decode several requests together in one
//! batched forward pass (`slots`), and the HTTP layer over them: wire types and request
//! validation (`api`, `fields`), chat rendering (`render`), the answers' JSON (`reply`) and
//! streams (`sse`), routes and the server's life (`http`), the key (`auth`), Prometheus metrics
//! (`metrics`), constrained JSON replies (`response_format`), `/props` (`props`). The actor that runs it beside the dashboard is `actors::serve`; the headless
//! command is `gemma-tui serve`.
pub mod api;
pub mod auth;
pub mod error;
pub mod fields;
pub mod http;
mod job;
pub mod metrics;
pub mod props;
pub mod render;
pub mod reply;
pub mod response_format;
pub mod setup;
mod slot;
pub mod slots;
pub mod sse;
pub mod state;

pub use http::{router, serve};
pub use state::{RequestObserver, RequestRecord, ServerConfig, ServerState};
