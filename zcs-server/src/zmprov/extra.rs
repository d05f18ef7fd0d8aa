//! `zmprov` commands beyond the basic create/get/modify set: `setAccountCOS` (sac),
//! `deleteServer` (ds), `getDomainInfo` (gdi), `createBulkAccounts` (cabulk),
//! `getAllMtaAuthURLs` (gamau), `getAllMemcachedServers` (gamcs) and
//! `purgeAccountCalendarCache` (pacc), each printing what Zimbra's zmprov prints.

use zcs_core::attrs::{self, AttrFlags};
use zcs_core::{AttrEdit, Attrs, Entry, FaultCode, ServiceError};
use zcs_directory::{EntryKey, Provisioning};

use super::commands::{CmdError, format_entry};

/// The password `createBulkAccounts` gives every account it makes when no password is
/// given, as Zimbra's does (the command exists to fill test systems): a well-known
/// password, so a run without one logs a warning.
pub const BULK_PASSWORD: &str = "test123";

/// Most accounts one `createBulkAccounts` run makes: a typo must not fill the directory.
const BULK_MAX: u64 = 100_000;

/// `sac {name@domain|id} {cos-name|cos-id}`: sets the account's `zimbraCOSId` to the
/// COS's id; prints nothing.
pub(super) async fn set_account_cos(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let account = p.get_account(&a[0]).await?;
    let cos = p.get_cos(&EntryKey::parse(&a[1])).await?;
    let edit = AttrEdit::Replace("zimbraCOSId".into(), vec![cos.id.to_string()]);
    p.modify_account(&account.id.to_string(), &[edit]).await?;
    Ok(String::new())
}

/// `ds {name|id}`: deletes the server entry; prints nothing.
pub(super) async fn delete_server(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    p.delete_server(&EntryKey::parse(&a[0])).await?;
    Ok(String::new())
}

/// The domain a `gdi` selector finds: `name`, `id`, `virtualHostname` (any of the
/// domain's `zimbraVirtualHostname` values) or `krb5Realm` (`zimbraAuthKerberos5Realm`),
/// all compared ignoring case.
async fn domain_by(p: &Provisioning, by: &str, value: &str) -> Result<Entry, CmdError> {
    let attr = match by {
        "name" => return Ok(p.get_domain(&EntryKey::Name(value.into())).await?),
        "id" => return Ok(p.get_domain(&EntryKey::parse(value)).await?),
        "virtualHostname" => "zimbraVirtualHostname",
        "krb5Realm" => "zimbraAuthKerberos5Realm",
        _ => return Err(CmdError::Usage),
    };
    p.all_domains()
        .await?
        .into_iter()
        .find(|d| {
            d.attrs
                .get_all(attr)
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value))
        })
        .ok_or_else(|| {
            CmdError::Fault(ServiceError::new(
                FaultCode::NoSuchDomain,
                format!("no such domain: {value}"),
            ))
        })
}

/// `gdi {name|id|virtualHostname|krb5Realm} {value} [attr ...]`: the domain's public
/// attributes, the ones Zimbra flags `domainInfo` (what the login page may read before
/// anyone signs in), with the global config's value where the domain has none; printed
/// as `getDomain` prints, with the same name and `attr=value` filters.
pub(super) async fn get_domain_info(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let d = domain_by(p, &a[0], &a[1]).await?;
    let effective = p.effective_domain_attrs(&d).await?;
    let mut public = Attrs::new();
    for (name, values) in effective.iter() {
        let flagged = attrs::meta(name).is_some_and(|m| m.flags.contains(AttrFlags::DOMAIN_INFO));
        if flagged {
            public.set(name, values.to_vec());
        }
    }
    Ok(format_entry(Some(&d.name), &public, &a[2..]))
}

