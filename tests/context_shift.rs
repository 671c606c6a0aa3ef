//! `ask --context-shift`: a reply longer than the context goes on, the cache shifted (kept start,
//! half of the rest dropped, keys re-rotated) instead of a new prefill.
mod common;

fn ask(extra: &[&str]) -> serde_json::Value {
    let home = tempfile::tempdir().unwrap();
    let out = common::headless_with_model(home.path())
        .args(["ask", "--raw", "--json", "--temp", "0", "--threads", "2"])
        .args(["--ctx", "256", "--max-tokens", "600"])
        .args(extra)
        .arg("The history of the harbour began with a storm. In the winter of 1861")
        .output()
        .expect("run gemma-tui");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn a_reply_runs_past_the_context_with_context_shift_and_stops_without() {
    let shifted = ask(&["--context-shift", "--keep", "4"]);
    let ids = shifted["generated_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 600, "{shifted}");
    let plain = ask(&[]);
    let n = plain["generated_ids"].as_array().unwrap().len();
    assert!(
        n < 256,
        "without a shift the reply ends at the context: {n}"
    );
    // The same greedy reply until the first shift: the shift changes nothing before it.
    assert_eq!(
        &ids[..n.min(100)],
        &plain["generated_ids"].as_array().unwrap()[..n.min(100)]
    );
}
