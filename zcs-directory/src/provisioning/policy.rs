//! Password policy: the strength rules, history, ages, must-change and locked flags an
//! account inherits from its COS (`zimbraPassword*`), applied when an administrator
//! sets a password ([`Provisioning::set_password`]) and when a user changes their own
//! ([`Provisioning::change_password`]), plus the expiry check the login path runs.
//!
//! Hashing is `crate::password`'s job; lockout after failed logins is `lockout`'s.

use zcs_core::attrs::value::{format_time, parse_time};
use zcs_core::{AttrEdit, Entry, FaultCode, ServiceError, ServiceResult};

use super::{AccountContext, Provisioning};
use crate::auth::AuthContext;
use crate::password;

/// Milliseconds in a day (`zimbraPasswordMinAge` and `zimbraPasswordMaxAge` count days).
const DAY_MS: i64 = 86_400_000;

/// Why a password was refused, each with the Zimbra fault code it maps to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordFault {
    /// `account.INVALID_PASSWORD`: a strength rule is broken; the text names the rule
    /// (`too short`, `not enough upper case characters`, ...), never the password.
    #[error("invalid password: {0}")]
    Invalid(String),
    /// `account.PASSWORD_RECENTLY_USED`: the password is among the last
    /// `zimbraPasswordEnforceHistory` ones.
    #[error("password recently used")]
    RecentlyUsed,
    /// `account.PASSWORD_CHANGE_TOO_SOON`: `zimbraPasswordMinAge` days have not passed.
    #[error("password can not be changed yet (zimbraPasswordMinAge)")]
    ChangeTooSoon,
    /// `account.PASSWORD_LOCKED`: `zimbraPasswordLocked TRUE` forbids the user to change
    /// it.
    #[error("password is locked and can not be changed")]
    Locked,
}

impl PasswordFault {
    /// The exact Zimbra fault code.
    pub fn zimbra_code(&self) -> &'static str {
        match self {
            PasswordFault::Invalid(_) => "account.INVALID_PASSWORD",
            PasswordFault::RecentlyUsed => "account.PASSWORD_RECENTLY_USED",
            PasswordFault::ChangeTooSoon => "account.PASSWORD_CHANGE_TOO_SOON",
            PasswordFault::Locked => "account.PASSWORD_LOCKED",
        }
    }
}

impl From<PasswordFault> for ServiceError {
    /// The exact Zimbra fault: `account.INVALID_PASSWORD`,
    /// `account.PASSWORD_RECENTLY_USED`, `account.PASSWORD_CHANGE_TOO_SOON` or
    /// `account.PASSWORD_LOCKED`. The message of the last three starts with the short
    /// code (`PASSWORD_RECENTLY_USED: ...`), as `zmprov` users grep for it.
    fn from(f: PasswordFault) -> Self {
        match &f {
            PasswordFault::Invalid(_) => {
                ServiceError::new(FaultCode::InvalidPassword, f.to_string())
            }
            PasswordFault::Locked => ServiceError::new(FaultCode::PasswordLocked, f.to_string()),
            PasswordFault::RecentlyUsed | PasswordFault::ChangeTooSoon => {
                let code = f.zimbra_code();
                let exact = FaultCode::from_zimbra(code).unwrap_or(FaultCode::InvalidPassword);
                let short = code.trim_start_matches("account.");
                ServiceError::new(exact, format!("{short}: {f}"))
            }
        }
    }
}

/// The strength rules of a policy, read from effective attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StrengthRules {
    pub min_length: usize,
    /// 0 = no maximum.
    pub max_length: usize,
    pub min_upper: usize,
    pub min_lower: usize,
    pub min_punctuation: usize,
    pub min_numeric: usize,
    pub min_digits_or_puncs: usize,
}

