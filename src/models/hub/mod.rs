//! Models from the Hugging Face Hub: `hf:OWNER/REPO[/PATH/FILE.gguf][@REVISION]`.
//!
//! Used when the machine is online; the pip-packaged default model stays the offline path. The file
//! lands in [`models_dir`](super::models_dir) under its own name, so `model list` and the dashboard
//! find it like any other GGUF. The protocol is the one `huggingface_hub` speaks (see
//! `file_download.py`): a `HEAD` of the resolve URL, following only relative redirects, gives the
//! file's sha256 (`X-Linked-Etag`), size (`X-Linked-Size`) and CDN location (`Location`); the `GET`
//! goes to that location, with the token only when it is on the endpoint's own host. A download is
//! written to a hidden `.FILE.SHA256.incomplete` beside the destination and resumed from there with
//! `Range: bytes=N-`; the sha256 is checked before the atomic rename, so a bad or partial file is
//! never where `model list` would show it.
//!
//! Why not the `hf-hub` crate: its blocking API neither checks the sha256 the Hub publishes nor
//! restarts when a server answers a range request with the whole file (it appends, corrupting the
//! download), and it stores files in its own cache layout of blobs and symlinks; version 1 moved to
//! async reqwest and the Xet client. The protocol is small, so this module speaks it over `ureq`
//! (rustls, blocking, no OpenSSL).

mod client;
mod download;

use std::path::PathBuf;

pub use download::pull_hub_into;

/// The default Hub when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A parsed `hf:` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRef {
    /// `OWNER/REPO`.
    pub repo: String,
    /// A file path inside the repository; `None` picks the Q4_K_M GGUF.
    pub file: Option<String>,
    /// Branch, tag or commit; `main` unless given with `@`.
    pub revision: String,
}

impl HubRef {
    /// The prefix that marks a Hub reference on the command line.
    pub const PREFIX: &'static str = "hf:";

    /// Parse `hf:OWNER/REPO`, `hf:OWNER/REPO/sub/dir/FILE.gguf`, each optionally ending in
    /// `@REVISION`.
    pub fn parse(text: &str) -> Result<Self, HubError> {
        let bad = |why: &str| HubError::BadReference(format!("`{text}`: {why}"));
        let rest = text
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| bad("a Hub reference starts with hf:"))?;
        // The last `@` starts the revision: revisions may hold `/` (refs/pr/1), file names rarely `@`.
        let (path, revision) = match rest.rsplit_once('@') {
            Some((_, "")) => return Err(bad("empty revision after @")),
            Some((path, rev)) => (path, rev.to_string()),
            None => (rest, "main".to_string()),
        };
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() < 2
            || parts
                .iter()
                .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(bad("expected hf:OWNER/REPO or hf:OWNER/REPO/FILE.gguf"));
        }
        let repo = format!("{}/{}", parts[0], parts[1]);
        let file = (parts.len() > 2).then(|| parts[2..].join("/"));
        if let Some(f) = &file {
            if !is_gguf(f) {
                return Err(bad("the file must be a .gguf"));
            }
        }
        Ok(HubRef {
            repo,
            file,
            revision,
        })
    }
}

/// Where the Hub is and who we are to it, read from the environment as `huggingface_hub` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// `HF_ENDPOINT` without a trailing slash, or [`DEFAULT_ENDPOINT`].
    pub endpoint: String,
    /// `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`), else the token file
    /// (`HF_TOKEN_PATH`, default `$HF_HOME/token`), as `huggingface-cli login` writes it.
    pub token: Option<String>,
    /// `HF_HUB_OFFLINE=1`: fail at once instead of trying the network.
    pub offline: bool,
}

impl HubConfig {
    pub fn from_env() -> Self {
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        Self::resolve(|name| std::env::var(name).ok(), home)
    }

