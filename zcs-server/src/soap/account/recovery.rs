//! Password recovery by code, as Zimbra 8.8.9 added it ("forgot password"):
//!
//! - `SetRecoveryAccountRequest` (urn:zimbraMail, logged in): `op=sendCode` sets a
//!   recovery address (`zimbraPrefPasswordRecoveryAddress`, status `pending`) and mails
//!   it a verification code; `resendCode` mails it again (a new code once the old one
//!   expired, at most `zimbraPasswordRecoveryMaxAttempts` times); `validateCode` marks
//!   the address `verified`; `reset` forgets it.
//! - `RecoverAccountRequest` (urn:zimbraMail, no login needed): `op=getRecoveryAccount`
//!   shows the verified address masked; `sendRecoveryCode` mails a reset code to it
//!   (valid `zimbraResetPasswordRecoveryCodeExpiry`). Asking again past the attempt
//!   limit suspends the feature for `zimbraFeatureResetPasswordSuspensionTime`.
//! - `AuthRequest account recoveryCode` trades a valid reset code for a token good for
//!   `ResetPasswordRequest` only; a wrong code counts as a failed login toward
//!   `zimbraPasswordLockoutMaxFailures` (within `zimbraPasswordLockoutFailureLifetime`).
//! - `ResetPasswordRequest` (urn:zimbraAccount) sets a new password under the account's
//!   strength rules.
//!
//! Everything needs `zimbraFeatureResetPasswordStatus` `enabled`. Pending codes are kept
//! on the account as small JSON documents (`zimbraRecoveryAccountVerificationData`,
//! `zimbraResetPasswordRecoveryCode`); the mails go through the same delivery as
//! SendMsg, so a local recovery address gets them at once.

use rand::Rng;
use serde::{Deserialize, Serialize};
use zcs_core::attrs::value::parse_duration_ms;
use zcs_core::{AttrEdit, Attrs, Entry, FaultCode, ServiceError, ServiceResult};

use super::super::context::Ctx;
use super::super::element::{AttrKind, Element};
use super::super::envelope::{NS_ACCOUNT, NS_MAIL};
use super::super::response;
use super::super::token;
use super::LoginOut;

const FEATURE: &str = "zimbraFeatureResetPasswordStatus";
const ADDRESS: &str = "zimbraPrefPasswordRecoveryAddress";
const ADDRESS_STATUS: &str = "zimbraPrefPasswordRecoveryAddressStatus";
const VERIFY_DATA: &str = "zimbraRecoveryAccountVerificationData";
const RESET_DATA: &str = "zimbraResetPasswordRecoveryCode";

/// Characters of a code: no 0/O or 1/I/L, so it can be read off a screen.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;

// Zimbra's fault texts, which its clients show as they are.
const SAME_AS_OWN: &str = concat!(
    "service exception: Recovery address should not be same as ",
    "primary/alias email address."
);
const RESEND_LIMIT: &str = "service exception: Re-send code request has reached maximum limit.";
const SUSPENDED: &str = "service exception: Max re-send attempts reached, feature is suspended.";
const CONTACT_ADMIN: &str =
    "service exception: Something went wrong. Please contact your administrator.";

/// The one answer RecoverAccount gives for an unknown account, one without the feature
/// and one without a verified recovery address, so nobody learns which accounts exist.
fn contact_admin() -> ServiceError {
    ServiceError::new(FaultCode::ContactAdmin, CONTACT_ADMIN)
}

/// A code mailed and not yet used, as stored on the account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    /// The address it was sent to (verification codes only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    email: String,
    code: String,
    /// Expiry, ms since the epoch.
    expiry: i64,
    /// How many times it was sent again.
    #[serde(default)]
    resends: u32,
    /// When the feature was suspended for too many requests (reset codes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suspended: Option<i64>,
}

impl Pending {
    fn read(account: &Entry, attr: &str) -> Option<Pending> {
        serde_json::from_str(account.attrs.get(attr)?).ok()
    }

