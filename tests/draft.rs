//! Exact n-gram drafting on the real model: a batched verify computes the same logits as one
//! token at a time, greedy replies are the same token for token with and without drafting, a
//! seeded sampler gives the same text, and the tokens drawn at drafted positions follow the
//! undrafted distribution (chi-square).
mod common;

use gemma_tui::engine::{
    DraftParams, Engine, FinishReason, GenerationStats, Limits, PromptKind, Session, StepControl,
};
use gemma_tui::sampling::{argmax, Sampler, SamplerParams};
use rand::{Rng, SeedableRng};

const PARAGRAPH: &str = "The river rises in the northern hills, runs south through three \
    market towns and a forest of old oaks, and meets the sea at a wide muddy estuary where \
    herons feed at low tide and fishing boats wait for the morning.";

const CODE: &str = "fn mean(values: &[f64]) -> f64 {\n    let mut total = 0.0;\n    for v in \
    values {\n        total += v;\n    }\n    total / values.len() as f64\n}\n";

/// Copy-heavy prompts (the reply repeats, edits or quotes given text) and free-text ones.
fn prompts() -> (Vec<String>, Vec<String>) {
    let copy = vec![
        format!("Repeat this paragraph exactly, word for word:\n\n{PARAGRAPH}"),
        format!("Copy the following text twice:\n\n{PARAGRAPH}"),
        format!("Rewrite this code with the function renamed to `average`:\n\n{CODE}"),
        format!("Add a comment line above the loop in this code and show the whole code:\n\n{CODE}"),
        format!("Context: {PARAGRAPH}\n\nQuestion: Where does the river meet the sea? Answer by quoting the context."),
        format!("Context: {PARAGRAPH}\n\nQuestion: What do herons do? Quote the sentence that says it."),
        "Repeat after me: one two three four five six seven eight nine ten, one two three four five six seven eight nine ten.".into(),
        "Write the list `apple, banana, cherry, date, elderberry, fig, grape` three times, one per line.".into(),
        format!("Summarise this text by repeating its first half: {PARAGRAPH}"),
        format!("Translate nothing, just print this code again:\n\n{CODE}"),
        "Continue the pattern for four more lines:\nThe cat sat on the mat.\nThe dog sat on the mat.\nThe cow sat on the mat.".into(),
        "Print this JSON again with the key \"b\" set to 3: {\"a\": 1, \"b\": 2, \"c\": [1, 2, 3], \"d\": {\"e\": \"f\"}}".into(),
    ];
    let free = vec![
        "Write a short poem about the sea.".into(),
        "Explain photosynthesis to a child.".into(),
        "Give three tips for learning a new language.".into(),
        "What is the capital of France, and why is it famous?".into(),
        "Tell me a story about a dragon who likes tea.".into(),
        "Describe your ideal weekend.".into(),
        "Why is the sky blue?".into(),
        "List some uses of a paperclip.".into(),
        "What makes a good friend?".into(),
        "Invent a new board game and explain its rules.".into(),
    ];
    (copy, free)
}

fn session(engine: &Engine, draft: Option<DraftParams>) -> Session {
    let mut s = engine.new_session(2048).unwrap();
    s.draft = draft;
    s
}

/// Chooses a step's token: `(step, logits, history)`.
type Pick<'a> = dyn FnMut(usize, Vec<f32>, &[u32]) -> u32 + 'a;

/// A reply of up to `max` tokens, each chosen by `pick(step, logits, history)`.
fn reply(
    engine: &Engine,
    draft: Option<DraftParams>,
    prompt: &PromptKind,
    max: usize,
    pick: &mut Pick<'_>,
) -> (GenerationStats, String) {
    let mut s = session(engine, draft);
    let mut text = String::new();
    let mut step = 0;
    let stats = engine
        .generate(
            &mut s,
            prompt,
            &Limits::tokens(max),
            &|| false,
            &mut |logits, history| {
                step += 1;
                Ok(pick(step - 1, logits, history))
            },
            &mut |e| {
                if let gemma_tui::engine::GenEvent::Token { text: t, .. } = e {
                    text.push_str(t);
                }
                StepControl::Continue
            },
        )
        .unwrap();
    // The conversation holds exactly the prompt and the reply, whatever was drafted.
    let fed = s.tokens.len() - usize::from(stats.finish == FinishReason::MaxTokens);
    assert_eq!(s.pass.len(), fed, "the cache holds guesses past the reply");
    (stats, text)
}

