//! models.toml entries for remote engines: `url` (or `urls`), `api_key_env`, `model`, `backend`.
use super::ModelEntry;
use crate::remote::RemoteModel;

impl ModelEntry {
    /// Whether this entry names a remote engine rather than a GGUF file.
    pub fn is_remote(&self) -> bool {
        !self.url.is_empty() || !self.urls.is_empty()
    }

    /// The remote engine this entry names (`None` for a file), with its API key read from
    /// `api_key_env` now: a variable named but not set is an error, not an unauthenticated try.
    pub fn remote(&self, name: &str) -> Result<Option<RemoteModel>, String> {
        if !self.is_remote() {
            return Ok(None);
        }
        let urls = if self.url.is_empty() {
            self.urls.clone()
        } else {
            vec![self.url.clone()]
        };
        let api_key = match self.api_key_env.as_str() {
            "" => None,
            var => match std::env::var(var) {
                Ok(key) if !key.is_empty() => Some(key),
                _ => {
                    return Err(format!(
                        "model `{name}`: its API key's environment variable {var} (api_key_env) \
                         is not set"
                    ))
                }
            },
        };
        Ok(Some(RemoteModel {
            name: name.to_string(),
            urls: urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            api_key,
            model: self.model.clone(),
            backend: self.backend,
        }))
    }
}

/// The entry's remote keys make sense together: (key, message) for the first that does not.
pub fn validate(m: &ModelEntry) -> Result<(), (&'static str, String)> {
    if !m.url.is_empty() && !m.urls.is_empty() {
        return Err(("urls", "set `url` or `urls`, not both".into()));
    }
    if m.is_remote() && !m.path.is_empty() {
        return Err((
            "path",
            "a model is a file (`path`) or a remote engine (`url`/`urls`), not both".into(),
        ));
    }
    if !m.is_remote() {
        for (key, set) in [
            ("api_key_env", !m.api_key_env.is_empty()),
            ("model", !m.model.is_empty()),
            ("backend", m.backend.is_some()),
        ] {
            if set {
                return Err((key, format!("`{key}` is for remote engines: set `url` too")));
            }
        }
        return Ok(());
    }
    let key = if m.url.is_empty() { "urls" } else { "url" };
    let mut seen = std::collections::HashSet::new();
    for u in std::iter::once(&m.url)
        .filter(|u| !u.is_empty())
        .chain(&m.urls)
    {
        check_url(u).map_err(|e| (key, e))?;
        if !seen.insert(u.trim_end_matches('/')) {
            return Err((key, format!("`{u}` is listed twice")));
        }
    }
    if m.kind.is_some() {
        return Err((
            "kind",
            "`kind` is read from a GGUF file; a remote engine applies its own chat template".into(),
        ));
    }
    Ok(())
}

/// An http(s) URL with a host, e.g. `http://10.0.0.5:8080/v1`.
fn check_url(u: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(u)
        .map_err(|e| format!("`{u}` is not a URL ({e}); write it as http://host:port/v1"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{u}` is not an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{u}` names no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("`{u}` is a base URL: no query or fragment"));
    }
    Ok(())
}
