//! `gemma-tui model pull hf:...` against a Hub on loopback that speaks the real Hub's URL layout:
//! the API listing, resolve URLs answering 302 with the LFS headers, and a "CDN" on another
//! loopback address (127.0.0.2) that serves byte ranges. The real binary runs each time, as a user
//! would run it.
mod common;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// A file's bytes: in memory, or a file on disk (the real model, 253 MB).
#[derive(Clone)]
enum Body {
    Bytes(Arc<Vec<u8>>),
    File(PathBuf, u64),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::File(_, len) => *len,
        }
    }
}

#[derive(Clone)]
struct HubFile {
    path: String,
    body: Body,
    /// What the Hub publishes in X-Linked-Etag; a wrong one makes a mismatch.
    sha256: String,
}

impl HubFile {
    fn bytes(path: &str, data: Vec<u8>) -> Self {
        let sha256 = format!("{:x}", Sha256::digest(&data));
        HubFile {
            path: path.to_string(),
            body: Body::Bytes(Arc::new(data)),
            sha256,
        }
    }
}

#[derive(Clone)]
struct Repo {
    id: String,
    files: Vec<HubFile>,
    /// A gated repository: only this bearer token may read it.
    token: Option<String>,
}

fn repo(id: &str, files: Vec<HubFile>) -> Repo {
    Repo {
        id: id.to_string(),
        files,
        token: None,
    }
}

#[derive(Clone, Default)]
struct Behaviour {
    /// The first CDN download closes the connection after this many body bytes.
    cut_after: Option<u64>,
    /// The CDN answers range requests with 200 and the whole file, as some proxies do.
    ignore_range: bool,
}

#[derive(Clone, Debug)]
struct Seen {
    /// "hub" or "cdn".
    host: &'static str,
    method: String,
    target: String,
    headers: HashMap<String, String>,
}

struct FakeHub {
    hub: String,
    cdn: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl FakeHub {
    fn start(repos: Vec<Repo>, behaviour: Behaviour) -> FakeHub {
        let hub_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // The CDN is another host, as on the real Hub: the token must not follow the redirect.
        let cdn_listener = TcpListener::bind("127.0.0.2:0").unwrap();
        let hub = format!("http://{}", hub_listener.local_addr().unwrap());
        let cdn = format!("http://{}", cdn_listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(State {
            repos,
            cdn: cdn.clone(),
            cut_pending: AtomicBool::new(behaviour.cut_after.is_some()),
            behaviour,
            seen: seen.clone(),
        });
        for (listener, host) in [(hub_listener, "hub"), (cdn_listener, "cdn")] {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = state.serve(stream, host);
                    });
                }
            });
        }
        FakeHub {
            hub,
            cdn,
            seen,
            stop,
        }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn cdn_gets(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.host == "cdn")
            .collect()
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        // Wake both accept loops so their threads end with the test.
        self.stop.store(true, Ordering::SeqCst);
        for url in [&self.hub, &self.cdn] {
            let _ = TcpStream::connect(url.trim_start_matches("http://"));
        }
    }
}

struct State {
    repos: Vec<Repo>,
    cdn: String,
    behaviour: Behaviour,
    cut_pending: AtomicBool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl State {
    fn serve(&self, stream: TcpStream, host: &'static str) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let seen = Seen {
            host,
            method: method.clone(),
            target: target.clone(),
            headers,
        };
        self.seen.lock().unwrap().push(seen.clone());
        let mut out = stream;
        match host {
            "cdn" => self.cdn(&mut out, &seen),
            _ => self.hub(&mut out, &seen),
        }
    }

