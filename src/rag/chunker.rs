//! Splitting a document into overlapping chunks of at most N tokens, on sentence or line
//! boundaries. Pure: the caller tokenizes once and passes where each token starts, so the chunk
//! sizes are exact for whatever tokenizer embeds them.

/// A chunk: a byte range of the document (trimmed of surrounding whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub tokens: usize,
}

/// Byte ranges that tile `text`: each ends after a newline, or after a sentence's final `.`, `!`
/// or `?` and the whitespace following it.
pub fn segments(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let boundary = match b {
            b'\n' => Some(i + 1),
            b'.' | b'!' | b'?' => {
                let mut j = i + 1;
                // Closing quotes or brackets belong to the sentence.
                while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b')' | b']') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j] == b' ' {
                    while j < bytes.len() && bytes[j] == b' ' {
                        j += 1;
                    }
                    Some(j)
                } else {
                    None
                }
            }
            _ => None,
        };
        match boundary {
            Some(end) => {
                out.push((start, end));
                start = end;
                i = end;
            }
            None => i += 1,
        }
    }
    if start < bytes.len() {
        out.push((start, bytes.len()));
    }
    out
}

/// Tokens starting within `start..end` (`token_starts` sorted).
fn tokens_in(token_starts: &[usize], start: usize, end: usize) -> usize {
    let a = token_starts.partition_point(|&t| t < start);
    let b = token_starts.partition_point(|&t| t < end);
    b - a
}

/// Segments cut so none holds more than `max_tokens` tokens: an over-long one (a minified line,
/// a paragraph without full stops) is split at token starts.
fn bounded_segments(text: &str, token_starts: &[usize], max_tokens: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (start, end) in segments(text) {
        if tokens_in(token_starts, start, end) <= max_tokens {
            out.push((start, end));
            continue;
        }
        let first = token_starts.partition_point(|&t| t < start);
        let last = token_starts.partition_point(|&t| t < end);
        let mut cut = start;
        let mut k = first + max_tokens;
        while k < last {
            let at = token_starts[k];
            if at > cut {
                out.push((cut, at));
                cut = at;
            }
            k += max_tokens;
        }
        out.push((cut, end));
    }
    out
}

/// Chunks of at most `max_tokens` tokens made of whole segments, each next one starting up to
/// `overlap` tokens before the previous one ended. Whitespace-only chunks are dropped.
pub fn chunk(text: &str, token_starts: &[usize], max_tokens: usize, overlap: usize) -> Vec<Chunk> {
    let max_tokens = max_tokens.max(1);
    let segs = bounded_segments(text, token_starts, max_tokens);
    let counts: Vec<usize> = segs
        .iter()
        .map(|&(s, e)| tokens_in(token_starts, s, e))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        let mut j = i;
        let mut total = 0;
        while j < segs.len() && (j == i || total + counts[j] <= max_tokens) {
            total += counts[j];
            j += 1;
        }
        if let Some(c) = trimmed(text, segs[i].0, segs[j - 1].1, token_starts) {
            out.push(c);
        }
        if j >= segs.len() {
            break;
        }
        // Step back over whole segments worth at most `overlap` tokens, but always move forward.
        let mut next = j;
        let mut back = 0;
        while next > i + 1 && back + counts[next - 1] <= overlap {
            back += counts[next - 1];
            next -= 1;
        }
        i = next;
    }
    out
}

fn trimmed(text: &str, start: usize, end: usize, token_starts: &[usize]) -> Option<Chunk> {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead == slice.len() {
        return None;
    }
    let (start, end) = (start + lead, end - trail);
    Some(Chunk {
        start,
        end,
        tokens: tokens_in(token_starts, start, end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whitespace "tokenizer": where each word starts.
    fn word_starts(text: &str) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev_space = true;
        for (i, c) in text.char_indices() {
            if !c.is_whitespace() && prev_space {
                out.push(i);
            }
            prev_space = c.is_whitespace();
        }
        out
    }

    fn chunks_of(text: &str, max: usize, overlap: usize) -> Vec<String> {
        chunk(text, &word_starts(text), max, overlap)
            .into_iter()
            .map(|c| text[c.start..c.end].to_string())
            .collect()
    }

    #[test]
    fn segments_tile_the_text_at_sentences_and_lines() {
        let text = "One two. Three? Four\nfive e.g.x six!";
        let segs = segments(text);
        let joined: String = segs.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(joined, text);
        let parts: Vec<&str> = segs.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(parts, ["One two. ", "Three? ", "Four\n", "five e.g.x six!"]);
    }

    #[test]
    fn chunks_respect_the_budget_and_overlap_on_boundaries() {
        let text = "a b c. d e f. g h i. j k l.";
        let got = chunks_of(text, 6, 3);
        assert_eq!(got, ["a b c. d e f.", "d e f. g h i.", "g h i. j k l."]);
        for c in chunk(text, &word_starts(text), 6, 3) {
            assert!(c.tokens <= 6);
        }
    }

    #[test]
    fn without_overlap_chunks_partition_the_sentences() {
        let text = "a b c. d e f. g h i. j k l.";
        assert_eq!(chunks_of(text, 6, 0), ["a b c. d e f.", "g h i. j k l."]);
    }

    #[test]
    fn an_over_long_sentence_is_cut_at_tokens_and_nothing_is_lost() {
        let words: Vec<String> = (0..25).map(|i| format!("w{i}")).collect();
        let text = words.join(" ");
        let got = chunks_of(&text, 10, 0);
        assert_eq!(got.len(), 3);
        assert_eq!(got.join(" "), text);
    }

    #[test]
    fn code_is_split_on_lines_and_blank_input_gives_nothing() {
        let text = "fn a() {\n    1\n}\n\nfn b() {\n    2\n}\n";
        let got = chunks_of(text, 4, 0);
        assert!(got.iter().all(|c| !c.trim().is_empty()));
        assert_eq!(
            got.concat().replace(['\n', ' '], ""),
            text.replace(['\n', ' '], "")
        );
        assert!(chunk("   \n\n  ", &[], 10, 2).is_empty());
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        let text = "Grüße aus Köln. Ça va? Ünïcödé überall.";
        for c in chunk(text, &word_starts(text), 3, 1) {
            assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
        }
    }
}
