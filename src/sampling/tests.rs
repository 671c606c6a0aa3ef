//! Unit tests per stage, including llama.cpp's own expectations from its tests/test-sampling.cpp
//! (each stage on logits ln(p), then a softmax over what is left), and the chain's edge cases.
use std::collections::BTreeMap;

use rand::SeedableRng;

use super::penalties::{Dry, Logits, Penalties};
use super::stages::Work;
use super::*;

/// Logits ln(p) as llama.cpp's tests build them.
fn logits_of(probs: &[f32]) -> Vec<f32> {
    probs.iter().map(|p| p.ln()).collect()
}

/// Runs `stage` on the logits of `probs`, then returns the softmax of what is left by token id
/// (llama.cpp's tests apply a `dist` sampler, whose softmax gives the probabilities they check).
fn after(probs: &[f32], stage: impl FnOnce(&mut Work, &[f32])) -> BTreeMap<u32, f32> {
    let src = logits_of(probs);
    let mut w = Work::default();
    w.reset();
    stage(&mut w, &src);
    // The draw computes the final softmax.
    let _ = w.draw(&src, 0.0);
    if w.is_dense {
        let d = w.dense_view(&src);
        let (z, _) = math::exp_sums(d, math::max(d), w.scale());
        let m = math::max(d);
        return d
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                let p = f64::from(math::exp_approx((l - m) * w.scale())) / z;
                (i as u32, p as f32)
            })
            .collect();
    }
    w.cands
        .iter()
        .zip(&w.probs)
        .map(|(c, &p)| (c.id, p))
        .collect()
}

/// Expected probabilities by id.
fn expect(pairs: &[(u32, f32)]) -> BTreeMap<u32, f32> {
    pairs.iter().copied().collect()
}

fn assert_close(got: &BTreeMap<u32, f32>, want: &BTreeMap<u32, f32>) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "kept tokens differ: got {got:?}, want {want:?}"
    );
    for (id, p) in want {
        assert!(
            (got[id] - p).abs() < 1e-5,
            "token {id}: got {}, want {p} ({got:?})",
            got[id]
        );
    }
}

const P4: [f32; 4] = [0.1, 0.2, 0.3, 0.4];

#[test]
fn llama_cpp_temperature() {
    let got = after(&P4, |w, s| {
        w.temperature(s, 1.0, 0.0, 1.0);
    });
    assert_close(&got, &expect(&[(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4)]));
    let got = after(&P4, |w, s| {
        assert_eq!(w.temperature(s, 0.0, 0.0, 1.0), 0.0);
    });
    assert_close(&got, &expect(&[(3, 1.0)]));
}

#[test]
fn llama_cpp_top_k() {
    let got = after(&P4, |w, s| w.top_k(s, 1));
    assert_close(&got, &expect(&[(3, 1.0)]));
    let got = after(&P4, |w, s| w.top_k(s, 3));
    assert_close(&got, &expect(&[(3, 0.44444), (2, 0.33333), (1, 0.22222)]));
    for k in [4, 0] {
        let got = after(&P4, |w, s| w.top_k(s, k));
        assert_close(&got, &expect(&[(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4)]));
    }
}

#[test]
fn llama_cpp_top_p() {
    let got = after(&P4, |w, s| w.top_p(s, 0.0, 0));
    assert_close(&got, &expect(&[(3, 1.0)]));
    let got = after(&P4, |w, s| w.top_p(s, 0.7, 0));
    assert_close(&got, &expect(&[(3, 0.571429), (2, 0.428571)]));
    let got = after(&P4, |w, s| w.top_p(s, 0.8, 0));
    assert_close(&got, &expect(&[(3, 0.44444), (2, 0.33333), (1, 0.22222)]));
    let got = after(&P4, |w, s| w.top_p(s, 1.0, 0));
    assert_close(&got, &expect(&[(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4)]));
}

#[test]
fn llama_cpp_min_p() {
    let all = expect(&[(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4)]);
    let three = expect(&[(1, 0.2 / 0.9), (2, 0.3 / 0.9), (3, 0.4 / 0.9)]);
    let two = expect(&[(2, 0.3 / 0.7), (3, 0.4 / 0.7)]);
    let one = expect(&[(3, 1.0)]);
    for (p, want) in [
        (0.0, &all),
        (0.24, &all),
        (0.26, &three),
        (0.49, &three),
        (0.51, &two),
        (0.74, &two),
        (0.76, &one),
        (1.0, &one),
        (1.05, &one),
    ] {
        let got = after(&P4, |w, s| w.min_p(s, p, 0));
        assert_close(&got, want);
        // The same on an already-truncated (sparse) list.
        let got = after(&P4, |w, s| {
            w.top_k(s, 4);
            w.min_p(s, p, 0)
        });
        assert_close(&got, want);
    }
}