    fn hub(&self, out: &mut TcpStream, req: &Seen) -> std::io::Result<()> {
        let (repo_id, rest, is_api) = match req.target.strip_prefix("/api/models/") {
            Some(rest) => split_repo(rest, "/revision/").map(|(r, x)| (r, x, true)),
            None => split_repo(&req.target[1..], "/resolve/").map(|(r, x)| (r, x, false)),
        }
        .unwrap_or_default();
        let Some(repo) = self.repos.iter().find(|r| r.id == repo_id) else {
            // As the Hub does for an unknown repo without a token: 401 with the error code.
            return respond(
                out,
                "401 Unauthorized",
                &[("X-Error-Code", "RepoNotFound")],
                b"",
            );
        };
        if let Some(token) = &repo.token {
            if req.headers.get("authorization") != Some(&format!("Bearer {token}")) {
                return respond(
                    out,
                    "401 Unauthorized",
                    &[("X-Error-Code", "GatedRepo")],
                    b"",
                );
            }
        }
        let commit = "0123456789abcdef0123456789abcdef01234567";
        if is_api {
            let siblings: Vec<serde_json::Value> = repo
                .files
                .iter()
                .map(|f| serde_json::json!({ "rfilename": f.path }))
                .collect();
            let body = serde_json::json!({ "id": repo.id, "sha": commit, "siblings": siblings });
            return respond(out, "200 OK", &[], body.to_string().as_bytes());
        }
        // rest = REVISION/PATH
        let (_revision, path) = rest.split_once('/').unwrap_or_default();
        let Some(file) = repo.files.iter().find(|f| f.path == path) else {
            return respond(
                out,
                "404 Not Found",
                &[("X-Error-Code", "EntryNotFound")],
                b"",
            );
        };
        let location = format!("{}/blobs/{}", self.cdn, file.sha256);
        let size = file.body.len().to_string();
        let etag = format!("\"{}\"", file.sha256);
        respond(
            out,
            "302 Found",
            &[
                ("Location", &location),
                ("X-Linked-Etag", &etag),
                ("X-Linked-Size", &size),
                ("X-Repo-Commit", commit),
                ("ETag", "\"a-git-blob-sha1\""),
            ],
            b"",
        )
    }

    fn cdn(&self, out: &mut TcpStream, req: &Seen) -> std::io::Result<()> {
        let sha = req.target.trim_start_matches("/blobs/");
        let Some(file) = self
            .repos
            .iter()
            .flat_map(|r| &r.files)
            .find(|f| f.sha256 == sha)
        else {
            return respond(out, "404 Not Found", &[], b"");
        };
        let len = file.body.len();
        let start = req
            .headers
            .get("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|_| !self.behaviour.ignore_range);
        let start = match start {
            Some(s) if s >= len => {
                let range = format!("bytes */{len}");
                return respond(
                    out,
                    "416 Range Not Satisfiable",
                    &[("Content-Range", &range)],
                    b"",
                );
            }
            other => other,
        };
        let from = start.unwrap_or(0);
        let content_length = (len - from).to_string();
        let mut head = format!(
            "HTTP/1.1 {}\r\nContent-Length: {content_length}\r\nConnection: close\r\n",
            if start.is_some() {
                "206 Partial Content"
            } else {
                "200 OK"
            }
        );
        if start.is_some() {
            head += &format!("Content-Range: bytes {from}-{}/{len}\r\n", len - 1);
        }
        out.write_all(format!("{head}\r\n").as_bytes())?;
        if req.method == "HEAD" {
            return Ok(());
        }
        let mut send = len - from;
        if self.cut_pending.swap(false, Ordering::SeqCst) {
            send = send.min(self.behaviour.cut_after.unwrap());
        }
        match &file.body {
            Body::Bytes(b) => out.write_all(&b[from as usize..(from + send) as usize])?,
            Body::File(path, _) => {
                let mut f = File::open(path)?;
                f.seek(SeekFrom::Start(from))?;
                std::io::copy(&mut f.take(send), out)?;
            }
        }
        out.flush()?;
        out.shutdown(Shutdown::Both)
    }
}

/// `OWNER/REPO{sep}REST` into ("OWNER/REPO", "REST").
fn split_repo<'a>(text: &'a str, sep: &str) -> Option<(String, &'a str)> {
    let (repo, rest) = text.split_once(sep)?;
    Some((repo.to_string(), rest))
}

