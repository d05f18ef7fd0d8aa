//! The `zmprov` command table: each command's long and short name, its usage line and
//! its handler.

use std::future::Future;
use std::pin::Pin;

use zcs_core::{AttrEdit, Attrs, Entry, ServiceError, attrs};
use zcs_directory::{EntryKey, Provisioning};

/// Why a handler did not produce output.
pub enum CmdError {
    /// Wrong arguments: the caller prints the usage line.
    Usage,
    /// The operation failed.
    Fault(ServiceError),
}

impl From<ServiceError> for CmdError {
    fn from(e: ServiceError) -> Self {
        CmdError::Fault(e)
    }
}

type Fut<'a> = Pin<Box<dyn Future<Output = Result<String, CmdError>> + Send + 'a>>;
type Handler = for<'a> fn(&'a Provisioning, &'a [String]) -> Fut<'a>;

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

macro_rules! cmd {
    ($long:literal, $short:literal, $usage:literal, $min:expr, $max:expr, $f:ident) => {
        Command {
            long: $long,
            short: $short,
            usage: $usage,
            min_args: $min,
            max_args: $max,
            run: |p, a| Box::pin($f(p, a)),
        }
    };
}

/// Every command, in the order `zmprov help` lists them.
pub static COMMANDS: &[Command] = &[
    cmd!(
        "addAccountAlias",
        "aaa",
        "{name@domain|id} {alias@domain}",
        2,
        Some(2),
        add_alias
    ),
    cmd!(
        "createAccount",
        "ca",
        "{name@domain} {password} [attr1 value1 [attr2 value2...]]",
        2,
        None,
        create_account
    ),
    cmd!(
        "deleteAccount",
        "da",
        "{name@domain|id}",
        1,
        Some(1),
        delete_account
    ),
    cmd!(
        "getAccount",
        "ga",
        "{name@domain|id} [attr1 [attr2...]]",
        1,
        None,
        get_account
    ),
    cmd!(
        "getAllAccounts",
        "gaa",
        "[-v] [{domain}]",
        0,
        Some(2),
        get_all_accounts
    ),
    cmd!(
        "getAllAdminAccounts",
        "gaaa",
        "[-v]",
        0,
        Some(1),
        get_all_admin_accounts
    ),
    cmd!(
        "modifyAccount",
        "ma",
        "{name@domain|id} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        modify_account
    ),
    cmd!(
        "removeAccountAlias",
        "raa",
        "{name@domain|id} {alias@domain}",
        2,
        Some(2),
        remove_alias
    ),
    cmd!(
        "renameAccount",
        "ra",
        "{name@domain|id} {newname@domain}",
        2,
        Some(2),
        rename_account
    ),
    cmd!(
        "setPassword",
        "sp",
        "{name@domain|id} {password}",
        2,
        Some(2),
        set_password
    ),
    cmd!(
        "createDomain",
        "cd",
        "{domain} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        create_domain
    ),
    cmd!(
        "deleteDomain",
        "dd",
        "{domain|id}",
        1,
        Some(1),
        delete_domain
    ),
    cmd!(
        "getDomain",
        "gd",
        "{domain|id} [attr1 [attr2...]]",
        1,
        None,
        get_domain
    ),
    cmd!("getAllDomains", "gad", "[-v]", 0, Some(1), get_all_domains),
    cmd!(
        "modifyDomain",
        "md",
        "{domain|id} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        modify_domain
    ),
    cmd!(
        "createCos",
        "cc",
        "{name} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        create_cos
    ),
    cmd!(
        "getCos",
        "gc",
        "{name|id} [attr1 [attr2...]]",
        1,
        None,
        get_cos
    ),
    cmd!("getAllCos", "gac", "[-v]", 0, Some(1), get_all_cos),
    cmd!(
        "modifyCos",
        "mc",
        "{name|id} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        modify_cos
    ),
    cmd!(
        "createServer",
        "cs",
        "{name} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        create_server
    ),
    cmd!(
        "getServer",
        "gs",
        "{name|id} [attr1 [attr2...]]",
        1,
        None,
        get_server
    ),
    cmd!("getAllServers", "gas", "[-v]", 0, Some(1), get_all_servers),
    cmd!(
        "modifyServer",
        "ms",
        "{name|id} [attr1 value1 [attr2 value2...]]",
        1,
        None,
        modify_server
    ),
    cmd!("getConfig", "gcf", "{name}", 1, Some(1), get_config),
    cmd!(
        "getAllConfig",
        "gacf",
        "[attr1 [attr2...]]",
        0,
        None,
        get_all_config
    ),
    cmd!(
        "modifyConfig",
        "mcf",
        "attr1 value1 [attr2 value2...]",
        2,
        None,
        modify_config
    ),
    cmd!(
        "describe",
        "desc",
        "-a {attribute-name}",
        0,
        Some(2),
        describe
    ),
    cmd!("help", "?", "[command]", 0, Some(1), help),
];

/// The command named `name` (long or short), case-insensitively.
pub fn find_command(name: &str) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.long.eq_ignore_ascii_case(name) || c.short.eq_ignore_ascii_case(name))
}

/// Whether get commands print `VALUE-BLOCKED` instead of the attribute's value, as
/// Zimbra does for password hashes and token keys.
pub fn is_blocked(attr: &str) -> bool {
    attr.eq_ignore_ascii_case("userPassword") || attr.to_ascii_lowercase().ends_with("tokenkey")
}