#[test]
fn issue_min_p_example_and_its_boundary() {
    // The issue's example: probabilities [0.5, 0.2, 0.15, 0.1, 0.05]. At min_p 0.1 the last one
    // sits exactly on the floor (0.05 = 0.1 x 0.5); llama.cpp keeps p_i >= min_p * p_max, and in
    // f32 ln(0.5) + ln(0.1) == ln(0.05), so llama.cpp keeps all five there. Just above, four stay.
    let probs = [0.5f32, 0.2, 0.15, 0.1, 0.05];
    let floor = 0.5f32.ln() + 0.1f32.ln();
    let on_floor = 0.05f32.ln() >= floor;
    let got = after(&probs, |w, s| w.min_p(s, 0.1, 0));
    assert_eq!(got.len(), if on_floor { 5 } else { 4 });
    for p in [0.11, 0.15, 0.19] {
        let got = after(&probs, |w, s| w.min_p(s, p, 0));
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            [0, 1, 2, 3],
            "min_p {p}"
        );
    }
}

/// Runs a stage and returns the kept ids with their *input* probabilities (llama.cpp's XTC and
/// typical tests check the candidates without a softmax after them).
fn kept(probs: &[f32], stage: impl FnOnce(&mut Work, &[f32])) -> BTreeMap<u32, f32> {
    let src = logits_of(probs);
    let mut w = Work::default();
    w.reset();
    stage(&mut w, &src);
    if w.is_dense {
        return probs
            .iter()
            .enumerate()
            .map(|(i, &p)| (i as u32, p))
            .collect();
    }
    w.cands
        .iter()
        .map(|c| (c.id, probs[c.id as usize]))
        .collect()
}

#[test]
fn llama_cpp_xtc() {
    // llama.cpp uses probability 0.99 with its seeded draw; 1.0 makes the draw certain here.
    let p = [0.4, 0.3, 0.2, 0.1];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for (t, want) in [
        (0.09, expect(&[(3, 0.1)])),
        (0.19, expect(&[(2, 0.2), (3, 0.1)])),
        (0.29, expect(&[(1, 0.3), (2, 0.2), (3, 0.1)])),
        (0.39, expect(&[(0, 0.4), (1, 0.3), (2, 0.2), (3, 0.1)])),
    ] {
        // Both on the whole vocabulary and on a list.
        assert_close(&kept(&p, |w, s| w.xtc(s, 1.0, t, 0, &mut rng)), &want);
        let got = kept(&p, |w, s| {
            w.top_k(s, 4);
            w.xtc(s, 1.0, t, 0, &mut rng)
        });
        assert_close(&got, &want);
    }
    // Never with probability 0, never above a threshold of 0.5.
    assert_eq!(kept(&p, |w, s| w.xtc(s, 0.0, 0.09, 0, &mut rng)).len(), 4);
    assert_eq!(kept(&p, |w, s| w.xtc(s, 1.0, 0.51, 0, &mut rng)).len(), 4);
}

#[test]
fn xtc_applies_with_its_probability() {
    let p = [0.4, 0.3, 0.2, 0.1];
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let n = 4000;
    let applied = (0..n)
        .filter(|_| kept(&p, |w, s| w.xtc(s, 0.3, 0.09, 0, &mut rng)).len() == 1)
        .count();
    let rate = applied as f64 / f64::from(n);
    // Binomial(4000, 0.3): sd 0.0072; 5 sd.
    assert!((rate - 0.3).abs() < 0.036, "rate {rate}");
}

#[test]
fn llama_cpp_typical() {
    let got = kept(&[0.97, 0.01, 0.01, 0.01], |w, s| w.typical(s, 0.5, 0));
    assert_close(&got, &expect(&[(0, 0.97)]));
    let got = kept(&[0.4, 0.2, 0.2, 0.2], |w, s| w.typical(s, 0.5, 0));
    assert_close(&got, &expect(&[(1, 0.2), (2, 0.2), (3, 0.2)]));
}

fn penalised(
    probs: &[f32],
    history: &[u32],
    repeat: f32,
    freq: f32,
    presence: f32,
) -> BTreeMap<u32, f32> {
    let params = SamplerParams {
        repeat_last_n: history.len(),
        repeat_penalty: repeat,
        frequency_penalty: freq,
        presence_penalty: presence,
        ..SamplerParams::default()
    };
    after(probs, |w, s| {
        Penalties::default().apply(&params, history, Logits::Dense(w.dense_mut(s)))
    })
}

