//! The `zmprov` rights commands of delegated administration: `grantRight` (grr),
//! `revokeRight` (rvr), `getGrants` (gg), `checkRight` (ckr), `getEffectiveRights`
//! (ger), `getAllEffectiveRights` (gaer), `getRight` (gr) and `getAllRights` (gar),
//! with Zimbra's argument order and output forms. They run as the local operator
//! (`zmprov -l`), who may grant anything.

use zcs_directory::Provisioning;
use zcs_directory::rights::{
    EffectiveRights, GrantInfo, GrantSpec, GranteeType, Modifier, RIGHTS, Right, RightClass,
    RightDef, TargetType, registry,
};

use super::commands::CmdError;

fn target_type(s: &str) -> Result<TargetType, CmdError> {
    TargetType::parse(s).ok_or_else(|| {
        CmdError::Fault(zcs_core::ServiceError::invalid_request(format!(
            "invalid target type: {s}"
        )))
    })
}

fn grantee_type(s: &str) -> Result<GranteeType, CmdError> {
    GranteeType::parse(s).ok_or_else(|| {
        CmdError::Fault(zcs_core::ServiceError::invalid_request(format!(
            "invalid grantee type: {s}"
        )))
    })
}

/// Splits `{target-type} [{target}] {grantee-type} [{grantee} [{secret}]] {[-+*^]right}`.
/// `config` and `global` take no target; `all` and `pub` no grantee; `gst` and `key`
/// may carry a secret after the grantee.
fn grant_spec(a: &[String]) -> Result<GrantSpec, CmdError> {
    let mut i = 0;
    let next = |i: &mut usize| -> Result<&str, CmdError> {
        let w = a.get(*i).ok_or(CmdError::Usage)?;
        *i += 1;
        Ok(w.as_str())
    };
    let tt = target_type(next(&mut i)?)?;
    let target = if tt.is_singleton() {
        None
    } else {
        Some(next(&mut i)?.to_string())
    };
    let gt = grantee_type(next(&mut i)?)?;
    let grantee = if gt.takes_no_name() {
        String::new()
    } else {
        next(&mut i)?.to_string()
    };
    let remaining = a.len() - i;
    let secret = if gt.has_secret() && remaining == 2 {
        Some(next(&mut i)?.to_string())
    } else {
        None
    };
    let right = next(&mut i)?;
    if i != a.len() {
        return Err(CmdError::Usage);
    }
    let (modifier, right) = Modifier::split(right);
    Ok(GrantSpec {
        target_type: tt,
        target,
        grantee_type: gt,
        grantee,
        right: right.to_string(),
        modifier,
        secret,
    })
}

/// `grr`: grants a right; prints nothing.
pub(super) async fn grant(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rights().grant_right(None, &grant_spec(a)?).await?;
    Ok(String::new())
}

/// `rvr`: revokes a grant; prints nothing.
pub(super) async fn revoke(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rights().revoke_right(None, &grant_spec(a)?).await?;
    Ok(String::new())
}

const GG_FORMAT_WIDTHS: [usize; 6] = [12, 36, 30, 12, 36, 30];

fn gg_line(cols: [&str; 7]) -> String {
    let mut s = String::new();
    for (c, w) in cols.iter().zip(GG_FORMAT_WIDTHS) {
        let cut: String = c.chars().take(w).collect();
        s.push_str(&format!("{cut:<w$} "));
    }
    s.push_str(cols[6]);
    s.push('\n');
    s
}

/// Zimbra's `gg` table: a header, a rule, then one grant per line.
pub(crate) fn grants_table(grants: &[GrantInfo]) -> String {
    let mut out = gg_line([
        "target type",
        "target id",
        "target name",
        "grantee type",
        "grantee id",
        "grantee name",
        "right",
    ]);
    let rule = |n: usize| "-".repeat(n);
    out.push_str(&gg_line([
        &rule(12),
        &rule(36),
        &rule(30),
        &rule(12),
        &rule(36),
        &rule(30),
        &rule(20),
    ]));
    for g in grants {
        let right = format!("{}{}", g.grant.modifier.prefix(), g.grant.right);
        out.push_str(&gg_line([
            g.target_type.code(),
            &g.target_id,
            &g.target_name,
            g.grant.grantee_type.code(),
            &g.grant.grantee,
            &g.grantee_name,
            &right,
        ]));
    }
    out
}

