//! `zmaccts`: the account status report. Lists every account (calendar resources
//! excluded) domain by domain with its status, creation time and last login, then a
//! summary table counting each domain's accounts by status. The layout is Zimbra's
//! (a Perl `format` report): one account table per domain, each headed by the column
//! titles and separated by an empty line (the report's form feed), fixed-width columns
//! with longer values cut, trailing blanks trimmed, times as `mm/dd/yy HH:MM` in the
//! local time zone and `never` for an account that never logged in.

use chrono::{NaiveDateTime, TimeZone};
use zcs_core::{Entry, ServiceResult};
use zcs_directory::Provisioning;

/// One account's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The account's address, `local@domain`.
    pub address: String,
    /// `zimbraAccountStatus` (empty when unset).
    pub status: String,
    /// `zimbraCreateTimestamp`, a generalized time (`YYYYMMDDHHMMSSZ`).
    pub created: Option<String>,
    /// `zimbraLastLogonTimestamp`, a generalized time.
    pub last_logon: Option<String>,
}

impl AccountRow {
    /// The row of an account entry.
    pub fn from_entry(e: &Entry) -> AccountRow {
        AccountRow {
            address: e.name.clone(),
            status: e
                .attrs
                .get("zimbraAccountStatus")
                .unwrap_or_default()
                .to_string(),
            created: e.attrs.get("zimbraCreateTimestamp").map(str::to_string),
            last_logon: e.attrs.get("zimbraLastLogonTimestamp").map(str::to_string),
        }
    }
}

/// The report over every account of the directory, times in the local time zone.
///
/// # Errors
/// A directory read failure.
pub async fn report(prov: &Provisioning) -> ServiceResult<String> {
    let rows: Vec<AccountRow> = prov
        .all_accounts(None)
        .await?
        .iter()
        .map(AccountRow::from_entry)
        .collect();
    Ok(render(&rows, &chrono::Local))
}

/// `s` cut or padded to `width` characters, on the left (`left`) or the right.
fn field(s: &str, width: usize, left: bool) -> String {
    let cut: String = s.chars().take(width).collect();
    if left {
        format!("{cut:<width$}")
    } else {
        format!("{cut:>width$}")
    }
}

/// One output line: the columns joined by their gaps, trailing blanks trimmed.
fn line(out: &mut String, text: &str) {
    out.push_str(text.trim_end_matches(' '));
    out.push('\n');
}

/// A generalized time shown as `mm/dd/yy HH:MM` in `tz`; a value that is not one is
/// shown as it is.
fn show_time<Tz: TimeZone>(value: &str, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let digits = value
        .get(..14)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
    let parsed = digits
        .filter(|_| value[14..].starts_with('Z') || value[14..].starts_with('.'))
        .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y%m%d%H%M%S").ok());
    match parsed {
        Some(t) => tz
            .from_utc_datetime(&t)
            .format("%m/%d/%y %H:%M")
            .to_string(),
        None => value.to_string(),
    }
}

