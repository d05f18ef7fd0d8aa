//! `zmprov flushCache|fc [-a] {type[,type...]} [name|id ...]`, and the flush zmprov
//! sends after its own changes: both reach the running server of this home through an
//! admin `FlushCacheRequest` (see `crate::admin_client`), so the server's directory
//! cache sees what zmprov wrote. Without a running server there is nothing to flush.

use zcs_core::ServiceError;
use zcs_directory::Provisioning;

use super::commands::CmdError;
use crate::home::Home;

/// The `FlushCacheRequest` body for `types` (comma-separated) and entry names or ids.
pub fn request_body(types: &str, all_servers: bool, keys: &[String]) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let by = if k.parse::<zcs_core::ZimbraId>().is_ok() {
                "id"
            } else {
                "name"
            };
            serde_json::json!({ "by": by, "_content": k })
        })
        .collect();
    serde_json::json!({
        "_jsns": "urn:zimbraAdmin",
        "cache": {
            "type": types,
            "allServers": if all_servers { "1" } else { "0" },
            "entry": entries,
        }
    })
}

/// Asks the server running on this home (`ZCS_HOME`) to flush `types` for `keys`.
/// `Ok(false)` when no server runs (or the home cannot be named).
///
/// # Errors
/// The server could not be reached or refused; the text says why.
pub async fn flush_running_server(
    prov: &Provisioning,
    types: &str,
    all_servers: bool,
    keys: &[String],
) -> Result<bool, String> {
    let Ok(home) = Home::from_env() else {
        return Ok(false);
    };
    let body = request_body(types, all_servers, keys);
    crate::admin_client::call_running_server(&home, prov, "FlushCacheRequest", body)
        .await
        .map(|r| r.is_some())
}

/// The cache types and entry keys of `fc [-a] [type[,type...]] [name|id ...]`, and
/// whether `-a` (every server) was given. `fc -a` alone flushes every type.
fn flush_args(a: &[String]) -> Option<(bool, &str, &[String])> {
    let (all_servers, rest) = match a.split_first() {
        Some((f, rest)) if f == "-a" => (true, rest),
        _ => (false, a),
    };
    match rest.split_first() {
        Some((types, keys)) => Some((all_servers, types.as_str(), keys)),
        None if all_servers => Some((true, "all", rest)),
        None => None,
    }
}

/// `fc [-a] {type[,type...]} [name|id ...]`: checks the types, flushes this process's
/// cache and the running server's. Prints nothing.
pub(super) async fn flush_cache(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let (all_servers, types, keys) = flush_args(a).ok_or(CmdError::Usage)?;
    p.flush_cache_types(&[types], keys)?;
    flush_running_server(p, types, all_servers, keys)
        .await
        .map_err(|e| CmdError::Fault(ServiceError::failure(e)))?;
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flush_arguments() {
        let w = words("-a");
        assert_eq!(flush_args(&w), Some((true, "all", &[][..])));
        let w = words("-a account u@x.test");
        assert_eq!(
            flush_args(&w),
            Some((true, "account", &["u@x.test".to_string()][..]))
        );
        let w = words("cos,domain");
        assert_eq!(flush_args(&w), Some((false, "cos,domain", &[][..])));
        assert_eq!(flush_args(&[]), None);
    }

    #[test]
    fn bodies_name_entries_by_id_or_name() {
        let id = zcs_core::ZimbraId::new().to_string();
        let b = request_body("account", true, &["u@x.test".into(), id.clone()]);
        assert_eq!(b["cache"]["type"], "account");
        assert_eq!(b["cache"]["allServers"], "1");
        assert_eq!(b["cache"]["entry"][0]["by"], "name");
        assert_eq!(b["cache"]["entry"][1]["by"], "id");
        assert_eq!(b["cache"]["entry"][1]["_content"], id.as_str());
    }
}