/// `gg [-t {target-type} [{target}]] [-g {grantee-type} {grantee} [0|1]]`.
pub(super) async fn get_grants(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let mut target: Option<(TargetType, Option<String>)> = None;
    let mut grantee: Option<(GranteeType, String, bool)> = None;
    let mut i = 0;
    while i < a.len() {
        match a[i].as_str() {
            "-t" => {
                let tt = target_type(a.get(i + 1).ok_or(CmdError::Usage)?)?;
                i += 2;
                let name = match (tt.is_singleton(), a.get(i)) {
                    (false, Some(n)) if !n.starts_with('-') => {
                        i += 1;
                        Some(n.clone())
                    }
                    (false, _) => return Err(CmdError::Usage),
                    (true, _) => None,
                };
                target = Some((tt, name));
            }
            "-g" => {
                let gt = grantee_type(a.get(i + 1).ok_or(CmdError::Usage)?)?;
                let name = a.get(i + 2).ok_or(CmdError::Usage)?.clone();
                i += 3;
                let groups = match a.get(i).map(String::as_str) {
                    Some("1") => {
                        i += 1;
                        true
                    }
                    Some("0") => {
                        i += 1;
                        false
                    }
                    _ => false,
                };
                grantee = Some((gt, name, groups));
            }
            _ => return Err(CmdError::Usage),
        }
    }
    let engine = p.rights();
    let mut grants = match (&target, &grantee) {
        (Some((tt, name)), _) => {
            let t = engine.target(*tt, name.as_deref()).await?;
            engine.grants_on(&t).await?
        }
        (None, Some((gt, name, groups))) => engine.grants_to(*gt, name, *groups).await?,
        (None, None) => return Err(CmdError::Usage),
    };
    if let (Some(_), Some((gt, name, groups))) = (&target, &grantee) {
        let theirs = engine.grants_to(*gt, name, *groups).await?;
        grants.retain(|g| theirs.contains(g));
    }
    Ok(grants_table(&grants))
}

/// `ckr {target-type} [{target}] {grantee} {right}`: `ALLOWED` or `DENIED`, and the
/// deciding grant.
pub(super) async fn check_right(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let tt = target_type(&a[0])?;
    let rest = &a[1..];
    let (target, grantee, right) = match (tt.is_singleton(), rest) {
        (true, [g, r]) => (None, g, r),
        (false, [t, g, r]) => (Some(t.as_str()), g, r),
        _ => return Err(CmdError::Usage),
    };
    let engine = p.rights();
    let t = engine.target(tt, target).await?;
    let who = p.get_account(grantee).await?;
    let d = engine.check_right(&who, &t, right).await?;
    let mut out = String::from(if d.allowed { "ALLOWED\n" } else { "DENIED\n" });
    if let Some(via) = d.via {
        let grantee_name = engine.grantee_name(&via.grant).await?;
        let deny = if via.grant.is_deny() { "DENY " } else { "" };
        out.push_str("\nVia:\n");
        out.push_str(&format!("    target type  : {}\n", via.target_type));
        out.push_str(&format!("    target       : {}\n", via.target_name));
        out.push_str(&format!("    grantee type : {}\n", via.grant.grantee_type));
        out.push_str(&format!("    grantee      : {grantee_name}\n"));
        out.push_str(&format!("    right        : {deny}{}\n", via.grant.right));
    }
    Ok(out)
}

fn attr_section(out: &mut String, title: &str, all: bool, attrs: &[String], expand: bool) {
    out.push_str(&format!("\n{title}\n{}\n", "-".repeat(title.len())));
    if all && !expand {
        out.push_str("    All attributes\n");
        return;
    }
    for a in attrs {
        out.push_str(&format!("    {a}\n"));
    }
}

fn effective_text(grantee: &str, e: &EffectiveRights, set_all: bool, get_all: bool) -> String {
    let mut out = format!(
        "Account {grantee} has the following rights on target {} {}\n",
        e.target_type, e.target_name
    );
    out.push_str("\nPreset rights\n-------------\n");
    for r in &e.preset {
        out.push_str(&format!("    {r}\n"));
    }
    attr_section(
        &mut out,
        "Set attributes",
        e.set_attrs.all,
        &e.set_attrs.attrs,
        set_all,
    );
    attr_section(
        &mut out,
        "Get attributes",
        e.get_attrs.all,
        &e.get_attrs.attrs,
        get_all,
    );
    out
}

