//! Archive mailbox names (spec 05 §1.1): `zimbraArchiveAccountNameTemplate` with
//! `${USER}`, `${DATE}`, `${DOMAIN}` and `${ID}`, `${DATE}` rendered with
//! `zimbraArchiveAccountDateTemplate` (Java `SimpleDateFormat` letters), and the check
//! that the result is an email address.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// The name template when none is set (Zimbra's default).
pub const DEFAULT_NAME_TEMPLATE: &str = "${USER}-${DATE}@${DOMAIN}.archive";
/// The date template when none is set.
pub const DEFAULT_DATE_TEMPLATE: &str = "yyyyMMdd";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `at` rendered with a `SimpleDateFormat` pattern: `y` (`yy` two digits, else four),
/// `M` (`MM` two digits, `MMM` short and `MMMM` full English names), `d`, `H`, `m`,
/// `s` (doubled for two digits), `'quoted'` text and `''` for a quote; other characters
/// are copied.
pub fn format_date(pattern: &str, at: NaiveDateTime) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let end = chars[i + 1..]
                .iter()
                .position(|&q| q == '\'')
                .map_or(chars.len(), |p| i + 1 + p);
            out.extend(&chars[i + 1..end]);
            i = end + 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        i += run;
        let num = |v: u32, width: usize| format!("{v:0width$}", width = width.clamp(1, 2));
        match c {
            'y' if run == 2 => out.push_str(&format!("{:02}", at.year().rem_euclid(100))),
            'y' => out.push_str(&format!("{:0width$}", at.year(), width = run.max(4))),
            'M' if run >= 4 => out.push_str(MONTHS[at.month0() as usize]),
            'M' if run == 3 => out.push_str(&MONTHS[at.month0() as usize][..3]),
            'M' => out.push_str(&num(at.month(), run)),
            'd' => out.push_str(&num(at.day(), run)),
            'H' => out.push_str(&num(at.hour(), run)),
            'm' => out.push_str(&num(at.minute(), run)),
            's' => out.push_str(&num(at.second(), run)),
            _ => out.extend(std::iter::repeat_n(c, run)),
        }
    }
    out
}

/// The archive address of `account` (`user@domain`, id `id`) from the templates.
pub fn archive_name(
    name_template: &str,
    date_template: &str,
    account: &str,
    id: &str,
    at: NaiveDateTime,
) -> String {
    let (user, domain) = account.rsplit_once('@').unwrap_or((account, ""));
    name_template
        .replace("${USER}", user)
        .replace("${DOMAIN}", domain)
        .replace("${ID}", id)
        .replace("${DATE}", &format_date(date_template, at))
}

/// Whether `address` is a plain `local@domain.tld` address: a local part of letters,
/// digits and `!#$%&'*+/=?^_`{|}~.-`, and a domain of dot-separated labels of letters,
/// digits and hyphens, at least two labels.
pub fn is_valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may_10() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2007, 5, 10)
            .and_then(|d| d.and_hms_opt(9, 5, 7))
            .expect("a valid date")
    }

    #[test]
    fn dates_like_simple_date_format() {
        assert_eq!(format_date("yyyyMMdd", may_10()), "20070510");
        assert_eq!(format_date("yyyyMM", may_10()), "200705");
        assert_eq!(format_date("yy-M-d", may_10()), "07-5-10");
        assert_eq!(format_date("MMM MMMM", may_10()), "May May");
        assert_eq!(format_date("HHmmss 'at' ''x", may_10()), "090507 at 'x");
    }

    #[test]
    fn names_from_templates() {
        let n = archive_name(
            DEFAULT_NAME_TEMPLATE,
            DEFAULT_DATE_TEMPLATE,
            "user@example.com",
            "id",
            may_10(),
        );
        assert_eq!(n, "user-20070510@example.com.archive");
        assert!(is_valid_address(&n));
        let bad = archive_name(
            "${USER} ${DATE}",
            "yyyyMMdd",
            "user@example.com",
            "i",
            may_10(),
        );
        assert!(!is_valid_address(&bad));
        assert!(!is_valid_address("a@b"));
        assert!(!is_valid_address("a b@x.test"));
        assert!(is_valid_address("a.b+c@x-y.test"));
    }

    proptest::proptest! {
        #[test]
        fn any_template_is_safe(p in "\\PC{0,30}", n in "\\PC{0,40}") {
            let name = archive_name(&n, &p, "u@x.test", "id", may_10());
            let _ = is_valid_address(&name);
        }
    }
}