    fn edit(&self, attr: &str) -> AttrEdit {
        let json = serde_json::to_string(self).unwrap_or_default();
        AttrEdit::Replace(attr.into(), vec![json])
    }

    fn expired(&self, now: i64) -> bool {
        now >= self.expiry
    }
}

fn clear(attr: &str) -> AttrEdit {
    AttrEdit::Replace(attr.into(), vec![])
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh random code.
fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Compares codes without stopping at the first difference.
fn same_code(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().as_bytes(), b.trim().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn duration_ms(effective: &Attrs, attr: &str, default_ms: u64) -> i64 {
    effective
        .get(attr)
        .and_then(|v| parse_duration_ms(v).ok())
        .unwrap_or(default_ms) as i64
}

fn max_attempts(effective: &Attrs) -> u32 {
    effective
        .get("zimbraPasswordRecoveryMaxAttempts")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(10)
}

/// `user@example.com` shown as `use*****example.com`: the first three characters of
/// the local part stay, the rest of it and the `@` become stars.
fn masked(address: &str) -> String {
    let (local, domain) = address.split_once('@').unwrap_or((address, ""));
    let keep: String = local.chars().take(3).collect();
    let hidden = local.chars().count() - keep.chars().count() + 1;
    format!("{keep}{}{domain}", "*".repeat(hidden))
}

/// Whether `address` looks like `local@domain`.
fn plausible_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || c == ',' || c == '<')
        }
        None => false,
    }
}

fn expiry_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// Refuses unless the feature is `enabled` for the account.
fn require_enabled(effective: &Attrs) -> ServiceResult<()> {
    match effective.get(FEATURE) {
        Some("enabled") => Ok(()),
        Some("suspended") => Err(ServiceError::perm_denied(
            "password reset feature is suspended",
        )),
        _ => Err(ServiceError::perm_denied(
            "password reset feature is not enabled",
        )),
    }
}

/// A plain-text mail of one or more text parts, from `from` to `to`.
fn notice_mime(from: &str, to: &str, subject: &str, parts: &[&str]) -> Vec<u8> {
    let date = chrono::Utc::now().to_rfc2822();
    let id = format!("{:016x}", rand::random::<u64>());
    let host = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost");
    let mut m = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}.recovery@{host}>\r\nMIME-Version: 1.0\r\nAuto-Submitted: \
         auto-generated\r\n"
    );
    let body = |t: &str| t.replace('\n', "\r\n");
    if let [only] = parts {
        m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
        m.push_str(&body(only));
        m.push_str("\r\n");
    } else {
        let boundary = format!("=_recovery_{id}");
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
        ));
        for p in parts {
            m.push_str(&format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Disposition: inline\r\n\r\n{}\r\n",
                body(p)
            ));
        }
        m.push_str(&format!("--{boundary}--\r\n"));
    }
    m.into_bytes()
}

/// Mails the verification code of a new recovery address.
async fn send_verification(ctx: &Ctx<'_>, account: &Entry, p: &Pending) -> ServiceResult<()> {
    let text = format!(
        "Verification of your recovery email address\n\n\
         Recovery email verification code: {}\n\
         The code expires by: {}\n",
        p.code,
        expiry_text(p.expiry)
    );
    let subject = "Verification of your recovery email address";
    let mime = notice_mime(&account.name, &p.email, subject, &[&text]);
    super::super::mail::send::deliver(ctx, account, std::slice::from_ref(&p.email), &mime).await
}

/// Mails a password reset code to the verified recovery address `to`.
async fn send_reset_code(
    ctx: &Ctx<'_>,
    account: &Entry,
    to: &str,
    p: &Pending,
) -> ServiceResult<()> {
    let host = account
        .attrs
        .get("zimbraMailHost")
        .unwrap_or(&ctx.svc.hostname);
    // The code comes first, in a part of its own; what to do with it follows.
    let lead = format!(
        "We have received a password reset request for your account, {}.\n\
         Temporary Reset Code: {}\nUse it.\n",
        account.name, p.code
    );
    let details = format!(
        "The code expires by: {}. Enter it where you asked to reset your password. \
         If you did not ask for this, ignore this message: your password stays as it is.\n",
        expiry_text(p.expiry)
    );
    let subject = format!("Reset your {host} password");
    let mime = notice_mime(&account.name, to, &subject, &[&lead, &details]);
    super::super::mail::send::deliver(ctx, account, &[to.to_string()], &mime).await
}

