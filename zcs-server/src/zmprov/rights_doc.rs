//! Two rights commands that describe rather than decide: `getCreateObjectAttrs` (gcoa),
//! the attributes a grantee may set on an entry it would create, and `getRightsDoc`
//! (grd), the rights each admin request checks, both in Zimbra's output layout.
//!
//! Both answer from this process's directory and rights catalogue, with or without
//! `-l` (Zimbra's `grd` asks the server, whose handlers hold the same table here as
//! [`zcs_directory::rights::RIGHTS_DOC`]).

use zcs_directory::Provisioning;
use zcs_directory::rights::{CreateObjectAttrs, RIGHTS_DOC, TargetType, doc};

use super::commands::CmdError;

/// The package name `grd` prints and accepts: Zimbra's Java package of the admin
/// handlers, so scripts that name it keep working.
const ADMIN_PACKAGE: &str = "com.zimbra.cs.service.admin";

/// `null` (Zimbra's spelling of "not given") as `None`.
fn given(word: &str) -> Option<&str> {
    (word != "null").then_some(word)
}

/// The `set attributes rights` block of Zimbra's effective-rights output, every
/// attribute listed (gcoa expands them all), each with its default values.
fn set_attrs_block(c: &CreateObjectAttrs) -> String {
    if !c.all && c.attrs.is_empty() {
        return String::new();
    }
    let row = |a: &str, b: &str| format!("    {a:<50} {b:<30}\n");
    let mut out = String::from("\n=========================\nset attributes rights\n");
    out.push_str("=========================\n");
    if c.all {
        out.push_str("Can set all attributes\n");
    }
    out.push_str("Can set the following attributes\n--------------------------------\n");
    out.push_str(&row("attribute", "default"));
    out.push_str(&row(&"-".repeat(40), &"-".repeat(20)));
    for a in &c.attrs {
        match a.default.split_first() {
            None => out.push_str(&row(&a.name, "")),
            Some((first, rest)) => {
                out.push_str(&row(&a.name, first));
                for v in rest {
                    out.push_str(&row("", v));
                }
            }
        }
    }
    out
}

/// `gcoa {target-type} {domain-id|domain-name} {cos-id|cos-name} [{grantee-id|grantee-name}]`:
/// `null` stands for no domain or no COS. Without a grantee the local operator (a
/// global administrator, who may set everything) is asked about, as Zimbra's SOAP mode
/// asks about the admin it authenticated.
pub(super) async fn get_create_object_attrs(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let (tt, domain, cos, grantee) = match a {
        [t, d, c] => (t, d, c, None),
        [t, d, c, g] => (t, d, c, Some(g)),
        _ => return Err(CmdError::Usage),
    };
    let ty = TargetType::parse(tt).ok_or_else(|| {
        CmdError::Fault(zcs_core::ServiceError::invalid_request(format!(
            "invalid target type: {tt}"
        )))
    })?;
    let (domain, cos) = (given(domain), given(cos));
    let who = match grantee {
        Some(g) => p.get_account(g).await?,
        None => {
            // The local operator: an unsaved global admin.
            let mut attrs = zcs_core::Attrs::new();
            attrs.set_one("zimbraIsAdminAccount", "TRUE");
            zcs_core::Entry {
                kind: zcs_core::EntryKind::Account,
                id: zcs_core::ZimbraId::new(),
                name: "zimbra".into(),
                attrs,
            }
        }
    };
    let c = p
        .rights()
        .create_object_attrs(&who, ty, domain, cos)
        .await?;
    let mut out = format!(
        "Domain:  {}\nCos:     {}\nGrantee: {}\n\n",
        domain.unwrap_or("null"),
        cos.unwrap_or("null"),
        grantee.map_or("null", String::as_str)
    );
    out.push_str(&set_attrs_block(&c));
    Ok(out)
}

/// Wraps `text` at `width` columns, each line led by `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in text.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + w.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `grd [java packages]`: Zimbra's layout (a `#` header naming the packages, then per
/// package each request with its related rights and notes), ending with the admin
/// rights no request checks yet, as `#` comment lines. Only the admin handlers'
/// package exists here; naming another prints its empty section.
pub(super) async fn get_rights_doc(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let packages: Vec<&str> = if a.is_empty() {
        vec![ADMIN_PACKAGE]
    } else {
        a.iter().map(String::as_str).collect()
    };
    let args: String = a.iter().map(|w| format!(" {w}")).collect();
    let date = chrono::Local::now().format("%B %-d, %Y");
    let mut out = format!("#\n#  Generated by: zmprov grd{args}\n#\n#  Date: {date}\n# \n");
    out.push_str("#  Packages:\n");
    for p in &packages {
        out.push_str(&format!("#       {p}\n"));
    }
    out.push_str("# \n\n\n");
    for p in packages.iter().filter(|p| **p == ADMIN_PACKAGE) {
        out.push_str("========================================\n");
        out.push_str(&format!("Package: {p}\n"));
        out.push_str("========================================\n\n");
        for d in RIGHTS_DOC {
            out.push_str("------------------------------\n");
            out.push_str(&format!("{}\n\n", d.request));
            out.push_str("    Related rights:\n");
            for r in d.rights {
                out.push_str(&format!("        {r}\n"));
            }
            out.push_str("\n    Notes:\n");
            for n in d.notes {
                out.push_str(&wrap(n, 70, "        "));
                out.push_str("\n\n");
            }
            out.push('\n');
        }
    }
    out.push_str("#  Admin rights no request checks (every other admin request is open to\n");
    out.push_str("#  global administrators only):\n");
    for r in doc::unused_admin_rights() {
        out.push_str(&format!("#       {r}\n"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_wrap_at_seventy_columns() {
        let w = wrap(&"word ".repeat(40), 70, "        ");
        for l in w.lines() {
            assert!(l.len() <= 78, "{l}");
            assert!(l.starts_with("        word"));
        }
        assert_eq!(wrap("", 70, "  "), "");
    }
}