impl StrengthRules {
    /// The rules an account's inheritance scope gives (`zimbraPasswordMinLength`, ...);
    /// a missing or unparsable value means "no rule".
    pub fn from_context(ctx: &AccountContext) -> StrengthRules {
        let scope = ctx.scope();
        let n = |name: &str| {
            scope
                .get(name)
                .first()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0)
        };
        StrengthRules {
            min_length: n("zimbraPasswordMinLength"),
            max_length: n("zimbraPasswordMaxLength"),
            min_upper: n("zimbraPasswordMinUpperCaseChars"),
            min_lower: n("zimbraPasswordMinLowerCaseChars"),
            min_punctuation: n("zimbraPasswordMinPunctuationChars"),
            min_numeric: n("zimbraPasswordMinNumericChars"),
            min_digits_or_puncs: n("zimbraPasswordMinDigitsOrPuncs"),
        }
    }

    /// Checks `password` against the rules, in Zimbra's order (length first).
    ///
    /// Upper and lower case follow Unicode case; digits are ASCII `0-9`; punctuation is
    /// any character that is neither a letter, a digit, white space nor a control.
    ///
    /// # Errors
    /// [`PasswordFault::Invalid`] naming the first broken rule.
    pub fn check(&self, password: &str) -> Result<(), PasswordFault> {
        let count = |f: &dyn Fn(char) -> bool| password.chars().filter(|c| f(*c)).count();
        let len = password.chars().count();
        let upper = count(&|c| c.is_uppercase());
        let lower = count(&|c| c.is_lowercase());
        let digits = count(&|c| c.is_ascii_digit());
        let punct = count(&is_punctuation);
        let bad = |why: &str| Err(PasswordFault::Invalid(why.to_string()));
        if len == 0 {
            return bad("empty");
        }
        if len < self.min_length {
            return bad("too short");
        }
        if self.max_length > 0 && len > self.max_length {
            return bad("too long");
        }
        if upper < self.min_upper {
            return bad("not enough upper case characters");
        }
        if lower < self.min_lower {
            return bad("not enough lower case characters");
        }
        if punct < self.min_punctuation {
            return bad("not enough punctuation characters");
        }
        if digits < self.min_numeric {
            return bad("not enough numeric characters");
        }
        if digits + punct < self.min_digits_or_puncs {
            return bad("not enough numeric or punctuation characters");
        }
        Ok(())
    }
}

/// Whether `c` counts as punctuation for `zimbraPasswordMinPunctuationChars`.
fn is_punctuation(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An integer attribute from a context's scope, 0 when unset or unparsable.
fn scope_int(ctx: &AccountContext, name: &str) -> i64 {
    ctx.scope()
        .get(name)
        .first()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0)
}

