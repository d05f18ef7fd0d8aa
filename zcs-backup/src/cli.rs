//! Command-line helpers shared by the backup commands: Zimbra's multi-letter options
//! with one dash (`-lb`, `-restoreToTime`) rewritten to long options clap parses, and
//! the time formats `zmrestore` and `zmbackupquery` accept.

use chrono::{NaiveDateTime, TimeZone, Utc};

/// Rewrites each argument equal to a single-dash alias in `aliases` (`("-lb",
/// "--label")`) to its long form; everything else is left alone.
pub fn normalize_args(
    args: impl IntoIterator<Item = String>,
    aliases: &[(&str, &str)],
) -> Vec<String> {
    args.into_iter()
        .map(|a| {
            aliases
                .iter()
                .find(|(short, _)| *short == a)
                .map(|(_, long)| long.to_string())
                .unwrap_or(a)
        })
        .collect()
}

/// Parses a restore or query time (GMT): `YYYYMMDDHHMMSS[mmm]`, `YYYYMMDD.HHMMSS[.mmm]`,
/// `YYYY/MM/DD HH:MM:SS[.mmm]` or `YYYY/MM/DD-HH:MM:SS`. Returns ms since the epoch.
///
/// LIMITATION: times are read as GMT, not the local time zone the guide mentions.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    let formats = [
        "%Y%m%d%H%M%S%3f",
        "%Y%m%d%H%M%S",
        "%Y%m%d.%H%M%S%.3f",
        "%Y%m%d.%H%M%S",
        "%Y/%m/%d %H:%M:%S%.3f",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d-%H:%M:%S",
    ];
    formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| Utc.from_utc_datetime(&n).timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_become_long_options() {
        let out = normalize_args(
            ["-a", "all", "-lb", "x"].map(String::from),
            &[("-lb", "--label")],
        );
        assert_eq!(out, ["-a", "all", "--label", "x"]);
    }

    #[test]
    fn times_parse_in_each_format() {
        let want = parse_time("20081216121923").unwrap();
        assert_eq!(parse_time("2008/12/16 12:19:23"), Some(want));
        assert_eq!(parse_time("20081216.121923"), Some(want));
        assert_eq!(parse_time("2008/12/16-12:19:23"), Some(want));
        assert_eq!(parse_time("20081216121923257"), Some(want + 257));
        assert_eq!(parse_time("nonsense"), None);
    }
}