#[test]
fn llama_cpp_penalties() {
    let p5 = [0.2f32; 5];
    // (history, repeat, frequency, presence, expected probabilities by id)
    type Case<'a> = (&'a [u32], f32, f32, f32, [f32; 5]);
    let cases: [Case; 6] = [
        (&[0], 50.0, 0.0, 0.0, [0.0, 0.25, 0.25, 0.25, 0.25]),
        (&[0, 1, 2], 50.0, 0.0, 0.0, [0.0, 0.0, 0.0, 0.5, 0.5]),
        (&[0, 1, 2, 0, 0], 50.0, 0.0, 0.0, [0.0, 0.0, 0.0, 0.5, 0.5]),
        (
            &[0],
            1.0,
            5.0,
            5.0,
            [0.000011, 0.249997, 0.249997, 0.249997, 0.249997],
        ),
        (
            &[0, 1, 2],
            1.0,
            5.0,
            5.0,
            [0.000023, 0.000023, 0.000023, 0.499966, 0.499966],
        ),
        (
            &[0, 1, 2, 0, 0],
            1.0,
            5.0,
            5.0,
            [0.0, 0.000023, 0.000023, 0.499977, 0.499977],
        ),
    ];
    for (history, rep, freq, pres, want) in cases {
        let got = penalised(&p5, history, rep, freq, pres);
        let want: BTreeMap<u32, f32> = (0..5).map(|i| (i, want[i as usize])).collect();
        assert_close(&got, &want);
    }
}

fn dried(
    probs: &[f32],
    history: &[u32],
    mult: f32,
    base: f32,
    allowed: usize,
    last_n: i32,
    breakers: &[Vec<u32>],
) -> BTreeMap<u32, f32> {
    let params = SamplerParams {
        dry_multiplier: mult,
        dry_base: base,
        dry_allowed_length: allowed,
        dry_penalty_last_n: last_n,
        ..SamplerParams::default()
    };
    let breakers = DryBreakers::from_sequences(breakers);
    after(probs, |w, s| {
        Dry::default().apply(&params, &breakers, history, Logits::Dense(w.dense_mut(s)))
    })
}

#[test]
fn llama_cpp_dry() {
    let by_id = |v: &[f32]| -> BTreeMap<u32, f32> {
        v.iter().enumerate().map(|(i, &p)| (i as u32, p)).collect()
    };
    let q = [0.25f32; 4];
    let f = [0.2f32; 5];
    assert_close(&dried(&q, &[0, 1], 1.0, 1.1, 2, 4, &[]), &by_id(&q));
    assert_close(
        &dried(&q, &[0, 1, 2, 0, 1], 1.0, 1.1, 2, 5, &[]),
        &by_id(&[0.296923, 0.296923, 0.109232, 0.296923]),
    );
    assert_close(
        &dried(&f, &[0, 1, 3, 4, 0, 1], 1.0, 1.1, 2, 6, &[vec![3]]),
        &by_id(&f),
    );
    assert_close(
        &dried(&f, &[0, 1, 2, 0, 1], 2.0, 1.1, 2, 5, &[]),
        &by_id(&[0.241818, 0.241818, 0.032727, 0.241818, 0.241818]),
    );
    assert_close(
        &dried(&f, &[0, 1, 2, 3, 4, 0, 1], 1.0, 1.1, 4, 7, &[]),
        &by_id(&f),
    );
}

#[test]
fn dry_grows_with_the_repeat_and_respects_multi_token_breakers() {
    // "a b c d" then "a b c": d would extend a 3-token repeat; with allowed 2 the exponent is 1.
    let f = [0.2f32; 5];
    let got = dried(&f, &[0, 1, 2, 3, 0, 1, 2], 1.0, 2.0, 2, -1, &[]);
    let e = (-2.0f32).exp();
    assert!((got[&3] - e / (4.0 + e)).abs() < 1e-5, "{got:?}");
    // A two-token breaker [4, 1] in the middle of the repeat limits it to the tokens after it.
    let got = dried(
        &f,
        &[0, 4, 1, 2, 0, 4, 1, 2],
        1.0,
        2.0,
        2,
        -1,
        &[vec![4, 1]],
    );
    assert_close(&got, &(0..5).map(|i| (i, 0.2)).collect());
}

