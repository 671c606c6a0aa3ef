//! GPT-2 byte-level BPE, for llama-family GGUFs whose `tokenizer.ggml.model` is `gpt2` (SmolLM2,
//! Llama 3, Qwen 2). Encoding runs kalosm-llama's tokenizer, which it builds from the same GGUF
//! metadata (vocabulary, merges and the pre-tokenizer regexes llama.cpp uses for
//! `tokenizer.ggml.pre`), so our ids are exactly the ones its own generation would feed. Decoding
//! needs only the pieces: byte-level BPE spells every byte as one printable character.
use std::sync::Arc;

/// The encoder; two copies of one tokenizer, because whether special tokens written in the text
/// are parsed is a setting of the tokenizer, not of a call.
#[derive(Clone)]
pub struct BpeEncoder {
    parsing: Arc<tokenizers::Tokenizer>,
    literal: Arc<tokenizers::Tokenizer>,
}

impl BpeEncoder {
    pub fn new(tokenizer: tokenizers::Tokenizer) -> Self {
        let mut literal = tokenizer.clone();
        literal.set_encode_special_tokens(true);
        Self {
            parsing: Arc::new(tokenizer),
            literal: Arc::new(literal),
        }
    }

    /// Token ids of `text`, without BOS (the caller adds it). With `parse_special`, markers such
    /// as `<|im_start|>` written in the text become those tokens.
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let tokenizer = if parse_special {
            &self.parsing
        } else {
            &self.literal
        };
        match tokenizer.encode(text, false) {
            Ok(encoding) => encoding.get_ids().to_vec(),
            Err(e) => {
                // Only a broken tokenizer fails here (the input is any &str); an empty prompt is
                // reported by the caller instead of a panic.
                tracing::error!("BPE encoding failed: {e}");
                Vec::new()
            }
        }
    }
}

/// The bytes a byte-level BPE piece stands for (`Ġ` is a space, `Ċ` a newline, ...).
pub fn piece_bytes(piece: &str) -> Vec<u8> {
    piece
        .chars()
        .map(|c| char_to_byte(c).unwrap_or(b'?'))
        .collect()
}

/// The inverse of GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the
/// other 68 bytes, in order, for U+0100 onwards.
fn char_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if printable(code) {
        return Some(code as u8);
    }
    let offset = code.checked_sub(256)?;
    (0u32..256)
        .filter(|&b| !printable(b))
        .nth(offset as usize)
        .map(|b| b as u8)
}

fn printable(b: u32) -> bool {
    matches!(b, 0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_pieces_decode_to_their_bytes() {
        assert_eq!(piece_bytes("Ġthe"), b" the");
        assert_eq!(piece_bytes("Ċ"), b"\n");
        assert_eq!(piece_bytes("ĉ"), b"\t");
        // "é" is two bytes, each its own character in the piece.
        assert_eq!(piece_bytes("Ã©"), "é".as_bytes());
        assert_eq!(piece_bytes("Ā"), [0u8]);
        assert_eq!(piece_bytes("Ń"), [0xadu8]);
    }
}
