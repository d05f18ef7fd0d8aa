//! `zmprov` distribution list and dynamic group commands (`cdl`, `cddl`, `gdl`, `gadl`,
//! `adlm`, `rdlm`, `mdl`, `rdl`, `ddl`, `adla`, `rdla`, `gdlm`, `gam`). The
//! rights commands (`grr`, `rvr`, `gg`, ...) are in `rights`.
//!
//! `gdl` prints Zimbra's form: `# distributionList <name> memberCount=<n>`, the
//! attributes, a blank line, `members`, then one member per line.

use zcs_core::Entry;
use zcs_directory::Provisioning;

use super::commands::{CmdError, attrs_from, edits, format_entry, verbose};

pub(super) async fn create(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (dynamic, rest): (bool, &[String]) = match a.first().map(String::as_str) {
        Some("-d") => (true, &a[1..]),
        _ => (false, a),
    };
    let Some((name, pairs)) = rest.split_first() else {
        return Err(CmdError::Usage);
    };
    let attrs = attrs_from(pairs)?;
    let e = if dynamic {
        p.create_dynamic_group(name, attrs).await?
    } else {
        p.create_distribution_list(name, attrs).await?
    };
    Ok(format!("{}\n", e.id))
}

pub(super) async fn create_dynamic(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_dynamic_group(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

/// One list in `gdl` form, limited to `only` attributes when given.
async fn format_list(p: &Provisioning, g: &Entry, only: &[String]) -> Result<String, CmdError> {
    let members = p.group_members(g).await?;
    let mut out = format!(
        "# distributionList {} memberCount={}\n",
        g.name,
        members.len()
    );
    out.push_str(&format_entry(None, &g.attrs, only));
    out.push_str("\nmembers\n");
    for m in members {
        out.push_str(&m);
        out.push('\n');
    }
    Ok(out)
}

pub(super) async fn get(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let g = p.get_group(&a[0]).await?;
    format_list(p, &g, &a[1..]).await
}

pub(super) async fn get_all(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (v, rest) = verbose(a);
    if rest.len() > 1 {
        return Err(CmdError::Usage);
    }
    let groups = p.all_groups(rest.first().map(String::as_str)).await?;
    let mut out = String::new();
    for g in groups {
        if v {
            out.push_str(&format_list(p, &g, &[]).await?);
            out.push('\n');
        } else {
            out.push_str(&format!("{}\n", g.name));
        }
    }
    Ok(out)
}

pub(super) async fn add_members(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.add_group_members(&a[0], &a[1..]).await?;
    Ok(String::new())
}

pub(super) async fn remove_members(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.remove_group_members(&a[0], &a[1..]).await?;
    Ok(String::new())
}

pub(super) async fn modify(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_group(&a[0], &edits(&a[1..])?).await?;
    Ok(String::new())
}

pub(super) async fn rename(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rename_group(&a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn delete(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_group(&a[0]).await?;
    Ok(String::new())
}

pub(super) async fn add_alias(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.add_group_alias(&a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn remove_alias(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.remove_group_alias(&a[0], &a[1]).await?;
    Ok(String::new())
}

/// `gdlm` and `gam`: one list per line, indirect ones as `name (via other)`.
pub(super) async fn get_membership(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let mut out = String::new();
    for (g, via) in p.group_membership(&a[0]).await? {
        match via {
            Some(v) => out.push_str(&format!("{} (via {v})\n", g.name)),
            None => out.push_str(&format!("{}\n", g.name)),
        }
    }
    Ok(out)
}