#[test]
fn dynamic_temperature_follows_the_entropy() {
    // Uniform candidates: normalised entropy 1, so the temperature is t + range.
    let uniform = logits_of(&[0.25; 4]);
    let mut w = Work::default();
    w.reset();
    let t = w.temperature(&uniform, 1.0, 0.5, 1.0);
    assert!((t - 1.5).abs() < 1e-4, "{t}");
    // A peaked distribution: entropy / ln 4 of [0.97, 0.01 x3], exponent 2.
    let probs = [0.97f32, 0.01, 0.01, 0.01];
    let h: f32 = probs.iter().map(|p| -p * p.ln()).sum();
    let want = 0.5 + 1.0 * (h / 4f32.ln()).powf(2.0);
    let src = logits_of(&probs);
    for sparse in [false, true] {
        let mut w = Work::default();
        w.reset();
        if sparse {
            w.top_k(&src, 4);
        }
        let t = w.temperature(&src, 1.0, 0.5, 2.0);
        assert!((t - want).abs() < 1e-4, "{t} vs {want}");
    }
    // Range 0 is plain temperature, as llama.cpp's temp-ext with delta 0.
    let got = after(&P4, |w, s| {
        w.temperature(s, 1.0, 0.0, 1.0);
    });
    assert_close(&got, &expect(&[(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4)]));
}

#[test]
fn mirostat_v2_truncates_by_surprise_and_updates_mu() {
    // Surprises: -log2 [0.5, 0.25, 0.125, 0.125] = [1, 2, 3, 3]; mu 2.5 keeps the first two.
    let probs = [0.125f32, 0.5, 0.25, 0.125];
    for sparse in [false, true] {
        let src = logits_of(&probs);
        let mut w = Work::default();
        w.reset();
        if sparse {
            w.top_k(&src, 4);
        }
        w.mirostat_v2_truncate(&src, 2.5);
        let ids: Vec<u32> = w.cands.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 2]);
        // Nothing under mu keeps the most likely token.
        let mut w = Work::default();
        w.reset();
        w.mirostat_v2_truncate(&src, 0.5);
        assert_eq!(w.cands.iter().map(|c| c.id).collect::<Vec<_>>(), [1]);
    }
    // mu starts at 2 tau and moves by eta * (surprise - tau).
    let mut s = Sampler::new(SamplerParams {
        mirostat: Mirostat::V2,
        mirostat_tau: 3.0,
        mirostat_eta: 0.5,
        temperature: 1.0,
        seed: Some(5),
        ..SamplerParams::default()
    });
    assert_eq!(s.mu(), 6.0);
    let (tok, trace) = s.sample_traced(&logits_of(&probs), &[]).unwrap();
    assert_eq!(trace.token, tok);
    assert_eq!(trace.mu, Some(6.0));
    // mu 6 keeps all four: the draw's probability is its own.
    let want_surprise = -probs[tok as usize].log2();
    assert!((trace.surprise - want_surprise).abs() < 1e-4);
    assert!((s.mu() - (6.0 - 0.5 * (want_surprise - 3.0))).abs() < 1e-4);
    s.reset();
    assert_eq!(s.mu(), 6.0);
}

#[test]
fn mirostat_v1_k_follows_the_zipf_estimate() {
    // Exact Zipf with s = 1.5: log(p_i / p_i+1) = 1.5 ln((i+2)/(i+1)), so s_hat = 1.5.
    let head: Vec<math::Cand> = (0..100)
        .map(|i| math::Cand {
            logit: -1.5 * ((i + 1) as f32).ln(),
            id: i,
        })
        .collect();
    let (mu, n) = (10.0f32, 1000usize);
    let eps = 0.5f32;
    let want = ((eps * 2f32.powf(mu)) / (1.0 - (n as f32).powf(-eps))).powf(1.0 / 1.5);
    assert_eq!(mirostat_v1_k(&head, mu, n), want as usize);
    // A larger mu allows more tokens.
    assert!(mirostat_v1_k(&head, 14.0, 100_000) > mirostat_v1_k(&head, 10.0, 100_000));
}

fn seeded(temperature: f32) -> Sampler {
    Sampler::new(SamplerParams {
        temperature,
        seed: Some(7),
        ..SamplerParams::default()
    })
}

#[test]
fn temperature_zero_is_greedy_with_lowest_id_on_ties() {
    let mut s = seeded(0.0);
    assert_eq!(s.sample(&[0.1, 2.0, 2.0, -1.0]).unwrap(), 1);
    // Penalties still apply before the greedy pick.
    let mut s = Sampler::new(SamplerParams {
        repeat_penalty: 4.0,
        ..SamplerParams::greedy()
    });
    assert_eq!(
        s.sample_with_history(&[0.1, 2.0, 1.9, -1.0], &[1]).unwrap(),
        2
    );
}

