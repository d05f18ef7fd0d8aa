//! Zimbra's JSON form of [`Element`] trees (`SoapJSProtocol`): attributes are plain
//! keys, text is `_content`, the namespace is `_jsns`, repeated children are arrays,
//! and key/value lists are `"_attrs":{...}`.
//!
//! Reading turns scalars into attributes and objects/arrays into children, so handlers
//! read JSON and XML requests alike through [`Element::attr`]; `_attrs` entries become
//! `a n="key"` children.

use serde_json::{Map, Value};

use super::element::{Attr, AttrKind, Element};

/// Why a JSON document was refused; shown as `service.PARSE_ERROR`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("expected a JSON object for {0}")]
    NotObject(String),
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

/// The text of a `_content` value. Besides a scalar, it takes the shapes clients build
/// when they hand an element's JSON back as its text: `{"_content": "t"}` (python-zimbra
/// wraps a JSON AuthResponse's `authToken` that way) and a one-element array of either.
fn content_text(v: &Value) -> Option<String> {
    match v {
        Value::Object(inner) => inner.get("_content").and_then(scalar),
        Value::Array(items) if items.len() == 1 => match &items[0] {
            Value::Object(inner) => inner.get("_content").and_then(scalar),
            other => scalar(other),
        },
        other => scalar(other),
    }
}

/// Reads `value` as an element named `name` whose namespace defaults to `ns`.
///
/// # Errors
/// [`JsonError::NotObject`] when `value` is not an object.
pub fn element_from_value(
    name: &str,
    value: &Value,
    ns: Option<&str>,
) -> Result<Element, JsonError> {
    let Value::Object(map) = value else {
        return Err(JsonError::NotObject(name.to_string()));
    };
    let mut el = Element::new(name);
    el.ns = map
        .get("_jsns")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| ns.map(str::to_string));
    let scope = el.ns.clone();
    for (key, v) in map {
        match key.as_str() {
            "_jsns" => {}
            "_content" => el.text = content_text(v),
            "_attrs" => {
                let Value::Object(kv) = v else {
                    return Err(JsonError::NotObject("_attrs".into()));
                };
                for (k, vals) in kv {
                    let list: Vec<&Value> = match vals {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for one in list {
                        let mut a = Element::new("a");
                        a.set("n", k.clone());
                        a.text = scalar(one);
                        el.children.push(a);
                    }
                }
            }
            _ => match v {
                Value::Object(_) => el
                    .children
                    .push(element_from_value(key, v, scope.as_deref())?),
                Value::Array(items) => push_items(&mut el, key, items, scope.as_deref(), 0)?,
                Value::Null => {}
                other => el.attrs.push(Attr {
                    name: key.clone(),
                    value: scalar(other).unwrap_or_default(),
                    kind: AttrKind::Str,
                    content: false,
                }),
            },
        }
    }
    Ok(el)
}

/// Adds one child named `key` per item of an array. An array nested in the array adds its
/// items the same way (python-zimbra sends a batch of three same-named requests as
/// `[[{..}, {..}], {..}]`), down to a small depth.
fn push_items(
    el: &mut Element,
    key: &str,
    items: &[Value],
    scope: Option<&str>,
    depth: usize,
) -> Result<(), JsonError> {
    for item in items {
        match item {
            Value::Object(_) => el.children.push(element_from_value(key, item, scope)?),
            Value::Array(inner) if depth < 8 => push_items(el, key, inner, scope, depth + 1)?,
            Value::Array(_) => return Err(JsonError::NotObject(key.to_string())),
            other => {
                let mut c = Element::new(key);
                c.ns = scope.map(str::to_string);
                c.text = scalar(other);
                el.children.push(c);
            }
        }
    }
    Ok(())
}

/// Parses a JSON document into a value, refusing anything that is not an object.
///
/// # Errors
/// [`JsonError`]; serde_json's own recursion limit bounds nesting.
pub fn parse(text: &str) -> Result<Map<String, Value>, JsonError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JsonError::NotObject("document".into())),
        Err(e) => Err(JsonError::Malformed(e.to_string())),
    }
}

fn attr_value(a: &Attr) -> Value {
    match a.kind {
        AttrKind::Str => Value::String(a.value.clone()),
        AttrKind::Num => {
            if let Ok(n) = a.value.parse::<i64>() {
                Value::from(n)
            } else if let Ok(f) = a.value.parse::<f64>() {
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(a.value.clone()))
            } else {
                Value::String(a.value.clone())
            }
        }
        AttrKind::Bool => Value::Bool(a.value == "1" || a.value.eq_ignore_ascii_case("true")),
    }
}