/// Whether a boolean attribute is TRUE in a context's scope.
fn scope_true(ctx: &AccountContext, name: &str) -> bool {
    ctx.scope()
        .get(name)
        .first()
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// `zimbraPasswordHistory` values are `<millis>:<hash>`; the hash part.
fn history_hash(value: &str) -> &str {
    value.split_once(':').map_or(value, |(_, h)| h)
}

/// Whether the password was changed less than `zimbraPasswordMinAge` days ago.
fn too_soon(ctx: &AccountContext, now: i64) -> bool {
    let min_age = scope_int(ctx, "zimbraPasswordMinAge");
    if min_age <= 0 {
        return false;
    }
    modified_ms(&ctx.account).is_some_and(|m| now - m < min_age.saturating_mul(DAY_MS))
}

/// `zimbraPasswordModifiedTime` in milliseconds.
fn modified_ms(account: &Entry) -> Option<i64> {
    account
        .attrs
        .get("zimbraPasswordModifiedTime")
        .and_then(|t| parse_time(t).ok())
}

/// Whether the password is older than `zimbraPasswordMaxAge` days (0 = never expires).
pub(crate) fn is_expired(ctx: &AccountContext, now: i64) -> bool {
    let max_age = scope_int(ctx, "zimbraPasswordMaxAge");
    if max_age <= 0 {
        return false;
    }
    modified_ms(&ctx.account).is_some_and(|m| now - m > max_age.saturating_mul(DAY_MS))
}

impl Provisioning {
    /// Checks `password` against the strength rules the account inherits
    /// (`zmprov cps`); history and ages are not looked at.
    ///
    /// # Errors
    /// `account.INVALID_PASSWORD` naming the broken rule (never the password).
    pub async fn check_password_policy(
        &self,
        account: &Entry,
        password: &str,
    ) -> ServiceResult<()> {
        let ctx = self.account_context(account).await?;
        StrengthRules::from_context(&ctx).check(password)?;
        Ok(())
    }

    /// Sets the account's password as an administrator (`zmprov sp`, SetPassword):
    /// strength rules and `zimbraPasswordEnforceHistory` apply; `zimbraPasswordMinAge`
    /// and `zimbraPasswordLocked` do not (they bind the user, not the administrator).
    /// Stores the `{SSHA512}` hash, `zimbraPasswordModifiedTime`, the history, and
    /// clears `zimbraPasswordMustChange` and the lockout state.
    ///
    /// An account whose domain is `suspended` or `shutdown` is refused before any rule
    /// is looked at, whoever asks (Zimbra's admin access check answers "domain is
    /// suspended" to global and domain administrators alike).
    ///
    /// # Errors
    /// `account.NO_SUCH_ACCOUNT`; `service.PERM_DENIED` in a frozen domain;
    /// `account.INVALID_PASSWORD` (a broken rule, or `PASSWORD_RECENTLY_USED: ...`).
    pub async fn set_password(&self, key: &str, password: &str) -> ServiceResult<()> {
        let acct = self.get_account(key).await?;
        self.check_addresses_writable(&[&acct.name]).await?;
        let ctx = self.account_context(&acct).await?;
        self.store_new_password(&ctx, password).await?;
        tracing::info!(account = %acct.name, "password set");
        Ok(())
    }

    /// Changes the account's password as its user (ChangePassword): the old password
    /// must authenticate (through the domain's mechanism, status and lockout included,
    /// but an expired or must-change password is accepted since that is why one
    /// changes it), then `zimbraPasswordLocked`, `zimbraPasswordMinAge`, the strength
    /// rules and the history are checked, in that order.
    ///
    /// A frozen domain (`suspended`, `shutdown`) refuses through the login itself: the
    /// user's effective status is `maintenance` there, so the answer is
    /// `account.MAINTENANCE_MODE` and nothing is written, as Zimbra's ChangePassword
    /// (which checks no domain status of its own) answers. An account `closed` in such
    /// a domain gets `account.AUTH_FAILED` as at login.
    ///
    /// # Errors
    /// `account.AUTH_FAILED` for a wrong old password or unknown account;
    /// `account.PASSWORD_LOCKED`; `account.INVALID_PASSWORD` (with
    /// `PASSWORD_CHANGE_TOO_SOON: ...` or `PASSWORD_RECENTLY_USED: ...` in the message for
    /// those two rules); `account.MAINTENANCE_MODE`.
    pub async fn change_password(
        &self,
        name: &str,
        old: &str,
        new: &str,
        actx: &AuthContext,
    ) -> ServiceResult<Entry> {
        let acct = match self.authenticate(name, old, actx).await {
            Ok(a) => a,
            Err(e) if e.code == FaultCode::ChangePasswordRequired => {
                // The password was right; only its age or the must-change flag stopped
                // the login, which a change cures.
                self.get_account(name)
                    .await
                    .map_err(|_| ServiceError::auth_failed())?
            }
            Err(e) => return Err(e),
        };
        let ctx = self.account_context(&acct).await?;
        if scope_true(&ctx, "zimbraPasswordLocked") {
            return Err(PasswordFault::Locked.into());
        }
        if too_soon(&ctx, now_ms()) {
            return Err(PasswordFault::ChangeTooSoon.into());
        }
        self.store_new_password(&ctx, new).await?;
        tracing::info!(account = %acct.name, proto = %actx.protocol, "password changed");
        self.get_account(&acct.id.to_string()).await
    }

    /// Strength and history checks, then the write shared by set and change.
    async fn store_new_password(&self, ctx: &AccountContext, pw: &str) -> ServiceResult<()> {
        StrengthRules::from_context(ctx).check(pw)?;
        let acct = &ctx.account;
        let now = now_ms();

        let keep = usize::try_from(scope_int(ctx, "zimbraPasswordEnforceHistory")).unwrap_or(0);
        let mut edits = Vec::new();
        if keep > 0 {
            // The current password counts as the most recent one.
            let mut history: Vec<String> = acct.attrs.get_all("zimbraPasswordHistory").to_vec();
            if let Some(cur) = acct.attrs.get("userPassword").filter(|c| !c.is_empty()) {
                let stamp = modified_ms(acct).unwrap_or(now);
                history.push(format!("{stamp}:{cur}"));
            }
            history.sort_by_key(|v| std::cmp::Reverse(history_stamp(v)));
            history.truncate(keep);
            if history
                .iter()
                .any(|h| password::verify(pw, history_hash(h)))
            {
                return Err(PasswordFault::RecentlyUsed.into());
            }
            edits.push(AttrEdit::Replace("zimbraPasswordHistory".into(), history));
        } else if acct.attrs.contains("zimbraPasswordHistory") {
            edits.push(AttrEdit::Replace("zimbraPasswordHistory".into(), vec![]));
        }

        edits.push(AttrEdit::Replace(
            "userPassword".into(),
            vec![password::hash(pw)],
        ));
        edits.push(AttrEdit::Replace(
            "zimbraPasswordModifiedTime".into(),
            vec![format_time(now)],
        ));
        for cleared in [
            "zimbraPasswordMustChange",
            "zimbraPasswordLockoutFailureTime",
            "zimbraPasswordLockoutLockedTime",
        ] {
            if acct.attrs.contains(cleared) {
                edits.push(AttrEdit::Replace(cleared.into(), vec![]));
            }
        }
        self.dir.modify_entry(acct.kind, acct.id, &edits).await?;
        Ok(())
    }
}

/// The millisecond stamp of a history value (0 when it has none).
fn history_stamp(value: &str) -> i64 {
    value
        .split_once(':')
        .and_then(|(t, _)| t.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> StrengthRules {
        StrengthRules {
            min_length: 6,
            max_length: 10,
            ..Default::default()
        }
    }

    #[test]
    fn length_rules() {
        assert_eq!(
            rules().check("abcde"),
            Err(PasswordFault::Invalid("too short".into()))
        );
        assert_eq!(
            rules().check("abcdefghijk"),
            Err(PasswordFault::Invalid("too long".into()))
        );
        assert!(rules().check("abcdef").is_ok());
        // Characters, not bytes.
        assert!(rules().check("éééééé").is_ok());
    }

    #[test]
    fn class_rules() {
        let r = StrengthRules {
            min_upper: 1,
            min_lower: 1,
            min_punctuation: 1,
            min_numeric: 1,
            ..Default::default()
        };
        assert!(r.check("Aa1!").is_ok());
        for (pw, why) in [
            ("aa1!", "not enough upper case characters"),
            ("AA1!", "not enough lower case characters"),
            ("Aa11", "not enough punctuation characters"),
            ("Aa!!", "not enough numeric characters"),
        ] {
            assert_eq!(r.check(pw), Err(PasswordFault::Invalid(why.into())), "{pw}");
        }
        let r = StrengthRules {
            min_digits_or_puncs: 2,
            ..Default::default()
        };
        assert!(r.check("ab1!").is_ok());
        assert!(r.check("ab11").is_ok());
        assert!(r.check("abc1").is_err());
    }

    #[test]
    fn faults_map_to_zimbra_codes() {
        let e: ServiceError = PasswordFault::RecentlyUsed.into();
        assert_eq!(e.code, FaultCode::PasswordRecentlyUsed);
        assert!(e.message.starts_with("PASSWORD_RECENTLY_USED"));
        let e: ServiceError = PasswordFault::Locked.into();
        assert_eq!(e.code, FaultCode::PasswordLocked);
        let e: ServiceError = PasswordFault::Invalid("too short".into()).into();
        assert_eq!(e.message, "invalid password: too short");
    }

    proptest::proptest! {
        #[test]
        fn check_never_panics(pw in ".{0,40}", n in 0usize..8) {
            let r = StrengthRules {
                min_length: n, max_length: n * 3, min_upper: n, min_lower: n,
                min_punctuation: n, min_numeric: n, min_digits_or_puncs: n,
            };
            let _ = r.check(&pw);
        }
    }
}
