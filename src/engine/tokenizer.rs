//! The SentencePiece tokenizer, built from the GGUF's own `tokenizer.ggml.*` metadata (and, for
//! llama-family files, the byte-level BPE of `tokenizer_bpe` behind the same methods).
//!
//! It follows llama.cpp's SPM tokenizer exactly, because the reference token ids come from there:
//! special and user-defined tokens are split out first (longest first), then each raw fragment has its
//! spaces replaced by U+2581 and is merged pair by pair, highest score first, with byte fallback
//! (`<0xNN>`) for characters the vocabulary lacks.
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use super::error::EngineError;
use super::gguf::GgufFile;
use super::tokenizer_bpe::{piece_bytes, BpeEncoder};

const SPACE_MARK: &str = "\u{2581}";

/// SentencePiece piece types as stored in `tokenizer.ggml.token_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl TokenType {
    fn from_i64(v: i64) -> Self {
        match v {
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => Self::Normal,
        }
    }
}

pub struct Tokenizer {
    pieces: Vec<String>,
    scores: Vec<f32>,
    types: Vec<TokenType>,
    by_piece: HashMap<String, u32>,
    byte_tokens: [Option<u32>; 256],
    /// Control, user-defined and unknown tokens, longest text first: split out before merging.
    specials: Vec<u32>,
    pub bos: u32,
    pub eos: u32,
    eog: Vec<u32>,
    add_bos: bool,
    add_space_prefix: bool,
    /// Byte-level BPE (`tokenizer.ggml.model` = `gpt2`): encodes instead of the SentencePiece
    /// merges, and its pieces decode byte-level.
    bpe: Option<BpeEncoder>,
}

impl Tokenizer {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, EngineError> {
        Self::from_gguf_with(gguf, None)
    }