/// Renders `el` as a JSON object; `_jsns` is written where the namespace differs from
/// `parent_ns`.
pub fn to_value(el: &Element, parent_ns: Option<&str>) -> Value {
    let mut map = Map::new();
    for a in &el.attrs {
        map.insert(a.name.clone(), attr_value(a));
    }
    if let Some(t) = &el.text {
        map.insert("_content".into(), Value::String(t.clone()));
    }
    let scope = el.ns.as_deref().or(parent_ns);
    if el.kv {
        let mut kv = Map::new();
        for c in &el.children {
            let Some(key) = c.attr("name").or_else(|| c.attr("n")) else {
                continue;
            };
            let v = Value::String(c.text().to_string());
            match kv.get_mut(key) {
                Some(Value::Array(list)) => list.push(v),
                Some(prev) => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, v]);
                }
                None => {
                    kv.insert(key.to_string(), v);
                }
            }
        }
        map.insert("_attrs".into(), Value::Object(kv));
    } else {
        for c in &el.children {
            let v = to_value(c, scope);
            if c.unique {
                map.insert(c.name.clone(), v);
                continue;
            }
            match map.get_mut(&c.name) {
                Some(Value::Array(list)) => list.push(v),
                _ => {
                    map.insert(c.name.clone(), Value::Array(vec![v]));
                }
            }
        }
    }
    if let Some(ns) = el.ns.as_deref()
        && Some(ns) != parent_ns
    {
        map.insert("_jsns".into(), Value::String(ns.to_string()));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scalars_objects_arrays_and_attrs() {
        let doc = r#"{"account":{"by":"name","_content":"u@d"},"password":"pw",
            "limit":25,"a":[{"n":"cn","_content":"X"},{"n":"sn","_content":"Y"}],
            "_attrs":{"zimbraPrefFoo":"1","multi":["a","b"]},"_jsns":"urn:zimbraAccount"}"#;
        let v: Value = serde_json::from_str(doc).expect("json");
        let el = element_from_value("AuthRequest", &v, None).expect("object");
        assert_eq!(el.ns.as_deref(), Some("urn:zimbraAccount"));
        assert_eq!(el.attr("account"), Some("u@d"));
        assert_eq!(el.child("account").and_then(|a| a.attr("by")), Some("name"));
        assert_eq!(el.attr("password"), Some("pw"));
        assert_eq!(el.int_attr("limit", 0), Ok(25));
        let pairs = el.a_pairs();
        assert_eq!(pairs.len(), 5);
        assert!(pairs.contains(&("cn".to_string(), "X".to_string())));
        assert!(pairs.contains(&("multi".to_string(), "b".to_string())));
        assert_eq!(
            el.child("account").and_then(|c| c.ns.as_deref()),
            Some("urn:zimbraAccount")
        );
    }

    #[test]
    fn reads_wrapped_content_as_text() {
        for body in [
            r#"{"authToken":{"_content":"T"}}"#,
            r#"{"authToken":{"_content":{"_content":"T"}}}"#,
            r#"{"authToken":{"_content":[{"_content":"T"}]}}"#,
            r#"{"authToken":{"_content":["T"]}}"#,
        ] {
            let v: Value = serde_json::from_str(body).expect("json");
            let el = element_from_value("context", &v, None).expect("element");
            assert_eq!(el.child("authToken").map(|c| c.text()), Some("T"), "{body}");
        }
    }

    #[test]
    fn nested_arrays_are_repeated_children() {
        let body = r#"{"NoOpRequest":[[{"requestId":1},{"requestId":2}],{"requestId":3}]}"#;
        let v: Value = serde_json::from_str(body).expect("json");
        let el = element_from_value("BatchRequest", &v, None).expect("element");
        let ids: Vec<_> = el
            .children
            .iter()
            .filter_map(|c| c.attr("requestId"))
            .collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }

    #[test]
    fn writes_arrays_unique_kv_and_numbers() {
        let mut r = Element::with_ns("GetInfoResponse", "urn:zimbraAccount");
        r.set_num("n", 3).set("name", "x");
        r.add_text("version", "1").unique = true;
        r.add_new("m").set("id", "1");
        r.add_new("m").set("id", "2");
        let mut prefs = Element::new("prefs");
        prefs.kv = true;
        prefs.unique = true;
        prefs.add_new("pref").set("name", "a").set_text("1");
        prefs.add_new("pref").set("name", "a").set_text("2");
        r.add(prefs);
        let v = to_value(&r, Some("urn:zimbraSoap"));
        assert_eq!(v["n"], 3);
        assert_eq!(v["version"]["_content"], "1");
        assert_eq!(v["m"][1]["id"], "2");
        assert_eq!(v["prefs"]["_attrs"]["a"][1], "2");
        assert_eq!(v["_jsns"], "urn:zimbraAccount");
        assert!(v["m"][0].get("_jsns").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            if let Ok(m) = parse(&s) {
                let _ = element_from_value("x", &Value::Object(m), None);
            }
        }
    }
}
