//! A reply under an output constraint (a JSON Schema, a regex): the sampling actor is handed the
//! reply's [`Constraint`] before the first step and asked for its figures after the last.
use std::sync::Arc;

use actix::Addr;

use crate::actors::sampling::{Constrain, SamplingActor};
use crate::engine::{Engine, EngineError};
use crate::sampling::constrained::{Constraint, ConstraintStats, OutputConstraint, TokenTable};

/// Every token's bytes for the loaded engine, built at its first constrained reply (about
/// 262,000 tokens: worth keeping between replies).
#[derive(Default)]
pub(super) struct TokenTables {
    /// The engine it was built for (its address) and the table.
    table: Option<(usize, Arc<TokenTable>)>,
}

impl TokenTables {
    fn for_engine(&mut self, engine: &Arc<Engine>) -> Arc<TokenTable> {
        let key = Arc::as_ptr(engine) as usize;
        match &self.table {
            Some((k, table)) if *k == key => table.clone(),
            _ => {
                let table = Arc::new(TokenTable::for_tokenizer(&engine.tokenizer));
                self.table = Some((key, table.clone()));
                table
            }
        }
    }

    /// Hands the sampling actor the constraint of the reply about to start. `leading_space`:
    /// the chat format puts a space before the reply (a base model's dialogue).
    pub(super) fn begin(
        &mut self,
        sampler: &Addr<SamplingActor>,
        engine: &Arc<Engine>,
        output: &OutputConstraint,
        leading_space: bool,
    ) -> Result<(), EngineError> {
        let constraint = Constraint::new(
            output.regex.clone(),
            self.for_engine(engine),
            engine.tokenizer.eog_tokens().to_vec(),
        )
        .with_leading_space(leading_space);
        futures::executor::block_on(sampler.send(Constrain(Some(constraint))))
            .map(drop)
            .map_err(|e| EngineError::Kernel(format!("sampling actor: {e}")))
    }
}

/// Ends the reply's constraint: its figures and whether the text was complete.
pub(super) fn end(sampler: &Addr<SamplingActor>) -> Option<(ConstraintStats, bool)> {
    futures::executor::block_on(sampler.send(Constrain(None))).unwrap_or_default()
}
