//! `gemma-tui rag ...` through the built binary, on the real embedding model and a store in a
//! temp dir; and crash safety: an ingest killed with SIGKILL leaves a consistent, re-runnable store.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rag/corpus")
}

fn gemma_cmd(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gemma-tui"));
    cmd.args(args)
        .env("GEMMA_TUI_DATA_DIR", data)
        .env("GEMMA_TUI_CONFIG_DIR", data.join("config"))
        .env("GEMMA_TUI_LOG_DIR", data.join("logs"));
    cmd
}

fn gemma(data: &Path, args: &[&str]) -> Output {
    gemma_cmd(data, args).output().expect("run gemma-tui")
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

#[test]
fn add_search_list_rm_and_stats_with_json() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let corpus = corpus();
    let out = gemma(
        d,
        &[
            "rag",
            "add",
            "--json",
            corpus.to_str().unwrap(),
            "/no/such/dir",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["event"] == "skipped" && l["path"] == "/no/such/dir"));
    assert_eq!(lines.iter().filter(|l| l["event"] == "added").count(), 8);
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["files"], 8);
    assert_eq!(summary["skipped"], 1);

    let v = json_of(&gemma(
        d,
        &[
            "rag",
            "search",
            "--json",
            "-k",
            "2",
            "who invented movable clay type",
        ],
    ));
    let hits = v["hits"].as_array().unwrap();
    // At most k; fewer when the rest are below min_relevance.
    assert!((1..=2).contains(&hits.len()), "{v}");
    assert!(hits[0]["text"].as_str().unwrap().contains("Bi Sheng"));
    for key in [
        "score",
        "relevance",
        "cosine",
        "keyword",
        "recency",
        "importance",
    ] {
        assert!(hits[0][key].is_number(), "{key} in {}", hits[0]);
    }

    let v = json_of(&gemma(
        d,
        &[
            "rag",
            "remember",
            "--json",
            "--tier",
            "working",
            "My bike is a blue Brompton.",
        ],
    ));
    let id = v["id"].as_u64().unwrap();
    let v = json_of(&gemma(d, &["rag", "list", "--json", "--tier", "working"]));
    let listed = v["memories"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["meta"]["tier"], "working");

    let v = json_of(&gemma(d, &["rag", "stats", "--json"]));
    let chunks = v["stats"]["chunks"].as_u64().unwrap();
    assert_eq!(v["stats"]["documents"], 8);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);

    let v = json_of(&gemma(
        d,
        &[
            "rag",
            "rm",
            "--json",
            &id.to_string(),
            corpus.join("coffee.md").to_str().unwrap(),
        ],
    ));
    assert!(v["removed"].as_u64().unwrap() >= 2);
    let v = json_of(&gemma(d, &["rag", "stats", "--json"]));
    assert_eq!(v["stats"]["documents"], 7);
    assert!(v["stats"]["chunks"].as_u64().unwrap() < chunks);
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let out = gemma(d, &["rag", "remember", "--importance", "2", "x"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("importance must be within 0..=1"));
    let out = gemma(d, &["rag", "remember", "--tier", "forever", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown tier"));
    let out = gemma(d, &["rag", "rm", "12345"]);
    assert!(!out.status.success());
    // A file that is not a store: named in the error, and left as it was.
    let junk = d.join("junk.redb");
    std::fs::write(&junk, "hello").unwrap();
    let out = gemma(d, &["rag", "--store", junk.to_str().unwrap(), "stats"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.redb"));
    assert_eq!(std::fs::read_to_string(&junk).unwrap(), "hello");
}

#[test]
fn a_killed_ingest_leaves_a_consistent_store_that_a_rerun_completes() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    // Many distinct files, so the kill lands in the middle.
    let docs = d.join("docs");
    std::fs::create_dir(&docs).unwrap();
    let sources: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let total = 120;
    for i in 0..total {
        let text = format!("Note number {i}.\n\n{}", sources[i % sources.len()]);
        std::fs::write(docs.join(format!("note{i:03}.md")), text).unwrap();
    }
    let mut child = gemma_cmd(d, &["rag", "add", "--json", docs.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut added_before_kill = 0;
    while added_before_kill < 5 {
        let line = lines.next().expect("ingest ended early").unwrap();
        if line.contains("\"event\":\"added\"") {
            added_before_kill += 1;
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no commit of the file in progress
    child.wait().unwrap();

    let v = json_of(&gemma(d, &["rag", "stats", "--json"]));
    assert_eq!(v["problems"].as_array().unwrap().len(), 0, "{v}");
    let docs_after_kill = v["stats"]["documents"].as_u64().unwrap();
    assert!(docs_after_kill >= added_before_kill, "{v}");
    assert!(
        docs_after_kill < total as u64,
        "the kill came too late to test anything: {v}"
    );

    let out = gemma(d, &["rag", "add", "--json", docs.to_str().unwrap()]);
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let summary = &last["summary"];
    assert_eq!(summary["unchanged"].as_u64().unwrap(), docs_after_kill);
    assert_eq!(
        summary["files"].as_u64().unwrap() + docs_after_kill,
        total as u64
    );
    let v = json_of(&gemma(d, &["rag", "stats", "--json"]));
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["stats"]["documents"], total);
}
