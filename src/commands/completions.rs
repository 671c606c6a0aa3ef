//! `gemma-tui completions SHELL`: clap's completion script for the whole command line.
use clap::CommandFactory;
use clap_complete::Shell;

use super::CommandError;
use crate::cli::Cli;

pub fn run(shell: Shell) -> Result<(), CommandError> {
    // Generated into memory first: clap_complete panics on a failed write, and stdout may be a pipe
    // that `head` has closed; `print!` here ends quietly in that case (see main.rs).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "gemma-tui", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Ok(())
}