/// SetRecoveryAccountRequest `op=sendCode|resendCode|validateCode|reset
/// [recoveryAccount=] [recoveryAccountVerificationCode=] [channel=email]`.
pub(crate) async fn set_recovery_account(
    ctx: &mut Ctx<'_>,
    req: &Element,
) -> ServiceResult<Element> {
    let account = ctx.target_account().await?;
    let prov = ctx.svc.prov.clone();
    let effective = prov.effective_account_attrs(&account).await?;
    require_enabled(&effective)?;
    if req.attr("channel").is_some_and(|c| c != "email") {
        return Err(ServiceError::invalid_request("unsupported channel"));
    }
    let id = account.id.to_string();
    let now = now_ms();
    let op = req.req("op")?;
    match op {
        "sendCode" => {
            let addr = req.req("recoveryAccount")?.trim().to_string();
            if !plausible_address(&addr) {
                return Err(ServiceError::invalid_request(format!(
                    "invalid recovery account: {addr}"
                )));
            }
            let own = std::iter::once(account.name.as_str()).chain(
                account
                    .attrs
                    .get_all("zimbraMailAlias")
                    .iter()
                    .map(String::as_str),
            );
            if own.into_iter().any(|a| a.eq_ignore_ascii_case(&addr)) {
                return Err(ServiceError::new(
                    FaultCode::RecoveryEmailSameAsPrimaryOrAlias,
                    SAME_AS_OWN,
                ));
            }
            // A new sendCode while a code is still pending counts as a resend, so the
            // limit cannot be dodged by asking for a fresh address each time.
            let sent = Pending::read(&account, VERIFY_DATA)
                .filter(|p| !p.expired(now))
                .map(|p| p.resends + 1);
            if sent.is_some_and(|n| n > max_attempts(&effective)) {
                return Err(ServiceError::new(
                    FaultCode::MaxAttemptsReached,
                    RESEND_LIMIT,
                ));
            }
            let validity = duration_ms(&effective, "zimbraRecoveryAccountCodeValidity", 86_400_000);
            let p = Pending {
                email: addr.clone(),
                code: new_code(),
                expiry: now + validity,
                resends: sent.unwrap_or(0),
                ..Pending::default()
            };
            send_verification(ctx, &account, &p).await?;
            let edits = [
                p.edit(VERIFY_DATA),
                AttrEdit::Replace(ADDRESS.into(), vec![addr]),
                AttrEdit::Replace(ADDRESS_STATUS.into(), vec!["pending".into()]),
            ];
            prov.modify_account(&id, &edits).await?;
        }
        "resendCode" => {
            let Some(mut p) = Pending::read(&account, VERIFY_DATA) else {
                return Err(ServiceError::invalid_request(
                    "no recovery address is waiting for verification",
                ));
            };
            if p.resends >= max_attempts(&effective) {
                return Err(ServiceError::new(
                    FaultCode::MaxAttemptsReached,
                    RESEND_LIMIT,
                ));
            }
            if p.expired(now) {
                let validity =
                    duration_ms(&effective, "zimbraRecoveryAccountCodeValidity", 86_400_000);
                p.code = new_code();
                p.expiry = now + validity;
            }
            p.resends += 1;
            send_verification(ctx, &account, &p).await?;
            prov.modify_account(&id, &[p.edit(VERIFY_DATA)]).await?;
        }
        "validateCode" => {
            let code = req.req("recoveryAccountVerificationCode")?;
            let Some(p) = Pending::read(&account, VERIFY_DATA) else {
                return Err(ServiceError::invalid_request(
                    "no recovery address is waiting for verification",
                ));
            };
            if p.expired(now) {
                return Err(ServiceError::invalid_request(
                    "the verification code has expired",
                ));
            }
            if !same_code(code, &p.code) {
                return Err(ServiceError::invalid_request("invalid verification code"));
            }
            let edits = [
                clear(VERIFY_DATA),
                AttrEdit::Replace(ADDRESS.into(), vec![p.email.clone()]),
                AttrEdit::Replace(ADDRESS_STATUS.into(), vec!["verified".into()]),
            ];
            prov.modify_account(&id, &edits).await?;
        }
        "reset" => {
            let edits: Vec<AttrEdit> = [VERIFY_DATA, ADDRESS, ADDRESS_STATUS]
                .iter()
                .filter(|a| account.attrs.contains(a))
                .map(|a| clear(a))
                .collect();
            if !edits.is_empty() {
                prov.modify_account(&id, &edits).await?;
            }
        }
        other => {
            return Err(ServiceError::invalid_request(format!(
                "unknown operation: {other}"
            )));
        }
    }
    Ok(response("SetRecoveryAccountResponse", NS_MAIL))
}

