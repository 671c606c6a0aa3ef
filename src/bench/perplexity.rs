//! The quality figure: perplexity of the model on a held-out text written for this project (so it
//! cannot be in any training set), exp of the mean negative log-likelihood of each next token.
use crate::engine::{Engine, EngineError};

/// The bundled held-out text (258 tokens after BOS with the default model).
pub const HELDOUT_TEXT: &str = include_str!("../../assets/heldout.txt");

/// `-log softmax(logits)[target]`, by log-sum-exp around the maximum so large logits do not
/// overflow.
pub fn negative_log_likelihood(logits: &[f32], target: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    let log_z = max + sum.ln();
    log_z
        - logits
            .get(target as usize)
            .map_or(f64::NEG_INFINITY, |&l| l as f64)
}

/// exp(mean NLL); NaN for no predictions.
pub fn perplexity_from_nlls(nlls: &[f64]) -> f64 {
    if nlls.is_empty() {
        return f64::NAN;
    }
    (nlls.iter().sum::<f64>() / nlls.len() as f64).exp()
}

/// Feeds `tokens` one at a time and scores each next token against the logits before it.
/// `logits_after(token)` runs one step; `cancelled` is checked between steps.
pub fn score_tokens(
    tokens: &[u32],
    logits_after: &mut dyn FnMut(u32) -> Result<Vec<f32>, EngineError>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<f64>, EngineError> {
    let mut nlls = Vec::with_capacity(tokens.len().saturating_sub(1));
    for pair in tokens.windows(2) {
        if cancelled() {
            return Err(EngineError::Kernel("cancelled".into()));
        }
        let logits = logits_after(pair[0])?;
        nlls.push(negative_log_likelihood(&logits, pair[1]));
    }
    Ok(nlls)
}

/// The held-out text's tokens (BOS first), cut so that at most `predictions` are scored.
pub fn heldout_tokens(engine: &Engine, predictions: usize) -> Vec<u32> {
    let mut ids = engine.tokenizer.encode(HELDOUT_TEXT.trim(), true, false);
    ids.truncate(predictions + 1);
    ids
}

/// Perplexity of `engine` on the held-out text (at most `predictions` scored tokens).
pub fn measure(
    engine: &Engine,
    predictions: usize,
    cancelled: &dyn Fn() -> bool,
) -> Result<(usize, f64), EngineError> {
    let tokens = heldout_tokens(engine, predictions);
    let mut session = engine.new_session(tokens.len() + 8)?;
    let nlls = score_tokens(&tokens, &mut |t| session.forward(&[t]), cancelled)?;
    Ok((nlls.len(), perplexity_from_nlls(&nlls)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_give_the_vocabulary_size() {
        // Two equal logits: each token has probability 1/2, so perplexity is 2.
        let nll = negative_log_likelihood(&[0.0, 0.0], 1);
        assert!((nll - 2f64.ln()).abs() < 1e-12);
        assert!((perplexity_from_nlls(&[nll, nll]) - 2.0).abs() < 1e-12);
        let four = negative_log_likelihood(&[3.0; 4], 2);
        assert!((perplexity_from_nlls(&[four]) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_constructed_sequence_scores_as_computed_by_hand() {
        // Vocabulary of 3; the "model" predicts from the current token alone.
        // After token 0: logits [ln 1, ln 2, ln 1] -> p(1) = 1/2.
        // After token 1: logits [ln 3, ln 1, 1000 + ...] made huge to test overflow safety:
        //   [1000 + ln 3, 1000, 1000] -> p(0) = 3/5.
        let table: [[f32; 3]; 2] = [[0.0, 2f32.ln(), 0.0], [1000.0 + 3f32.ln(), 1000.0, 1000.0]];
        let mut step = |t: u32| Ok(table[t as usize].to_vec());
        let nlls = score_tokens(&[0, 1, 0], &mut step, &|| false).unwrap();
        assert_eq!(nlls.len(), 2);
        assert!((nlls[0] - 2f64.ln()).abs() < 1e-6, "{}", nlls[0]);
        assert!((nlls[1] - (5.0f64 / 3.0).ln()).abs() < 1e-4, "{}", nlls[1]);
        // exp(mean) = sqrt(2 * 5/3).
        let ppl = perplexity_from_nlls(&nlls);
        assert!((ppl - (10.0f64 / 3.0).sqrt()).abs() < 1e-3, "{ppl}");
    }

    #[test]
    fn nothing_to_score_is_not_a_number_and_cancel_stops() {
        assert!(perplexity_from_nlls(&[]).is_nan());
        let mut step = |_: u32| Ok(vec![0.0, 0.0]);
        assert!(score_tokens(&[0, 1], &mut step, &|| true).is_err());
        assert!(score_tokens(&[0], &mut step, &|| false).unwrap().is_empty());
    }
}