    /// [`Tokenizer::from_gguf`]; a byte-level BPE file (`gpt2`) also needs its encoder, which
    /// kalosm-llama builds from the same metadata.
    pub fn from_gguf_with(
        gguf: &GgufFile,
        bpe: Option<tokenizers::Tokenizer>,
    ) -> Result<Self, EngineError> {
        let model = gguf
            .get("tokenizer.ggml.model")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        match (model, &bpe) {
            ("llama", None) | ("gpt2", Some(_)) => {}
            ("gpt2", None) => {
                return Err(EngineError::BadTokenizer(
                    "a byte-level BPE tokenizer (`gpt2`) loads only with the kalosm-llama engine"
                        .into(),
                ))
            }
            _ => {
                return Err(EngineError::BadTokenizer(format!(
                    "tokenizer.ggml.model is `{model}`, only SentencePiece (`llama`) and \
                     byte-level BPE (`gpt2`) are supported"
                )))
            }
        }
        let pieces: Vec<String> = gguf
            .require("tokenizer.ggml.tokens")?
            .as_array()
            .ok_or_else(|| {
                EngineError::BadTokenizer("tokenizer.ggml.tokens is not an array".into())
            })?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| EngineError::BadTokenizer("a token is not a string".into()))?;
        let n = pieces.len();
        let scores: Vec<f32> = match gguf.get("tokenizer.ggml.scores").and_then(|v| v.as_array()) {
            Some(a) if a.len() == n => a.iter().map(|v| v.as_f64().unwrap_or(0.0) as f32).collect(),
            Some(a) => {
                return Err(EngineError::BadTokenizer(format!(
                    "{} scores for {n} tokens",
                    a.len()
                )))
            }
            None => vec![0.0; n],
        };
        let types: Vec<TokenType> = match gguf
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.as_array())
        {
            Some(a) if a.len() == n => a
                .iter()
                .map(|v| match v {
                    super::gguf::MetaValue::I32(t) => TokenType::from_i64(*t as i64),
                    other => TokenType::from_i64(other.as_u64().unwrap_or(1) as i64),
                })
                .collect(),
            Some(a) => {
                return Err(EngineError::BadTokenizer(format!(
                    "{} token types for {n} tokens",
                    a.len()
                )))
            }
            None => vec![TokenType::Normal; n],
        };
        let id = |key: &str, default: u32| -> Result<u32, EngineError> {
            let v = gguf
                .get(key)
                .and_then(|v| v.as_u64())
                .map(|v| v as u32)
                .unwrap_or(default);
            if (v as usize) < n {
                Ok(v)
            } else {
                Err(EngineError::BadTokenizer(format!(
                    "{key} = {v} is outside the vocabulary of {n}"
                )))
            }
        };
        let bos = id("tokenizer.ggml.bos_token_id", 1)?;
        let eos = id("tokenizer.ggml.eos_token_id", 2)?;
        let mut tokenizer = Self::new(
            pieces,
            scores,
            types,
            bos,
            eos,
            gguf.get("tokenizer.ggml.add_bos_token")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
            gguf.get("tokenizer.ggml.add_space_prefix")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
        );
        tokenizer.bpe = bpe.map(BpeEncoder::new);
        Ok(tokenizer)
    }

    pub fn new(
        pieces: Vec<String>,
        scores: Vec<f32>,
        types: Vec<TokenType>,
        bos: u32,
        eos: u32,
        add_bos: bool,
        add_space_prefix: bool,
    ) -> Self {
        let mut by_piece = HashMap::with_capacity(pieces.len());
        let mut byte_tokens = [None; 256];
        for (i, p) in pieces.iter().enumerate() {
            // First occurrence wins, as in llama.cpp's token_to_id map.
            by_piece.entry(p.clone()).or_insert(i as u32);
            if types[i] == TokenType::Byte {
                if let Some(b) = parse_byte_piece(p) {
                    byte_tokens[b as usize] = Some(i as u32);
                }
            }
        }
        let mut specials: Vec<u32> = (0..pieces.len() as u32)
            .filter(|&i| {
                matches!(
                    types[i as usize],
                    TokenType::Control | TokenType::UserDefined | TokenType::Unknown
                ) && !pieces[i as usize].is_empty()
            })
            .collect();
        specials.sort_by_key(|&i| std::cmp::Reverse(pieces[i as usize].len()));
        // End of generation: eos and the chat turn end markers, as llama.cpp adds them (Gemma's,
        // Llama 3's, ChatML's).
        let mut eog = vec![eos];
        for marker in [
            "<end_of_turn>",
            "<|eot_id|>",
            "<eot>",
            "<|im_end|>",
            "<|endoftext|>",
        ] {
            if let Some(&t) = by_piece.get(marker).filter(|t| !eog.contains(t)) {
                eog.push(t);
            }
        }
        Self {
            pieces,
            scores,
            types,
            by_piece,
            byte_tokens,
            specials,
            bos,
            eos,
            eog,
            add_bos,
            add_space_prefix,
            bpe: None,
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.contains(&id)
    }

    /// The end-of-generation tokens (a constrained reply may end only with one of these).
    pub fn eog_tokens(&self) -> &[u32] {
        &self.eog
    }

    pub fn token_id(&self, piece: &str) -> Option<u32> {
        self.by_piece.get(piece).copied()
    }

    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    /// Tokenizes `text`. With `parse_special`, control tokens written in the text (`<start_of_turn>`)
    /// become those tokens; user-defined tokens (runs of newlines, tabs, spaces) always do.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos && self.add_bos {
            out.push(self.bos);
        }
        if let Some(bpe) = &self.bpe {
            out.extend(bpe.encode(text, parse_special));
            return out;
        }
        let mut prev_special = true;
        for frag in self.partition(text, parse_special) {
            match frag {
                Fragment::Token(t) => {
                    out.push(t);
                    prev_special = true;
                }
                Fragment::Text(s) => {
                    let mut raw = String::with_capacity(s.len() + 4);
                    if self.add_space_prefix && prev_special {
                        raw.push(' ');
                    }
                    raw.push_str(s);
                    let escaped = raw.replace(' ', SPACE_MARK);
                    self.merge(&escaped, &mut out);
                    prev_special = false;
                }
            }
        }
        out
    }

    /// Splits the text at special tokens, longest first, like llama.cpp's `tokenizer_st_partition`.
    fn partition<'a>(&self, text: &'a str, parse_special: bool) -> Vec<Fragment<'a>> {
        let mut frags = vec![Fragment::Text(text)];
        if text.is_empty() {
            return Vec::new();
        }
        for &id in &self.specials {
            let ty = self.types[id as usize];
            if !parse_special && matches!(ty, TokenType::Control | TokenType::Unknown) {
                continue;
            }
            let piece = self.pieces[id as usize].as_str();
            if !text.contains(piece) {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                match f {
                    Fragment::Text(s) if s.contains(piece) => {
                        let mut rest = s;
                        while let Some(pos) = rest.find(piece) {
                            if pos > 0 {
                                next.push(Fragment::Text(&rest[..pos]));
                            }
                            next.push(Fragment::Token(id));
                            rest = &rest[pos + piece.len()..];
                        }
                        if !rest.is_empty() {
                            next.push(Fragment::Text(rest));
                        }
                    }
                    other => next.push(other),
                }
            }
            frags = next;
        }
        frags
    }

    /// SentencePiece BPE: merge the best-scoring adjacent pair until none is in the vocabulary.
    fn merge(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let mut syms: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, ch)) in text.char_indices().enumerate() {
            syms.push(Symbol {
                start,
                len: ch.len_utf8(),
                prev: i as isize - 1,
                next: i as isize + 1,
            });
        }
        let last = syms.len() - 1;
        syms[last].next = -1;
        let mut heap = BinaryHeap::new();
        let push = |heap: &mut BinaryHeap<Bigram>, syms: &[Symbol], left: isize, right: isize| {
            if left < 0 || right < 0 {
                return;
            }
            let (l, r) = (&syms[left as usize], &syms[right as usize]);
            let piece = &text[l.start..l.start + l.len + r.len];
            if let Some(&id) = self.by_piece.get(piece) {
                heap.push(Bigram {
                    score: self.scores[id as usize],
                    left: left as usize,
                    right: right as usize,
                    size: piece.len(),
                });
            }
        };
        for i in 1..syms.len() {
            push(&mut heap, &syms, i as isize - 1, i as isize);
        }
        while let Some(b) = heap.pop() {
            let (l, r) = (syms[b.left], syms[b.right]);
            // Stale: one side was merged into something else since this pair was queued.
            if l.len == 0 || r.len == 0 || l.len + r.len != b.size || l.next != b.right as isize {
                continue;
            }
            syms[b.left].len += r.len;
            syms[b.right].len = 0;
            syms[b.left].next = r.next;
            if r.next >= 0 {
                syms[r.next as usize].prev = b.left as isize;
            }
            push(&mut heap, &syms, syms[b.left].prev, b.left as isize);
            push(&mut heap, &syms, b.left as isize, syms[b.left].next);
        }
        let mut i = 0isize;
        while i >= 0 {
            let s = syms[i as usize];
            let piece = &text[s.start..s.start + s.len];
            match self.by_piece.get(piece) {
                Some(&id) => out.push(id),
                None => {
                    for &byte in piece.as_bytes() {
                        if let Some(id) = self.byte_tokens[byte as usize] {
                            out.push(id);
                        }
                    }
                }
            }
            i = s.next;
        }
    }

    /// The bytes a token stands for in generated text (control tokens stand for nothing).
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(piece) = self.pieces.get(id as usize) else {
            return Vec::new();
        };
        match self.types[id as usize] {
            TokenType::Normal if self.bpe.is_some() => piece_bytes(piece),
            TokenType::Normal => piece.replace(SPACE_MARK, " ").into_bytes(),
            TokenType::UserDefined => piece.as_bytes().to_vec(),
            TokenType::Byte => parse_byte_piece(piece).map(|b| vec![b]).unwrap_or_default(),
            TokenType::Control | TokenType::Unknown | TokenType::Unused => Vec::new(),
        }
    }

    /// Decodes a whole sequence (lossy for invalid UTF-8).
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.token_bytes(id)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

