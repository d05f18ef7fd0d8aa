//! Junk filing at delivery: whether a message flagged as spam is kept out of Junk
//! because a third-party filter whitelisted it (spec 02 §1.2).

use zcs_core::Attrs;

use crate::mta::outbound::header_values;

/// The third-party whitelist mark of the global config: `zimbraSpamWhitelistHeader`
/// and `zimbraSpamWhitelistHeaderValue`, when both are set.
pub fn whitelist_mark(global: &Attrs) -> Option<(String, String)> {
    let header = global.get("zimbraSpamWhitelistHeader")?.trim();
    let value = global.get("zimbraSpamWhitelistHeaderValue")?.trim();
    (!header.is_empty()).then(|| (header.to_string(), value.to_string()))
}

/// Whether a third-party filter marked the message as wanted (spec 02 §1.2): the
/// `mark` header is present with the mark's value (case-insensitive). Such mail is kept
/// out of Junk even when flagged as spam; the user's filters still run.
pub fn whitelisted(mark: Option<&(String, String)>, data: &[u8]) -> bool {
    let Some((header, wanted)) = mark else {
        return false;
    };
    header_values(data, header)
        .iter()
        .any(|v| v.trim().eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelist_header_needs_its_value() {
        let msg = b"X-Whitelist-Flag: yes\r\nX-Spam-Flag: YES\r\n\r\nbody\r\n";
        let mut a = Attrs::new();
        assert_eq!(whitelist_mark(&a), None);
        assert!(!whitelisted(None, msg));
        a.set_one("zimbraSpamWhitelistHeader", "X-Whitelist-Flag");
        assert_eq!(whitelist_mark(&a), None);
        a.set_one("zimbraSpamWhitelistHeaderValue", " YES ");
        let mark = whitelist_mark(&a);
        assert!(whitelisted(mark.as_ref(), msg));
        a.set_one("zimbraSpamWhitelistHeaderValue", "NO");
        let mark = whitelist_mark(&a);
        assert!(!whitelisted(mark.as_ref(), msg));
        let body_only = b"Subject: x\r\n\r\nX-Whitelist-Flag: NO\r\n";
        assert!(!whitelisted(mark.as_ref(), body_only));
    }
}