/// The report over `rows`, times shown in `tz`. Domains and, within a domain, local
/// parts come in byte order; an address without `@` is left out.
pub fn render<Tz: TimeZone>(rows: &[AccountRow], tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    // (domain, local part, row), sorted as the report lists them.
    let mut sorted: Vec<(&str, &str, &AccountRow)> = rows
        .iter()
        .filter_map(|r| {
            let (local, domain) = r.address.rsplit_once('@')?;
            Some((domain, local, r))
        })
        .collect();
    sorted.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

    let mut out = String::new();
    let mut domains: Vec<(&str, [u64; 5])> = Vec::new();
    for (domain, _, row) in &sorted {
        if domains.last().is_none_or(|(d, _)| d != domain) {
            if !domains.is_empty() {
                out.push('\n');
            }
            line(
                &mut out,
                "           account                          status             created       \
                 last logon",
            );
            line(
                &mut out,
                "------------------------------------   -----------     ---------------  \
                 ---------------",
            );
            domains.push((domain, [0; 5]));
        }
        if let Some((_, counts)) = domains.last_mut() {
            let slot = match row.status.as_str() {
                "active" => Some(0),
                "closed" => Some(1),
                "locked" => Some(2),
                "maintenance" => Some(3),
                _ => None,
            };
            if let Some(i) = slot {
                counts[i] += 1;
            }
            counts[4] += 1;
        }
        let created = row
            .created
            .as_deref()
            .map(|c| show_time(c, tz))
            .unwrap_or_default();
        let logon = row
            .last_logon
            .as_deref()
            .map_or_else(|| "never".to_string(), |l| show_time(l, tz));
        line(
            &mut out,
            &format!(
                "{}   {}     {}  {}",
                field(&row.address, 36, true),
                field(&row.status, 11, false),
                field(&created, 15, false),
                field(&logon, 15, false)
            ),
        );
    }
    if domains.is_empty() {
        return out;
    }

    out.push('\n');
    line(&mut out, "                                 domain summary");
    line(&mut out, "");
    line(
        &mut out,
        "    domain                  active    closed    locked    maintenance     total",
    );
    line(
        &mut out,
        "-----------------------   --------  --------  --------  -------------  --------",
    );
    for (domain, [active, closed, locked, maintenance, total]) in &domains {
        line(
            &mut out,
            &format!(
                "{}   {}  {}  {}  {}  {}",
                field(domain, 23, true),
                field(&active.to_string(), 8, false),
                field(&closed.to_string(), 8, false),
                field(&locked.to_string(), 8, false),
                field(&maintenance.to_string(), 13, false),
                field(&total.to_string(), 8, false)
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(address: &str, status: &str, created: &str, logon: Option<&str>) -> AccountRow {
        AccountRow {
            address: address.into(),
            status: status.into(),
            created: Some(created.into()),
            last_logon: logon.map(str::to_string),
        }
    }

    #[test]
    fn layout_matches_zimbra() {
        let rows = [
            row("zed@b.test", "locked", "20261205101500Z", None),
            row(
                "bob@a.test",
                "active",
                "20261204090000Z",
                Some("20261205120102Z"),
            ),
            row("al@a.test", "maintenance", "20261201000000Z", None),
            row("cy@a.test", "closed", "junk", None),
            row("dee@a.test", "pending", "20261201000000Z", None),
        ];
        let got = render(&rows, &chrono::Utc);
        let want = "           account                          status             created       \
                    last logon
------------------------------------   -----------     ---------------  ---------------
al@a.test                              maintenance      12/01/26 00:00            never
bob@a.test                                  active      12/04/26 09:00   12/05/26 12:01
cy@a.test                                   closed                junk            never
dee@a.test                                 pending      12/01/26 00:00            never

           account                          status             created       last logon
------------------------------------   -----------     ---------------  ---------------
zed@b.test                                  locked      12/05/26 10:15            never

                                 domain summary

    domain                  active    closed    locked    maintenance     total
-----------------------   --------  --------  --------  -------------  --------
a.test                           1         1         0              1         4
b.test                           0         0         1              0         1
";
        assert_eq!(got, want);
    }

    #[test]
    fn long_values_are_cut_and_empty_directories_print_nothing() {
        assert_eq!(render(&[], &chrono::Utc), "");
        let long = format!("{}@{}", "x".repeat(40), "d".repeat(30));
        let got = render(
            &[row(&long, "active", "20261205101500Z", None)],
            &chrono::Utc,
        );
        let lines: Vec<&str> = got.lines().collect();
        assert!(lines[2].starts_with(&"x".repeat(36)));
        assert_eq!(&lines[2][36..39], "   ");
        assert!(lines.last().is_some_and(|l| l.starts_with(&"d".repeat(23))));
    }

    #[test]
    fn times_are_shown_in_the_zone_given() {
        let tz = chrono::FixedOffset::east_opt(3600).expect("offset");
        assert_eq!(show_time("20261231233000Z", &tz), "01/01/27 00:30");
        assert_eq!(show_time("20261231233000.123Z", &tz), "01/01/27 00:30");
        assert_eq!(show_time("2026", &tz), "2026");
        assert_eq!(show_time("2026123123300Ã", &tz), "2026123123300Ã");
    }
}
