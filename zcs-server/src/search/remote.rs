//! Cross-mailbox search asked of the running server (`zmmboxsearch` while the server
//! runs): a short-lived admin token is minted from the home's directory, the request
//! goes to the admin port over TLS (the home's own certificate pinned, loopback only)
//! as JSON SOAP, and the token is revoked afterwards.
//!
//! Requests: `SearchMultipleMailboxesRequest` for the hits, `GetMsgRequest raw=1` (with
//! the hit's account as `context/account`) for each message saved with `-d`.
//! `zmmailbox` uses the same session for any request ([`Remote::request`]), or one
//! opened by an account's own password ([`Remote::login`]).
//!
//! LIMITATION: a message fetched online travels as JSON text, so bytes that are not
//! UTF-8 (8-bit bodies in legacy charsets) are replaced; offline `-d` keeps them exact.

use std::net::SocketAddr;

use serde_json::{Value, json};
use zcs_core::{Entry, EntryKind};
use zcs_directory::Provisioning;

use crate::home::Home;
use crate::soap::token::{self, TokenData};

/// One hit as the running server reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteHit {
    /// The account's name.
    pub account: String,
    /// The account's zimbraId.
    pub account_id: String,
    /// The message's item id.
    pub id: i32,
    /// Its date (ms).
    pub date_ms: i64,
    /// Its sender, as `Name <address>` or the bare address.
    pub sender: String,
    /// Its subject.
    pub subject: String,
}

/// A session with the running server's admin port, holding a token it revokes on
/// [`Remote::close`].
pub struct Remote {
    home: Home,
    addr: SocketAddr,
    token: String,
    /// The admin account and token id to revoke on close; `None` for a password login.
    minted: Option<(Entry, u32)>,
}

/// The running server's admin listener, as it reported it in `log/zcs.listeners`.
fn admin_addr(home: &Home) -> Result<SocketAddr, String> {
    let mut addr = crate::control::read_listeners(home)
        .into_iter()
        .find(|l| l.protocol == "admin" && l.error.is_none())
        .map(|l| l.addr)
        .ok_or("the server runs but reports no admin listener")?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(addr)
}

