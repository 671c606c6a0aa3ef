//! The `[server]` table of settings.toml: where the dashboard's server listens (F8, then `s`) and
//! how many requests it decodes together. `gemma-tui serve` takes the same values as flags.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Anything but loopback needs an API key (from `api_key_env`).
    pub host: String,
    /// 0 picks a free port (the pane shows which).
    pub port: u16,
    /// Requests decoded together (slots).
    pub parallel: usize,
    /// The environment variable holding the API key clients must send (unset or empty: none).
    pub api_key_env: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            parallel: 4,
            api_key_env: "GEMMA_TUI_API_KEY".into(),
        }
    }
}

impl ServerSettings {
    /// Problems a user should hear about before the server is started.
    pub fn validate(&self) -> Result<(), String> {
        if self.parallel == 0 || self.parallel > 64 {
            return Err(format!(
                "server.parallel must be 1..=64, not {}",
                self.parallel
            ));
        }
        if self.host.trim().is_empty() {
            return Err("server.host is empty".into());
        }
        Ok(())
    }
}
