//! The sliding-window layers' rings (src/engine/kv_cache.rs) against a cache that keeps every
//! position on every layer, on the real model: the same logits bit for bit through prompts longer
//! than a ring, micro-batches, decode steps, a rejected draft's rollback and context shifts, at a
//! fifth of the memory.
mod common;

use gemma_tui::engine::gguf::GgufFile;
use gemma_tui::engine::{Gemma3Model, KvCache, Tokenizer};

struct Pair {
    ring: KvCache,
    full: KvCache,
}

impl Pair {
    /// Runs `tokens` through both caches and checks the logits are identical.
    fn step(&mut self, model: &Gemma3Model, tokens: &[u32], what: &str) {
        let a = model.forward(tokens, &mut self.ring).unwrap();
        let b = model.forward(tokens, &mut self.full).unwrap();
        assert_eq!(self.ring.len(), self.full.len());
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(differ, 0, "{what}: {differ} logits differ");
    }
}

#[test]
fn rings_give_a_full_caches_logits_through_long_prompts_decode_rollbacks_and_shifts() {
    let gguf = GgufFile::open(&common::model_path()).unwrap();
    let tokenizer = Tokenizer::from_gguf(&gguf).unwrap();
    let model = Gemma3Model::load(&gguf, 2).unwrap();
    let text = std::fs::read_to_string("tests/fixtures/perplexity/harbour.txt").unwrap();
    let ids = tokenizer.encode(&text, true, false);
    assert!(ids.len() > 1900, "{} tokens", ids.len());
    let mut c = Pair {
        ring: model.new_cache(2048),
        full: model.new_cache_without_rings(2048),
    };
    let mut at = 0;
    // 700 tokens (two micro-batches), then steps of 300: the 1024-slot rings wrap.
    for n in [700, 300, 300, 300] {
        c.step(&model, &ids[at..at + n], &format!("prompt step at {at}"));
        at += n;
    }
    for _ in 0..40 {
        c.step(&model, &ids[at..at + 1], &format!("decode at {at}"));
        at += 1;
    }
    // A draft of 8 guesses, all rejected: rolled back, then the real next token.
    c.step(&model, &ids[at + 100..at + 108], "the draft");
    for cache in [&mut c.ring, &mut c.full] {
        cache.truncate(at);
        assert_eq!(cache.len(), at, "a short rollback keeps the rest");
    }
    c.step(&model, &ids[at..at + 1], "after the rollback");
    at += 1;
    // A rollback past what the rings hold keeps nothing (the caller feeds the text again).
    let mut far = c.ring.duplicate();
    far.truncate(at - 1200);
    assert_eq!(far.len(), 0);
    // A context shift (keep 4, drop half the rest), then decode steps and a longer step.
    let discard = (c.ring.len() - 4) / 2;
    assert!(c.ring.can_shift(4, discard));
    model.shift_cache(&mut c.ring, 4, discard).unwrap();
    model.shift_cache(&mut c.full, 4, discard).unwrap();
    for _ in 0..20 {
        c.step(&model, &ids[at..at + 1], "decode after the shift");
        at += 1;
    }
    c.step(&model, &ids[at..at + 64], "a step after the shift");
    at += 64;
    // A second shift this early would bring the first positions back into the sliding window,
    // and the rings no longer hold them: refused (the engine feeds the tokens again instead).
    let discard = (c.ring.len() - 4) / 2;
    assert!(!c.ring.can_shift(4, discard) && c.full.can_shift(4, discard));
    assert!(model.shift_cache(&mut c.ring, 4, discard).is_err());
    c.step(&model, &ids[at..at + 1], "after a refused shift");
    // What the rings save at Gemma 3's full 32k context: the 15 sliding layers hold 1,024
    // positions instead of 32,768.
    let (ring, full) = (
        model.new_cache(32_768).bytes(),
        model.new_cache_without_rings(32_768).bytes(),
    );
    assert!(ring * 4 < full, "{ring} vs {full} bytes");
}

/// The engine's side of that refusal: `shift_context` feeds the tokens that stay again, and the
/// conversation goes on exactly as one that was given those tokens from the start.
#[test]
fn a_shift_the_rings_cannot_make_in_place_feeds_the_kept_tokens_again() {
    use gemma_tui::engine::Engine;
    let e = Engine::load(&common::model_path(), 2).unwrap();
    let text = std::fs::read_to_string("tests/fixtures/perplexity/harbour.txt").unwrap();
    let ids = e.tokenizer.encode(&text, true, false);
    let mut s = e.new_session(1500).unwrap();
    let feed = |s: &mut gemma_tui::engine::Session, part: &[u32]| {
        for chunk in part.chunks(256) {
            s.forward(chunk).unwrap();
        }
        s.tokens.extend_from_slice(part);
    };
    feed(&mut s, &ids[..1400]);
    assert_eq!(e.shift_context(&mut s, 4).unwrap(), 698);
    feed(&mut s, &ids[1400..1500]);
    assert_eq!(e.shift_context(&mut s, 4).unwrap(), 399);
    assert_eq!((s.pass.len(), s.tokens.len()), (403, 403));
    let next = s.forward(&ids[1500..1501]).unwrap();
    let mut fresh = e.new_session(1500).unwrap();
    let kept = s.tokens.clone();
    feed(&mut fresh, &kept);
    assert_eq!(next, fresh.forward(&ids[1500..1501]).unwrap());
}
