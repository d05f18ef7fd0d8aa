//! `zimbraMailSignatureMaxLength` (spec 02, "Signature length"): no signature text set
//! on an account (`zimbraPrefMailSignature`, `zimbraPrefMailSignatureHTML`) or on one
//! of its signature entries may be longer than the limit the account inherits (COS,
//! then global config; 0 is unlimited). Lengths are counted in UTF-16 units, as
//! Zimbra's Java strings count them. Zimbra answers `service.INVALID_REQUEST`.

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, ServiceResult};

use super::Provisioning;

/// The attributes holding signature text.
const SIGNATURE_ATTRS: &[&str] = &["zimbraPrefMailSignature", "zimbraPrefMailSignatureHTML"];

/// Whether `name` holds signature text.
fn is_signature_attr(name: &str) -> bool {
    SIGNATURE_ATTRS.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// Refuses `value` for `attr` when it is longer than `max` (0: no limit).
fn check_length(attr: &str, value: &str, max: u64) -> ServiceResult<()> {
    let len = value.encode_utf16().count() as u64;
    if max > 0 && len > max {
        return Err(ServiceError::invalid_request(format!(
            "{attr} is {len} characters long, more than zimbraMailSignatureMaxLength {max}"
        )));
    }
    Ok(())
}

impl Provisioning {
    /// The signature length limit `account` inherits; 0 is unlimited.
    async fn signature_max_length(&self, account: &Entry) -> ServiceResult<u64> {
        let ctx = self.account_context(account).await?;
        Ok(ctx
            .scope()
            .get("zimbraMailSignatureMaxLength")
            .first()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0))
    }

    /// Checks the signature text among `attrs` (of a new account, or of a new
    /// signature entry of `account`) against the account's limit.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a signature that is too long.
    pub(super) async fn check_signature_attrs(
        &self,
        account: &Entry,
        attrs: &Attrs,
    ) -> ServiceResult<()> {
        let texts: Vec<(&str, &String)> = attrs
            .iter()
            .filter(|(n, _)| is_signature_attr(n))
            .flat_map(|(n, v)| v.iter().map(move |v| (n, v)))
            .collect();
        if texts.is_empty() {
            return Ok(());
        }
        let max = self.signature_max_length(account).await?;
        for (n, v) in texts {
            check_length(n, v, max)?;
        }
        Ok(())
    }

    /// Checks the signature text `edits` set on `account` (or on one of its signature
    /// entries) against the account's limit.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a signature that is too long.
    pub(super) async fn check_signature_edits(
        &self,
        account: &Entry,
        edits: &[AttrEdit],
    ) -> ServiceResult<()> {
        let mut texts = Vec::new();
        for e in edits.iter().filter(|e| is_signature_attr(e.name())) {
            match e {
                AttrEdit::Replace(n, v) => texts.extend(v.iter().map(|v| (n, v))),
                AttrEdit::Add(n, v) => texts.push((n, v)),
                AttrEdit::Remove(..) => {}
            }
        }
        if texts.is_empty() {
            return Ok(());
        }
        let max = self.signature_max_length(account).await?;
        for (n, v) in texts {
            check_length(n, v, max)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_utf16_units_and_zero_is_unlimited() {
        assert!(check_length("a", "abc", 3).is_ok());
        assert!(check_length("a", "abcd", 3).is_err());
        // One astral character is two UTF-16 units.
        assert!(check_length("a", "\u{1F600}", 1).is_err());
        assert!(check_length("a", &"x".repeat(100_000), 0).is_ok());
    }

    #[test]
    fn only_signature_attributes_are_checked() {
        assert!(is_signature_attr("zimbraprefmailsignature"));
        assert!(is_signature_attr("zimbraPrefMailSignatureHTML"));
        assert!(!is_signature_attr("zimbraPrefMailSignatureEnabled"));
    }
}
