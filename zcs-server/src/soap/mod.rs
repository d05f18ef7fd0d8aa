//! The SOAP/JSON API (user and admin), as Zimbra's `SoapEngine` serves it: one envelope
//! in, one out, each request dispatched by its namespace and name to the handlers of
//! `account`, `folders`, `mail`, `search` and `admin`. `BatchRequest` runs several.
//!
//! HTTP is not handled here (see `frontends::http`): [`SoapService::handle`] takes the
//! body bytes and the caller and returns the status, content type and body to send.

pub mod element;
pub mod envelope;
pub mod json;
pub mod token;
pub mod xml;

mod account;
mod admin;
mod calendar;
mod contacts;
mod context;
mod conv;
mod dl;
mod folders;
mod gal;
pub(crate) mod mail;
mod retention;
mod search;
mod share;

pub(crate) use admin::resume_restores;
pub use context::{Caller, SoapService};
pub(crate) use mail::find_part;
pub(crate) use search::delayed_index::on_protocol_login as delayed_index_on_login;
pub(crate) use search::delayed_index::suppressed_at_start as delayed_index_suppressed;

use zcs_core::{FaultCode, ServiceError, ServiceResult};

use context::Ctx;
use element::Element;
use envelope::{NS_ACCOUNT, NS_ADMIN, NS_MAIL, NS_ZIMBRA, Protocol};

/// What to send back over HTTP.
#[derive(Clone, Debug)]
pub struct SoapReply {
    /// 200, or 500 for a fault (`SoapServlet.sendResponse`).
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// A `Set-Cookie` value (the auth token cookie after AuthRequest).
    pub set_cookie: Option<String>,
}

/// Most requests one BatchRequest may carry.
const MAX_BATCH: usize = 500;

