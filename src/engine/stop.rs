//! Stop strings, with llama.cpp's semantics: generation ends at the first place any stop string
//! appears in the reply, the stop string and what follows it are dropped, and text that could still
//! become a stop string is held back from the stream until it cannot (llama-server holds back all
//! unsent text while a partial match is open; here only the partial match itself is held, so
//! the text before it shows at once, and the result is the same).
//!
//! Offsets are bytes into the whole decoded reply, so the generation loop can tell which tokens
//! lie before the cut and keep only those in the KV cache.

/// Watches a reply's text for stop strings.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    /// Whitespace before the reply's first visible character is part of the format (the space after
    /// `Assistant:`), not the reply.
    trim_start: bool,
    started: bool,
    text: String,
    /// Bytes of `text` already shown (or skipped as leading whitespace).
    sent: usize,
    /// Where the reply ends, once a stop string matched.
    stopped_at: Option<usize>,
}

impl StopMatcher {
    pub fn new<S: AsRef<str>>(stops: impl IntoIterator<Item = S>, trim_start: bool) -> Self {
        let mut stops: Vec<String> = stops
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        stops.dedup();
        Self {
            stops,
            trim_start,
            ..Self::default()
        }
    }

    /// Adds the next decoded text; returns what is now safe to show. Once a stop string has
    /// matched, later text is ignored.
    pub fn push(&mut self, piece: &str) -> String {
        if self.stopped_at.is_some() {
            return String::new();
        }
        self.text.push_str(piece);
        let unsent = &self.text[self.sent..];
        let full = self
            .stops
            .iter()
            .filter_map(|s| unsent.find(s.as_str()))
            .min();
        let safe_end = match full {
            Some(at) => {
                let at = self.sent + at;
                self.stopped_at = Some(at);
                at
            }
            None => self.sent + self.partial_start(unsent).unwrap_or(unsent.len()),
        };
        self.take_until(safe_end)
    }

    /// The generation ended without a stop string: everything held back is shown.
    pub fn finish(&mut self) -> String {
        let end = self.stopped_at.unwrap_or(self.text.len());
        self.take_until(end)
    }

    /// Byte offset in the decoded text where a stop string began, if one did.
    pub fn stopped_at(&self) -> Option<usize> {
        self.stopped_at
    }

    /// The reply as far as it goes: the decoded text before the stop string, leading format
    /// whitespace removed.
    pub fn reply(&self) -> &str {
        let end = self.stopped_at.unwrap_or(self.text.len());
        let text = &self.text[..end];
        if self.trim_start {
            text.trim_start()
        } else {
            text
        }
    }

    /// All the decoded text, stop string included (for mapping offsets to tokens).
    pub fn decoded(&self) -> &str {
        &self.text
    }

    /// The earliest position in `unsent` from which its end is a proper prefix of a stop string.
    fn partial_start(&self, unsent: &str) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|stop| {
                // Longest prefix first, so the earliest start for this stop string.
                (1..stop.len())
                    .rev()
                    .filter(|&k| stop.is_char_boundary(k))
                    .find(|&k| unsent.ends_with(&stop[..k]))
                    .map(|k| unsent.len() - k)
            })
            .min()
    }

    fn take_until(&mut self, end: usize) -> String {
        let mut from = self.sent.min(end);
        if self.trim_start && !self.started {
            let lead = self.text[from..end].len() - self.text[from..end].trim_start().len();
            from += lead;
            self.started = from < end;
        }
        self.sent = end.max(self.sent);
        self.text[from..end].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` and returns (what was shown, the reply, where it stopped).
    fn run(stops: &[&str], trim: bool, pieces: &[&str]) -> (Vec<String>, String, Option<usize>) {
        let mut m = StopMatcher::new(stops.iter().copied(), trim);
        let mut shown: Vec<String> = pieces.iter().map(|p| m.push(p)).collect();
        shown.push(m.finish());
        (shown, m.reply().to_string(), m.stopped_at())
    }

    #[test]
    fn stops_at_the_first_stop_string_and_drops_it() {
        let (shown, reply, at) = run(&["\nUser:"], true, &[" Tokyo", ".", "\n", "User", ": next"]);
        assert_eq!(shown.concat(), "Tokyo.");
        assert_eq!(reply, "Tokyo.");
        assert_eq!(at, Some(7));
    }

    #[test]
    fn holds_back_a_partial_match_until_it_cannot_match() {
        let (shown, reply, at) = run(&["\nUser:"], false, &["a", "\n", "Us", "ually", " yes"]);
        // "\n" and "\nUs" are held; "ually" breaks the match and releases them.
        assert_eq!(shown, vec!["a", "", "", "\nUsually", " yes", ""]);
        assert_eq!(reply, "a\nUsually yes");
        assert_eq!(at, None);
    }

    #[test]
    fn the_earliest_of_several_stop_strings_wins() {
        let (shown, _, at) = run(&["END", "\n\n"], false, &["one\n\ntwo END"]);
        assert_eq!(shown.concat(), "one");
        assert_eq!(at, Some(3));
    }

    #[test]
    fn a_stop_string_split_over_many_pieces_never_shows() {
        let pieces: Vec<String> = "x</s>y".chars().map(String::from).collect();
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (shown, reply, _) = run(&["</s>"], false, &refs);
        assert_eq!(shown.concat(), "x");
        assert_eq!(reply, "x");
    }

    #[test]
    fn held_back_text_is_released_at_the_end() {
        let (shown, reply, at) = run(&["\nUser:"], false, &["done", "\nUs"]);
        assert_eq!(shown, vec!["done", "", "\nUs"]);
        assert_eq!(reply, "done\nUs");
        assert_eq!(at, None);
    }

    #[test]
    fn no_stop_strings_pass_everything_and_leading_space_is_trimmed() {
        let (shown, reply, _) = run(&[], true, &["  ", " Hi", " there"]);
        assert_eq!(shown.concat(), "Hi there");
        assert_eq!(reply, "Hi there");
        let (shown, _, _) = run(&[""], false, &[" a"]);
        assert_eq!(shown.concat(), " a");
    }

    #[test]
    fn non_ascii_stop_strings_match_on_char_boundaries() {
        let (shown, reply, _) = run(&["ñé"], false, &["aña", "ñ", "é!"]);
        assert_eq!(shown.concat(), "aña");
        assert_eq!(reply, "aña");
    }

    #[test]
    fn a_reply_that_is_only_the_stop_string_is_empty() {
        let (shown, reply, at) = run(&["\nUser:"], true, &["\n", "User", ":"]);
        assert_eq!(shown.concat(), "");
        assert_eq!(reply, "");
        assert_eq!(at, Some(0));
    }
}