#[test]
fn a_batched_verify_equals_one_token_steps() {
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let prompt = engine
        .tokenizer
        .encode(&format!("Repeat: {PARAGRAPH}\n{PARAGRAPH}"), true, true);
    let guesses = engine.tokenizer.encode(PARAGRAPH, false, false);
    for k in [1, 2, 3, 4, 7, 8, 16] {
        let mut batched = session(&engine, None);
        batched.forward(&prompt).unwrap();
        let mut rows = Vec::new();
        batched
            .pass
            .forward_logits(&guesses[..=k], 0, &mut |_, block| {
                rows.extend_from_slice(block)
            })
            .unwrap();
        let mut single = session(&engine, None);
        single.forward(&prompt).unwrap();
        let vocab = engine.cfg.vocab_size;
        for (i, &t) in guesses[..=k].iter().enumerate() {
            let own = single.forward(&[t]).unwrap();
            let row = &rows[i * vocab..(i + 1) * vocab];
            let worst = own
                .iter()
                .zip(row)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                own == row,
                "verify of {} positions, row {i}: logits differ by up to {worst}",
                k + 1
            );
        }
    }
}

#[test]
fn greedy_replies_are_identical_with_and_without_drafting() {
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let (copy, free) = prompts();
    let greedy = &mut |_: usize, logits: Vec<f32>, _: &[u32]| argmax(&logits);
    let mut accepted_on_copy = 0;
    for (i, text) in copy.iter().chain(&free).enumerate() {
        let prompt = PromptKind::gemma_chat(text.as_str());
        let (plain, plain_text) = reply(&engine, None, &prompt, 80, greedy);
        let (drafted, drafted_text) =
            reply(&engine, Some(DraftParams::ngram(8)), &prompt, 80, greedy);
        assert_eq!(plain.drafted, 0);
        assert_eq!(
            plain.generated_ids, drafted.generated_ids,
            "prompt {i} ({text:?}): the drafted reply differs"
        );
        assert_eq!(plain_text, drafted_text);
        assert_eq!(plain.finish, drafted.finish);
        assert!(drafted.draft_accepted <= drafted.drafted);
        if i < copy.len() {
            accepted_on_copy += drafted.draft_accepted;
        }
        eprintln!(
            "prompt {i}: {} tokens, {} drafted, {} accepted",
            drafted.generated_ids.len(),
            drafted.drafted,
            drafted.draft_accepted
        );
    }
    // The test must be able to fail when drafting never runs.
    assert!(
        accepted_on_copy > 100,
        "only {accepted_on_copy} guesses held on copy-heavy prompts"
    );
}

#[test]
fn a_stop_string_inside_drafted_text_leaves_the_same_conversation() {
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let prompt = PromptKind::gemma_chat(format!("Repeat this paragraph exactly:\n\n{PARAGRAPH}"));
    // Stops late in the copy (guesses are ahead in the cache by then), and one never met.
    for stop in ["estuary where", "fishing", "zzz-never"] {
        let run = |draft| {
            let mut s = session(&engine, draft);
            let limits = Limits {
                max_tokens: 60,
                stop: vec![stop.to_string()],
            };
            let stats = engine
                .generate(
                    &mut s,
                    &prompt,
                    &limits,
                    &|| false,
                    &mut |logits, _| Ok(argmax(&logits)),
                    &mut |_| StepControl::Continue,
                )
                .unwrap();
            (stats, s.tokens.clone(), s.pass.len(), s.context_used())
        };
        let (plain, plain_tokens, plain_len, plain_used) = run(None);
        let (drafted, tokens, len, used) = run(Some(DraftParams::ngram(8)));
        assert_eq!(plain.generated_ids, drafted.generated_ids, "stop {stop:?}");
        assert_eq!(plain.finish, drafted.finish, "stop {stop:?}");
        assert_eq!(
            (plain_tokens, plain_len, plain_used),
            (tokens, len, used),
            "stop {stop:?}"
        );
        assert!(drafted.draft_accepted > 0, "stop {stop:?}: nothing drafted");
        if stop != "zzz-never" {
            assert_eq!(drafted.finish, FinishReason::StopString, "stop {stop:?}");
        }
    }
}

