//! The slot pool on the real model: concurrent greedy replies equal the same prompts run alone
//! through `Engine::generate`, a client that leaves frees its slot, the queue and prompt limits,
//! seeded sampling, `ignore_eos` and log-probabilities.
mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use gemma_tui::engine::{Engine, FinishReason, GenEvent, Limits, PromptKind, StepControl};
use gemma_tui::sampling::{Sampler, SamplerParams};
use gemma_tui::serve::slots::{Job, JobHandle, JobStats, PoolError, SlotEvent, SlotPool};

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(Engine::load(&common::model_path(), 2).expect("load the model")))
        .clone()
}

const PROMPTS: [&str; 5] = [
    "The capital of France is",
    "Once upon a time, in a small village at the edge of a great forest, there lived an old \
     woodcutter and his three daughters. Every morning",
    "1, 2, 3, 4,",
    "Q: What is the boiling point of water at sea level?\nA:",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
];

fn job(prompt: &str, params: SamplerParams, max_tokens: usize) -> Job {
    Job {
        prompt: prompt.to_string(),
        params,
        limits: Limits::tokens(max_tokens),
        trim_reply_start: false,
        ignore_eos: false,
        top_logprobs: None,
        constraint: None,
    }
}

/// A finished job's reply: every token id reported, the text, and the final figures.
struct Reply {
    ids: Vec<u32>,
    text: String,
    stats: JobStats,
}

fn collect(mut handle: JobHandle) -> Reply {
    let (mut ids, mut text) = (Vec::new(), String::new());
    let mut prefilled = false;
    while let Some(event) = handle.events.blocking_recv() {
        match event {
            SlotEvent::Prefilled { .. } => prefilled = true,
            SlotEvent::Token(t) => {
                assert!(prefilled, "a token before Prefilled");
                if t.id != u32::MAX {
                    ids.push(t.id);
                }
                text.push_str(&t.text);
            }
            SlotEvent::Done(stats) => return Reply { ids, text, stats },
            SlotEvent::Failed(e) => panic!("job failed: {e}"),
        }
    }
    panic!("the job's events ended without Done");
}

/// The same prompt alone through `Engine::generate` with a fresh sampler of `params`.
fn alone(prompt: &str, params: SamplerParams, max_tokens: usize) -> (Vec<u32>, String) {
    let engine = engine();
    let mut session = engine.new_session(512).unwrap();
    let mut sampler = Sampler::new(params);
    let mut text = String::new();
    let stats = engine
        .generate(
            &mut session,
            &PromptKind::Raw(prompt.to_string()),
            &Limits::tokens(max_tokens),
            &|| false,
            &mut |logits, history| Ok(sampler.sample_with_history(&logits, history).unwrap()),
            &mut |event| {
                if let GenEvent::Token { text: piece, .. } = event {
                    text.push_str(piece);
                }
                StepControl::Continue
            },
        )
        .unwrap();
    (stats.generated_ids, text)
}

fn concurrent_greedy_equals_alone(parallel: usize) {
    let pool = SlotPool::start(engine(), parallel, 512, 16).unwrap();
    let max_tokens = 24;
    // Every token reported (log-probabilities on) for the ids; text compared as well.
    let handles: Vec<JobHandle> = PROMPTS
        .iter()
        .map(|p| {
            let mut j = job(p, SamplerParams::greedy(), max_tokens);
            j.top_logprobs = Some(1);
            pool.submit(j).unwrap()
        })
        .collect();
    let replies: Vec<Reply> = handles.into_iter().map(collect).collect();
    for (prompt, reply) in PROMPTS.iter().zip(&replies) {
        let (ids, text) = alone(prompt, SamplerParams::greedy(), max_tokens);
        assert!(!ids.is_empty(), "{prompt:?} generated nothing alone");
        assert_eq!(
            reply.ids, ids,
            "token ids for {prompt:?} with {parallel} slots"
        );
        assert_eq!(
            reply.text, text,
            "text for {prompt:?} with {parallel} slots"
        );
        assert_eq!(reply.stats.predicted_n, ids.len());
    }
    let status = pool.status();
    assert_eq!(status.requests_total, PROMPTS.len() as u64);
    assert_eq!(
        status.generated_tokens_total,
        replies.iter().map(|r| r.ids.len() as u64).sum::<u64>()
    );
    assert_eq!((status.busy, status.queued), (0, 0));
}

#[test]
fn greedy_replies_of_two_slots_equal_each_prompt_alone() {
    concurrent_greedy_equals_alone(2);
}

