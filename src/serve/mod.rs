//! The engine as an OpenAI-compatible server: slots that decode several requests together in one
//! batched forward pass (`slots`), and the HTTP layer over them (routes, wire types, auth, limits,
//! Prometheus metrics). The actor that runs it beside the dashboard is `actors::serve`; the
//! headless command is `gemma-tui serve`.
mod job;
mod slot;
pub mod slots;
