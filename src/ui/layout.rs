//! Where each pane goes. Pure arithmetic on `Rect`s, saturating everywhere: any size, even 0x0, works.
use ratatui::layout::Rect;

/// Below this width the right column (charts, log) is dropped.
pub const WIDE_MIN_WIDTH: u16 = 80;
/// The input box grows with its content between these heights (borders included).
pub const INPUT_MIN_HEIGHT: u16 = 3;
pub const INPUT_MAX_HEIGHT: u16 = 8;

/// The areas of one frame; zero-sized `Rect`s for panes that do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub chat: Rect,
    pub input: Rect,
    pub status: Rect,
    pub token_chart: Rect,
    pub system_chart: Rect,
    pub log: Rect,
    pub sampler: Rect,
}

fn rect(x: u16, y: u16, width: u16, height: u16) -> Rect {
    Rect {
        x,
        y,
        width,
        height,
    }
}

/// Split `area` vertically: the top `top` rows (at most all of it) and the rest.
fn split_top(area: Rect, top: u16) -> (Rect, Rect) {
    let top = top.min(area.height);
    (
        rect(area.x, area.y, area.width, top),
        rect(
            area.x,
            area.y.saturating_add(top),
            area.width,
            area.height - top,
        ),
    )
}

/// Compute the layout. `input_rows(inner_width)` is how many text rows the input wants.
pub fn compute(area: Rect, show_log: bool, input_rows: impl Fn(u16) -> u16) -> Areas {
    compute_with(area, show_log, false, input_rows)
}

/// [`compute`] with the sampler pane: the top of the right column (or, when narrow, the lower
/// part of the chat, ahead of the log).
pub fn compute_with(
    area: Rect,
    show_log: bool,
    show_sampler: bool,
    input_rows: impl Fn(u16) -> u16,
) -> Areas {
    let mut a = Areas::default();
    if area.width == 0 || area.height == 0 {
        return a;
    }
    let (main, status) = split_top(area, area.height - 1);
    a.status = status;

    let wide = area.width >= WIDE_MIN_WIDTH && main.height >= 10;
    let (left, right) = if wide {
        let right_w = area.width / 3;
        let left_w = area.width - right_w;
        (
            rect(main.x, main.y, left_w, main.height),
            Some(rect(
                main.x.saturating_add(left_w),
                main.y,
                right_w,
                main.height,
            )),
        )
    } else {
        (main, None)
    };

    // Left column: chat above, input below.
    let wanted = input_rows(left.width.saturating_sub(2))
        .saturating_add(2)
        .clamp(INPUT_MIN_HEIGHT, INPUT_MAX_HEIGHT);
    let input_h = if left.height < 6 {
        left.height
    } else {
        wanted.min(left.height - 3)
    };
    let (chat, input) = split_top(left, left.height - input_h);
    a.input = input;
    a.chat = chat;

    match right {
        Some(right) if show_sampler => {
            let (sampler, rest) = split_top(right, right.height * 3 / 5);
            a.sampler = sampler;
            if show_log {
                let (token, log) = split_top(rest, rest.height / 2);
                a.token_chart = token;
                a.log = log;
            } else {
                let (token, system) = split_top(rest, rest.height / 2);
                a.token_chart = token;
                a.system_chart = system;
            }
        }
        None if show_sampler => {
            if chat.height >= 8 {
                let (c, sampler) = split_top(chat, chat.height - chat.height / 2);
                a.chat = c;
                a.sampler = sampler;
            }
        }
        Some(right) => {
            if show_log {
                let third = right.height / 3;
                let (token, rest) = split_top(right, third);
                let (system, log) = split_top(rest, third);
                a.token_chart = token;
                a.system_chart = system;
                a.log = log;
            } else {
                let (token, system) = split_top(right, right.height / 2);
                a.token_chart = token;
                a.system_chart = system;
            }
        }
        None => {
            // Narrow: the log, when shown, takes the lower part of the chat area.
            if show_log && chat.height >= 8 {
                let (c, log) = split_top(chat, chat.height - chat.height * 2 / 5);
                a.chat = c;
                a.log = log;
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(inner: Rect, outer: Rect) -> bool {
        inner.area() == 0
            || (inner.x >= outer.x
                && inner.y >= outer.y
                && inner.right() <= outer.right()
                && inner.bottom() <= outer.bottom())
    }

    #[test]
    fn every_area_fits_at_every_size() {
        for w in 0..=130u16 {
            for h in 0..=45u16 {
                let area = Rect::new(0, 0, w, h);
                for (show_log, show_sampler) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    let a = compute_with(area, show_log, show_sampler, |_| 3);
                    for r in [
                        a.sampler,
                        a.chat,
                        a.input,
                        a.status,
                        a.token_chart,
                        a.system_chart,
                        a.log,
                    ] {
                        assert!(inside(r, area), "{r:?} outside {area:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn wide_layout_has_charts_narrow_does_not() {
        let a = compute(Rect::new(0, 0, 120, 40), false, |_| 1);
        assert!(a.token_chart.area() > 0 && a.system_chart.area() > 0);
        assert_eq!(a.log.area(), 0);
        assert_eq!(a.status.height, 1);
        assert_eq!(a.input.height, INPUT_MIN_HEIGHT);
        assert!(a.chat.height > 20);
        let a = compute(Rect::new(0, 0, 120, 40), true, |_| 100);
        assert!(a.log.area() > 0);
        assert_eq!(a.input.height, INPUT_MAX_HEIGHT);
        let a = compute(Rect::new(0, 0, 60, 20), false, |_| 1);
        assert_eq!(a.token_chart.area(), 0);
        assert_eq!(a.chat.width, 60);
    }
}
