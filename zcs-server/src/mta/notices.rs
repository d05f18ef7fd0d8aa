//! Messages the server writes itself at delivery: the quota warning
//! (`zimbraQuotaWarnPercent`, `zimbraQuotaWarnInterval`, `zimbraQuotaWarnMessage`).

use zcs_core::Attrs;
use zcs_core::attrs::value::parse_duration_ms;
use zcs_store::QuotaWarning;

/// `zimbraQuotaWarnPercent` (default 90) and `zimbraQuotaWarnInterval` in ms (default
/// one day) from an account's effective attributes.
pub fn warn_settings(effective: &Attrs) -> (u32, i64) {
    let percent = effective
        .get("zimbraQuotaWarnPercent")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(90);
    let interval = effective
        .get("zimbraQuotaWarnInterval")
        .and_then(|v| parse_duration_ms(v).ok())
        .unwrap_or(86_400_000);
    (percent, i64::try_from(interval).unwrap_or(i64::MAX))
}

/// The warning message: `zimbraQuotaWarnMessage` with its `${...}` variables filled
/// (`RECIPIENT_NAME`, `RECIPIENT_ADDRESS`, `RECIPIENT_DOMAIN`, `DATE`, `MBOX_SIZE_MB`,
/// `QUOTA_MB`, `WARN_PERCENT`, `NEWLINE` as CRLF). Unknown variables stay as written.
pub fn quota_warning_message(effective: &Attrs, address: &str, warning: &QuotaWarning) -> Vec<u8> {
    let template = effective.get("zimbraQuotaWarnMessage").unwrap_or(
        "From: Postmaster <postmaster@${RECIPIENT_DOMAIN}>${NEWLINE}To: ${RECIPIENT_NAME} \
         <${RECIPIENT_ADDRESS}>${NEWLINE}Subject: Quota warning${NEWLINE}Date: ${DATE}\
         ${NEWLINE}${NEWLINE}Your mailbox uses ${MBOX_SIZE_MB}MB, more than \
         ${WARN_PERCENT}% of its ${QUOTA_MB}MB quota.${NEWLINE}",
    );
    let name = effective.get("displayName").unwrap_or(address);
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let mb = |bytes: u64| format!("{:.1}", bytes as f64 / (1024.0 * 1024.0));
    // Header injection: values from the directory never carry line breaks.
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let mut text = template.to_string();
    for (var, value) in [
        ("RECIPIENT_NAME", clean(name)),
        ("RECIPIENT_ADDRESS", clean(address)),
        ("RECIPIENT_DOMAIN", clean(domain)),
        ("DATE", chrono::Utc::now().to_rfc2822()),
        ("MBOX_SIZE_MB", mb(warning.used)),
        ("QUOTA_MB", mb(warning.quota)),
        ("WARN_PERCENT", warning.percent.to_string()),
        ("NEWLINE", "\r\n".into()),
    ] {
        text = text.replace(&format!("${{{var}}}"), &value);
    }
    if !text.ends_with("\r\n") {
        text.push_str("\r\n");
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_filled() {
        let mut a = Attrs::new();
        assert_eq!(warn_settings(&a), (90, 86_400_000));
        a.set_one("zimbraQuotaWarnPercent", "50");
        a.set_one("zimbraQuotaWarnInterval", "1h");
        assert_eq!(warn_settings(&a), (50, 3_600_000));
        let w = QuotaWarning {
            used: 2 << 20,
            quota: 4 << 20,
            percent: 50,
        };
        let m = String::from_utf8(quota_warning_message(&a, "u@x.test", &w)).expect("utf8");
        assert!(m.starts_with("From: Postmaster <postmaster@x.test>\r\nTo: u@x.test <u@x.test>"));
        assert!(m.contains("2.0MB, more than 50% of its 4.0MB quota"), "{m}");
    }
}
