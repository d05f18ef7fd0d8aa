//! SOAP envelopes as Zimbra reads and writes them (`SoapProtocol`, `SoapEngine`): which
//! form a request came in (SOAP 1.2, SOAP 1.1 or JSON), its header `context` and its one
//! body element; and the response envelope, in the request's form unless the context's
//! `format type=` asks for the other, with faults in each form's shape.

use serde_json::{Map, Value};
use zcs_core::{FaultCode, ServiceError};

use super::element::{AttrKind, Element};
use super::{json, xml};

/// SOAP 1.2 envelope namespace.
pub const NS_SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope namespace.
pub const NS_SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The namespace of the header context, faults' `Error` and `BatchRequest`.
pub const NS_ZIMBRA: &str = "urn:zimbra";
/// The namespace a JSON response envelope carries.
pub const NS_ZIMBRA_SOAP: &str = "urn:zimbraSoap";
pub const NS_ACCOUNT: &str = "urn:zimbraAccount";
pub const NS_MAIL: &str = "urn:zimbraMail";
pub const NS_ADMIN: &str = "urn:zimbraAdmin";

/// The form of an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Soap12,
    Soap11,
    Json,
}

impl Protocol {
    /// The HTTP content type of a response in this form (Zimbra sends text/xml even for
    /// SOAP 1.2).
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Json => "text/javascript; charset=utf-8",
            _ => "text/xml; charset=utf-8",
        }
    }

    fn envelope_ns(self) -> &'static str {
        match self {
            Protocol::Soap11 => NS_SOAP11,
            _ => NS_SOAP12,
        }
    }
}

/// A parsed request envelope.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// The form it came in.
    pub protocol: Protocol,
    /// The header `context` element, matched by local name in any namespace.
    pub context: Option<Element>,
    /// The one request element of the body.
    pub body: Element,
}

impl Envelope {
    /// The form the response takes: the request's, unless `context/format type=` says
    /// `js` or `xml`.
    pub fn response_protocol(&self) -> Protocol {
        let asked = self
            .context
            .as_ref()
            .and_then(|c| c.child("format"))
            .and_then(|f| f.attr("type"));
        match asked {
            Some("js") => Protocol::Json,
            Some("xml") if self.protocol == Protocol::Json => Protocol::Soap12,
            _ => self.protocol,
        }
    }
}

fn parse_error(msg: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(FaultCode::ParseError, msg.to_string())
}

/// Parses a request body. A body whose first non-blank character is `<` is XML,
/// anything else JSON (`SoapEngine.dispatch`).
///
/// # Errors
/// `service.PARSE_ERROR` for an empty, malformed or refused document, or an envelope
/// without exactly one body element.
pub fn parse(body: &[u8]) -> Result<Envelope, ServiceError> {
    let text = std::str::from_utf8(body).map_err(|_| parse_error("request is not UTF-8"))?;
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(parse_error("empty request"));
    }
    if trimmed.starts_with('<') {
        parse_xml(trimmed)
    } else {
        parse_json(trimmed)
    }
}

fn parse_xml(text: &str) -> Result<Envelope, ServiceError> {
    let root = xml::parse(text).map_err(parse_error)?;
    let protocol = match root.ns.as_deref() {
        Some(NS_SOAP12) => Protocol::Soap12,
        Some(NS_SOAP11) => Protocol::Soap11,
        _ => return Err(parse_error("root element is not a SOAP Envelope")),
    };
    if root.name != "Envelope" {
        return Err(parse_error("root element is not a SOAP Envelope"));
    }
    let context = root
        .child("Header")
        .and_then(|h| h.child("context"))
        .cloned();
    let body = root
        .child("Body")
        .ok_or_else(|| parse_error("no SOAP Body"))?;
    let request = body
        .children
        .first()
        .cloned()
        .ok_or_else(|| parse_error("empty SOAP Body"))?;
    Ok(Envelope {
        protocol,
        context,
        body: request,
    })
}

