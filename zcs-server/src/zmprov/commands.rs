//! The `zmprov` commands for accounts, domains, COS, servers and config: their handlers
//! and the output helpers every handler shares. The table of all commands is in
//! `table`.

use std::future::Future;
use std::pin::Pin;

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError};
use zcs_directory::{EntryKey, Provisioning};

/// Why a handler did not produce output.
pub enum CmdError {
    /// Wrong arguments: the caller prints the usage line.
    Usage,
    /// The operation failed.
    Fault(ServiceError),
    /// The operation failed part way: the output made so far is printed, then the fault
    /// (`createBulkAccounts` prints each id as it goes).
    Partial(String, ServiceError),
}

impl From<ServiceError> for CmdError {
    fn from(e: ServiceError) -> Self {
        CmdError::Fault(e)
    }
}

pub(super) type Fut<'a> = Pin<Box<dyn Future<Output = Result<String, CmdError>> + Send + 'a>>;
pub(super) type Handler = for<'a> fn(&'a Provisioning, &'a [String]) -> Fut<'a>;

/// One `zmprov` command.
pub struct Command {
    pub long: &'static str,
    pub short: &'static str,
    pub usage: &'static str,
    pub min_args: usize,
    pub max_args: Option<usize>,
    pub run: Handler,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.long, self.short)
    }
}

pub use super::table::COMMANDS;

/// The command named `name` (long or short), case-insensitively.
pub fn find_command(name: &str) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.long.eq_ignore_ascii_case(name) || c.short.eq_ignore_ascii_case(name))
}

/// Whether get commands print `VALUE-BLOCKED` instead of the attribute's value, as
/// Zimbra does for password hashes and token keys.
pub fn is_blocked(attr: &str) -> bool {
    let a = attr.to_ascii_lowercase();
    a == "userpassword"
        || a == "zimbrapasswordhistory"
        || a.ends_with("tokenkey")
        || a == "zimbradatasourcepassword"
        || a == "zimbraauthldapsearchbindpassword"
}

/// Prints an entry as get commands do: `# name <name>` (unless `name` is `None`), then
/// `attr: value` lines in attribute-name order. When `only` is not empty it limits the
/// output, as Zimbra's get commands read their trailing arguments: `attr` prints that
/// attribute's values, `attr=value` prints that value only if the attribute holds it
/// (exact match), so `gs host zimbraServiceEnabled=ldap` answers whether `ldap` is
/// among the values. Several `attr=value` words for one attribute print each value
/// held. Names compare ignoring case. Blocked attributes ([`is_blocked`]) print
/// `VALUE-BLOCKED`.
pub fn format_entry(name: Option<&str>, attrs: &Attrs, only: &[String]) -> String {
    let mut out = String::new();
    if let Some(n) = name {
        out.push_str(&format!("# name {n}\n"));
    }
    let wanted: Vec<(&str, Option<&str>)> = only
        .iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) if !v.is_empty() => (n, Some(v)),
            Some((n, _)) => (n, None),
            None => (w.as_str(), None),
        })
        .collect();
    for (attr, values) in attrs.iter() {
        let asked: Vec<Option<&str>> = wanted
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(attr))
            .map(|(_, v)| *v)
            .collect();
        if !wanted.is_empty() && asked.is_empty() {
            continue;
        }
        let any_value = asked.is_empty() || asked.iter().any(Option::is_none);
        for v in values {
            if !any_value && !asked.contains(&Some(v.as_str())) {
                continue;
            }
            let v = if is_blocked(attr) { "VALUE-BLOCKED" } else { v };
            out.push_str(&format!("{attr}: {v}\n"));
        }
    }
    out
}

pub(super) fn edits(args: &[String]) -> Result<Vec<AttrEdit>, CmdError> {
    AttrEdit::parse_pairs(args).map_err(|m| CmdError::Fault(ServiceError::invalid_request(m)))
}

pub(super) fn attrs_from(args: &[String]) -> Result<Attrs, CmdError> {
    let mut attrs = Attrs::new();
    for e in edits(args)? {
        attrs.apply(&e);
    }
    Ok(attrs)
}

pub(super) fn verbose(args: &[String]) -> (bool, Vec<String>) {
    let v = args.iter().any(|a| a == "-v");
    (v, args.iter().filter(|a| *a != "-v").cloned().collect())
}

pub(super) fn list(entries: Vec<Entry>, verbose: bool) -> String {
    if !verbose {
        return entries.iter().map(|e| format!("{}\n", e.name)).collect();
    }
    entries
        .iter()
        .map(|e| format_entry(Some(&e.name), &e.attrs, &[]) + "\n")
        .collect()
}

pub(super) async fn create_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let password = (!a[1].is_empty()).then_some(a[1].as_str());
    let e = p
        .create_account(&a[0], password, attrs_from(&a[2..])?)
        .await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn get_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_account(&a[0]).await?;
    let attrs = p.effective_account_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

pub(super) async fn modify_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_account(&a[0], &edits(&a[1..])?).await?;
    Ok(String::new())
}