fn expand_flags(words: &[String]) -> Result<(bool, bool), CmdError> {
    let (mut set, mut get) = (false, false);
    for w in words {
        match w.as_str() {
            "expandSetAttrs" => set = true,
            "expandGetAttrs" => get = true,
            _ => return Err(CmdError::Usage),
        }
    }
    Ok((set, get))
}

/// `ger {target-type} [{target}] {grantee} [expandSetAttrs] [expandGetAttrs]`.
pub(super) async fn get_effective_rights(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let tt = target_type(&a[0])?;
    let (target, rest) = if tt.is_singleton() {
        (None, &a[1..])
    } else {
        (Some(a.get(1).ok_or(CmdError::Usage)?.as_str()), &a[2..])
    };
    let (grantee, flags) = rest.split_first().ok_or(CmdError::Usage)?;
    let (set, get) = expand_flags(flags)?;
    let engine = p.rights();
    let t = engine.target(tt, target).await?;
    let who = p.get_account(grantee).await?;
    let e = engine.effective_rights(&who, &t).await?;
    Ok(effective_text(&who.name, &e, set, get))
}

/// `gaer {grantee-type} {grantee} [expandSetAttrs] [expandGetAttrs]`: the effective
/// rights on every entry a grant to the grantee sits on.
pub(super) async fn get_all_effective_rights(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    if grantee_type(&a[0])? != GranteeType::Usr {
        return Err(CmdError::Fault(zcs_core::ServiceError::invalid_request(
            "only usr grantees are supported",
        )));
    }
    let (set, get) = expand_flags(&a[2..])?;
    let who = p.get_account(&a[1]).await?;
    let mut out = String::new();
    for e in p.rights().all_effective_rights(&who).await? {
        out.push_str(&effective_text(&who.name, &e, set, get));
        out.push('\n');
    }
    Ok(out)
}

/// The `gr` description of one right; `expand` lists combo members recursively.
pub(crate) fn describe(d: &'static RightDef, expand: bool) -> String {
    let r = Right::Def(d);
    let targets: Vec<&str> = r.target_types().iter().map(|t| t.code()).collect();
    let mut out = format!("{}\n", d.name);
    out.push_str(&format!("    description: {}\n", d.desc));
    out.push_str(&format!("    right type: {}\n", d.kind.code()));
    out.push_str(&format!("    target type(s): {}\n", targets.join(",")));
    out.push_str(&format!("    right class: {}\n", d.class.code()));
    if matches!(
        d.kind,
        registry::RightKind::GetAttrs | registry::RightKind::SetAttrs
    ) {
        if d.attrs.is_empty() {
            out.push_str("    attributes: all attributes\n");
        } else {
            out.push_str("    attributes:\n");
            for a in d.attrs {
                out.push_str(&format!("        {a}\n"));
            }
        }
    }
    if !d.members.is_empty() {
        out.push_str("    rights:\n");
        members(&mut out, d, expand, 2);
    }
    out
}

fn members(out: &mut String, d: &'static RightDef, expand: bool, depth: usize) {
    for m in d.members {
        out.push_str(&format!("{}{m}\n", "    ".repeat(depth)));
        if expand
            && depth < 8
            && let Some(Right::Def(md)) = Right::lookup(m)
        {
            members(out, md, expand, depth + 1);
        }
    }
}

/// `gr {right} [-e]`.
pub(super) async fn get_right(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let expand = match a.get(1).map(String::as_str) {
        None => false,
        Some("-e") => true,
        Some(_) => return Err(CmdError::Usage),
    };
    match Right::lookup(&a[0]) {
        Some(Right::Def(d)) => Ok(describe(d, expand)),
        Some(inline) => Ok(format!(
            "{}\n    right type: {}\n    right class: ADMIN\n",
            inline.name(),
            inline.kind().code()
        )),
        None => Err(CmdError::Fault(zcs_directory::rights::no_such_right(&a[0]))),
    }
}

