//! `gemma-tui serve`: the engine as an OpenAI-compatible HTTP server.
use super::CommandError;
use crate::cli::{Cli, ServeArgs};

pub fn run(_cli: &Cli, _args: &ServeArgs) -> Result<(), CommandError> {
    Err(CommandError::Io("serve: being written".into()))
}
