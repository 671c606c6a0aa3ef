//! Each token's text as generated text shows it: the sampler's vocabulary (the inspector's
//! candidates, DRY's sequence breakers) and the server's log-probabilities are made of it.
use super::tokenizer::Tokenizer;

impl Tokenizer {
    /// The text of `id` (its bytes, lossily decoded; a control token by its name).
    pub fn token_text(&self, id: u32) -> String {
        let bytes = self.token_bytes(id);
        if bytes.is_empty() {
            self.piece(id).unwrap_or_default().to_string()
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}
