//! Constraints: the default ones for a `T: Parse` (as kalosm-llama), the reply's budget, and the
//! parsed value of a constrained reply.
use kalosm_language_model::{
    CreateDefaultChatConstraintsForType, CreateDefaultCompletionConstraintsForType,
};
use kalosm_sample::{ArcParser, CreateParserState, Parse, ParseStatus, ParserExt};

use super::model::GemmaModel;
use super::KalosmError;

/// A byte no UTF-8 text contains: after the reply it asks the parser whether the text may end
/// there (a complete parse finishes before it and leaves it over).
const END_PROBE: u8 = 0xFF;

impl<T: Parse + 'static> CreateDefaultCompletionConstraintsForType<T> for GemmaModel {
    type DefaultConstraints = ArcParser<T>;

    fn create_default_constraints() -> ArcParser<T> {
        T::new_parser().boxed()
    }
}

impl<T: Parse + 'static> CreateDefaultChatConstraintsForType<T> for GemmaModel {
    type DefaultConstraints = ArcParser<T>;

    fn create_default_constraints() -> ArcParser<T> {
        T::new_parser().boxed()
    }
}

/// The value `parser` reads from a whole constrained reply. `text` may carry the one leading space
/// a base model's transcript puts before a reply.
pub(crate) fn parse_reply<P: CreateParserState>(
    parser: &P,
    text: &str,
) -> Result<P::Output, KalosmError> {
    let parse = |t: &str| {
        let mut bytes = t.as_bytes().to_vec();
        bytes.push(END_PROBE);
        match parser.parse(&parser.create_parser_state(), &bytes) {
            Ok(ParseStatus::Finished { result, remaining }) if remaining.len() == 1 => Some(result),
            _ => None,
        }
    };
    parse(text)
        .or_else(|| text.strip_prefix(' ').and_then(parse))
        .ok_or_else(|| {
            KalosmError::Parse(format!(
                "the reply ended before the parser finished (max tokens, context or a cancel?): \
                 {text:?}"
            ))
        })
}