    /// The pure part of [`HubConfig::from_env`]: `var` reads a variable, `home` is the home dir.
    pub fn resolve(var: impl Fn(&str) -> Option<String>, home: Option<PathBuf>) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let endpoint = set("HF_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let hf_home = set("HF_HOME").map(PathBuf::from).or_else(|| {
            let cache = set("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".cache")))?;
            Some(cache.join("huggingface"))
        });
        let token_path = set("HF_TOKEN_PATH")
            .map(PathBuf::from)
            .or_else(|| hf_home.map(|h| h.join("token")));
        let token = set("HF_TOKEN")
            .or_else(|| set("HUGGING_FACE_HUB_TOKEN"))
            .or_else(|| std::fs::read_to_string(token_path?).ok())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let offline = set("HF_HUB_OFFLINE").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        HubConfig {
            endpoint,
            token,
            offline,
        }
    }
}

/// Why a Hub pull failed. In every case nothing unverified is left where `model list` looks.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("bad Hub reference {0}")]
    BadReference(String),
    #[error("cannot reach {endpoint} ({detail}); offline? The default model comes through pip: `gemma-tui model pull`")]
    Offline { endpoint: String, detail: String },
    #[error("{what}: access refused ({status}); the repository is gated or private: accept its terms on the Hub and set HF_TOKEN{}", if *.had_token { " (the token given was refused)" } else { "" })]
    Unauthorized {
        what: String,
        status: u16,
        had_token: bool,
    },
    #[error("{what}: not found (HTTP {status}){}", if *.status == 401 { "; if it is private, set HF_TOKEN" } else { "" })]
    NotFound { what: String, status: u16 },
    #[error("{repo}@{revision} has no Q4_K_M GGUF; {}", list_files(.repo, .ggufs))]
    NoQ4km {
        repo: String,
        revision: String,
        ggufs: Vec<String>,
    },
    #[error("{repo} has several Q4_K_M GGUFs: {}; name one: hf:{repo}/FILE", .files.join(", "))]
    Ambiguous { repo: String, files: Vec<String> },
    #[error("{url}: HTTP {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Http {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: {detail}")]
    Protocol { url: String, detail: String },
    #[error("the Hub publishes no sha256 for {file} (ETag {etag:?}), so it cannot be verified")]
    NoSha { file: String, etag: String },
    #[error("download of {file} interrupted after {bytes} of {total} bytes ({detail}); run the same command again to resume")]
    Interrupted {
        file: String,
        bytes: u64,
        total: u64,
        detail: String,
    },
    #[error("{file} is {actual} bytes, the Hub says {expected}; the partial download was deleted")]
    SizeMismatch {
        file: String,
        expected: u64,
        actual: u64,
    },
    #[error("sha256 mismatch for {file}: the Hub publishes {expected}, the download is {actual}; the partial download was deleted")]
    ShaMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("another gemma-tui is downloading {}", .path.display())]
    Busy { path: PathBuf },
    #[error("I/O error on {}: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl HubError {
    /// Local file-system trouble, as opposed to a model that cannot be had.
    pub fn is_local_io(&self) -> bool {
        matches!(self, HubError::Io { .. })
    }
}

fn list_files(repo: &str, ggufs: &[String]) -> String {
    if ggufs.is_empty() {
        "it has no GGUF files at all".to_string()
    } else {
        format!(
            "its GGUF files: {}; pick one: hf:{repo}/FILE",
            ggufs.join(", ")
        )
    }
}

fn is_gguf(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".gguf")
}

/// The file `hf:OWNER/REPO` means: the one GGUF whose name holds `q4_k_m` (any case). Split GGUFs
/// (`-00001-of-00003.gguf`) are skipped: gemma-tui loads one file.
pub fn pick_q4_k_m(repo: &str, revision: &str, files: &[String]) -> Result<String, HubError> {
    let ggufs: Vec<String> = files.iter().filter(|f| is_gguf(f)).cloned().collect();
    let candidates: Vec<&String> = ggufs
        .iter()
        .filter(|f| f.to_ascii_lowercase().contains("q4_k_m") && !is_split(f))
        .collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(HubError::NoQ4km {
            repo: repo.to_string(),
            revision: revision.to_string(),
            ggufs,
        }),
        many => Err(HubError::Ambiguous {
            repo: repo.to_string(),
            files: many.iter().map(|f| f.to_string()).collect(),
        }),
    }
}