pub(super) async fn set_password(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.set_password(&a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn delete_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_account(&a[0]).await?;
    Ok(String::new())
}

pub(super) async fn get_all_accounts(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (v, rest) = verbose(a);
    if rest.len() > 1 {
        return Err(CmdError::Usage);
    }
    let accounts = p.all_accounts(rest.first().map(String::as_str)).await?;
    Ok(list(accounts, v))
}

pub(super) async fn get_all_admin_accounts(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let (v, _) = verbose(a);
    let admins = p
        .all_accounts(None)
        .await?
        .into_iter()
        .filter(|e| {
            e.attrs
                .get("zimbraIsAdminAccount")
                .is_some_and(|x| x.eq_ignore_ascii_case("TRUE"))
        })
        .collect();
    Ok(list(admins, v))
}

pub(super) async fn add_alias(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.add_account_alias(&a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn remove_alias(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.remove_account_alias(&a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn rename_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rename_account(&a[0], &a[1]).await?;
    Ok(String::new())
}

pub(super) async fn create_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_domain(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn get_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_domain(&EntryKey::parse(&a[0])).await?;
    let attrs = p.effective_domain_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

pub(super) async fn get_all_domains(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    Ok(list(p.all_domains().await?, verbose(a).0))
}

pub(super) async fn modify_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_domain(&EntryKey::parse(&a[0]), &edits(&a[1..])?)
        .await?;
    Ok(String::new())
}

pub(super) async fn delete_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_domain(&EntryKey::parse(&a[0])).await?;
    Ok(String::new())
}

pub(super) async fn create_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_cos(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn get_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_cos(&EntryKey::parse(&a[0])).await?;
    Ok(format_entry(Some(&e.name), &e.attrs, &a[1..]))
}

pub(super) async fn get_all_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    Ok(list(p.all_cos().await?, verbose(a).0))
}

pub(super) async fn modify_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_cos(&EntryKey::parse(&a[0]), &edits(&a[1..])?)
        .await?;
    Ok(String::new())
}

/// `copyCos src dest`: prints the new COS's id, as `createCos` does.
pub(super) async fn copy_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.copy_cos(&EntryKey::parse(&a[0]), &a[1]).await?;
    Ok(format!("{}\n", e.id))
}

/// `renameCos cos newName`: prints nothing.
pub(super) async fn rename_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rename_cos(&EntryKey::parse(&a[0]), &a[1]).await?;
    Ok(String::new())
}

/// `deleteCos cos`: prints nothing.
pub(super) async fn delete_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_cos(&EntryKey::parse(&a[0])).await?;
    Ok(String::new())
}

pub(super) async fn create_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_server(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

pub(super) async fn get_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_server(&EntryKey::parse(&a[0])).await?;
    let attrs = p.effective_server_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

pub(super) async fn get_all_servers(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    Ok(list(p.all_servers().await?, verbose(a).0))
}

pub(super) async fn modify_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_server(&EntryKey::parse(&a[0]), &edits(&a[1..])?)
        .await?;
    Ok(String::new())
}

pub(super) async fn get_config(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.global_config().await?;
    Ok(format_entry(None, &e.attrs, &a[..1]))
}

pub(super) async fn get_all_config(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.global_config().await?;
    Ok(format_entry(None, &e.attrs, a))
}

pub(super) async fn modify_config(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_global_config(&edits(a)?).await?;
    Ok(String::new())
}

pub(super) async fn help(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let wanted = a.first();
    let mut out = String::new();
    for c in COMMANDS {
        let shown = wanted
            .is_none_or(|w| c.long.eq_ignore_ascii_case(w) || c.short.eq_ignore_ascii_case(w));
        if shown {
            out.push_str(format!("  {}({}) {}", c.long, c.short, c.usage).trim_end());
            out.push('\n');
        }
    }
    if out.is_empty() {
        return Err(CmdError::Fault(ServiceError::invalid_request(format!(
            "unknown command: {}",
            wanted.map(String::as_str).unwrap_or_default()
        ))));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        assert_eq!(find_command("CA").unwrap().long, "createAccount");
        assert_eq!(find_command("getaccount").unwrap().short, "ga");
        assert!(find_command("nosuch").is_none());
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(seen.insert(c.long.to_ascii_lowercase()));
            assert!(seen.insert(c.short.to_ascii_lowercase()));
        }
    }

    #[test]
    fn entries_print_in_zimbra_form() {
        let mut a = Attrs::new();
        a.set("zimbraMailAlias", vec!["b@x".into(), "a@x".into()]);
        a.set_one("displayName", "J");
        assert_eq!(
            format_entry(Some("u@x"), &a, &[]),
            "# name u@x\ndisplayName: J\nzimbraMailAlias: b@x\nzimbraMailAlias: a@x\n"
        );
        assert_eq!(
            format_entry(None, &a, &["DISPLAYNAME".into()]),
            "displayName: J\n"
        );
        assert_eq!(
            format_entry(None, &a, &["zimbraMailAlias=a@x".into()]),
            "zimbraMailAlias: a@x\n"
        );
        assert_eq!(format_entry(None, &a, &["zimbraMailAlias=c@x".into()]), "");
        a.set_one("userPassword", "{SSHA512}abc");
        assert!(format_entry(None, &a, &[]).contains("userPassword: VALUE-BLOCKED\n"));
    }
}