fn respond(
    out: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    out.write_all(format!("{head}\r\n").as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// A temp home with its own models dir; each run of the binary sees only these.
struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn models(&self) -> PathBuf {
        self.home.path().join("models")
    }

    fn run(&self, hub: &str, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gemma-tui"));
        cmd.args(args)
            .env("HOME", self.home.path())
            .env("HF_HOME", self.home.path().join("hf"))
            .env("HF_ENDPOINT", hub)
            .env("GEMMA_TUI_MODELS_DIR", self.models())
            .env("GEMMA_TUI_LOG_DIR", self.home.path().join("log"))
            .env("GEMMA_TUI_CONFIG_DIR", self.home.path().join("config"))
            .env("GEMMA_TUI_DATA_DIR", self.home.path().join("data"));
        for var in [
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_TOKEN_PATH",
            "HF_HUB_OFFLINE",
            "XDG_CACHE_HOME",
            "ALL_PROXY",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "all_proxy",
            "http_proxy",
            "https_proxy",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(extra.iter().copied());
        cmd.output().expect("run gemma-tui")
    }

    fn pull(&self, hub: &FakeHub, reference: &str) -> Output {
        self.run(&hub.hub, &["model", "pull", reference], &[])
    }

    /// Every entry of the models dir, hidden ones included.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.models())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout_path(o: &Output) -> PathBuf {
    PathBuf::from(String::from_utf8(o.stdout.clone()).unwrap().trim())
}

/// Distinct, incompressible-looking bytes of `len`, so a misplaced range shows.
fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// The one error line a failed pull prints, checked for its exit code (3: model missing or invalid).
fn fails_with(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    eprintln!("{err}"); // shown with --nocapture: the messages a user would read
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from {err}");
    }
    err
}

#[test]
fn hf_repo_picks_the_q4_k_m_gguf_among_several() {
    let q4 = data(300_000, 1);
    let hub = FakeHub::start(
        vec![repo(
            "acme/tiny-GGUF",
            vec![
                HubFile::bytes("README.md", b"# tiny".to_vec()),
                HubFile::bytes("tiny-Q8_0.gguf", data(1000, 2)),
                HubFile::bytes("tiny-Q4_K_M.gguf", q4.clone()),
                HubFile::bytes("tiny-F16.gguf", data(1000, 3)),
            ],
        )],
        Behaviour::default(),
    );
    let env = Env::new();
    let out = env.pull(&hub, "hf:acme/tiny-GGUF");
    assert!(out.status.success(), "{}", stderr(&out));
    let path = stdout_path(&out);
    assert_eq!(path, env.models().join("tiny-Q4_K_M.gguf"));
    assert_eq!(fs::read(&path).unwrap(), q4);
    // Only the model and its verification marker: no partial left behind.
    assert_eq!(
        env.entries(),
        ["tiny-Q4_K_M.gguf", "tiny-Q4_K_M.gguf.sha256"]
    );
    let seen = hub.requests();
    assert!(seen
        .iter()
        .any(|s| s.target == "/api/models/acme/tiny-GGUF/revision/main"));
    let resolve = seen
        .iter()
        .find(|s| s.target == "/acme/tiny-GGUF/resolve/main/tiny-Q4_K_M.gguf")
        .expect("a resolve request");
    assert_eq!(resolve.method, "HEAD");
    assert_eq!(resolve.headers["accept-encoding"], "identity");
    // `model list` (and so the dashboard) sees it.
    let list = env.run(&hub.hub, &["model", "list"], &[]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("tiny-Q4_K_M.gguf"));
    // A second pull finds the verified file and downloads nothing.
    let again = env.pull(&hub, "hf:acme/tiny-GGUF");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(hub.cdn_gets().len(), 1);
}

#[test]
fn hf_repo_file_at_a_revision_takes_that_file() {
    let wanted = data(5000, 4);
    let hub = FakeHub::start(
        vec![repo(
            "acme/multi",
            vec![
                HubFile::bytes("m-Q4_K_M.gguf", data(100, 5)),
                HubFile::bytes("sub/dir/m-Q8_0.gguf", wanted.clone()),
            ],
        )],
        Behaviour::default(),
    );
    let env = Env::new();
    let out = env.pull(&hub, "hf:acme/multi/sub/dir/m-Q8_0.gguf@v1.0");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout_path(&out), env.models().join("m-Q8_0.gguf"));
    assert_eq!(fs::read(env.models().join("m-Q8_0.gguf")).unwrap(), wanted);
    let seen = hub.requests();
    // A named file needs no listing.
    assert!(seen.iter().all(|s| !s.target.starts_with("/api/")));
    assert!(seen
        .iter()
        .any(|s| s.target == "/acme/multi/resolve/v1.0/sub/dir/m-Q8_0.gguf"));
}

