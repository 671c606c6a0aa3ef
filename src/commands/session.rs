//! `gemma-tui session list|show|export|rename|delete`: the conversations the dashboard stored.
use std::io::Write;

use gemma_tui::config::write_atomic;
use gemma_tui::conversations::{self, data_dir, ConversationStore};

use super::CommandError;
use crate::cli::{ExportFormat, SessionCommand};

pub fn run(cmd: &SessionCommand) -> Result<(), CommandError> {
    let store = ConversationStore::in_dir(&data_dir());
    let fail = CommandError::Io;
    match cmd {
        SessionCommand::List { json } => {
            let list = store.list().map_err(fail)?;
            if *json {
                let v = serde_json::to_string_pretty(&list).map_err(|e| fail(e.to_string()))?;
                println!("{v}");
            } else if list.is_empty() {
                println!("no conversations yet ({})", store.path().display());
            } else {
                for m in list {
                    println!(
                        "{:<17} {:>4} msgs  {:<10} {}",
                        m.id, m.messages, m.profile, m.title
                    );
                }
            }
        }
        SessionCommand::Show { id } => {
            let (meta, messages) = store.load(store.resolve(id).map_err(fail)?).map_err(fail)?;
            print!("{}", conversations::to_markdown(&meta, &messages));
        }
        SessionCommand::Export { id, format, output } => {
            let (meta, messages) = store.load(store.resolve(id).map_err(fail)?).map_err(fail)?;
            let text = match format {
                ExportFormat::Md => conversations::to_markdown(&meta, &messages),
                ExportFormat::Json => {
                    let v = conversations::to_json(&meta, &messages);
                    serde_json::to_string_pretty(&v).map_err(|e| fail(e.to_string()))? + "\n"
                }
            };
            match output {
                Some(path) => {
                    write_atomic(path, text.as_bytes())
                        .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
                    eprintln!("wrote {}", path.display());
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    if let Err(e) = out.write_all(text.as_bytes()) {
                        if e.kind() != std::io::ErrorKind::BrokenPipe {
                            return Err(fail(e.to_string()));
                        }
                    }
                }
            }
        }
        SessionCommand::Rename { id, title } => {
            let id = store.resolve(id).map_err(fail)?;
            store.rename(id, title).map_err(fail)?;
            println!("renamed {id} to “{}”", title.trim());
        }
        SessionCommand::Delete { id } => {
            let id = store.resolve(id).map_err(fail)?;
            store.delete(id).map_err(fail)?;
            println!("deleted {id}");
        }
    }
    Ok(())
}