#[test]
fn a_seeded_sampler_gives_the_same_text_with_and_without_drafting() {
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let (copy, free) = prompts();
    let mut accepted = 0;
    for (i, text) in [&copy[0], &copy[2], &copy[4], &free[0]]
        .into_iter()
        .enumerate()
    {
        let prompt = PromptKind::gemma_chat(text.as_str());
        let run = |draft| {
            // The default chain (penalties, top-k, top-p, min-p, temperature) with a fixed seed.
            let mut sampler = Sampler::new(SamplerParams {
                seed: Some(100 + i as u64),
                ..SamplerParams::default()
            });
            reply(&engine, draft, &prompt, 64, &mut |_, logits, history| {
                sampler.sample_with_history(&logits, history).unwrap()
            })
        };
        let (plain, plain_text) = run(None);
        let (drafted, drafted_text) = run(Some(DraftParams::ngram(8)));
        assert_eq!(plain.generated_ids, drafted.generated_ids, "prompt {i}");
        assert_eq!(plain_text, drafted_text);
        accepted += drafted.draft_accepted;
    }
    assert!(accepted > 0, "no guess held: drafting never ran");
}

/// The chi-square critical value at significance 0.001 (Wilson–Hilferty approximation).
fn chi2_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.090_232; // the 0.999 quantile of the standard normal
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

fn softmax(logits: &[f32], t: f64) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::MIN, f32::max) as f64;
    let e: Vec<f64> = logits
        .iter()
        .map(|&l| ((l as f64 - max) / t).exp())
        .collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// One draw from `p` (inverse CDF).
fn draw(p: &[f64], rng: &mut impl Rng) -> u32 {
    let mut u: f64 = rng.gen();
    for (i, &q) in p.iter().enumerate() {
        if u < q {
            return i as u32;
        }
        u -= q;
    }
    (p.len() - 1) as u32
}

#[test]
fn tokens_drawn_at_drafted_positions_follow_the_undrafted_distribution() {
    // A copied list: greedy steps make the prefix the same in every run and keep guesses
    // flowing, so the logits of step `AT` come from a verify; that one token is drawn (a seed
    // per run) from whatever the loop hands over. An accepted guess that skipped the draw, a
    // verify row off by one or a stale history would skew the counts away from the undrafted
    // distribution at that step.
    const AT: usize = 12;
    const RUNS: usize = 200;
    const T: f64 = 2.0;
    let engine = Engine::load(&common::model_path(), 2).unwrap();
    let prompt = PromptKind::Raw(
        "apple, banana, cherry, date, elderberry, fig, grape, apple, banana, cherry, date, \
         elderberry, fig, grape, apple, banana,"
            .into(),
    );
    // The undrafted logits at step AT.
    let mut expected = Vec::new();
    reply(&engine, None, &prompt, AT + 1, &mut |step, logits, _| {
        if step == AT {
            expected = logits.clone();
        }
        argmax(&logits)
    });
    let p = softmax(&expected, T);
    let mut counts = std::collections::BTreeMap::new();
    let mut accepted = 0;
    for seed in 0..RUNS as u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        // Recorded here: a drawn end-of-turn token ends the reply without joining it.
        let mut token = None;
        let (stats, _) = reply(
            &engine,
            Some(DraftParams::ngram(8)),
            &prompt,
            AT + 1,
            &mut |step, logits, _| {
                if step == AT {
                    let t = draw(&softmax(&logits, T), &mut rng);
                    token = Some(t);
                    t
                } else {
                    argmax(&logits)
                }
            },
        );
        accepted += stats.draft_accepted;
        let token = token.expect("the reply reached the drawn step");
        *counts.entry(token).or_insert(0usize) += 1;
    }
    assert!(
        accepted > RUNS * 4,
        "drafting hardly ran ({accepted} guesses kept)"
    );
    // One-sample chi-square: the tokens expected at least 5 times each, the rest pooled.
    let n = RUNS as f64;
    let mut cells: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
    let mut rest = (n, n);
    for (t, &q) in p.iter().enumerate() {
        if q * n >= 5.0 {
            let seen = *counts.get(&(t as u32)).unwrap_or(&0) as f64;
            cells.push((seen, q * n));
            rest = (rest.0 - seen, rest.1 - q * n);
        }
    }
    if rest.1 >= 1.0 {
        cells.push(rest);
    }
    // At T = 2 the likeliest token has about 10 %, the rest is spread thin: two cells, and a
    // loop that kept a guess without the draw would put all 200 in one of them.
    assert!(
        cells.len() >= 2,
        "too few categories for a test with power: {cells:?}"
    );
    let chi2: f64 = cells.iter().map(|(o, e)| (o - e).powi(2) / e).sum();
    let crit = chi2_critical(cells.len() - 1);
    assert!(chi2 < crit, "chi2 {chi2:.1} >= {crit:.1}: {cells:?}");
    eprintln!("chi2 {chi2:.1} < {crit:.1} over {cells:?}");
}
