//! Statistical tests of the sampler: over many seeded draws the empirical distribution matches the
//! analytic one (chi-square), for the default chain, dynamic temperature and the whole-vocabulary
//! (dense) draw; truncated tokens are never drawn.
use gemma_tui::sampling::{Mirostat, Sampler, SamplerKind, SamplerParams};

/// The chi-square critical value at significance 0.001 (Wilson–Hilferty approximation).
fn chi2_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.090_232; // the standard normal's 0.999 quantile
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

/// Draws `n` tokens and checks their counts against `want` (token → probability; the rest must
/// never be drawn).
fn check(sampler: &mut Sampler, logits: &[f32], want: &[(u32, f64)], n: usize) {
    let mut counts = std::collections::HashMap::new();
    for _ in 0..n {
        *counts
            .entry(sampler.sample(logits).unwrap())
            .or_insert(0usize) += 1;
    }
    for t in counts.keys() {
        assert!(
            want.iter().any(|(id, _)| id == t),
            "token {t} was drawn but the chain removes it"
        );
    }
    let total: f64 = want.iter().map(|w| w.1).sum();
    assert!((total - 1.0).abs() < 1e-9, "bad expectation {total}");
    let chi2: f64 = want
        .iter()
        .map(|&(id, p)| {
            let e = p * n as f64;
            let o = *counts.get(&id).unwrap_or(&0) as f64;
            (o - e).powi(2) / e
        })
        .sum();
    let crit = chi2_critical(want.len() - 1);
    assert!(
        chi2 < crit,
        "chi2 {chi2:.1} >= {crit:.1}: counts {counts:?} vs {want:?}"
    );
}

fn softmax(logits: &[f64], t: f64) -> Vec<f64> {
    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| ((l - m) / t).exp()).collect();
    let z: f64 = e.iter().sum();
    e.iter().map(|x| x / z).collect()
}

const LOGITS: [f32; 12] = [
    2.0, 1.6, 1.5, 1.2, 0.9, 0.8, 0.2, -0.5, -1.0, -2.0, -3.0, -6.0,
];

/// The default chain computed independently: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8.
fn default_chain_expectation() -> Vec<(u32, f64)> {
    let l: Vec<f64> = LOGITS.iter().map(|&x| f64::from(x)).collect();
    let p = softmax(&l, 1.0); // LOGITS is sorted: ids are ranks
    let mut keep = p.len();
    let mut cum = 0.0;
    for (i, pi) in p.iter().enumerate() {
        cum += pi;
        if cum >= 0.95 {
            keep = i + 1;
            break;
        }
    }
    let keep = (0..keep).filter(|&i| p[i] >= 0.05 * p[0]).count();
    let q = softmax(&l[..keep], 0.8);
    q.into_iter()
        .enumerate()
        .map(|(i, x)| (i as u32, x))
        .collect()
}

#[test]
fn default_chain_matches_its_analytic_distribution() {
    let want = default_chain_expectation();
    assert!(want.len() >= 4 && want.len() < LOGITS.len(), "{want:?}");
    let mut s = Sampler::new(SamplerParams {
        seed: Some(11),
        ..SamplerParams::default()
    });
    check(&mut s, &LOGITS, &want, 40_000);
}

#[test]
fn dynamic_temperature_matches_its_analytic_distribution() {
    // min-p 0.1 then dynamic temperature 1 ± 0.5 with exponent 1.
    let l: Vec<f64> = LOGITS.iter().map(|&x| f64::from(x)).collect();
    let p = softmax(&l, 1.0);
    let keep = (0..p.len()).filter(|&i| p[i] >= 0.1 * p[0]).count();
    let q = softmax(&l[..keep], 1.0);
    let h: f64 = q.iter().map(|x| -x * x.ln()).sum();
    let temp = 0.5 + 1.0 * (h / (keep as f64).ln());
    let want: Vec<(u32, f64)> = softmax(&l[..keep], temp)
        .into_iter()
        .enumerate()
        .map(|(i, x)| (i as u32, x))
        .collect();
    let mut s = Sampler::new(SamplerParams {
        samplers: vec![SamplerKind::MinP, SamplerKind::Temperature],
        min_p: 0.1,
        temperature: 1.0,
        dynatemp_range: 0.5,
        seed: Some(12),
        ..SamplerParams::default()
    });
    let (_, trace) = s.sample_traced(&LOGITS, &[]).unwrap();
    assert!(
        (f64::from(trace.temperature) - temp).abs() < 1e-4,
        "{}",
        trace.temperature
    );
    check(&mut s, &LOGITS, &want, 40_000);
}

