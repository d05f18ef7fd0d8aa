//! The element model every SOAP body and header is read into and written from, shared
//! by the XML and JSON forms. It is in charge of reading requests the way Zimbra's
//! `Element` does (attribute/child equivalence, local names) and of carrying the hints
//! that only the JSON rendering needs (unique children, key/value lists, numbers).
//! Parsing and writing live in `xml` and `json`.

use zcs_core::{ServiceError, ServiceResult};

/// How an attribute is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// A string: `a="v"` in XML, `"a":"v"` in JSON.
    Str,
    /// A number: written bare in JSON.
    Num,
    /// A boolean (`1`/`0` in XML, `true`/`false` in JSON).
    Bool,
}

/// One attribute of an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub value: String,
    pub kind: AttrKind,
    /// Zimbra's "content disposition": written as a child element `<name>value</name>`
    /// in XML and as a plain key in JSON (`lifetime` in AuthResponse).
    pub content: bool,
}

/// An element: a local name, its namespace, attributes, children and text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (no prefix).
    pub name: String,
    /// Namespace URI; `None` inherits the parent's when written.
    pub ns: Option<String>,
    pub attrs: Vec<Attr>,
    pub children: Vec<Element>,
    pub text: Option<String>,
    /// JSON: written as an object rather than a one-element array.
    pub unique: bool,
    /// JSON: children are `name`/`n` keyed values written as `"_attrs":{...}`.
    pub kv: bool,
}

/// Whether a request attribute value means true, as Zimbra reads booleans.
pub fn is_true(v: &str) -> bool {
    v == "1" || v.eq_ignore_ascii_case("true")
}

impl Element {
    /// An empty element named `name` in no particular namespace.
    pub fn new(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    /// An empty element named `name` in namespace `ns`.
    pub fn with_ns(name: impl Into<String>, ns: &str) -> Element {
        Element {
            name: name.into(),
            ns: Some(ns.to_string()),
            ..Element::default()
        }
    }

    /// Marks this element unique among its siblings (a JSON object, not an array).
    pub fn unique(mut self) -> Element {
        self.unique = true;
        self
    }

    fn push_attr(&mut self, name: &str, value: String, kind: AttrKind, content: bool) {
        self.attrs.retain(|a| a.name != name);
        self.attrs.push(Attr {
            name: name.to_string(),
            value,
            kind,
            content,
        });
    }

    /// Sets a string attribute (replacing one of the same name).
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Element {
        self.push_attr(name, value.into(), AttrKind::Str, false);
        self
    }

    /// Sets a numeric attribute.
    pub fn set_num(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Element {
        self.push_attr(name, value.to_string(), AttrKind::Num, false);
        self
    }

    /// Sets a boolean attribute.
    pub fn set_bool(&mut self, name: &str, value: bool) -> &mut Element {
        let v = if value { "1" } else { "0" };
        self.push_attr(name, v.to_string(), AttrKind::Bool, false);
        self
    }

    /// Sets a content-disposition value: `<name>v</name>` in XML, `"name":v` in JSON.
    pub fn set_content(&mut self, name: &str, value: impl Into<String>, kind: AttrKind) {
        self.push_attr(name, value.into(), kind, true);
    }

    /// Builder form of [`Element::set`].
    pub fn attr_str(mut self, name: &str, value: impl Into<String>) -> Element {
        self.set(name, value);
        self
    }

    /// Sets the text content.
    pub fn set_text(&mut self, text: impl Into<String>) -> &mut Element {
        self.text = Some(text.into());
        self
    }

    /// Appends a child and returns it for filling in.
    pub fn add(&mut self, child: Element) -> &mut Element {
        self.children.push(child);
        let last = self.children.len() - 1;
        &mut self.children[last]
    }

    /// Appends a new child named `name` (same namespace) and returns it.
    pub fn add_new(&mut self, name: &str) -> &mut Element {
        self.add(Element::new(name))
    }

    /// Appends `<name>text</name>`.
    pub fn add_text(&mut self, name: &str, text: impl Into<String>) -> &mut Element {
        let mut e = Element::new(name);
        e.set_text(text);
        self.add(e)
    }

    /// Appends an admin-style attribute `<a n="name">value</a>`.
    pub fn add_a(&mut self, name: &str, value: impl Into<String>) {
        let mut a = Element::new("a");
        a.set("n", name);
        a.set_text(value);
        self.children.push(a);
    }

    /// The text content, empty when none.
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }

    /// The first child with local name `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with local name `name`, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Attribute `name`, or else the text of a child element of that name: Zimbra reads
    /// `<x>v</x>` wherever it reads `x="v"`, and JSON gives both as plain keys.
    pub fn attr(&self, name: &str) -> Option<&str> {
        if let Some(a) = self.attrs.iter().find(|a| a.name == name) {
            return Some(&a.value);
        }
        self.child(name).map(Element::text)
    }

    /// A required attribute (or child text).
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` naming the missing attribute.
    pub fn req(&self, name: &str) -> ServiceResult<&str> {
        self.attr(name).ok_or_else(|| {
            ServiceError::invalid_request(format!("missing required attribute: {name}"))
        })
    }

    /// A boolean attribute (`1`/`true` or `0`/`false`, any case), `default` when absent.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for any other value, as Zimbra's `getAttributeBool`.
    pub fn bool_attr(&self, name: &str, default: bool) -> ServiceResult<bool> {
        match self.attr(name).map(str::trim) {
            None => Ok(default),
            Some(v) if is_true(v) => Ok(true),
            Some(v) if v == "0" || v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ServiceError::invalid_request(format!(
                "invalid boolean value for {name}: {v}"
            ))),
        }
    }

    /// An integer attribute, `default` when absent.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` when present but not a number.
    pub fn int_attr(&self, name: &str, default: i64) -> ServiceResult<i64> {
        match self.attr(name) {
            None | Some("") => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                ServiceError::invalid_request(format!("invalid number for {name}: {v}"))
            }),
        }
    }

    /// The admin-style `a n="name"` children as (name, value) pairs, in order.
    pub fn a_pairs(&self) -> Vec<(String, String)> {
        self.children_named("a")
            .filter_map(|a| Some((a.attr("n")?.to_string(), a.text().to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_and_child_are_equivalent() {
        let mut e = Element::new("CreateAccountRequest");
        e.add_text("name", "u@d.test");
        e.set("password", "pw");
        assert_eq!(e.attr("name"), Some("u@d.test"));
        assert_eq!(e.attr("password"), Some("pw"));
        assert!(e.req("nothing").is_err());
    }

    #[test]
    fn setting_replaces() {
        let mut e = Element::new("x");
        e.set("a", "1");
        e.set_num("a", 2);
        assert_eq!(e.attrs.len(), 1);
        assert_eq!(e.attr("a"), Some("2"));
        assert_eq!(e.int_attr("a", 0), Ok(2));
        assert_eq!(e.bool_attr("missing", true), Ok(true));
        e.set("b", "3");
        assert!(e.bool_attr("b", true).is_err());
    }
}