enum Fragment<'a> {
    Text(&'a str),
    Token(u32),
}

#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: isize,
    next: isize,
}

/// A candidate merge; the heap pops the highest score, then the leftmost pair.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

fn parse_byte_piece(p: &str) -> Option<u8> {
    let hex = p.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// Turns a stream of tokens into text without ever splitting a UTF-8 character: bytes of an
/// unfinished character wait for the next token.
#[derive(Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> String {
        self.pending.extend(tokenizer.token_bytes(id));
        self.take_complete()
    }

    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).unwrap_or_default());
                    match e.error_len() {
                        // An incomplete character at the end: keep it for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end of a reply (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Tokenizer {
        let mut pieces: Vec<String> = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "\n\n"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut types = vec![
            TokenType::Control,
            TokenType::Control,
            TokenType::Control,
            TokenType::Control,
            TokenType::UserDefined,
        ];
        for b in 0..=255u8 {
            pieces.push(format!("<0x{b:02X}>"));
            types.push(TokenType::Byte);
        }
        for p in ["a", "b", "ab", "\u{2581}", "\u{2581}a", "\u{2581}ab", "é"] {
            pieces.push(p.to_string());
            types.push(TokenType::Normal);
        }
        let n = pieces.len();
        let mut scores = vec![0.0; n];
        scores[n - 5] = 1.0; // ab
        scores[n - 3] = 0.5; // ▁a
        scores[n - 2] = 2.0; // ▁ab
        Tokenizer::new(pieces, scores, types, 2, 1, true, false)
    }

    #[test]
    fn merges_by_score_and_falls_back_to_bytes() {
        let t = toy();
        let ids = t.encode(" ab€", true, false);
        assert_eq!(ids[0], 2);
        assert_eq!(t.piece(ids[1]), Some("\u{2581}ab"));
        // '€' is not in the vocabulary: three byte tokens.
        assert_eq!(ids.len(), 5);
        assert_eq!(t.decode(&ids), " ab€");
    }

    #[test]
    fn control_tokens_only_parsed_when_asked() {
        let t = toy();
        assert_eq!(t.encode("<start_of_turn>", false, true), vec![3]);
        assert!(t.encode("<start_of_turn>", false, false).len() > 1);
        // User-defined tokens are split out either way.
        assert_eq!(t.encode("a\n\nb", false, false).len(), 3);
    }

    #[test]
    fn stream_decoder_never_splits_a_character() {
        let t = toy();
        let ids = t.encode("€", false, false);
        let mut d = StreamDecoder::default();
        let parts: Vec<String> = ids.iter().map(|&id| d.push(&t, id)).collect();
        assert_eq!(parts, vec!["".to_string(), "".to_string(), "€".to_string()]);
        assert_eq!(d.finish(), "");
    }
}
