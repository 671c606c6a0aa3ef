//! What the sampler inspector shows for one sampled token: the model's own top candidates, the
//! distribution the chain actually drew from, and the chain's state (temperature used, Mirostat mu).

/// Candidates kept in a trace, before and after the chain.
pub const TRACE_TOP: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct TraceCandidate {
    pub id: u32,
    /// The token's text when the vocabulary is known (empty otherwise).
    pub text: String,
    pub prob: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleTrace {
    /// The token drawn.
    pub token: u32,
    pub token_text: String,
    /// Its probability in the distribution it was drawn from.
    pub prob: f32,
    /// The model's distribution (softmax of the raw logits), most likely first.
    pub before: Vec<TraceCandidate>,
    /// The distribution after the chain, most likely first.
    pub after: Vec<TraceCandidate>,
    /// Entropy of the model's distribution, bits.
    pub entropy_before: f32,
    /// Entropy of the distribution drawn from, bits.
    pub entropy_after: f32,
    /// Tokens left when the draw happened.
    pub candidates: usize,
    /// The temperature applied (the dynamic one when dynamic temperature is on); 0 = greedy.
    pub temperature: f32,
    /// Mirostat's mu for this step (the truncation threshold, bits), when Mirostat is on.
    pub mu: Option<f32>,
    /// -log2 of `prob`: what Mirostat steers towards tau.
    pub surprise: f32,
}