/// `cabulk {domain} {namemask} {count} [password]`: creates `<namemask>0@domain` up to
/// `<namemask>{count-1}@domain`, each with `password` (newer Zimbra's optional fourth
/// argument; [`BULK_PASSWORD`] without it) and the
/// display name `<namemask> N. <i>`, printing each new account's id on its own line,
/// as Zimbra does. Stops at the first failure (the ids already printed stay).
pub(super) async fn create_bulk_accounts(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let domain = p.get_domain(&EntryKey::Name(a[0].clone())).await?;
    let mask = &a[1];
    let count: u64 = a[2].trim().parse().map_err(|_| {
        CmdError::Fault(ServiceError::invalid_request(format!(
            "number of accounts to create: not a number: {}",
            a[2]
        )))
    })?;
    if count > BULK_MAX {
        return Err(CmdError::Fault(ServiceError::invalid_request(format!(
            "at most {BULK_MAX} accounts per createBulkAccounts"
        ))));
    }
    let password = match a.get(3) {
        Some(pw) => pw.as_str(),
        None => {
            tracing::warn!(domain = %domain.name, count,
                "createBulkAccounts without a password: every account gets the well-known \
                 test password; give one as the fourth argument outside test systems");
            BULK_PASSWORD
        }
    };
    let mut out = String::new();
    for i in 0..count {
        let name = format!("{mask}{i}@{}", domain.name);
        let mut attrs = Attrs::new();
        attrs.set_one("displayName", format!("{mask} N. {i}"));
        match p.create_account(&name, Some(password), attrs).await {
            Ok(e) => out.push_str(&format!("{}\n", e.id)),
            // What was created is printed before the fault, as Zimbra prints each id
            // as it goes.
            Err(e) if !out.is_empty() => {
                return Err(CmdError::Partial(out, e));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Whether the server's `attr` (with the global config's value where the server has
/// none) is `TRUE`.
fn server_flag(server: &Entry, global: &Entry, attr: &str) -> bool {
    Provisioning::server_attr(server, global, attr).is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
}

/// `gamau`: the admin SOAP URL of every server that is an MTA authentication target
/// (`zimbraMtaAuthTarget`), all on one line, each followed by a space, as saslauthd's
/// configuration takes them: `https://<zimbraServiceHostname>:<port>/service/admin/soap/`
/// with the port `zimbraMtaAuthPort` (else `zimbraAdminPort`).
pub(super) async fn get_all_mta_auth_urls(
    p: &Provisioning,
    _a: &[String],
) -> Result<String, CmdError> {
    let global = p.global_config().await?;
    let mut line = String::new();
    for s in p.all_servers().await? {
        if !server_flag(&s, &global, "zimbraMtaAuthTarget") {
            continue;
        }
        let host = s
            .attrs
            .get("zimbraServiceHostname")
            .unwrap_or(&s.name)
            .to_string();
        let port = Provisioning::server_attr(&s, &global, "zimbraMtaAuthPort")
            .or_else(|| Provisioning::server_attr(&s, &global, "zimbraAdminPort"))
            .unwrap_or_else(|| "7071".into());
        line.push_str(&format!("https://{host}:{port}/service/admin/soap/ "));
    }
    line.push('\n');
    Ok(line)
}

/// `gamcs`: `<zimbraMemcachedBindAddress>:<zimbraMemcachedBindPort>` of every server
/// running the `memcached` service (`zimbraServiceEnabled`), all on one line, each
/// followed by a space, as the proxy's configuration takes them.
pub(super) async fn get_all_memcached_servers(
    p: &Provisioning,
    _a: &[String],
) -> Result<String, CmdError> {
    let global = p.global_config().await?;
    let mut line = String::new();
    for s in p.all_servers().await? {
        let runs = s
            .attrs
            .get_all("zimbraServiceEnabled")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("memcached"));
        if !runs {
            continue;
        }
        let addr = Provisioning::server_attr(&s, &global, "zimbraMemcachedBindAddress")
            .unwrap_or_default();
        let port =
            Provisioning::server_attr(&s, &global, "zimbraMemcachedBindPort").unwrap_or_default();
        line.push_str(&format!("{addr}:{port} "));
    }
    line.push('\n');
    Ok(line)
}

/// `pacc {name@domain|id} [...]`: checks every account exists (a missing one fails with
/// `account.NO_SUCH_ACCOUNT`, as Zimbra's does) and prints nothing.
///
/// Zimbra keeps a per-mailbox calendar summary cache in the mailbox server's memory and
/// memcached; zcs keeps no calendar cache of its own (calendar requests read the
/// store), so there is nothing to purge.
pub(super) async fn purge_account_calendar_cache(
    p: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    for key in a {
        p.get_account(key).await?;
    }
    Ok(String::new())
}