impl Remote {
    /// Connects to the server running in `home` as its first admin account.
    ///
    /// # Errors
    /// A message when the server reports no admin listener or the home has no admin.
    pub async fn open(home: &Home, prov: &Provisioning) -> Result<Remote, String> {
        let addr = admin_addr(home)?;
        let admin = prov
            .directory()
            .list_entries(EntryKind::Account, None)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            // An admin that cannot log in (closed, locked) would get a refused token.
            .find(|a| {
                a.attrs
                    .get("zimbraIsAdminAccount")
                    .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
                    && a.attrs
                        .get("zimbraAccountStatus")
                        .is_none_or(|s| s.eq_ignore_ascii_case("active"))
            })
            .ok_or("no active admin account to act as")?;
        let key = token::load_key(prov).await.map_err(|e| e.to_string())?;
        let now = chrono::Utc::now().timestamp_millis();
        let data = TokenData {
            account: admin.id,
            expires_ms: now + 3_600_000,
            admin: true,
            tid: token::new_tid(),
        };
        token::register(prov, &admin, &data, now)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Remote {
            home: home.clone(),
            addr,
            token: token::encode(&key, &data),
            minted: Some((admin, data.tid)),
        })
    }

    /// Logs in to the server running in `home` as `name` with its password
    /// (`AuthRequest` in the account namespace, on the admin port, which answers it).
    /// Admin accounts get an admin token (`zmmailbox -a admin -p ...`).
    ///
    /// # Errors
    /// The server's fault (`account.AUTH_FAILED: ...`) or why it could not be reached.
    pub async fn login(
        home: &Home,
        name: &str,
        password: &str,
        admin: bool,
    ) -> Result<Remote, String> {
        let mut session = Remote {
            home: home.clone(),
            addr: admin_addr(home)?,
            token: String::new(),
            minted: None,
        };
        let (req, ns) = if admin {
            ("AuthRequest", "urn:zimbraAdmin")
        } else {
            ("AuthRequest", "urn:zimbraAccount")
        };
        let resp = session
            .request(
                None,
                req,
                ns,
                json!({ "account": { "by": "name", "_content": name }, "password": password }),
            )
            .await?;
        session.token = text(&resp["authToken"]);
        if session.token.is_empty() {
            return Err("the server answered the login without a token".into());
        }
        Ok(session)
    }

    /// The home whose server this session talks to.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The session's auth token, for requests the same login makes over REST.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A session with the same server under another token (one `DelegateAuthRequest`
    /// issued); [`Remote::close`] on it ends that token's session.
    pub fn with_token(&self, token: String) -> Remote {
        Remote {
            home: self.home.clone(),
            addr: self.addr,
            token,
            minted: None,
        }
    }

    /// Revokes the session's token: one this tool minted directly, one a password
    /// login got by `EndSessionRequest` (so tool runs leave no live tokens behind).
    pub async fn close(self, prov: Option<&Provisioning>) {
        if self.minted.is_none() && !self.token.is_empty() {
            if let Err(e) = self
                .request(None, "EndSessionRequest", "urn:zimbraAccount", json!({}))
                .await
            {
                tracing::warn!(error = %e, "could not end the tool's session");
            }
            return;
        }
        if let (Some((admin, tid)), Some(prov)) = (&self.minted, prov)
            && let Ok(Some(fresh)) = prov.find_account(&admin.id.to_string()).await
            && let Err(e) = token::unregister(prov, &fresh, *tid).await
        {
            tracing::warn!(error = %e, "could not revoke the tool's token");
        }
    }

    /// Sends request `name` in namespace `ns` with JSON `body`, on behalf of `target`
    /// (`context/account by=name`) when given, and returns the response element.
    ///
    /// # Errors
    /// The server's fault as `code: reason`, or why it could not be reached.
    pub async fn request(
        &self,
        target: Option<&str>,
        name: &str,
        ns: &str,
        mut body: Value,
    ) -> Result<Value, String> {
        let mut context = json!({ "_jsns": "urn:zimbra" });
        if !self.token.is_empty() {
            context["authToken"] = json!(self.token);
        }
        if let Some(t) = target {
            context["account"] = json!({ "by": "name", "_content": t });
        }
        if let Value::Object(o) = &mut body {
            o.insert("_jsns".into(), json!(ns));
        }
        let env = json!({ "Header": { "context": context }, "Body": { name: body } });
        let want = name.strip_suffix("Request").unwrap_or(name).to_string() + "Response";
        self.call(&env, &want).await
    }

    /// `SearchMultipleMailboxesRequest` over `keys` (names, ids, or `*`): one page of
    /// hits and the number of matches.
    ///
    /// # Errors
    /// The server's fault text, or why it could not be reached.
    pub async fn search(
        &self,
        keys: &[String],
        query: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<RemoteHit>, usize), String> {
        let mbx: Vec<Value> = keys.iter().map(|k| json!({ "name": k })).collect();
        let body = json!({
            "Header": { "context": { "_jsns": "urn:zimbra", "authToken": self.token } },
            "Body": { "SearchMultipleMailboxesRequest": {
                "_jsns": "urn:zimbraAdmin", "query": query,
                "offset": offset.to_string(), "limit": limit.to_string(), "mbx": mbx
            } }
        });
        let reply = self.call(&body, "SearchMultipleMailboxesResponse").await?;
        Ok(parse_hits(&reply))
    }

    /// The raw message `id` of account `account_id` (`GetMsgRequest raw=1`).
    ///
    /// # Errors
    /// As [`Remote::search`].
    pub async fn message(&self, account_id: &str, id: i32) -> Result<Vec<u8>, String> {
        let body = json!({
            "Header": { "context": { "_jsns": "urn:zimbra", "authToken": self.token,
                "account": { "by": "id", "_content": account_id } } },
            "Body": { "GetMsgRequest": {
                "_jsns": "urn:zimbraMail", "m": { "id": id.to_string(), "raw": "1" }
            } }
        });
        let reply = self.call(&body, "GetMsgResponse").await?;
        let m = first(&reply["m"]);
        Ok(text(&m["content"]).into_bytes())
    }

    async fn call(&self, body: &Value, want: &str) -> Result<Value, String> {
        let reply =
            crate::admin_client::post(&self.home, self.addr, &self.token, &body.to_string())
                .await?;
        let json: Value =
            serde_json::from_str(&reply).map_err(|e| format!("bad reply from the server: {e}"))?;
        let body = &json["Body"];
        if let Some(fault) = body.get("Fault") {
            let code = text(&fault["Detail"]["Error"]["Code"]);
            let why = text(&fault["Reason"]["Text"]);
            return Err(if code.is_empty() {
                why
            } else {
                format!("{code}: {why}")
            });
        }
        Ok(body[want].clone())
    }
}

/// The first element of a JSON child list (or the child itself).
pub fn first(v: &Value) -> Value {
    match v {
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// A JSON attribute or text child as text (`"x"`, `1`, `[{"_content":"x"}]`).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(_) => text(&first(v)),
        Value::Object(o) => o.get("_content").map(text).unwrap_or_default(),
        Value::Null => String::new(),
    }
}

/// The hits and total of a `SearchMultipleMailboxesResponse` in JSON.
fn parse_hits(resp: &Value) -> (Vec<RemoteHit>, usize) {
    let total = text(&resp["total"]).parse().unwrap_or(0);
    let hits = resp["m"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| RemoteHit {
            account: text(&m["acct"]),
            account_id: text(&m["acctId"]),
            id: text(&m["id"]).parse().unwrap_or(0),
            date_ms: text(&m["d"]).parse().unwrap_or(0),
            sender: m["e"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| text(&e["t"]) == "f")
                .map(|e| match text(&e["p"]) {
                    p if p.is_empty() => text(&e["a"]),
                    p => format!("{p} <{}>", text(&e["a"])),
                })
                .unwrap_or_default(),
            subject: text(&m["su"]),
        })
        .collect();
    (hits, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_read_from_the_json_reply() {
        let resp = json!({
            "total": 3, "more": true,
            "m": [{"id": "258", "d": 1600000000000_i64, "acct": "a@x.test", "acctId": "id-a",
                   "e": [{"t": "f", "a": "bob@y.test"}], "su": [{"_content": "Hello"}]}]
        });
        let (hits, total) = parse_hits(&resp);
        assert_eq!(total, 3);
        assert_eq!(
            hits,
            vec![RemoteHit {
                account: "a@x.test".into(),
                account_id: "id-a".into(),
                id: 258,
                date_ms: 1_600_000_000_000,
                sender: "bob@y.test".into(),
                subject: "Hello".into(),
            }]
        );
    }
}