/// Prints an entry as get commands do: `# name <name>` (unless `name` is `None`), then
/// `attr: value` lines in attribute-name order, limited to `only` when it is not empty.
/// Blocked attributes ([`is_blocked`]) print `VALUE-BLOCKED`.
pub fn format_entry(name: Option<&str>, attrs: &Attrs, only: &[String]) -> String {
    let mut out = String::new();
    if let Some(n) = name {
        out.push_str(&format!("# name {n}\n"));
    }
    for (attr, values) in attrs.iter() {
        if !only.is_empty() && !only.iter().any(|o| o.eq_ignore_ascii_case(attr)) {
            continue;
        }
        for v in values {
            let v = if is_blocked(attr) { "VALUE-BLOCKED" } else { v };
            out.push_str(&format!("{attr}: {v}\n"));
        }
    }
    out
}

fn edits(args: &[String]) -> Result<Vec<AttrEdit>, CmdError> {
    AttrEdit::parse_pairs(args).map_err(|m| CmdError::Fault(ServiceError::invalid_request(m)))
}

fn attrs_from(args: &[String]) -> Result<Attrs, CmdError> {
    let mut attrs = Attrs::new();
    for e in edits(args)? {
        attrs.apply(&e);
    }
    Ok(attrs)
}

fn verbose(args: &[String]) -> (bool, Vec<String>) {
    let v = args.iter().any(|a| a == "-v");
    (v, args.iter().filter(|a| *a != "-v").cloned().collect())
}

fn list(entries: Vec<Entry>, verbose: bool) -> String {
    if !verbose {
        return entries.iter().map(|e| format!("{}\n", e.name)).collect();
    }
    entries
        .iter()
        .map(|e| format_entry(Some(&e.name), &e.attrs, &[]) + "\n")
        .collect()
}

async fn create_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let password = (!a[1].is_empty()).then_some(a[1].as_str());
    let e = p
        .create_account(&a[0], password, attrs_from(&a[2..])?)
        .await?;
    Ok(format!("{}\n", e.id))
}

async fn get_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_account(&a[0]).await?;
    let attrs = p.effective_account_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

async fn modify_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_account(&a[0], &edits(&a[1..])?).await?;
    Ok(String::new())
}

async fn set_password(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.set_password(&a[0], &a[1]).await?;
    Ok(String::new())
}

async fn delete_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_account(&a[0]).await?;
    Ok(String::new())
}

async fn get_all_accounts(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (v, rest) = verbose(a);
    if rest.len() > 1 {
        return Err(CmdError::Usage);
    }
    let accounts = p.all_accounts(rest.first().map(String::as_str)).await?;
    Ok(list(accounts, v))
}

async fn get_all_admin_accounts(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
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

async fn add_alias(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.add_account_alias(&a[0], &a[1]).await?;
    Ok(String::new())
}

async fn remove_alias(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.remove_account_alias(&a[0], &a[1]).await?;
    Ok(String::new())
}

async fn rename_account(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.rename_account(&a[0], &a[1]).await?;
    Ok(String::new())
}

async fn create_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_domain(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

async fn get_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_domain(&EntryKey::parse(&a[0])).await?;
    let attrs = p.effective_domain_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

async fn get_all_domains(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    Ok(list(p.all_domains().await?, verbose(a).0))
}

async fn modify_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_domain(&EntryKey::parse(&a[0]), &edits(&a[1..])?)
        .await?;
    Ok(String::new())
}

async fn delete_domain(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_domain(&EntryKey::parse(&a[0])).await?;
    Ok(String::new())
}

async fn create_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_cos(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

async fn get_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_cos(&EntryKey::parse(&a[0])).await?;
    Ok(format_entry(Some(&e.name), &e.attrs, &a[1..]))
}

async fn get_all_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    Ok(list(p.all_cos().await?, verbose(a).0))
}

async fn modify_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_cos(&EntryKey::parse(&a[0]), &edits(&a[1..])?)
        .await?;
    Ok(String::new())
}

async fn create_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.create_server(&a[0], attrs_from(&a[1..])?).await?;
    Ok(format!("{}\n", e.id))
}

async fn get_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.get_server(&EntryKey::parse(&a[0])).await?;
    let attrs = p.effective_server_attrs(&e).await?;
    Ok(format_entry(Some(&e.name), &attrs, &a[1..]))
}

async fn get_all_servers(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    Ok(list(p.all_servers().await?, verbose(a).0))
}

async fn modify_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_server(&EntryKey::parse(&a[0]), &edits(&a[1..])?)
        .await?;
    Ok(String::new())
}

async fn get_config(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.global_config().await?;
    Ok(format_entry(None, &e.attrs, &a[..1]))
}

async fn get_all_config(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let e = p.global_config().await?;
    Ok(format_entry(None, &e.attrs, a))
}

async fn modify_config(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.modify_global_config(&edits(a)?).await?;
    Ok(String::new())
}

async fn describe(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    match a {
        [flag, name] if flag == "-a" => match attrs::lookup(name) {
            Some(def) => Ok(attrs::describe(def)),
            None => Err(CmdError::Fault(ServiceError::new(
                zcs_core::FaultCode::InvalidAttrName,
                format!("no such attribute: {name}"),
            ))),
        },
        [] => Ok(attrs::ATTRS
            .iter()
            .map(|d| format!("{}\n", d.name))
            .collect()),
        _ => Err(CmdError::Usage),
    }
}

async fn help(_p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let wanted = a.first();
    let mut out = String::new();
    for c in COMMANDS {
        let shown = wanted
            .is_none_or(|w| c.long.eq_ignore_ascii_case(w) || c.short.eq_ignore_ascii_case(w));
        if shown {
            out.push_str(&format!("  {}({}) {}\n", c.long, c.short, c.usage));
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
        a.set_one("userPassword", "{SSHA512}abc");
        assert!(format_entry(None, &a, &[]).contains("userPassword: VALUE-BLOCKED\n"));
    }
}
