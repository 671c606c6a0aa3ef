//! The conversation file: `conversations.redb` in the data dir. It is opened for each operation
//! and closed after, so `gemma-tui session ...` works while a dashboard runs (redb locks an open
//! file); a writer that finds it busy retries briefly. Each append is one durable transaction.
use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

pub use crate::config::{data_dir, DATA_DIR_ENV};

use super::{title_from, ConversationMeta, StoredMessage, StoredRole};

const META: TableDefinition<u64, &[u8]> = TableDefinition::new("conversations");
const MESSAGES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("messages");
const STATE: TableDefinition<&str, u64> = TableDefinition::new("state");
const LAST: &str = "last";

#[derive(Debug, Clone)]
pub struct ConversationStore {
    path: PathBuf,
}

type Result<T> = std::result::Result<T, String>;

fn bytes<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("conversation records serialise")
}

fn parse<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| format!("a damaged record: {e}"))
}

impl ConversationStore {
    /// The store in `dir` (created on the first write).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join("conversations.redb"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> String {
        format!("conversation store {}: {e}", self.path.display())
    }

    /// Opens (or creates) the file, waiting up to ~2 s for another process to let go of it.
    fn open(&self) -> Result<Database> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| self.err(e))?;
        }
        let mut waited = Duration::ZERO;
        loop {
            match Database::create(&self.path) {
                Ok(db) => return Ok(db),
                Err(DatabaseError::DatabaseAlreadyOpen) if waited < Duration::from_secs(2) => {
                    std::thread::sleep(Duration::from_millis(20));
                    waited += Duration::from_millis(20);
                }
                Err(e) => return Err(self.err(e)),
            }
        }
    }

    /// Commits one finished message to conversation `meta.id` (created with `meta`'s profile and
    /// model on its first message) and makes it the last conversation.
    pub fn append(&self, meta: &ConversationMeta, message: &StoredMessage) -> Result<()> {
        let db = self.open()?;
        let tx = db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut metas = tx.open_table(META).map_err(|e| self.err(e))?;
            let mut current = match metas.get(meta.id).map_err(|e| self.err(e))? {
                Some(v) => parse::<ConversationMeta>(v.value())?,
                None => ConversationMeta {
                    messages: 0,
                    ..meta.clone()
                },
            };
            if current.title.is_empty() && message.role == StoredRole::User {
                current.title = title_from(&message.text);
            }
            let mut messages = tx.open_table(MESSAGES).map_err(|e| self.err(e))?;
            messages
                .insert((meta.id, current.messages), bytes(message).as_slice())
                .map_err(|e| self.err(e))?;
            current.messages += 1;
            current.updated_ms = message.at_ms.max(current.updated_ms);
            current.profile = meta.profile.clone();
            metas
                .insert(meta.id, bytes(&current).as_slice())
                .map_err(|e| self.err(e))?;
            let mut state = tx.open_table(STATE).map_err(|e| self.err(e))?;
            state.insert(LAST, meta.id).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every conversation, the most recently updated first. No file yet: none.
    pub fn list(&self) -> Result<Vec<ConversationMeta>> {
        if !self.path.exists() {
            return Ok(Vec::new());
        }
        let db = self.open()?;
        let tx = db.begin_read().map_err(|e| self.err(e))?;
        let metas = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::new();
        for entry in metas.iter().map_err(|e| self.err(e))? {
            let (_, v) = entry.map_err(|e| self.err(e))?;
            out.push(parse::<ConversationMeta>(v.value())?);
        }
        out.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// A conversation and its messages.
    pub fn load(&self, id: u64) -> Result<(ConversationMeta, Vec<StoredMessage>)> {
        let missing = || format!("no conversation {id}");
        if !self.path.exists() {
            return Err(missing());
        }
        let db = self.open()?;
        let tx = db.begin_read().map_err(|e| self.err(e))?;
        let metas = tx.open_table(META).map_err(|_| missing())?;
        let meta = match metas.get(id).map_err(|e| self.err(e))? {
            Some(v) => parse::<ConversationMeta>(v.value())?,
            None => return Err(missing()),
        };
        let table = tx.open_table(MESSAGES).map_err(|e| self.err(e))?;
        let mut messages = Vec::new();
        for entry in table
            .range((id, 0)..=(id, u32::MAX))
            .map_err(|e| self.err(e))?
        {
            let (_, v) = entry.map_err(|e| self.err(e))?;
            messages.push(parse::<StoredMessage>(v.value())?);
        }
        Ok((meta, messages))
    }

    /// The conversation the dashboard used last, if it still exists.
    pub fn last(&self) -> Result<Option<u64>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let db = self.open()?;
        let tx = db.begin_read().map_err(|e| self.err(e))?;
        let last = match tx.open_table(STATE) {
            Ok(t) => t.get(LAST).map_err(|e| self.err(e))?.map(|v| v.value()),
            Err(_) => None,
        };
        let exists = match (last, tx.open_table(META)) {
            (Some(id), Ok(metas)) => metas.get(id).map_err(|e| self.err(e))?.is_some(),
            _ => false,
        };
        Ok(last.filter(|_| exists))
    }

    pub fn rename(&self, id: u64, title: &str) -> Result<()> {
        let title = title.trim();
        if title.is_empty() {
            return Err("a title cannot be empty".into());
        }
        let (mut meta, _) = self.load(id)?;
        meta.title = title.chars().take(200).collect();
        let db = self.open()?;
        let tx = db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut metas = tx.open_table(META).map_err(|e| self.err(e))?;
            metas
                .insert(id, bytes(&meta).as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Deletes a conversation and its messages in one transaction.
    pub fn delete(&self, id: u64) -> Result<()> {
        self.load(id)?;
        let db = self.open()?;
        let tx = db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut metas = tx.open_table(META).map_err(|e| self.err(e))?;
            metas.remove(id).map_err(|e| self.err(e))?;
            let mut messages = tx.open_table(MESSAGES).map_err(|e| self.err(e))?;
            messages
                .retain_in((id, 0)..=(id, u32::MAX), |_, _| false)
                .map_err(|e| self.err(e))?;
            let mut state = tx.open_table(STATE).map_err(|e| self.err(e))?;
            let last = state.get(LAST).map_err(|e| self.err(e))?.map(|v| v.value());
            if last == Some(id) {
                state.remove(LAST).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// `last`, an id, or the start of a title (unique, case-insensitive).
    pub fn resolve(&self, spec: &str) -> Result<u64> {
        if spec == "last" {
            return self
                .last()?
                .ok_or_else(|| "there is no conversation yet".into());
        }
        if let Ok(id) = spec.parse::<u64>() {
            return Ok(id);
        }
        let lower = spec.to_lowercase();
        let hits: Vec<ConversationMeta> = self
            .list()?
            .into_iter()
            .filter(|m| m.title.to_lowercase().starts_with(&lower))
            .collect();
        match hits.as_slice() {
            [one] => Ok(one.id),
            [] => Err(format!("no conversation is called `{spec}`")),
            many => Err(format!(
                "`{spec}` names {} conversations; use an id: {}",
                many.len(),
                many.iter()
                    .map(|m| m.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u64) -> ConversationMeta {
        ConversationMeta {
            id,
            title: String::new(),
            created_ms: id,
            updated_ms: id,
            profile: "balanced".into(),
            model: "m".into(),
            messages: 0,
        }
    }

    fn msg(role: StoredRole, text: &str, at_ms: u64) -> StoredMessage {
        StoredMessage {
            role,
            text: text.into(),
            prompt: None,
            system: None,
            at_ms,
            decode_tok_s: None,
        }
    }

    #[test]
    fn append_list_load_rename_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConversationStore::in_dir(dir.path());
        assert!(store.list().unwrap().is_empty());
        assert_eq!(store.last().unwrap(), None);
        store
            .append(&meta(1), &msg(StoredRole::User, "First question", 10))
            .unwrap();
        store
            .append(&meta(1), &msg(StoredRole::Assistant, "answer", 11))
            .unwrap();
        store
            .append(&meta(2), &msg(StoredRole::User, "Second one", 20))
            .unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.iter().map(|m| m.id).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(list[1].title, "First question");
        assert_eq!(list[1].messages, 2);
        assert_eq!(store.last().unwrap(), Some(2));
        let (m, messages) = store.load(1).unwrap();
        assert_eq!(m.messages, 2);
        assert_eq!(messages[1].text, "answer");
        store.rename(1, "Renamed").unwrap();
        assert_eq!(store.resolve("ren").unwrap(), 1);
        assert!(store.rename(1, "  ").is_err());
        store.delete(2).unwrap();
        assert_eq!(store.last().unwrap(), None);
        assert!(store.load(2).is_err());
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(
            store.load(1).unwrap().1.len(),
            2,
            "the other conversation is intact"
        );
    }

    #[test]
    fn a_file_that_is_not_a_store_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("conversations.redb"),
            b"not a database at all",
        )
        .unwrap();
        let store = ConversationStore::in_dir(dir.path());
        let e = store.list().unwrap_err();
        assert!(e.contains("conversations.redb"), "{e}");
    }
}
