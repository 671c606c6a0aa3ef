//! The batched decode step on the real model: one token for each of several conversations at
//! different lengths gives each exactly the logits of its own one-token step. Bitwise equality is
//! the expectation, not a tolerance: every row is quantized, multiplied and summed by the same
//! kernels in the same order whether it is alone or in a batch (the batched K-quant kernels sum
//! per block exactly as the one-row path does), and RoPE, norms and attention are per row.
mod common;

use gemma_tui::engine::{Engine, Session};

fn prefilled(engine: &Engine, prompt: &str) -> Session {
    let mut s = engine.new_session(1024).unwrap();
    let ids = engine.tokenizer.encode(prompt, true, true);
    for chunk in ids.chunks(256) {
        s.forward(chunk).unwrap();
    }
    s
}

#[test]
fn a_batched_step_equals_each_conversations_own_step() {
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let long = "The history of the region goes back many centuries. ".repeat(60);
    let prompts = [
        "Hello",
        "The quick brown fox jumps over the lazy dog because",
        long.as_str(),
        "1 2 3 4 5 6 7 8 9",
        "Paris is the capital of",
    ];
    // The sliding window (512) matters: the long prompt is past it.
    assert!(engine.tokenizer.encode(&long, true, true).len() > 512);
    let next = [506u32, 1000, 2000, 236743, 9999];
    for b in [1, 2, 3, 4, 5] {
        let mut batch: Vec<Session> = prompts[..b].iter().map(|p| prefilled(&engine, p)).collect();
        let mut refs: Vec<&mut Session> = batch.iter_mut().collect();
        let batched = engine.forward_batch(&mut refs, &next[..b]).unwrap();
        for (i, prompt) in prompts[..b].iter().enumerate() {
            let mut alone = prefilled(&engine, prompt);
            let own = alone.forward(&[next[i]]).unwrap();
            assert_eq!(batched[i].len(), own.len());
            let worst = own
                .iter()
                .zip(&batched[i])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                own == batched[i],
                "row {i} of a batch of {b}: logits differ by up to {worst}"
            );
            assert_eq!(batch[i].pass.len(), alone.pass.len());
        }
        // A second step on the batch's caches continues each conversation correctly too.
        let mut refs: Vec<&mut Session> = batch.iter_mut().collect();
        let second = engine.forward_batch(&mut refs, &next[..b]).unwrap();
        let mut alone = prefilled(&engine, prompts[b - 1]);
        alone.forward(&[next[b - 1]]).unwrap();
        assert!(alone.forward(&[next[b - 1]]).unwrap() == second[b - 1]);
    }
}

#[test]
fn a_batched_step_refuses_mismatched_input() {
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let mut a = prefilled(&engine, "Hello");
    let mut refs = vec![&mut a];
    assert!(engine.forward_batch(&mut refs, &[1, 2]).is_err());
    assert!(engine.forward_batch(&mut refs, &[u32::MAX]).is_err());
    let mut full = engine.new_session(2).unwrap();
    full.forward(&[2, 3]).unwrap();
    let mut refs = vec![&mut full];
    assert!(engine.forward_batch(&mut refs, &[4]).is_err());
}