/// `NAME-00001-of-00003.gguf`, llama.cpp's `gguf-split` naming.
fn is_split(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let Some(stem) = lower.strip_suffix(".gguf") else {
        return false;
    };
    let b = stem.as_bytes();
    // "-NNNNN-of-NNNNN" is 15 bytes.
    b.len() >= 15 && {
        let tail = &stem[stem.len() - 15..];
        let t = tail.as_bytes();
        t[0] == b'-'
            && t[1..6].iter().all(u8::is_ascii_digit)
            && &tail[6..10] == "-of-"
            && t[10..].iter().all(u8::is_ascii_digit)
    }
}

/// Percent-encode for a URL path: RFC 3986 unreserved characters stay, and `/` too when `keep_slash`
/// (file paths keep their directories; a revision like `refs/pr/1` is one segment, as the Hub wants).
pub(crate) fn encode_path(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_repo_file_and_revision() {
        let r = HubRef::parse("hf:google/gemma-3-270m-it-qat-GGUF").unwrap();
        assert_eq!(r.repo, "google/gemma-3-270m-it-qat-GGUF");
        assert_eq!((r.file, r.revision.as_str()), (None, "main"));
        let r = HubRef::parse("hf:o/r/sub/dir/M-Q4_K_M.gguf@v1.0").unwrap();
        assert_eq!(r.file.as_deref(), Some("sub/dir/M-Q4_K_M.gguf"));
        assert_eq!(r.revision, "v1.0");
        let r = HubRef::parse("hf:o/r@refs/pr/1").unwrap();
        assert_eq!((r.file, r.revision.as_str()), (None, "refs/pr/1"));
        for bad in [
            "o/r",
            "hf:o",
            "hf:o/",
            "hf:/r",
            "hf:o/r/",
            "hf:o/r@",
            "hf:o/r/x.bin",
            "hf:o/r/../x.gguf",
        ] {
            assert!(HubRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn picks_the_one_q4_k_m_and_lists_otherwise() {
        let files = s(&[
            "README.md",
            "m-Q8_0.gguf",
            "m-q4_k_m.GGUF",
            "big/m-Q4_K_M-00001-of-00002.gguf",
        ]);
        assert_eq!(pick_q4_k_m("o/r", "main", &files).unwrap(), "m-q4_k_m.GGUF");
        let err =
            pick_q4_k_m("o/r", "main", &s(&["a-Q8_0.gguf", "b-F16.gguf", "x.txt"])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no Q4_K_M") && text.contains("a-Q8_0.gguf, b-F16.gguf"));
        assert!(!text.contains("x.txt"), "{text}");
        let none = pick_q4_k_m("o/r", "main", &s(&["x.txt"])).unwrap_err();
        assert!(none.to_string().contains("no GGUF files at all"));
        let many = pick_q4_k_m("o/r", "main", &s(&["a-Q4_K_M.gguf", "b-Q4_K_M.gguf"]));
        assert!(matches!(many, Err(HubError::Ambiguous { .. })));
    }

    #[test]
    fn split_names_are_recognised() {
        assert!(is_split("m-Q4_K_M-00001-of-00002.gguf"));
        assert!(!is_split("m-Q4_K_M.gguf"));
        assert!(!is_split("00001-of-00002"));
    }

    #[test]
    fn config_follows_huggingface_hub_conventions() {
        let home = tempfile::tempdir().unwrap();
        let hf_home = home.path().join(".cache/huggingface");
        std::fs::create_dir_all(&hf_home).unwrap();
        std::fs::write(hf_home.join("token"), "hf_file\n").unwrap();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = HubConfig::resolve(env(&[]), Some(home.path().into()));
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(c.token.as_deref(), Some("hf_file"));
        assert!(!c.offline);
        let c = HubConfig::resolve(
            env(&[
                ("HF_ENDPOINT", "http://127.0.0.1:9/"),
                ("HF_TOKEN", "hf_env"),
                ("HF_HUB_OFFLINE", "1"),
            ]),
            Some(home.path().into()),
        );
        assert_eq!(c.endpoint, "http://127.0.0.1:9");
        assert_eq!(c.token.as_deref(), Some("hf_env"));
        assert!(c.offline);
        let c = HubConfig::resolve(
            env(&[("HF_HOME", "/nonexistent")]),
            Some(home.path().into()),
        );
        assert_eq!(c.token, None);
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode_path("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(encode_path("a dir/m+1.gguf", true), "a%20dir/m%2B1.gguf");
    }
}