#[test]
fn hf_repo_without_q4_k_m_lists_its_gguf_files() {
    let hub = FakeHub::start(
        vec![repo(
            "acme/no-q4",
            vec![
                HubFile::bytes("a-Q8_0.gguf", data(10, 6)),
                HubFile::bytes("a-F16.gguf", data(10, 7)),
                HubFile::bytes("config.json", b"{}".to_vec()),
            ],
        )],
        Behaviour::default(),
    );
    let env = Env::new();
    let out = env.pull(&hub, "hf:acme/no-q4");
    let err = fails_with(
        &out,
        &[
            "no Q4_K_M",
            "a-Q8_0.gguf",
            "a-F16.gguf",
            "hf:acme/no-q4/FILE",
        ],
    );
    assert!(!err.contains("config.json"), "{err}");
    assert!(env.entries().is_empty(), "{:?}", env.entries());
}

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    const CUT: u64 = 1_000_000;
    let model = data(3_000_000, 8);
    let hub = FakeHub::start(
        vec![repo(
            "acme/big",
            vec![HubFile::bytes("big-Q4_K_M.gguf", model.clone())],
        )],
        Behaviour {
            cut_after: Some(CUT),
            ..Default::default()
        },
    );
    let env = Env::new();
    let first = env.pull(&hub, "hf:acme/big");
    fails_with(&first, &["interrupted", "run the same command again"]);
    // The partial is kept, hidden: `model list` does not show it.
    let entries = env.entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].starts_with(".big-Q4_K_M.gguf.") && entries[0].ends_with(".incomplete"));
    let partial = env.models().join(&entries[0]);
    assert_eq!(fs::metadata(&partial).unwrap().len(), CUT);
    let list = env.run(&hub.hub, &["model", "list"], &[]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("no models"));

    let second = env.pull(&hub, "hf:acme/big");
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        fs::read(env.models().join("big-Q4_K_M.gguf")).unwrap(),
        model
    );
    let gets = hub.cdn_gets();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].headers.get("range"), None);
    assert_eq!(gets[1].headers["range"], format!("bytes={CUT}-"));
    assert_eq!(env.entries(), ["big-Q4_K_M.gguf", "big-Q4_K_M.gguf.sha256"]);
}

#[test]
fn a_server_ignoring_the_range_makes_the_download_start_over() {
    let model = data(2_000_000, 9);
    let hub = FakeHub::start(
        vec![repo(
            "acme/big",
            vec![HubFile::bytes("big-Q4_K_M.gguf", model.clone())],
        )],
        Behaviour {
            cut_after: Some(700_000),
            ignore_range: true,
        },
    );
    let env = Env::new();
    fails_with(&env.pull(&hub, "hf:acme/big"), &["interrupted"]);
    let second = env.pull(&hub, "hf:acme/big");
    assert!(second.status.success(), "{}", stderr(&second));
    // Appending the whole file to the partial would have made it 2.7 MB and failed the hash.
    assert_eq!(
        fs::read(env.models().join("big-Q4_K_M.gguf")).unwrap(),
        model
    );
    assert_eq!(hub.cdn_gets()[1].headers["range"], "bytes=700000-");
}

#[test]
fn bytes_that_do_not_match_the_published_sha256_are_refused() {
    let mut file = HubFile::bytes("bad-Q4_K_M.gguf", data(400_000, 10));
    let published = format!("{:x}", Sha256::digest(data(400_000, 11)));
    let actual = std::mem::replace(&mut file.sha256, published.clone());
    // The CDN is addressed by the published hash; serve the wrong bytes under it.
    let hub = FakeHub::start(vec![repo("acme/bad", vec![file])], Behaviour::default());
    let env = Env::new();
    let out = env.pull(&hub, "hf:acme/bad");
    fails_with(&out, &["sha256 mismatch", &published, &actual]);
    // Nothing installed and no partial kept: `model list` shows nothing.
    assert!(env.entries().is_empty(), "{:?}", env.entries());
}

