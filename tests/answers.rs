//! Does the default model answer short questions, or loop? Measured through `gemma-tui ask` as a
//! user runs it, on the question set in tests/fixtures/questions.toml: a reply is right when it
//! holds an expected word, and loops when a 4-gram of words occurs more than three times.
//!
//! `cargo test --release --test answers -- --ignored --nocapture` prints the whole table (chat
//! template and dialogue template, with and without repetition control) that README's
//! "Answers, not loops" reports; the test that always runs holds the default profile to the goal.
mod common;

use std::collections::HashMap;

use serde::Deserialize;

#[derive(Deserialize)]
struct QuestionSet {
    question: Vec<Question>,
}

#[derive(Deserialize)]
struct Question {
    text: String,
    expect: Vec<String>,
}

fn questions() -> Vec<Question> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/questions.toml"
    ))
    .unwrap();
    toml::from_str::<QuestionSet>(&text).unwrap().question
}

/// Lower-case words, punctuation dropped, one space between.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn is_right(reply: &str, expect: &[String]) -> bool {
    let said = format!(" {} ", words(reply).join(" "));
    expect
        .iter()
        .any(|e| said.contains(&format!(" {} ", words(e).join(" "))))
}

/// A 4-gram of words repeated more than three times.
fn loops(reply: &str) -> bool {
    let w = words(reply);
    let mut counts: HashMap<&[String], usize> = HashMap::new();
    for gram in w.windows(4) {
        *counts.entry(gram).or_default() += 1;
    }
    counts.values().any(|&n| n > 3)
}

#[test]
fn the_measures_mean_what_they_say() {
    assert!(is_right("Tokyo.", &["Tokyo".into()]));
    assert!(is_right(
        "It is carbon dioxide!",
        &["carbon dioxide".into()]
    ));
    assert!(!is_right("Tokyoite", &["Tokyo".into()]));
    assert!(!is_right("10 degrees", &["0".into()]));
    assert!(loops(&"paying ".repeat(7)));
    assert!(loops(&"What is the capital? Tokyo. ".repeat(4)));
    assert!(!loops(&"What is the capital? Tokyo. ".repeat(3)));
    assert!(!loops("Water freezes at zero degrees Celsius."));
}

/// Share of right and looping replies over the question set with these `ask` flags.
struct Score {
    right: usize,
    looping: usize,
    total: usize,
    samples: Vec<String>,
}

fn score(flags: &[&str], seeds: &[u64]) -> Score {
    let home = tempfile::tempdir().unwrap();
    let mut s = Score {
        right: 0,
        looping: 0,
        total: 0,
        samples: Vec::new(),
    };
    for seed in seeds {
        for q in questions() {
            let reply = common::stdout_of(
                common::headless_with_model(home.path())
                    .args(["--threads", "2", "--max-tokens", "48", "ask", "--seed"])
                    .arg(seed.to_string())
                    .args(flags)
                    .arg(&q.text),
            );
            let reply = reply.trim();
            s.total += 1;
            s.right += is_right(reply, &q.expect) as usize;
            s.looping += loops(reply) as usize;
            if s.samples.len() < 3 {
                s.samples.push(format!("{} -> {reply:?}", q.text));
            }
        }
    }
    s
}

/// The default profile as a user gets it (no sampler flags; three seeds), and greedy with its other
/// settings: at least half right, none looping.
#[test]
fn the_default_profile_answers_without_looping() {
    for (label, flags, seeds) in [
        ("default profile", &[][..], &[1u64, 2, 3][..]),
        ("default profile, greedy", &["--temp", "0"][..], &[1][..]),
    ] {
        let s = score(flags, seeds);
        println!(
            "{label}: {}/{} right, {}/{} looping",
            s.right, s.total, s.looping, s.total
        );
        assert_eq!(s.looping, 0, "{label}: {} of {} loop", s.looping, s.total);
        assert!(
            s.right * 2 >= s.total,
            "{label}: {} of {} right: {:?}",
            s.right,
            s.total,
            s.samples
        );
    }
}

/// The table in README's "Answers, not loops".
#[test]
#[ignore = "prints the measurement table (several minutes)"]
fn table_of_templates_and_repetition_settings() {
    let none = [
        "--repeat-penalty",
        "1",
        "--dry-multiplier",
        "0",
        "--frequency-penalty",
        "0",
        "--presence-penalty",
        "0",
    ];
    let dry = ["--dry-multiplier", "0.8", "--repeat-penalty", "1"];
    let penalty = ["--repeat-penalty", "1.1", "--dry-multiplier", "0"];
    let both = ["--dry-multiplier", "0.8", "--repeat-penalty", "1.1"];
    println!("| template | sampling | repetition control | right | looping |");
    println!("| --- | --- | --- | --- | --- |");
    for (template, kind) in [("chat", "instruct"), ("dialogue", "base")] {
        for (sampling, temp, seeds) in [("greedy", "0", &[1u64][..]), ("temp 0.8", "0.8", &[1, 2])]
        {
            for (label, rep) in [
                ("none", &none[..]),
                ("DRY 0.8", &dry[..]),
                ("repeat penalty 1.1", &penalty[..]),
                ("DRY 0.8 + penalty 1.1", &both[..]),
            ] {
                let mut flags = vec!["--kind", kind, "--temp", temp];
                flags.extend_from_slice(rep);
                let s = score(&flags, seeds);
                println!(
                    "| {template} | {sampling} | {label} | {}/{} | {}/{} |",
                    s.right, s.total, s.looping, s.total
                );
            }
        }
    }
    let s = score(&[], &[1, 2, 3]);
    println!(
        "| default profile | | | {}/{} | {}/{} |",
        s.right, s.total, s.looping, s.total
    );
}
