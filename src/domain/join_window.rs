/// How early before the start a patient may join.
pub const JOIN_OPENS_BEFORE_SECS: i64 = 15 * 60;

/// Where a visit's join window stands at a moment: the join link is handed out from
/// `JOIN_OPENS_BEFORE_SECS` before the start until the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinWindow {
    NotOpenYet,
    Open,
    Ended,
}

impl JoinWindow {
    /// Where the window of a visit from `starts_at` to `ends_at` (Unix seconds) stands at `now`.
    pub fn at(starts_at: i64, ends_at: i64, now: i64) -> Self {
        if now < starts_at - JOIN_OPENS_BEFORE_SECS {
            JoinWindow::NotOpenYet
        } else if now < ends_at {
            JoinWindow::Open
        } else {
            JoinWindow::Ended
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_window_opens_15_minutes_early_and_closes_at_the_end() {
        let start = 1_000_000;
        let end = start + 1800;
        assert_eq!(
            JoinWindow::at(start, end, start - 901),
            JoinWindow::NotOpenYet
        );
        assert_eq!(JoinWindow::at(start, end, start - 900), JoinWindow::Open);
        assert_eq!(JoinWindow::at(start, end, end - 1), JoinWindow::Open);
        assert_eq!(JoinWindow::at(start, end, end), JoinWindow::Ended);
    }
}