#[test]
fn same_seed_same_draws_and_reset_replays() {
    let logits: Vec<f32> = (0..100).map(|i| (i % 7) as f32 * 0.3).collect();
    let draw =
        |s: &mut Sampler| -> Vec<u32> { (0..50).map(|_| s.sample(&logits).unwrap()).collect() };
    let mut s = seeded(1.0);
    let a = draw(&mut s);
    assert_eq!(a, draw(&mut seeded(1.0)));
    assert!(
        a.iter().any(|&t| t != a[0]),
        "a temperature of 1 should vary the draws"
    );
    s.reset();
    assert_eq!(draw(&mut s), a);
}

#[test]
fn invalid_logits_are_errors_not_samples() {
    let mut s = seeded(0.8);
    assert_eq!(
        s.sample(&[0.0, f32::NAN]),
        Err(SamplingError::InvalidLogit("NaN", 1))
    );
    assert_eq!(
        s.sample(&[f32::NEG_INFINITY, 0.0]),
        Err(SamplingError::InvalidLogit("an infinity", 0))
    );
    assert_eq!(s.sample(&[]), Err(SamplingError::Empty));
}

#[test]
fn min_keep_keeps_tokens_every_truncation_would_drop() {
    let src = logits_of(&[0.9, 0.05, 0.03, 0.02]);
    for stage in 0..3 {
        let mut w = Work::default();
        w.reset();
        match stage {
            0 => w.min_p(&src, 0.9, 3),
            1 => w.top_p(&src, 0.1, 3),
            _ => w.typical(&src, 0.01, 3),
        }
        assert_eq!(w.len(&src), 3, "stage {stage}");
    }
}

#[test]
fn every_chain_order_and_setting_draws_a_valid_token() {
    // A property test over many settings: whatever the chain, the draw is in range and the trace
    // is a distribution.
    let logits: Vec<f32> = (0..3000)
        .map(|i| ((i * 7919) % 1013) as f32 / 97.0 - 5.0)
        .collect();
    let history: Vec<u32> = (0..200).map(|i| (i * 31) % 3000).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    use rand::seq::SliceRandom;
    use rand::Rng;
    for _ in 0..300 {
        let mut order = SamplerKind::DEFAULT_ORDER.to_vec();
        order.shuffle(&mut rng);
        order.truncate(rng.gen_range(1..=8));
        let p = SamplerParams {
            temperature: rng.gen_range(0.0..2.0),
            dynatemp_range: if rng.gen() {
                rng.gen_range(0.0..1.0)
            } else {
                0.0
            },
            top_k: rng.gen_range(0..100),
            top_p: rng.gen_range(0.0..1.2),
            min_p: rng.gen_range(0.0..0.5),
            typical_p: rng.gen_range(0.2..1.2),
            repeat_penalty: rng.gen_range(0.5..2.0),
            presence_penalty: rng.gen_range(0.0..1.0),
            dry_multiplier: rng.gen_range(0.0..1.0),
            xtc_probability: rng.gen_range(0.0..1.0),
            mirostat: Mirostat::from_level(rng.gen_range(0..3)).unwrap(),
            min_keep: rng.gen_range(0..5),
            samplers: order,
            seed: Some(rng.gen()),
            ..SamplerParams::default()
        };
        let mut s = Sampler::new(p.clone());
        let (tok, trace) = s.sample_traced(&logits, &history).unwrap();
        assert!((tok as usize) < logits.len(), "{p:?}");
        assert!(
            trace.prob > 0.0 && trace.prob <= 1.0 + 1e-6,
            "{p:?} {trace:?}"
        );
        let total: f32 = trace.after.iter().map(|c| c.prob).sum();
        assert!(total <= 1.0 + 1e-4 && !trace.after.is_empty(), "{p:?}");
        assert!(trace.candidates >= 1);
    }
}

#[test]
fn a_trace_is_completed_with_the_models_own_distribution() {
    let probs = [0.5f32, 0.25, 0.125, 0.125];
    let logits = logits_of(&probs);
    let mut s = Sampler::new(SamplerParams {
        seed: Some(9),
        ..SamplerParams::default()
    });
    let (_, mut trace) = s.sample_traced(&logits, &[]).unwrap();
    assert!(trace.before.is_empty(), "filled later, off the step's path");
    s.complete_trace(&logits, &mut trace);
    assert_eq!(trace.before[0].id, 0);
    assert!((trace.before[0].prob - 0.5).abs() < 1e-5);
    // H = 0.5*1 + 0.25*2 + 2 * 0.125*3 = 1.75 bits.
    assert!(
        (trace.entropy_before - 1.75).abs() < 1e-4,
        "{}",
        trace.entropy_before
    );
}