/// Lifts a suspension whose time is over; returns the account's effective attributes
/// afterwards.
async fn lift_suspension(ctx: &Ctx<'_>, account: &mut Entry) -> ServiceResult<Attrs> {
    let prov = &ctx.svc.prov;
    let effective = prov.effective_account_attrs(account).await?;
    if effective.get(FEATURE) != Some("suspended") {
        return Ok(effective);
    }
    let length = duration_ms(
        &effective,
        "zimbraFeatureResetPasswordSuspensionTime",
        86_400_000,
    );
    let since = Pending::read(account, RESET_DATA).and_then(|p| p.suspended);
    if since.is_some_and(|s| now_ms() >= s + length) {
        let edits = [
            AttrEdit::Replace(FEATURE.into(), vec!["enabled".into()]),
            clear(RESET_DATA),
        ];
        *account = prov.modify_account(&account.id.to_string(), &edits).await?;
        tracing::info!(account = %account.name, "password reset feature re-enabled");
        return prov.effective_account_attrs(account).await;
    }
    Ok(effective)
}

/// RecoverAccountRequest `op=getRecoveryAccount|sendRecoveryCode email= [channel=email]`.
///
/// An unknown account, one without the feature and one without a verified recovery
/// address all get the same `service.CONTACT_ADMIN` fault, as Zimbra answers the first
/// and last, so the request tells nobody which accounts exist.
///
/// Past `zimbraPasswordRecoveryMaxAttempts` sends, sending is paused for
/// `zimbraFeatureResetPasswordSuspensionTime` (`service.MAX_ATTEMPTS_REACHED_SUSPEND_FEATURE`).
/// Unlike Zimbra, the pause is kept with the pending code and the account's
/// `zimbraFeatureResetPasswordStatus` is left alone: the request needs no login, so
/// anybody could otherwise switch off another account's recovery; a code already sent
/// stays good until it expires.
pub(crate) async fn recover_account(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let email = req.req("email")?.trim().to_string();
    let op = req.req("op")?.to_string();
    if req.attr("channel").is_some_and(|c| c != "email") {
        return Err(ServiceError::invalid_request("unsupported channel"));
    }
    if !matches!(op.as_str(), "getRecoveryAccount" | "sendRecoveryCode") {
        return Err(ServiceError::invalid_request(format!(
            "unknown operation: {op}"
        )));
    }
    let prov = ctx.svc.prov.clone();
    let Some(mut account) = prov.find_account(&email).await? else {
        tracing::debug!("password recovery asked for an unknown account");
        return Err(contact_admin());
    };
    let effective = lift_suspension(ctx, &mut account).await?;
    if effective.get(FEATURE) != Some("enabled") {
        return Err(contact_admin());
    }
    let verified = account.attrs.get(ADDRESS_STATUS) == Some("verified");
    let Some(addr) = account.attrs.get(ADDRESS).filter(|_| verified) else {
        return Err(contact_admin());
    };
    let addr = addr.to_string();
    let mut resp = response("RecoverAccountResponse", NS_MAIL);
    if op == "getRecoveryAccount" {
        resp.set("recoveryAccount", masked(&addr));
        return Ok(resp);
    }
    let now = now_ms();
    let pause = duration_ms(
        &effective,
        "zimbraFeatureResetPasswordSuspensionTime",
        86_400_000,
    );
    let max = max_attempts(&effective);
    let fresh = |resends| Pending {
        code: new_code(),
        expiry: now + duration_ms(&effective, "zimbraResetPasswordRecoveryCodeExpiry", 600_000),
        resends,
        ..Pending::default()
    };
    let p = match Pending::read(&account, RESET_DATA) {
        Some(p) if p.suspended.is_some_and(|since| now < since + pause) => {
            return Err(suspended());
        }
        // Sends are counted across expired codes, as Zimbra counts them, until a whole
        // pause has gone by since the last one expired.
        Some(mut p) if p.suspended.is_none() && now < p.expiry + pause => {
            if p.resends >= max {
                p.suspended = Some(now);
                prov.modify_account(&account.id.to_string(), &[p.edit(RESET_DATA)])
                    .await?;
                tracing::info!(target: "zimbra.security", account = %account.name,
                    ip = %ctx.caller.remote_ip,
                    "password recovery codes paused: too many requests");
                return Err(suspended());
            }
            if p.expired(now) {
                fresh(p.resends + 1)
            } else {
                p.resends += 1;
                p
            }
        }
        _ => fresh(0),
    };
    send_reset_code(ctx, &account, &addr, &p).await?;
    prov.modify_account(&account.id.to_string(), &[p.edit(RESET_DATA)])
        .await?;
    resp.set_num("recoveryAttemptsLeft", max.saturating_sub(p.resends));
    Ok(resp)
}

