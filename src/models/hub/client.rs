//! The Hub's HTTP side: list a repository, read a file's metadata from its resolve URL, open a
//! (ranged) download, and turn failures into one-line errors.

use std::time::Duration;

use super::{encode_path, HubConfig, HubError, HubRef};

/// Redirects followed by hand on the resolve URL (the Hub uses relative ones for renamed repos).
const MAX_REDIRECTS: usize = 5;

/// What the resolve URL says about a file.
#[derive(Debug)]
pub(super) struct FileMeta {
    /// Lowercase hex, from `X-Linked-Etag` (an LFS file's oid).
    pub sha256: String,
    pub size: u64,
    /// Where the bytes are: the CDN URL of the redirect, or the resolve URL itself.
    pub location: String,
    pub commit: Option<String>,
}

pub(super) struct Client {
    /// For the resolve URL's HEAD, whose redirect carries the metadata and must not be followed.
    no_redirect: ureq::Agent,
    /// For the API and the download; the token survives a redirect only to the same host.
    follow: ureq::Agent,
    config: HubConfig,
}

impl Client {
    pub(super) fn new(config: HubConfig) -> Self {
        let builder = || {
            ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(15))
                // A stalled transfer fails (and can be resumed) rather than hanging for ever.
                .timeout_read(Duration::from_secs(60))
                .user_agent(concat!("gemma-tui/", env!("CARGO_PKG_VERSION")))
                .try_proxy_from_env(true)
        };
        Client {
            no_redirect: builder().redirects(0).build(),
            follow: builder()
                .redirects(MAX_REDIRECTS as u32)
                .redirect_auth_headers(ureq::RedirectAuthHeaders::SameHost)
                .build(),
            config,
        }
    }

    fn authorized(&self, request: ureq::Request) -> ureq::Request {
        match &self.config.token {
            Some(token) => request.set("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// `GET /api/models/{repo}/revision/{rev}`: the repository's file names (`siblings`).
    pub(super) fn list_files(&self, r: &HubRef) -> Result<Vec<String>, HubError> {
        let url = format!(
            "{}/api/models/{}/revision/{}",
            self.config.endpoint,
            encode_path(&r.repo, true),
            encode_path(&r.revision, false)
        );
        let what = format!("repository {}@{}", r.repo, r.revision);
        let response = self
            .authorized(self.follow.get(&url))
            .call()
            .map_err(|e| self.error(&url, &what, e))?;
        #[derive(serde::Deserialize)]
        struct Info {
            #[serde(default)]
            siblings: Vec<Sibling>,
        }
        #[derive(serde::Deserialize)]
        struct Sibling {
            rfilename: String,
        }
        let info: Info =
            serde_json::from_reader(response.into_reader()).map_err(|e| HubError::Protocol {
                url: url.clone(),
                detail: format!("unexpected listing: {e}"),
            })?;
        Ok(info.siblings.into_iter().map(|s| s.rfilename).collect())
    }

    /// `HEAD {endpoint}/{repo}/resolve/{rev}/{file}`, following relative redirects only, as
    /// `huggingface_hub`'s `get_hf_file_metadata` does: an absolute redirect points at the CDN and
    /// its response carries the LFS file's headers.
    pub(super) fn file_meta(&self, r: &HubRef, file: &str) -> Result<FileMeta, HubError> {
        let mut url = format!(
            "{}/{}/resolve/{}/{}",
            self.config.endpoint,
            encode_path(&r.repo, true),
            encode_path(&r.revision, false),
            encode_path(file, true)
        );
        let what = format!("file {file} in {}@{}", r.repo, r.revision);
        for _ in 0..MAX_REDIRECTS {
            let response = self
                .authorized(self.no_redirect.head(&url))
                // The real size, not a compressed one.
                .set("Accept-Encoding", "identity")
                .call()
                .map_err(|e| self.error(&url, &what, e))?;
            let redirect = (300..400).contains(&response.status());
            if !redirect {
                return parse_meta(&response, &url, file, false, url.clone());
            }
            let Some(raw) = response.header("Location") else {
                return Err(HubError::Protocol {
                    url,
                    detail: format!("redirect {} without Location", response.status()),
                });
            };
            let location = resolve_location(&url, raw).ok_or_else(|| HubError::Protocol {
                url: url.clone(),
                detail: format!("cannot follow redirect to {raw:?}"),
            })?;
            // A relative redirect stays on the Hub (a renamed repository): follow it. An absolute
            // one points at the CDN, and this response carries the file's headers.
            if raw.starts_with('/') && !raw.starts_with("//") {
                url = location;
                continue;
            }
            return parse_meta(&response, &url, file, true, location);
        }
        Err(HubError::Protocol {
            url,
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    pub(super) fn get(&self, meta: &FileMeta, from: u64) -> Result<ureq::Response, HubError> {
        let mut request = self
            .follow
            .get(&meta.location)
            .set("Accept-Encoding", "identity");
        if origin(&meta.location) == origin(&self.config.endpoint) {
            request = self.authorized(request);
        }
        if from > 0 {
            request = request.set("Range", &format!("bytes={from}-"));
        }
        match request.call() {
            Ok(response) => Ok(response),
            // Let the caller restart on an unsatisfiable range.
            Err(ureq::Error::Status(416, response)) if from > 0 => Ok(response),
            Err(e) => Err(self.error(&meta.location, "the file's download", e)),
        }
    }

    /// One line for a failed request: gated, missing, offline or plain HTTP trouble.
    fn error(&self, url: &str, what: &str, e: ureq::Error) -> HubError {
        match e {
            ureq::Error::Status(status, response) => {
                let code = response.header("X-Error-Code").unwrap_or("").to_string();
                let message = response.header("X-Error-Message").unwrap_or("").to_string();
                tracing::warn!(%url, status, %code, %message, "Hub request failed");
                match (status, code.as_str()) {
                    // Without a token the Hub answers 401 for a repo that does not exist (or that
                    // the caller may not see): its error code says which.
                    (_, "RepoNotFound" | "RevisionNotFound" | "EntryNotFound") | (404, _) => {
                        HubError::NotFound {
                            what: what.to_string(),
                            status,
                        }
                    }
                    (401 | 403, _) => HubError::Unauthorized {
                        what: what.to_string(),
                        status,
                        had_token: self.config.token.is_some(),
                    },
                    _ => HubError::Http {
                        url: url.to_string(),
                        status,
                        detail: message,
                    },
                }
            }
            ureq::Error::Transport(t) => {
                use ureq::ErrorKind::*;
                match t.kind() {
                    Dns | ConnectionFailed | ProxyConnect => HubError::Offline {
                        endpoint: self.config.endpoint.clone(),
                        detail: match std::error::Error::source(&t) {
                            Some(cause) => format!("{}: {cause}", t.kind()),
                            None => t.kind().to_string(),
                        },
                    },
                    _ => HubError::Protocol {
                        url: url.to_string(),
                        detail: t.to_string(),
                    },
                }
            }
        }
    }
}

fn parse_meta(
    response: &ureq::Response,
    url: &str,
    file: &str,
    redirect: bool,
    location: String,
) -> Result<FileMeta, HubError> {
    let etag = response
        .header("X-Linked-Etag")
        .or_else(|| response.header("ETag"))
        .map(normalize_etag)
        .unwrap_or_default();
    let is_sha256 = etag.len() == 64 && etag.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_sha256 {
        return Err(HubError::NoSha {
            file: file.to_string(),
            etag,
        });
    }
    // A redirect's own Content-Length is the length of its (empty) body, not of the file.
    let size = response
        .header("X-Linked-Size")
        .or_else(|| {
            (!redirect)
                .then(|| response.header("Content-Length"))
                .flatten()
        })
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| HubError::Protocol {
            url: url.to_string(),
            detail: "no X-Linked-Size or Content-Length".to_string(),
        })?;
    Ok(FileMeta {
        sha256: etag.to_ascii_lowercase(),
        size,
        location,
        commit: response.header("X-Repo-Commit").map(str::to_string),
    })
}

/// `W/"abc"` or `"abc"` to `abc`, as `huggingface_hub`'s `_normalize_etag`.
fn normalize_etag(etag: &str) -> String {
    let etag = etag.trim();
    etag.strip_prefix("W/")
        .unwrap_or(etag)
        .trim_matches('"')
        .to_string()
}

/// `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> &str {
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let rest = &url[scheme_end + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &url[..scheme_end + 3 + end]
}

/// An absolute URL for a `Location` header seen on `base`.
fn resolve_location(base: &str, location: &str) -> Option<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        Some(location.to_string())
    } else if let Some(rest) = location.strip_prefix("//") {
        let scheme = &base[..base.find("://")?];
        Some(format!("{scheme}://{rest}"))
    } else if location.starts_with('/') {
        Some(format!("{}{location}", origin(base)))
    } else {
        None
    }
}

/// A 206 must start where the partial ends.
pub(super) fn check_content_range(
    response: &ureq::Response,
    from: u64,
    url: &str,
) -> Result<(), HubError> {
    let start = response
        .header("Content-Range")
        .and_then(|v| v.trim().strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if start == Some(from) {
        Ok(())
    } else {
        Err(HubError::Protocol {
            url: url.to_string(),
            detail: format!(
                "asked for bytes {from}- and got Content-Range {:?}",
                response.header("Content-Range")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_and_origins() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag(" \"abc\" "), "abc");
        assert_eq!(origin("http://127.0.0.1:8/a/b?c"), "http://127.0.0.1:8");
        assert_eq!(origin("https://h.example"), "https://h.example");
        assert_eq!(
            resolve_location("http://h:1/a/b", "/c/d").as_deref(),
            Some("http://h:1/c/d")
        );
        assert_eq!(
            resolve_location("https://h/a", "//cdn/x").as_deref(),
            Some("https://cdn/x")
        );
        assert_eq!(resolve_location("https://h/a", "rel"), None);
    }
}