fn parse_json(text: &str) -> Result<Envelope, ServiceError> {
    let doc = json::parse(text).map_err(parse_error)?;
    let context = match doc.get("Header").and_then(|h| h.get("context")) {
        Some(c) => {
            Some(json::element_from_value("context", c, Some(NS_ZIMBRA)).map_err(parse_error)?)
        }
        None => None,
    };
    let Some(Value::Object(body)) = doc.get("Body") else {
        return Err(parse_error("no Body object"));
    };
    let (name, value) = body
        .iter()
        .find(|(k, _)| k.as_str() != "_jsns")
        .ok_or_else(|| parse_error("empty Body"))?;
    let request = json::element_from_value(name, value, None).map_err(parse_error)?;
    Ok(Envelope {
        protocol: Protocol::Json,
        context,
        body: request,
    })
}

/// Renders a response envelope in `protocol` with an optional header context and one
/// body element (a response or a fault from [`fault`]).
pub fn render(protocol: Protocol, context: Option<&Element>, body: &Element) -> String {
    match protocol {
        Protocol::Json => {
            let mut map = Map::new();
            if let Some(ctx) = context {
                let mut header = Map::new();
                header.insert("context".into(), json::to_value(ctx, None));
                map.insert("Header".into(), Value::Object(header));
            }
            let mut b = Map::new();
            b.insert(
                body.name.clone(),
                json::to_value(body, Some(NS_ZIMBRA_SOAP)),
            );
            map.insert("Body".into(), Value::Object(b));
            map.insert("_jsns".into(), Value::String(NS_ZIMBRA_SOAP.into()));
            Value::Object(map).to_string()
        }
        _ => {
            let ns = protocol.envelope_ns();
            let mut out = String::with_capacity(512);
            out.push_str("<soap:Envelope xmlns:soap=\"");
            out.push_str(ns);
            out.push_str("\">");
            if let Some(ctx) = context {
                out.push_str("<soap:Header>");
                xml::write(ctx, None, ns, &mut out);
                out.push_str("</soap:Header>");
            }
            out.push_str("<soap:Body>");
            let mut body = body.clone();
            if body.name == "Fault" {
                body.ns = Some(ns.to_string());
            }
            xml::write(&body, None, ns, &mut out);
            out.push_str("</soap:Body></soap:Envelope>");
            out
        }
    }
}