#[test]
fn greedy_replies_of_four_slots_equal_each_prompt_alone() {
    concurrent_greedy_equals_alone(4);
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_dropped_receiver_frees_its_slot_for_a_queued_job() {
    let pool = SlotPool::start(engine(), 1, 512, 4).unwrap();
    let mut endless = job(PROMPTS[0], SamplerParams::greedy(), 100_000);
    endless.ignore_eos = true;
    let mut first = pool.submit(endless).unwrap();
    let queued = pool
        .submit(job(PROMPTS[2], SamplerParams::greedy(), 8))
        .unwrap();
    // The first job runs, the second waits for the only slot.
    loop {
        match first.events.blocking_recv() {
            Some(SlotEvent::Token(_)) => break,
            Some(SlotEvent::Prefilled { .. }) => {}
            other => panic!("expected the first job to run, got {other:?}"),
        }
    }
    let status = pool.status();
    assert_eq!((status.busy, status.queued), (1, 1));
    drop(first);
    let reply = collect(queued);
    assert_eq!(reply.stats.predicted_n, 8);
    wait_until("the slot is free", || pool.status().busy == 0);
    assert_eq!(pool.status().queued, 0);
}

#[test]
fn a_full_queue_and_a_long_prompt_are_refused() {
    let pool = SlotPool::start(engine(), 1, 64, 1).unwrap();
    let long = "word ".repeat(200);
    match pool.submit(job(&long, SamplerParams::greedy(), 8)) {
        Err(PoolError::PromptTooLong { tokens, capacity }) => {
            assert!(tokens >= 200, "{tokens}");
            assert_eq!(capacity, 64);
        }
        other => panic!("expected PromptTooLong, got {:?}", other.err()),
    }
    assert_eq!(
        pool.submit(job("", SamplerParams::greedy(), 8)).err(),
        Some(PoolError::EmptyPrompt)
    );
    let mut bad = SamplerParams::greedy();
    bad.top_p = f32::NAN;
    assert!(matches!(
        pool.submit(job("Hi", bad, 8)),
        Err(PoolError::BadParams(_))
    ));
    // One slot and one place in the queue: a third job is refused whatever the timing (the
    // first one is in the slot or still waiting to be taken).
    let mut endless = job(PROMPTS[0], SamplerParams::greedy(), 40);
    endless.ignore_eos = true;
    let a = pool.submit(endless.clone()).unwrap();
    let b = pool.submit(endless.clone()).unwrap();
    assert!(matches!(pool.submit(endless), Err(PoolError::QueueFull(_))));
    assert_eq!(collect(a).stats.predicted_n, 40);
    assert_eq!(collect(b).stats.finish, FinishReason::MaxTokens);
    pool.drain();
    assert_eq!(
        pool.submit(job("Hi", SamplerParams::greedy(), 8)).err(),
        Some(PoolError::Closed)
    );
}

#[test]
fn seeded_sampling_gives_the_same_text_twice_and_ignore_eos_runs_to_the_limit() {
    let pool = SlotPool::start(engine(), 2, 512, 4).unwrap();
    let seeded = SamplerParams {
        temperature: 1.0,
        seed: Some(1234),
        ..SamplerParams::default()
    };
    let mut j = job(PROMPTS[1], seeded.clone(), 32);
    j.ignore_eos = true;
    // Together in the pool, then one alone: the same text each time, and the same as
    // `Engine::generate` with the same seed.
    let (a, b) = (
        pool.submit(j.clone()).unwrap(),
        pool.submit(j.clone()).unwrap(),
    );
    let (a, b) = (collect(a), collect(b));
    let c = collect(pool.submit(j).unwrap());
    assert_eq!(a.text, b.text);
    assert_eq!(a.text, c.text);
    assert_eq!(a.stats.predicted_n, 32);
    assert_eq!(a.stats.finish, FinishReason::MaxTokens);
    // A different seed takes another path (a temperature of 1 over the whole vocabulary).
    let other = SamplerParams {
        seed: Some(99),
        ..seeded
    };
    let d = collect(pool.submit(job(PROMPTS[1], other, 32)).unwrap());
    assert_ne!(a.text, d.text);
}

#[test]
fn log_probabilities_come_from_the_raw_distribution() {
    let pool = SlotPool::start(engine(), 2, 512, 4).unwrap();
    let mut j = job(PROMPTS[3], SamplerParams::greedy(), 6);
    j.top_logprobs = Some(3);
    let mut handle = pool.submit(j).unwrap();
    let mut seen = 0;
    while let Some(event) = handle.events.blocking_recv() {
        match event {
            SlotEvent::Token(t) if t.id != u32::MAX => {
                let lp = t.logprob.expect("log-probabilities asked for");
                assert_eq!(lp.top.len(), 3);
                // Greedy: the sampled token is the most likely one.
                assert_eq!(lp.top[0].1, lp.logprob);
                assert_eq!(lp.top[0].0, lp.token);
                assert!(lp.top.windows(2).all(|w| w[0].1 >= w[1].1));
                // Probabilities, and not all of the mass in the top 3 of 262,144.
                let mass: f32 = lp.top.iter().map(|(_, l)| l.exp()).sum();
                assert!(lp.logprob <= 0.0 && mass > 0.0 && mass <= 1.0 + 1e-5);
                seen += 1;
            }
            SlotEvent::Done(stats) => {
                assert_eq!(seen, stats.predicted_n);
                break;
            }
            SlotEvent::Failed(e) => panic!("{e}"),
            _ => {}
        }
    }
    assert!(seen > 0);
}
