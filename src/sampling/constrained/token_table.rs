//! Every token's bytes, computed once per model (Gemma has 262,144 tokens), and the tokens grouped
//! by their first byte. A constrained step looks a candidate's bytes up here instead of decoding
//! it, and when the constraint allows only a few first bytes (a digit, a quote, a comma) it checks
//! just the tokens that start with them instead of the whole vocabulary.

#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is token i's bytes.
    offsets: Vec<u32>,
    /// Token ids by first byte; tokens with no bytes (control tokens) are in none.
    by_first_byte: Vec<Vec<u32>>,
    /// One-byte tokens by their byte.
    single: Vec<Vec<u32>>,
    /// Longer tokens by their first two bytes (`first * 256 + second`): most of a SentencePiece
    /// vocabulary starts with a space, so the first byte alone often narrows nothing.
    by_first_pair: Vec<Vec<u32>>,
}

impl TokenTable {
    /// Every token of `tokenizer`'s vocabulary, by its bytes.
    pub fn for_tokenizer(tokenizer: &crate::engine::Tokenizer) -> Self {
        Self::from_fn(tokenizer.vocab_size(), |id| tokenizer.token_bytes(id))
    }

    /// Builds the table from each token's bytes (`n` tokens).
    pub fn from_fn(n: usize, mut bytes_of: impl FnMut(u32) -> Vec<u8>) -> Self {
        let mut bytes = Vec::new();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut by_first_byte = vec![Vec::new(); 256];
        let mut single = vec![Vec::new(); 256];
        let mut by_first_pair = vec![Vec::new(); 256 * 256];
        offsets.push(0);
        for id in 0..n as u32 {
            let b = bytes_of(id);
            if let Some(&first) = b.first() {
                by_first_byte[first as usize].push(id);
            }
            match *b.as_slice() {
                [] => {}
                [only] => single[only as usize].push(id),
                [first, second, ..] => {
                    by_first_pair[first as usize * 256 + second as usize].push(id)
                }
            }
            bytes.extend_from_slice(&b);
            offsets.push(bytes.len() as u32);
        }
        Self {
            bytes,
            offsets,
            by_first_byte,
            single,
            by_first_pair,
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of `id` (empty for a control token or an id outside the vocabulary).
    pub fn bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        if i + 1 >= self.offsets.len() {
            return &[];
        }
        &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The tokens whose bytes start with `byte`.
    pub fn starting_with(&self, byte: u8) -> &[u32] {
        &self.by_first_byte[byte as usize]
    }

    /// The tokens that are exactly `byte`.
    pub fn single_byte(&self, byte: u8) -> &[u32] {
        &self.single[byte as usize]
    }

    /// The tokens of two bytes or more that start with `first`, `second`.
    pub fn starting_with_pair(&self, first: u8, second: u8) -> &[u32] {
        &self.by_first_pair[first as usize * 256 + second as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_tokens_by_first_byte() {
        let pieces: [&[u8]; 5] = [b"", b"ab", b"a", b"{\"", b"\xc3\xa9"];
        let t = TokenTable::from_fn(pieces.len(), |i| pieces[i as usize].to_vec());
        assert_eq!(t.len(), 5);
        for (i, p) in pieces.iter().enumerate() {
            assert_eq!(t.bytes(i as u32), *p);
        }
        assert_eq!(t.starting_with(b'a'), &[1, 2]);
        assert_eq!(t.starting_with(b'{'), &[3]);
        assert_eq!(t.starting_with(0xc3), &[4]);
        assert!(t.starting_with(b'z').is_empty());
        assert_eq!(t.single_byte(b'a'), &[2]);
        assert_eq!(t.starting_with_pair(b'a', b'b'), &[1]);
        assert_eq!(t.starting_with_pair(0xc3, 0xa9), &[4]);
        assert!(t.bytes(42).is_empty());
    }
}
