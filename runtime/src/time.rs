//! Wall clock formats nginx uses: error log stamps and the time variables.

use chrono::{DateTime, Local};
use std::time::SystemTime;

/// `2026/12/03 18:15:13`: the stamp at the start of an error log line (local time).
pub fn error_log_stamp(now: SystemTime) -> String {
    DateTime::<Local>::from(now).format("%Y/%m/%d %H:%M:%S").to_string()
}

/// `$time_local`: `03/Dec/2026:18:15:13 +0000`.
pub fn time_local(now: SystemTime) -> String {
    DateTime::<Local>::from(now).format("%d/%b/%Y:%H:%M:%S %z").to_string()
}

/// `$time_iso8601`: `2026-12-03T18:15:13+00:00`.
pub fn time_iso8601(now: SystemTime) -> String {
    DateTime::<Local>::from(now).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// `$msec`: seconds since the epoch with milliseconds, `1764785713.123`.
pub fn msec(now: SystemTime) -> String {
    let since = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", since.as_secs(), since.subsec_millis())
}

/// A duration in nginx's `%T.%03M` form (`$session_time`, `$upstream_connect_time`).
pub fn seconds_msec(elapsed: std::time::Duration) -> String {
    format!("{}.{:03}", elapsed.as_secs(), elapsed.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_print_with_three_decimals() {
        assert_eq!(seconds_msec(Duration::from_millis(1234)), "1.234");
        assert_eq!(seconds_msec(Duration::from_millis(5)), "0.005");
    }

    #[test]
    fn msec_has_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_042);
        assert_eq!(msec(t), "1700000000.042");
    }
}
