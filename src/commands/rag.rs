//! `gemma-tui rag add|remember|search|list|rm|stats|evict`: the RAG memory without the dashboard.
use std::path::PathBuf;

use gemma_tui::rag::embedder::default_model_dir;
use gemma_tui::rag::ingest::IngestEvent;
use gemma_tui::rag::memory::{display_source, REMEMBER_SOURCE};
use gemma_tui::rag::{default_store_path, now_secs, Memory, RagError, RagSettings};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::CommandError;
use crate::cli::{Cli, RagArgs, RagCommand};

impl From<RagError> for CommandError {
    fn from(e: RagError) -> Self {
        match e {
            RagError::ModelMissing { .. } => CommandError::Model(e.to_string()),
            RagError::Invalid(_) => CommandError::Config(e.to_string()),
            _ => CommandError::Io(e.to_string()),
        }
    }
}

fn settings(cli: &Cli) -> RagSettings {
    let (_, report) = super::profile::load(cli);
    report.config.settings.rag
}

fn open(cli: &Cli, args: &RagArgs) -> Result<Memory, CommandError> {
    let path = args.store.clone().unwrap_or_else(default_store_path);
    Ok(Memory::open(&path, &default_model_dir(), settings(cli))?)
}

fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

/// The first `n` characters of `text` on one line.
fn preview(text: &str, n: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

pub fn run(cli: &Cli, args: &RagArgs) -> Result<(), CommandError> {
    let mut memory = open(cli, args)?;
    match &args.command {
        RagCommand::Add {
            paths,
            tier,
            importance,
            tag,
            json,
        } => add(&mut memory, paths, *tier, *importance, tag.clone(), *json),
        RagCommand::Remember {
            text,
            importance,
            tier,
            json,
        } => {
            let id = memory.remember(text, *importance, *tier, Vec::new(), REMEMBER_SOURCE)?;
            if *json {
                print_json(&json!({ "id": id, "duplicate": id.is_none() }));
            } else {
                match id {
                    Some(id) => println!("remembered as {id}"),
                    None => println!("already remembered"),
                }
            }
            Ok(())
        }
        RagCommand::Search { query, k, json } => {
            let hits = memory.search(query, *k)?;
            if *json {
                print_json(&json!({ "query": query, "hits": hits }));
            } else if hits.is_empty() {
                println!("no memory matches");
            } else {
                for h in hits {
                    println!(
                        "{:>6}  score {:.3}  rel {:.3} (cos {:.3}, kw {:.2})  rec {:.2}  imp {:.2}  {}\n        {}",
                        h.id,
                        h.scores.score,
                        h.scores.relevance,
                        h.scores.cosine,
                        h.scores.keyword,
                        h.scores.recency,
                        h.scores.importance,
                        display_source(&h.source),
                        preview(&h.text, 100)
                    );
                }
            }
            Ok(())
        }
        RagCommand::List { tier, json } => {
            let rows: Vec<_> = memory
                .list()
                .filter(|(_, r)| tier.is_none_or(|t| r.meta.tier == t))
                .collect();
            if *json {
                let items: Vec<_> = rows
                    .iter()
                    .map(|(id, r)| {
                        json!({ "id": id, "source": r.source, "start": r.start,
                        "end": r.end, "hash": r.hash, "text": r.text, "meta": r.meta })
                    })
                    .collect();
                print_json(&json!({ "memories": items }));
            } else if rows.is_empty() {
                println!("no memories (add some with `gemma-tui rag add PATH`)");
            } else {
                for (id, r) in rows {
                    println!(
                        "{id:>6}  {:<10}  imp {:.2}  {}  {}",
                        r.meta.tier.as_str(),
                        r.meta.importance,
                        display_source(&r.source),
                        preview(&r.text, 60)
                    );
                }
            }
            Ok(())
        }
        RagCommand::Rm { targets, json } => {
            let mut removed = 0;
            for t in targets {
                removed += memory.remove(t)?;
            }
            if *json {
                print_json(&json!({ "removed": removed }));
            } else {
                println!("removed {removed} memories");
            }
            Ok(())
        }
        RagCommand::Stats { json } => {
            let stats = memory.stats()?;
            let problems = memory.store().check()?;
            if *json {
                print_json(&json!({ "store": memory.store().path(), "stats": stats,
                    "problems": problems }));
            } else {
                println!("store      {}", memory.store().path().display());
                println!("memories   {}", stats.chunks);
                println!("documents  {}", stats.documents);
                for (tier, n) in &stats.by_tier {
                    println!("  {tier:<10} {n}");
                }
                println!("file size  {:.1} MiB", stats.file_bytes as f64 / 1048576.0);
                if problems.is_empty() {
                    println!("consistent yes");
                } else {
                    println!("consistent NO:");
                    for p in problems {
                        println!("  {p}");
                    }
                }
            }
            Ok(())
        }
        RagCommand::Evict { json } => {
            let ids = memory.evict(now_secs())?;
            if *json {
                print_json(&json!({ "evicted": ids }));
            } else {
                println!("evicted {} memories", ids.len());
            }
            Ok(())
        }
    }
}

fn add(
    memory: &mut Memory,
    paths: &[PathBuf],
    tier: gemma_tui::rag::Tier,
    importance: f32,
    tags: Vec<String>,
    json: bool,
) -> Result<(), CommandError> {
    if !(0.0..=1.0).contains(&importance) {
        return Err(CommandError::Config(format!(
            "--importance must be within 0..=1 (got {importance})"
        )));
    }
    // The bar draws on stderr and only on a terminal; --json prints one event per line.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut on_event = |e: IngestEvent| {
        if json {
            print_json(&serde_json::to_value(&e).expect("event serialises"));
            return;
        }
        match &e {
            IngestEvent::Found { files } => bar.set_length(*files as u64),
            IngestEvent::Added { index, path, .. } | IngestEvent::Unchanged { index, path, .. } => {
                bar.set_position(*index as u64);
                bar.set_message(path.display().to_string());
            }
            IngestEvent::Skipped { path, reason } => {
                bar.suspend(|| eprintln!("skipped {}: {reason}", path.display()));
            }
        }
    };
    let summary = memory.add_paths(paths, tier, importance, tags, &mut on_event)?;
    bar.finish_and_clear();
    if json {
        print_json(&json!({ "summary": summary }));
    } else {
        println!(
            "{} files added ({} chunks new, {} removed, {} duplicates), {} unchanged, {} skipped",
            summary.files,
            summary.chunks_added,
            summary.chunks_removed,
            summary.duplicates,
            summary.unchanged,
            summary.skipped
        );
    }
    Ok(())
}