impl SoapService {
    /// Serves one envelope. Parse errors are answered with a fault in SOAP 1.2 XML
    /// (Zimbra's default form) unless the body looked like JSON.
    pub async fn handle(&self, caller: &Caller, body: &[u8]) -> SoapReply {
        let env = match envelope::parse(body) {
            Ok(env) => env,
            Err(e) => {
                let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
                let proto = if looks_json {
                    Protocol::Json
                } else {
                    Protocol::Soap12
                };
                return self.fault_reply(proto, &e, None);
            }
        };
        let proto = env.response_protocol();
        let mut ctx = Ctx::new(self, caller, env.context.as_ref());
        let request = &env.body;
        let started = std::time::Instant::now();

        let result = match ctx.header_token_expired(env.context.as_ref()).await {
            Err(e) => Err(e),
            Ok(()) if request.name == "BatchRequest" => self.batch(&mut ctx, request, proto).await,
            Ok(()) => self.one(&mut ctx, request).await,
        };
        tracing::debug!(proto = "soap", cmd = %request.name, ip = %caller.remote_ip,
            elapsed_ms = started.elapsed().as_millis() as u64, ok = result.is_ok(), "request");

        let context = response_context(&ctx);
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

    fn fault_reply(&self, proto: Protocol, e: &ServiceError, ctx: Option<&Element>) -> SoapReply {
        if e.code == FaultCode::Failure {
            tracing::warn!(proto = "soap", error = %e, "request failed");
        }
        let fault = envelope::fault(proto, e, &self.next_trace());
        SoapReply {
            status: 500,
            content_type: proto.content_type(),
            body: envelope::render(proto, ctx, &fault),
            set_cookie: None,
        }
    }

    /// Runs one request, echoing its `requestId`.
    async fn one(&self, ctx: &mut Ctx<'_>, request: &Element) -> ServiceResult<Element> {
        let mut resp = dispatch(ctx, request).await?;
        if let Some(id) = request.attr("requestId") {
            resp.set("requestId", id);
        }
        resp.unique = true;
        Ok(resp)
    }

    /// `BatchRequest onerror="continue|stop"`: each child's response, or a fault
    /// carrying its `requestId`, in order.
    async fn batch(
        &self,
        ctx: &mut Ctx<'_>,
        batch: &Element,
        proto: Protocol,
    ) -> ServiceResult<Element> {
        if batch.children.len() > MAX_BATCH {
            return Err(ServiceError::invalid_request(
                "too many requests in a batch",
            ));
        }
        let stop = batch.attr("onerror") == Some("stop");
        let mut out = Element::with_ns("BatchResponse", NS_ZIMBRA).unique();
        for req in &batch.children {
            match self.one(ctx, req).await {
                Ok(mut r) => {
                    r.unique = false;
                    out.children.push(r);
                }
                Err(e) => {
                    let mut f = envelope::fault(proto, &e, &self.next_trace());
                    f.unique = false;
                    if proto != Protocol::Json {
                        f.ns = Some(envelope_ns(proto).to_string());
                    }
                    if let Some(id) = req.attr("requestId") {
                        f.set("requestId", id);
                    }
                    out.children.push(f);
                    if stop {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn envelope_ns(proto: Protocol) -> &'static str {
    match proto {
        Protocol::Soap11 => envelope::NS_SOAP11,
        _ => envelope::NS_SOAP12,
    }
}

/// The response header context: `change token=` after mailbox requests.
fn response_context(ctx: &Ctx<'_>) -> Element {
    let mut c = Element::with_ns("context", NS_ZIMBRA).unique();
    if let Some(cn) = ctx.change {
        let mut change = Element::new("change").unique();
        change.set_num("token", cn);
        c.children.push(change);
    }
    c
}

/// Routes one request by namespace and name. A request without a namespace (some JSON
/// clients) is looked up in the admin, account and mail services in that order.
async fn dispatch(ctx: &mut Ctx<'_>, req: &Element) -> ServiceResult<Element> {
    let name = req.name.as_str();
    let spaces: Vec<&str> = match req.ns.as_deref() {
        Some(ns) => vec![ns],
        None => vec![NS_ADMIN, NS_ACCOUNT, NS_MAIL],
    };
    for ns in spaces {
        let found = match ns {
            NS_ADMIN if ctx.caller.admin_port => admin::dispatch(ctx, name, req).await,
            // The admin console's extension requests (bulk provisioning, bulk IMAP
            // import) are admin requests in their own namespace.
            "urn:zimbraAdminExt" if ctx.caller.admin_port => admin::dispatch(ctx, name, req).await,
            NS_ACCOUNT => match account::dispatch(ctx, name, req).await {
                Some(r) => Some(r),
                None => match gal::dispatch(ctx, name, req).await {
                    Some(r) => Some(r),
                    None => match dl::dispatch(ctx, name, req).await {
                        Some(r) => Some(r),
                        // GetShareInfoRequest is an account request served by `share`.
                        None => share::dispatch(ctx, name, req).await,
                    },
                },
            },
            NS_MAIL => mail_dispatch(ctx, name, req).await,
            _ => None,
        };
        if let Some(result) = found {
            return result;
        }
    }
    Err(ServiceError::new(
        FaultCode::UnknownDocument,
        format!("unknown document: {name}"),
    ))
}

/// The mail service's handlers, each module asked in turn; `None` when none knows `name`.
async fn mail_dispatch(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Element,
) -> Option<ServiceResult<Element>> {
    if let Some(r) = folders::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = search::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = mail::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = contacts::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = calendar::dispatch(ctx, name, req).await {
        return Some(r);
    }
    if let Some(r) = conv::dispatch(ctx, name, req).await {
        return Some(r);
    }
    // Data sources are account entries, but Zimbra serves their requests in urn:zimbraMail.
    if let Some(r) = account::datasources::dispatch(ctx, name, req).await {
        return Some(r);
    }
    share::dispatch(ctx, name, req).await
}

/// A response element named `name` in `ns`.
pub(crate) fn response(name: &str, ns: &str) -> Element {
    Element::with_ns(name, ns).unique()
}
