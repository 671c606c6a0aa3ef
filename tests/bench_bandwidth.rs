//! The decode bound through the release binary on the real default model: the bytes a decode step
//! reads against the GGUF's own tensor table, and the bench's record and printed line (bandwidth,
//! bytes, bound and the fraction of it the decode reached) against each other.
mod common;

use std::path::Path;
use std::process::{Command, Output};

use gemma_tui::bench::RunRecord;
use gemma_tui::engine::gguf::GgufFile;
use gemma_tui::engine::Gemma3Model;

/// Runs the binary with its history in `data` and its config in `config`, on the real model.
fn gemma(data: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemma-tui"))
        .args(args)
        .env("GEMMA_TUI_DATA_DIR", data)
        .env("GEMMA_TUI_CONFIG_DIR", config)
        .env("GEMMA_TUI_LOG_DIR", data.join("logs"))
        .env("GEMMA_TUI_MODEL", common::model_path())
        .args(["--model", common::model_path().to_str().unwrap()])
        .output()
        .expect("run gemma-tui")
}

fn stdout_of(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// (values per block, bytes per block) of a ggml tensor type, from ggml's type table: written
/// out here rather than taken from the engine, so the test does not check the engine against
/// itself.
fn ggml_block(ggml_type: u32) -> (u64, u64) {
    match ggml_type {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        30 => (1, 2),     // BF16
        other => panic!("ggml type {other} is not in the test's table"),
    }
}

/// The bytes one decode step must read by the file's tensor table: every tensor once, except that
/// an untied model's token table is only looked up (one row), while a tied one's is the output
/// head. Checked first against the gaps between the tensors' offsets, so a wrong block size in the
/// table above fails here and not as a puzzling mismatch later.
fn decode_bytes_by_tensor_table(path: &Path) -> u64 {
    let gguf = GgufFile::open(path).unwrap();
    let size = |info: &gemma_tui::engine::gguf::TensorInfo| {
        let (block, bytes) = ggml_block(info.ggml_type);
        info.dims.iter().product::<u64>() / block * bytes
    };
    let mut by_offset: Vec<_> = gguf.tensors.values().collect();
    by_offset.sort_by_key(|t| t.offset);
    let file_len = gguf.map.len() as u64;
    for (t, next) in by_offset.iter().zip(by_offset.iter().skip(1)) {
        let gap = next.offset - t.offset;
        assert!(
            size(t) <= gap && gap - size(t) < 64,
            "{t:?}: {} bytes by the table, {gap} to the next tensor",
            size(t)
        );
    }
    let last = by_offset.last().unwrap();
    assert!(last.offset + size(last) <= file_len);
    let untied = gguf.tensors.contains_key("output.weight");
    gguf.tensors
        .iter()
        .filter(|(name, _)| !(untied && name.as_str() == "token_embd.weight"))
        .map(|(_, t)| size(t))
        .sum()
}

#[test]
fn a_decode_step_reads_the_weights_of_the_tensor_table_and_little_else_of_the_file() {
    let path = common::model_path();
    let expected = decode_bytes_by_tensor_table(&path);
    let model = Gemma3Model::load_path(&path, 1).unwrap();
    assert_eq!(model.decode_bytes_per_step(), expected);
    // The rest of the file is its header: metadata and the tokenizer's vocabulary.
    let file_len = std::fs::metadata(&path).unwrap().len();
    assert!(
        expected < file_len && expected as f64 > 0.9 * file_len as f64,
        "{expected} bytes read per step, the file has {file_len}"
    );
}

/// The word before `unit` in `line` ("25.2" of "bandwidth 25.2 GB/s" for unit "GB/s").
fn word_before<'a>(line: &'a str, unit: &str) -> &'a str {
    let head = &line[..line
        .find(unit)
        .unwrap_or_else(|| panic!("{unit} in {line}"))];
    head.split_whitespace().last().unwrap()
}

#[test]
fn the_bench_records_the_decode_bound_and_prints_the_fraction_reached() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let (data, config) = (data.path(), config.path());
    let printed = stdout_of(&gemma(data, config, &["bench", "--quick"]));
    let shown = stdout_of(&gemma(data, config, &["bench", "show", "latest"]));
    let record: RunRecord = serde_json::from_str(&stdout_of(&gemma(
        data,
        config,
        &["bench", "show", "latest", "--json"],
    )))
    .unwrap();

    let bound = record.decode_bound.expect("a run that decodes has a bound");
    assert!(bound.bandwidth_gbs > 0.0, "{bound:?}");
    assert_eq!(bound.probe_threads, record.threads);
    assert_eq!(
        bound.decode_bytes_per_step,
        decode_bytes_by_tensor_table(&common::model_path())
    );
    let by_hand = bound.bandwidth_gbs * 1e9 / bound.decode_bytes_per_step as f64;
    assert!((bound.decode_bound_tps - by_hand).abs() < 1e-9 * by_hand);
    let decode = record.metric("decode_tok_s").unwrap().mean;
    // Every step reads the weights from memory (they are far larger than any cache): no decode
    // can pass the bound, and one that does means the bytes or the bandwidth are wrong.
    assert!(
        decode > 0.0 && decode < bound.decode_bound_tps,
        "{decode} {bound:?}"
    );

    for out in [&printed, &shown] {
        let line = out
            .lines()
            .find(|l| l.starts_with("bandwidth "))
            .unwrap_or_else(|| panic!("no bandwidth line in\n{out}"));
        // Each figure as the record's value printed to the line's precision.
        assert_eq!(
            word_before(line, "GB/s"),
            format!("{:.1}", bound.bandwidth_gbs)
        );
        assert!(
            line.contains(&format!("({} threads)", record.threads)),
            "{line}"
        );
        let mb = bound.decode_bytes_per_step as f64 / 1e6;
        assert_eq!(word_before(line, "MB ·"), format!("{mb:.0}"));
        assert_eq!(
            word_before(line, "tok/s ·"),
            format!("{:.0}", bound.decode_bound_tps)
        );
        let fraction = decode / bound.decode_bound_tps;
        assert_eq!(
            word_before(line, "of bound"),
            format!("{fraction:.2}"),
            "{line}"
        );
    }
}

#[test]
fn the_json_record_holds_the_bound_and_no_bandwidth_leaves_it_out() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| -> RunRecord {
        let mut args = vec!["bench", "--prompt-tokens", "8", "--gen-tokens", "4"];
        args.extend(["--runs", "1", "--json"]);
        args.extend(extra);
        serde_json::from_str(&stdout_of(&gemma(data.path(), config.path(), &args))).unwrap()
    };
    let with = run(&[]);
    let bound = with.decode_bound.expect("--json prints the bound");
    assert!(bound.bandwidth_gbs > 0.0 && bound.decode_bound_tps > 0.0);
    assert_eq!(run(&["--no-bandwidth"]).decode_bound, None);
}
