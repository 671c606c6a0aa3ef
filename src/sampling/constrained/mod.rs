//! Constrained generation: every reply matches a regular expression or a JSON Schema, while the
//! sampler chain still chooses among the tokens allowed.
//!
//! The constraint is any kalosm-sample [`Parser`](kalosm_sample::Parser) (a `#[derive(Parse)]`
//! type, its combinators, or [`FullMatchRegex`], which JSON Schemas are translated into). Each
//! step [`Constraint::next_token`] finds the valid tokens with a [`CandidateSearch`] over a
//! [`TokenTable`] of every token's bytes, hands them to [`Sampler::sample_among`], and advances
//! the parser with the token drawn.
//!
//! [`Sampler::sample_among`]: crate::sampling::Sampler::sample_among
mod driver;
mod full_match;
mod ordered_json;
mod output;
mod schema;
mod search;
mod token_table;

pub use driver::{Constraint, ConstraintError, ConstraintStats};
pub use full_match::{FullMatchRegex, RegexState};
/// JSON text parsed with each object's key order kept (a schema's properties are written in it).
pub use ordered_json::parse as parse_keeping_key_order;
pub use output::OutputConstraint;
pub use schema::{
    any_json_regex, any_object_regex, schema_text_to_regex, schema_to_regex, ANY_DEPTH,
};
pub use search::{CandidateSearch, Coverage, Valid, EXHAUSTIVE_LIMIT};
pub use token_table::TokenTable;
