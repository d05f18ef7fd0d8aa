//! The HTTP listeners' way into the SOAP service: [`SoapService::serve`] runs an
//! envelope as [`SoapService::handle`] does and adds what only a live client needs: the
//! notification session named or asked for in the header context (`session`, `notify`
//! blocks) and the long poll of `NoOpRequest wait="1"`. Changes made over SOAP are
//! published on the change bus so other sessions (SOAP and IMAP IDLE) wake up.

use std::time::Duration;

use zcs_core::ServiceResult;

use super::super::element::{Element, is_true};
use super::super::envelope::{self, NS_MAIL};
use super::super::{SoapReply, response_context};
use super::sessions::{changes_since, notify_element};
use super::{Caller, Ctx, SoapService};

/// Default and longest `NoOpRequest wait="1"` (Zimbra: `zimbraSessionTimeout`-bound,
/// 5 minutes by default).
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// What the header context asks of sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionAsk {
    /// No `session` element, or `nosession`.
    None,
    /// `<session/>`: a new one; `<session id="N"/>`: that one.
    Open(Option<u64>),
}

fn session_ask(context: Option<&Element>) -> SessionAsk {
    let Some(c) = context else {
        return SessionAsk::None;
    };
    if c.child("nosession").is_some() {
        return SessionAsk::None;
    }
    let Some(s) = c.child("session").or_else(|| c.child("sessionId")) else {
        return SessionAsk::None;
    };
    let id = s
        .attr("id")
        .or_else(|| Some(s.text()).filter(|t| !t.trim().is_empty()))
        .and_then(|v| v.trim().parse().ok());
    SessionAsk::Open(id)
}

fn is_wait_noop(req: &Element) -> bool {
    req.name == "NoOpRequest"
        && req.ns.as_deref().is_none_or(|ns| ns == NS_MAIL)
        && req.attr("wait").is_some_and(is_true)
}

impl SoapService {
    /// Serves one envelope from an HTTP client (see the module doc).
    pub async fn serve(&self, caller: &Caller, body: &[u8]) -> SoapReply {
        let env = match envelope::parse(body) {
            Ok(env) => env,
            // The plain path writes the parse fault.
            Err(_) => return self.handle(caller, body).await,
        };
        let proto = env.response_protocol();
        let mut ctx = Ctx::new(self, caller, env.context.as_ref());
        let request = &env.body;
        let ask = session_ask(env.context.as_ref());
        let result = match ctx.header_token_expired(env.context.as_ref()).await {
            Err(e) => Err(e),
            Ok(()) if request.name == "BatchRequest" => self.batch(&mut ctx, request, proto).await,
            Ok(()) => self.one(&mut ctx, request).await,
        };
        tracing::debug!(proto = "soap", cmd = %request.name, ip = %caller.remote_ip,
            ok = result.is_ok(), "request");
        let mut context = response_context(&ctx);
        if let Some(Ok(auth)) = ctx.resolved() {
            if ctx.change.is_some() {
                crate::notify::publish(auth.account.id);
            }
            if let Some(admin) = auth.claims.delegator {
                // What an admin does with a delegated token is on the record.
                tracing::info!(target: "zimbra.security", account = %auth.account.name,
                    delegator = %admin, cmd = %request.name, ip = %caller.remote_ip,
                    "request with a delegated token");
            }
        }
        if ask != SessionAsk::None
            && let Err(e) = self
                .session_blocks(
                    &mut ctx,
                    ask,
                    is_wait_noop(request).then(|| wait_timeout(request)),
                    &mut context,
                )
                .await
        {
            tracing::debug!(error = %e, "no session notifications");
        }
        match result {
            Ok(resp) => SoapReply {
                status: 200,
                content_type: proto.content_type(),
                body: envelope::render(proto, Some(&context), &resp),
                set_cookie: ctx.set_cookie.take(),
            },
            Err(e) => self.fault_reply(proto, &e, Some(&context)),
        }
    }

    /// Adds `session` and, when there is news, `notify` to the response context; for a
    /// waiting NoOp, first waits up to `wait` for news.
    async fn session_blocks(
        &self,
        ctx: &mut Ctx<'_>,
        ask: SessionAsk,
        wait: Option<Duration>,
        context: &mut Element,
    ) -> ServiceResult<()> {
        let SessionAsk::Open(id) = ask else {
            return Ok(());
        };
        let auth = ctx.auth().await?;
        let mb = ctx.mailbox().await?;
        let fault = super::store_fault;
        let id = self
            .sessions
            .open(auth.account.id, id, &mb)
            .await
            .map_err(fault)?;
        let mut s = Element::new("session").unique();
        s.set("id", id.to_string());
        s.set_text(id.to_string());
        context.children.insert(0, s);
        let Some((base, next)) = self.sessions.base(id) else {
            return Ok(());
        };
        let mut changes = changes_since(&mb, base, next).await.map_err(fault)?;
        if let Some(wait) = wait.filter(|_| changes.is_empty()) {
            let deadline = tokio::time::Instant::now() + wait;
            let mut rx = crate::notify::ChangeBus::global().subscribe(auth.account.id);
            // Look again: a change may have landed before the subscription.
            changes = changes_since(&mb, base, next).await.map_err(fault)?;
            while changes.is_empty() {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Err(_) => break,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
                    Ok(_) => {}
                }
                changes = changes_since(&mb, base, next).await.map_err(fault)?;
            }
        }
        if !changes.is_empty() {
            let seq = self.sessions.advance(id, &changes);
            context.children.push(notify_element(seq, &changes));
            context.children.retain(|c| c.name != "change");
            let mut change = Element::new("change").unique();
            change.set_num("token", changes.change);
            context.children.push(change);
        }
        Ok(())
    }
}

/// The wait a `NoOpRequest` asks for: `timeout=` ms, bounded by [`MAX_WAIT`].
pub fn wait_timeout(req: &Element) -> Duration {
    req.attr("timeout")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .map_or(MAX_WAIT, |ms| Duration::from_millis(ms).min(MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_header_forms() {
        assert_eq!(session_ask(None), SessionAsk::None);
        let mut c = Element::new("context");
        assert_eq!(session_ask(Some(&c)), SessionAsk::None);
        c.add_new("session");
        assert_eq!(session_ask(Some(&c)), SessionAsk::Open(None));
        c.children[0].set("id", "7");
        assert_eq!(session_ask(Some(&c)), SessionAsk::Open(Some(7)));
        c.add_new("nosession");
        assert_eq!(session_ask(Some(&c)), SessionAsk::None);
        let mut noop = Element::with_ns("NoOpRequest", NS_MAIL);
        assert!(!is_wait_noop(&noop));
        noop.set("wait", "1");
        assert!(is_wait_noop(&noop));
        noop.set("timeout", "10");
        assert_eq!(wait_timeout(&noop), Duration::from_millis(10));
    }
}