/// `gar [-v] [-t {target-type}] [-c ALL|ADMIN|USER]`: right names, one per line (full
/// descriptions with `-v`).
pub(super) async fn get_all_rights(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (mut verbose, mut tt, mut class) = (false, None, None);
    let mut i = 0;
    while i < a.len() {
        match a[i].as_str() {
            "-v" => verbose = true,
            "-t" => {
                i += 1;
                tt = Some(target_type(a.get(i).ok_or(CmdError::Usage)?)?);
            }
            "-c" => {
                i += 1;
                class = match a.get(i).map(|s| s.to_ascii_uppercase()).as_deref() {
                    Some("ALL") => None,
                    Some("ADMIN") => Some(RightClass::Admin),
                    Some("USER") => Some(RightClass::User),
                    _ => return Err(CmdError::Usage),
                };
            }
            _ => return Err(CmdError::Usage),
        }
        i += 1;
    }
    let mut out = String::new();
    for d in RIGHTS {
        if class.is_some_and(|c| c != d.class) {
            continue;
        }
        if let Some(t) = tt
            && !Right::Def(d).target_types().contains(&t)
        {
            continue;
        }
        if verbose {
            out.push_str(&describe(d, false));
            out.push('\n');
        } else {
            out.push_str(d.name);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use zcs_directory::{AuthRegistry, Provisioning, SqlDirectory};

    use super::super::{Outcome, format_fault, run, split_line};

    async fn z(p: &Provisioning, line: &str) -> Result<String, String> {
        let mut out = Vec::new();
        match run(p, &split_line(line), &mut out).await.expect("write") {
            Outcome::Done => Ok(String::from_utf8(out).expect("utf-8")),
            Outcome::Usage(c) => Err(format!("usage: {}", c.long)),
            Outcome::Fault(f) => Err(format_fault(&f)),
        }
    }

    async fn ok(p: &Provisioning, line: &str) -> String {
        z(p, line).await.unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[tokio::test]
    async fn rights_commands_round_trip() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = SqlDirectory::open_sqlite(&tmp.path().join("d.db"))
            .await
            .expect("open");
        let p = Provisioning::new(Arc::new(dir), AuthRegistry::new());
        ok(&p, "cd ex.test").await;
        ok(&p, "cd other.test").await;
        ok(
            &p,
            "ca da@ex.test Passw0rd! zimbraIsDelegatedAdminAccount TRUE",
        )
        .await;
        ok(&p, "ca u@ex.test Passw0rd!").await;
        ok(&p, "grr domain ex.test usr da@ex.test +createAccount").await;
        ok(&p, "grr global usr da@ex.test -createAccount").await;
        let ck = ok(&p, "ckr domain ex.test da@ex.test createAccount").await;
        assert!(ck.starts_with("ALLOWED\n"), "{ck}");
        assert!(ck.contains("    target       : ex.test\n"), "{ck}");
        let ck = ok(&p, "ckr domain other.test da@ex.test createAccount").await;
        assert!(ck.starts_with("DENIED\n") && ck.contains("right        : DENY createAccount"));
        let gg = ok(&p, "gg -t domain ex.test").await;
        assert!(gg.starts_with("target type "), "{gg}");
        let line = gg.lines().nth(2).expect("one grant");
        assert!(
            line.starts_with("domain ") && line.ends_with(" +createAccount"),
            "{line}"
        );
        assert!(line.contains(" da@ex.test "), "{line}");
        let gg = ok(&p, "gg -g usr da@ex.test").await;
        assert_eq!(gg.lines().count(), 4, "{gg}");
        let ger = ok(&p, "ger domain ex.test da@ex.test").await;
        assert!(ger.contains("    createAccount\n"), "{ger}");
        let gaer = ok(&p, "gaer usr da@ex.test").await;
        assert!(gaer.contains("target domain ex.test"), "{gaer}");
        let gr = ok(&p, "gr domainAdminRights -e").await;
        assert!(gr.contains("right type: combo") && gr.contains("            createAccount"));
        let gar = ok(&p, "gar -t dl -c USER").await;
        assert!(gar.contains("sendToDistList\n") && !gar.contains("createAccount"));
        assert!(
            z(&p, "gr noSuchRight")
                .await
                .unwrap_err()
                .contains("NO_SUCH_RIGHT")
        );
        // Admin rights go to admins only; user rights to anyone.
        assert!(
            z(&p, "grr domain ex.test usr u@ex.test createAccount")
                .await
                .is_err()
        );
        ok(&p, "grr account da@ex.test usr u@ex.test sendAs").await;
        ok(&p, "rvr account da@ex.test usr u@ex.test sendAs").await;
        ok(&p, "rvr global usr da@ex.test -createAccount").await;
        let ck = ok(&p, "ckr domain other.test da@ex.test createAccount").await;
        assert_eq!(ck, "DENIED\n");
        assert_eq!(
            z(&p, "grr domain ex.test usr da@ex.test")
                .await
                .unwrap_err(),
            "usage: grantRight"
        );
    }
}