fn suspended() -> ServiceError {
    ServiceError::new(FaultCode::MaxAttemptsReachedSuspendFeature, SUSPENDED)
}

/// AuthRequest `account by= recoveryCode`: a token good for ResetPasswordRequest only,
/// living as long as the code. A wrong, expired or missing code is `AUTH_FAILED` and
/// counts toward the account's lockout.
pub(crate) async fn code_login(
    ctx: &Ctx<'_>,
    by: &str,
    key: &str,
    code: &str,
) -> ServiceResult<LoginOut> {
    let svc = ctx.svc;
    // The same text whether or not the account exists: it names what was asked for.
    let failed = || {
        ServiceError::new(
            FaultCode::AuthFailed,
            format!("authentication failed for [{}]", key.trim()),
        )
    };
    let found = match by {
        "id" | "name" => svc.prov.find_account(key).await?,
        _ => None,
    };
    let Some(account) = found else {
        return Err(failed());
    };
    let effective = svc.prov.effective_account_attrs(&account).await?;
    let status = account.attrs.get("zimbraAccountStatus").unwrap_or("active");
    if effective.get(FEATURE) != Some("enabled") || status != "active" {
        return Err(failed());
    }
    let now = now_ms();
    let valid = Pending::read(&account, RESET_DATA)
        .filter(|p| !p.expired(now))
        .filter(|p| same_code(code, &p.code));
    let Some(p) = valid else {
        let actx = svc.prov.account_context(&account).await?;
        let locked = svc.prov.lockout_record_failure(&actx).await?;
        tracing::info!(target: "zimbra.security", account = %account.name,
            ip = %ctx.caller.remote_ip, locked, "recovery code login failed");
        return Err(failed());
    };
    let data = token::TokenData {
        account: account.id,
        expires_ms: p.expiry,
        admin: false,
        tid: token::new_tid(),
    };
    let claims = token::TokenClaims {
        reset_only: true,
        ..token::TokenClaims::default()
    };
    let tok = token::encode_with(svc.key().await?, &data, &claims);
    svc.tokens().issue(&data);
    tracing::info!(target: "zimbra.security", account = %account.name,
        ip = %ctx.caller.remote_ip, "recovery code login: reset-password token issued");
    let mut resp = response("AuthResponse", NS_ACCOUNT);
    resp.add_text("authToken", tok);
    resp.set_content("lifetime", (p.expiry - now).to_string(), AttrKind::Num);
    Ok((resp, None))
}

