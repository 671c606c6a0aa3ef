//! The server actor: runs `serve`'s HTTP server beside the dashboard on the loaded model (the
//! inference actor's `SharedEngine`), and reports its start, stop, failures, a status once a
//! second (slots, queue, tokens/s) and every answered request, for the dashboard's pane.
//! `gemma-tui serve` runs the same server code headless.
mod actor;
mod messages;
#[cfg(test)]
mod tests;

pub use actor::{start, ServeActor, ServeHandle, ServeSink};
pub use messages::{ServeEvent, ServeOptions, ServeStatus, StartServer, StopServer};