/// The `Fault` element for `err` in `protocol`'s shape: SOAP 1.2 Code/Reason/Detail,
/// SOAP 1.1 faultcode/faultstring/detail, JSON the 1.2 shape with unique objects. The
/// `Error` detail carries the Zimbra code clients key on and a trace id.
pub fn fault(protocol: Protocol, err: &ServiceError, trace: &str) -> Element {
    let sender = err.code.is_sender_fault();
    let mut error = Element::with_ns("Error", NS_ZIMBRA).unique();
    error.set_content("Code", err.code.as_str(), AttrKind::Str);
    error.set_content("Trace", trace, AttrKind::Str);
    let mut fault = Element::new("Fault").unique();
    // The fault element takes the envelope's namespace when rendered as XML.
    match protocol {
        Protocol::Soap11 => {
            let code = if sender { "soap:Client" } else { "soap:Server" };
            let mut fc = Element::with_ns("faultcode", "");
            fc.set_text(code);
            fault.children.push(fc);
            let mut fs = Element::with_ns("faultstring", "");
            fs.set_text(err.message.clone());
            fault.children.push(fs);
            let mut detail = Element::with_ns("detail", "");
            detail.children.push(error);
            fault.children.push(detail);
        }
        _ => {
            let code = if sender {
                "soap:Sender"
            } else {
                "soap:Receiver"
            };
            let mut c = Element::new("Code").unique();
            c.set_content("Value", code, AttrKind::Str);
            fault.children.push(c);
            let mut r = Element::new("Reason").unique();
            r.set_content("Text", err.message.clone(), AttrKind::Str);
            fault.children.push(r);
            let mut d = Element::new("Detail").unique();
            d.children.push(error);
            fault.children.push(d);
        }
    }
    fault
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_forms_and_reads_context() {
        let soap12 = format!(
            "<soap:Envelope xmlns:soap=\"{NS_SOAP12}\"><soap:Header><context \
             xmlns=\"urn:zimbra\"><authToken>T</authToken><format type=\"js\"/></context>\
             </soap:Header><soap:Body><NoOpRequest xmlns=\"urn:zimbraMail\"/></soap:Body>\
             </soap:Envelope>"
        );
        let env = parse(soap12.as_bytes()).expect("soap 1.2");
        assert_eq!(env.protocol, Protocol::Soap12);
        assert_eq!(env.response_protocol(), Protocol::Json);
        assert_eq!(
            env.context.as_ref().and_then(|c| c.attr("authToken")),
            Some("T")
        );
        assert_eq!(env.body.name, "NoOpRequest");

        let soap11 = format!(
            "<e:Envelope xmlns:e=\"{NS_SOAP11}\"><e:Header><context><authToken>U\
             </authToken></context></e:Header><e:Body><GetInfoRequest/></e:Body></e:Envelope>"
        );
        let env = parse(soap11.as_bytes()).expect("soap 1.1");
        assert_eq!(env.protocol, Protocol::Soap11);
        assert_eq!(
            env.context.as_ref().and_then(|c| c.attr("authToken")),
            Some("U")
        );

        let js = r#"{"Header":{"context":{"_jsns":"urn:zimbra","authToken":{"_content":"V"}}},
            "Body":{"AuthRequest":{"_jsns":"urn:zimbraAccount","password":"x"}}}"#;
        let env = parse(js.as_bytes()).expect("json");
        assert_eq!(env.protocol, Protocol::Json);
        assert_eq!(
            env.context.as_ref().and_then(|c| c.attr("authToken")),
            Some("V")
        );
        assert_eq!(env.body.ns.as_deref(), Some(NS_ACCOUNT));
    }

    #[test]
    fn refuses_bad_envelopes() {
        for bad in [
            "",
            "   ",
            "<x/>",
            "{}",
            "[1]",
            "{\"Body\":{}}",
            "<a>",
            "nope",
        ] {
            let e = parse(bad.as_bytes()).expect_err(bad);
            assert_eq!(e.code, FaultCode::ParseError, "{bad}");
        }
        let empty_body = format!("<s:Envelope xmlns:s=\"{NS_SOAP12}\"><s:Body/></s:Envelope>");
        assert!(parse(empty_body.as_bytes()).is_err());
    }

    #[test]
    fn faults_in_each_form() {
        let err = ServiceError::auth_failed();
        let xml12 = render(Protocol::Soap12, None, &fault(Protocol::Soap12, &err, "t1"));
        assert!(xml12.contains("<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value>"));
        assert!(xml12.contains(
            "<soap:Detail><Error xmlns=\"urn:zimbra\"><Code>account.AUTH_FAILED</Code>\
             <Trace>t1</Trace></Error></soap:Detail>"
        ));
        let xml11 = render(Protocol::Soap11, None, &fault(Protocol::Soap11, &err, "t1"));
        assert!(
            xml11.contains("<soap:Fault><faultcode>soap:Client</faultcode>"),
            "{xml11}"
        );
        assert!(
            xml11.contains("<detail><Error xmlns=\"urn:zimbra\"><Code>"),
            "{xml11}"
        );
        let js = render(Protocol::Json, None, &fault(Protocol::Json, &err, "t1"));
        let v: Value = serde_json::from_str(&js).expect("json");
        assert_eq!(
            v["Body"]["Fault"]["Detail"]["Error"]["Code"],
            "account.AUTH_FAILED"
        );
        assert_eq!(v["Body"]["Fault"]["Code"]["Value"], "soap:Sender");
        assert_eq!(v["Body"]["Fault"]["Detail"]["Error"]["_jsns"], "urn:zimbra");
        assert_eq!(v["_jsns"], "urn:zimbraSoap");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse(&b);
        }
    }
}