/// ResetPasswordRequest `password`: the logged-in account (or one holding a recovery
/// code's token) sets a new password; strength rules and history apply. As Zimbra's
/// rule is, an ordinary token needs no old password but the account must have
/// `zimbraFeatureResetPasswordStatus` `enabled` and must not be `zimbraPasswordLocked`
/// (`account.PASSWORD_LOCKED`). A recovery code is used up and every session of the
/// account ended, the caller's included, whichever token was used.
pub(crate) async fn reset_password(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    ctx.reset_token_ok = true;
    let auth = ctx.auth().await?;
    ctx.reset_token_ok = false;
    let account = auth.account.clone();
    let prov = ctx.svc.prov.clone();
    let effective = prov.effective_account_attrs(&account).await?;
    require_enabled(&effective)?;
    if effective
        .get("zimbraPasswordLocked")
        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    {
        return Err(ServiceError::new(
            FaultCode::PasswordLocked,
            "password is locked and can't be changed",
        ));
    }
    let password = req.attr("password").unwrap_or("");
    if password.trim().is_empty() {
        return Err(ServiceError::invalid_request(
            "invalid request: Invalid or missing password",
        ));
    }
    let id = account.id.to_string();
    prov.set_password(&id, password).await?;
    if account.attrs.contains(RESET_DATA) {
        prov.modify_account(&id, &[clear(RESET_DATA)]).await?;
    }
    // A reset ends every session of the account: the one it came from, any other
    // token a recovery code bought, and whoever held the account before (the usual
    // reason for resetting it).
    ctx.svc.tokens().end_all(account.id).await?;
    tracing::info!(target: "zimbra.security", account = %account.name,
        ip = %ctx.caller.remote_ip, "password reset");
    Ok(response("ResetPasswordResponse", NS_ACCOUNT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_like_zimbra() {
        assert_eq!(masked("test2123@example.com"), "tes******example.com");
        assert_eq!(masked("ab@x.org"), "ab*x.org");
    }

    #[test]
    fn codes_are_fresh_and_readable() {
        let a = new_code();
        assert_eq!(a.len(), CODE_LEN);
        assert!(a.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_ne!(a, new_code());
        assert!(same_code(&a, &format!(" {a} ")));
        assert!(!same_code(&a, "nope"));
    }

    #[test]
    fn pending_round_trips() {
        let p = Pending {
            email: "r@example.com".into(),
            code: "ABC".into(),
            expiry: 5,
            resends: 2,
            suspended: None,
        };
        let AttrEdit::Replace(_, v) = p.edit(VERIFY_DATA) else {
            panic!("replace expected");
        };
        assert_eq!(serde_json::from_str::<Pending>(&v[0]).ok(), Some(p.clone()));
        assert!(p.expired(5) && !p.expired(4));
    }

    #[test]
    fn addresses_checked() {
        assert!(plausible_address("a@b.com"));
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@.com",
            "a b@c.com",
            "a@b.com,c@d.com",
        ] {
            assert!(!plausible_address(bad), "{bad}");
        }
    }

    #[test]
    fn reset_mail_has_two_text_parts() {
        let m = notice_mime("a@b.com", "c@d.com", "s", &["one", "two"]);
        let text = String::from_utf8(m).expect("utf8");
        assert!(text.contains("multipart/mixed") && text.contains("one") && text.contains("two"));
        let frag = super::super::super::search::fragment::from_raw(text.as_bytes());
        assert_eq!(frag, "one");
    }

    proptest! {
        #[test]
        fn masking_never_panics(s in ".{0,40}") {
            let _ = masked(&s);
            let _ = plausible_address(&s);
        }
    }
}
