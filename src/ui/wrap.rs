//! Word wrapping by display width (wide characters count 2), for the chat pane.
use ratatui::text::Span;

/// Display width of one character (as ratatui measures it).
pub fn char_width(c: char) -> usize {
    if c.is_ascii() {
        return usize::from(!c.is_ascii_control());
    }
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// Replace tabs by spaces and drop other control characters (they would corrupt the terminal).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Wrap `text` (which may hold newlines) to `width` columns, breaking at spaces when possible.
/// Always returns at least one line. A width of 0 is treated as 1.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for line in text.split('\n') {
        wrap_line(line, width, &mut out);
    }
    out
}

fn wrap_line(line: &str, width: usize, out: &mut Vec<String>) {
    let mut cur = String::new();
    let mut cur_w = 0usize;
    // (byte index just after the last space in `cur`, width up to there)
    let mut break_at: Option<(usize, usize)> = None;
    for c in line.chars() {
        let cw = char_width(c);
        while cur_w + cw > width && !cur.is_empty() {
            if c == ' ' {
                break;
            }
            match break_at.take() {
                Some((bi, bw)) if bi < cur.len() => {
                    let rest = cur.split_off(bi);
                    out.push(cur.trim_end().to_string());
                    cur = rest;
                    cur_w -= bw;
                }
                _ => {
                    out.push(std::mem::take(&mut cur).trim_end().to_string());
                    cur_w = 0;
                }
            }
        }
        if c == ' ' && cur_w + cw > width {
            // A space at the margin ends the line and is dropped.
            out.push(std::mem::take(&mut cur).trim_end().to_string());
            cur_w = 0;
            break_at = None;
            continue;
        }
        cur.push(c);
        cur_w += cw;
        if c == ' ' {
            break_at = Some((cur.len(), cur_w));
        }
    }
    out.push(cur);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("hello world foo", 11), vec!["hello world", "foo"]);
        assert_eq!(wrap("hello world", 5), vec!["hello", "world"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(wrap("a bcdefg", 4), vec!["a", "bcde", "fg"]);
    }

    #[test]
    fn wide_chars_and_tiny_widths() {
        assert_eq!(char_width('語'), 2);
        assert_eq!(wrap("日本語", 4), vec!["日本", "語"]);
        assert_eq!(wrap("日本", 1), vec!["日", "本"]);
        assert_eq!(wrap("ab", 0), vec!["a", "b"]);
        for w in 1..20 {
            for l in wrap("the quick  brown fox jumps over the lazy dog, 日本語 ok", w) {
                let lw: usize = l.chars().map(char_width).sum();
                assert!(lw <= w.max(2), "{l:?} wider than {w}");
            }
        }
    }

    #[test]
    fn sanitize_drops_controls() {
        assert_eq!(sanitize("a\tb\x1b[31m\r\n"), "a    b[31m\n");
    }
}
