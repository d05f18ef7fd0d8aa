//! Date terms made absolute: relative dates (`-1d`, `today`) and calendar days
//! (`6/1/2005`) become millisecond comparisons for a caller's clock and zone, so that
//! whoever evaluates the query later (the index, which knows no zone or time of the
//! request) selects the same instants the user meant.

use chrono::{DateTime, TimeZone};

use super::{Comparison, DateValue, ItemSet, Query};

/// `q` with every date term whose value is a calendar day or relative date replaced by
/// the comparisons on epoch milliseconds it stands for at `now` in `now`'s zone:
/// `date:6/1/2005` becomes `date:>=<start of that day> date:<<start of the next>`,
/// `before:-1d` becomes `date:<<start of yesterday>`. Millisecond values are already
/// absolute and kept. A date beyond the representable calendar matches nothing
/// (`item:none`). The result parses back to itself once printed.
pub fn resolve_dates<Z: TimeZone>(q: &Query, now: &DateTime<Z>) -> Query {
    match q {
        Query::And(v) => flatten(v.iter().map(|c| resolve_dates(c, now)), false),
        Query::Or(v) => flatten(v.iter().map(|c| resolve_dates(c, now)), true),
        Query::Not(c) => Query::Not(Box::new(resolve_dates(c, now))),
        Query::Date { field, op, value } if !matches!(value, DateValue::Millis(_)) => {
            let Some(b) = value.bounds(*op, now) else {
                return Query::Item(ItemSet::None);
            };
            let leaf = |op, ms| Query::Date {
                field: *field,
                op,
                value: DateValue::Millis(ms),
            };
            match (b.from_ms, b.until_ms) {
                (Some(from), Some(until)) => Query::And(vec![
                    leaf(Comparison::Ge, from),
                    leaf(Comparison::Lt, until),
                ]),
                (Some(from), None) => leaf(Comparison::Ge, from),
                (None, Some(until)) => leaf(Comparison::Lt, until),
                (None, None) => Query::Item(ItemSet::All),
            }
        }
        other => other.clone(),
    }
}

/// An `And`/`Or` of `parts`, children of the same kind merged in, so the result keeps
/// the AST's rule that boolean nodes never hold their own kind.
fn flatten(parts: impl Iterator<Item = Query>, or: bool) -> Query {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Query::Or(v) if or => out.extend(v),
            Query::And(v) if !or => out.extend(v),
            other => out.push(other),
        }
    }
    if or { Query::Or(out) } else { Query::And(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{DateField, parse};
    use chrono::FixedOffset;

    fn at(offset_hours: i32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(offset_hours * 3600)
            .unwrap()
            .with_ymd_and_hms(2020, 6, 17, 12, 0, 0)
            .unwrap()
    }

    const JUN1_2005_UTC: i64 = 1_117_584_000_000;
    const DAY: i64 = 86_400_000;

    #[test]
    fn calendar_days_become_millisecond_ranges_in_the_callers_zone() {
        let q = parse("date:6/1/2005").unwrap();
        assert_eq!(
            resolve_dates(&q, &at(0)).to_string(),
            format!("date:>={JUN1_2005_UTC} date:<{}", JUN1_2005_UTC + DAY)
        );
        // Seven hours west, the day starts seven hours later.
        let west = resolve_dates(&q, &at(-7)).to_string();
        let start = JUN1_2005_UTC + 7 * 3_600_000;
        assert_eq!(west, format!("date:>={start} date:<{}", start + DAY));
        assert_eq!(
            resolve_dates(&parse("after:6/1/2005").unwrap(), &at(0)).to_string(),
            format!("date:>={}", JUN1_2005_UTC + DAY)
        );
        assert_eq!(
            resolve_dates(&parse("before:6/1/2005").unwrap(), &at(0)).to_string(),
            format!("date:<{JUN1_2005_UTC}")
        );
    }

    #[test]
    fn relative_dates_resolve_against_now_and_the_tree_stays_flat() {
        let now = at(0);
        let today = now.timestamp_millis() - 12 * 3_600_000;
        let q = resolve_dates(&parse("foo date:today in:inbox").unwrap(), &now);
        let Query::And(parts) = &q else {
            panic!("{q:?}")
        };
        assert_eq!(parts.len(), 4, "{q}");
        assert_eq!(
            q.to_string(),
            format!("foo date:>={today} date:<{} in:inbox", today + DAY)
        );
        let q = resolve_dates(&parse("-after:-1d or day:-2d").unwrap(), &now);
        assert_eq!(
            q.to_string(),
            format!(
                "-date:>={today} OR day:>={} day:<{}",
                today - 2 * DAY,
                today - DAY
            )
        );
        // Printing and parsing the resolved query gives it back.
        assert_eq!(parse(&q.to_string()).unwrap(), q);
    }

    #[test]
    fn millisecond_values_are_kept_and_overflow_matches_nothing() {
        let q = parse("date:1167609600000 mdate:>5").unwrap();
        assert_eq!(resolve_dates(&q, &at(0)), q);
        let huge = Query::Date {
            field: DateField::Date,
            op: Comparison::Eq,
            value: DateValue::Relative {
                amount: 999_999_999,
                unit: crate::query::DateUnit::Year,
            },
        };
        assert_eq!(resolve_dates(&huge, &at(0)), Query::Item(ItemSet::None));
    }
}