#[test]
fn hf_token_is_sent_as_a_bearer_to_the_hub_only() {
    let model = data(50_000, 12);
    let mut gated = repo(
        "acme/gated",
        vec![HubFile::bytes("g-Q4_K_M.gguf", model.clone())],
    );
    gated.token = Some("hf_secret".to_string());
    let hub = FakeHub::start(vec![gated], Behaviour::default());
    let env = Env::new();
    let refused = env.pull(&hub, "hf:acme/gated");
    fails_with(&refused, &["gated", "HF_TOKEN"]);

    let out = env.run(
        &hub.hub,
        &["model", "pull", "hf:acme/gated"],
        &[("HF_TOKEN", "hf_secret")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(stdout_path(&out)).unwrap(), model);
    let seen = hub.requests();
    let authorized: Vec<_> = seen
        .iter()
        .filter(|s| s.headers.get("authorization").map(String::as_str) == Some("Bearer hf_secret"))
        .map(|s| s.target.as_str())
        .collect();
    assert!(authorized.contains(&"/api/models/acme/gated/revision/main"));
    assert!(authorized.contains(&"/acme/gated/resolve/main/g-Q4_K_M.gguf"));
    // The CDN is another host: its URL is signed, and the token is not its business.
    assert!(hub
        .cdn_gets()
        .iter()
        .all(|s| !s.headers.contains_key("authorization")));

    // Without HF_TOKEN, the token file `huggingface-cli login` writes under HF_HOME is used.
    let env = Env::new();
    fs::create_dir_all(env.home.path().join("hf")).unwrap();
    fs::write(env.home.path().join("hf/token"), "hf_secret\n").unwrap();
    let out = env.pull(&hub, "hf:acme/gated");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn missing_repo_or_file_is_not_found_and_offline_says_so() {
    let hub = FakeHub::start(
        vec![repo(
            "acme/here",
            vec![HubFile::bytes("x-Q4_K_M.gguf", data(10, 13))],
        )],
        Behaviour::default(),
    );
    let env = Env::new();
    fails_with(
        &env.pull(&hub, "hf:acme/nowhere"),
        &["acme/nowhere", "not found"],
    );
    fails_with(
        &env.pull(&hub, "hf:acme/here/missing.gguf"),
        &["missing.gguf", "not found", "404"],
    );
    // Port 1 on loopback: nothing listens, like a machine without a network.
    let out = env.run(
        "http://127.0.0.1:1",
        &["model", "pull", "hf:acme/here"],
        &[],
    );
    fails_with(
        &out,
        &["cannot reach http://127.0.0.1:1", "gemma-tui model pull"],
    );
    let out = env.run(
        &hub.hub,
        &["model", "pull", "hf:acme/here"],
        &[("HF_HUB_OFFLINE", "1")],
    );
    fails_with(&out, &["HF_HUB_OFFLINE"]);
    // A malformed reference is a usage error (clap's exit code 2).
    let out = env.pull(&hub, "hf:acme");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(env.entries().is_empty());
}

/// The whole way: the real default model served by the loopback Hub, pulled, and run.
#[test]
fn a_gguf_pulled_from_the_hub_runs() {
    let real = common::model_path();
    let model = gemma_tui::models::DEFAULT_MODEL;
    let hub = FakeHub::start(
        vec![repo(
            "google/gemma-3-270m-GGUF",
            vec![
                HubFile::bytes("README.md", b"# Gemma 3 270M".to_vec()),
                HubFile {
                    path: "gemma-3-270m-Q4_K_M.gguf".to_string(),
                    body: Body::File(real.clone(), model.size),
                    sha256: model.sha256.to_string(),
                },
            ],
        )],
        Behaviour::default(),
    );
    let env = Env::new();
    let out = env.pull(&hub, "hf:google/gemma-3-270m-GGUF");
    assert!(out.status.success(), "{}", stderr(&out));
    let pulled = stdout_path(&out);
    assert_eq!(pulled, env.models().join("gemma-3-270m-Q4_K_M.gguf"));
    assert_eq!(fs::metadata(&pulled).unwrap().len(), model.size);
    let ask = env.run(
        &hub.hub,
        &[
            "ask",
            "--model",
            pulled.to_str().unwrap(),
            "--raw",
            "--temp",
            "0",
            "--max-tokens",
            "4",
            "The capital of France is",
        ],
        &[],
    );
    assert!(ask.status.success(), "{}", stderr(&ask));
    let text = String::from_utf8_lossy(&ask.stdout);
    assert!(!text.trim().is_empty(), "reply {text:?}");
    assert!(Path::new(&pulled).exists());
}

#[test]
fn a_second_pull_of_the_same_file_at_once_is_refused_and_a_stale_file_is_replaced() {
    let model = data(20_000, 14);
    let file = HubFile::bytes("m-Q4_K_M.gguf", model.clone());
    let partial_name = format!(".m-Q4_K_M.gguf.{}.incomplete", file.sha256);
    let hub = FakeHub::start(vec![repo("acme/m", vec![file])], Behaviour::default());
    let env = Env::new();
    fs::create_dir_all(env.models()).unwrap();
    // Another pull holds the partial download: this one must not append to it too.
    let held = File::create(env.models().join(&partial_name)).unwrap();
    held.lock().unwrap();
    fails_with(
        &env.pull(&hub, "hf:acme/m"),
        &["another gemma-tui is downloading"],
    );
    drop(held);
    // An older file of the same name (another version, say) is replaced by the verified one.
    fs::write(env.models().join("m-Q4_K_M.gguf"), b"an older version").unwrap();
    let out = env.pull(&hub, "hf:acme/m");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(env.models().join("m-Q4_K_M.gguf")).unwrap(), model);
    assert_eq!(env.entries(), ["m-Q4_K_M.gguf", "m-Q4_K_M.gguf.sha256"]);
}