#[test]
fn whole_vocabulary_draw_matches_its_distribution() {
    // Gemma's vocabulary size with nothing truncating: the dense draw over 262,144 logits. Five
    // tokens carry most of the mass; the rest is checked as one bucket.
    let n = 262_144;
    let mut logits = vec![-4.0f32; n];
    let heads = [
        (7u32, 6.0f32),
        (1000, 5.5),
        (65_536, 5.0),
        (200_000, 4.0),
        (262_143, 3.0),
    ];
    for &(id, l) in &heads {
        logits[id as usize] = l;
    }
    let mut s = Sampler::new(SamplerParams {
        samplers: vec![SamplerKind::Temperature],
        temperature: 1.3,
        seed: Some(13),
        ..SamplerParams::default()
    });
    let t = 1.3f64;
    let z: f64 = heads
        .iter()
        .map(|&(_, l)| (f64::from(l) / t).exp())
        .sum::<f64>()
        + (n - heads.len()) as f64 * (-4.0 / t).exp();
    let draws = 8_000;
    let mut head_counts = [0usize; 5];
    let mut rest = 0usize;
    for _ in 0..draws {
        let tok = s.sample(&logits).unwrap();
        match heads.iter().position(|h| h.0 == tok) {
            Some(i) => head_counts[i] += 1,
            None => rest += 1,
        }
    }
    let mut chi2 = 0.0;
    for (i, &(_, l)) in heads.iter().enumerate() {
        let e = (f64::from(l) / t).exp() / z * draws as f64;
        chi2 += (head_counts[i] as f64 - e).powi(2) / e;
    }
    let e_rest = (n - heads.len()) as f64 * (-4.0 / t).exp() / z * draws as f64;
    chi2 += (rest as f64 - e_rest).powi(2) / e_rest;
    assert!(
        chi2 < chi2_critical(5),
        "chi2 {chi2}: {head_counts:?} rest {rest}"
    );
}

#[test]
fn mirostat_v2_matches_its_truncated_distribution() {
    // mu = 2 tau = 4 bits at the first step keeps tokens with p >= 1/16; then a fresh sampler per
    // draw so that mu stays at 4 (the update is tested on its own).
    let l: Vec<f64> = LOGITS.iter().map(|&x| f64::from(x)).collect();
    let p = softmax(&l, 1.0);
    let keep = p.iter().filter(|&&x| -x.log2() <= 4.0).count();
    let want: Vec<(u32, f64)> = softmax(&l[..keep], 1.0)
        .into_iter()
        .enumerate()
        .map(|(i, x)| (i as u32, x))
        .collect();
    let mut counts = vec![0usize; LOGITS.len()];
    let n = 20_000;
    for seed in 0..n {
        let mut s = Sampler::new(SamplerParams {
            mirostat: Mirostat::V2,
            mirostat_tau: 2.0,
            temperature: 1.0,
            seed: Some(seed as u64),
            ..SamplerParams::default()
        });
        counts[s.sample(&LOGITS).unwrap() as usize] += 1;
    }
    assert!(counts[keep..].iter().all(|&c| c == 0), "{counts:?}");
    let chi2: f64 = want
        .iter()
        .map(|&(id, q)| (counts[id as usize] as f64 - q * n as f64).powi(2) / (q * n as f64))
        .sum();
    assert!(
        chi2 < chi2_critical(want.len() - 1),
        "chi2 {chi2}: {counts:?}"
    );
}
