//! `zmmailbox`'s identity and signature commands (spec/06 §3.1; topic `account`):
//! `createIdentity cid`, `getIdentities gid`, `modifyIdentity mid`, `deleteIdentity
//! did`, `createSignature csig`, `getSignatures gsig`, `modifySignature msig`,
//! `renameSignature rsig`, `deleteSignature dsig`, as the account service requests
//! Zimbra's client sends. Signatures are plain text, named or given by id.

use serde_json::{Value, json};

use super::{ACCOUNT, Cx, Outcome, list};
use crate::search::remote::{first, text};

/// Runs the command of `cx` when it is one of this module's; `None` otherwise.
pub(super) async fn run(cx: &Cx<'_>) -> Option<Result<Outcome, String>> {
    Some(match cx.cmd.name {
        "createIdentity" => identity(cx, "CreateIdentityRequest").await,
        "modifyIdentity" => identity(cx, "ModifyIdentityRequest").await,
        "deleteIdentity" => match cx.arg(0) {
            Ok(n) => cx
                .call(
                    "DeleteIdentityRequest",
                    ACCOUNT,
                    json!({ "identity": { "name": n } }),
                )
                .await
                .map(|_| Outcome::Print(String::new())),
            Err(e) => Err(e),
        },
        "getIdentities" => names(cx, "GetIdentitiesRequest", "identity").await,
        "getSignatures" => names(cx, "GetSignaturesRequest", "signature").await,
        "createSignature" => create_signature(cx).await,
        "modifySignature" => modify_signature(cx, false).await,
        "renameSignature" => modify_signature(cx, true).await,
        "deleteSignature" => delete_signature(cx).await,
        _ => return None,
    })
}

/// `attr value` pairs as identity attributes (`a name=`).
fn pairs(words: &[String]) -> Result<Vec<Value>, String> {
    if !words.len().is_multiple_of(2) {
        return Err("zclient.CLIENT_ERROR: not enough arguments".into());
    }
    Ok(words
        .chunks(2)
        .map(|p| json!({ "name": p[0], "_content": p[1] }))
        .collect())
}

/// `cid`/`mid {identity-name} [attr value ...]`.
async fn identity(cx: &Cx<'_>, request: &str) -> Result<Outcome, String> {
    let name = cx.arg(0)?;
    let attrs = pairs(&cx.p.rest[1..])?;
    cx.call(
        request,
        ACCOUNT,
        json!({ "identity": { "name": name, "a": attrs } }),
    )
    .await?;
    Ok(Outcome::Print(String::new()))
}

/// `gid`/`gsig`: one name a line; `-v` every field.
async fn names(cx: &Cx<'_>, request: &str, kind: &str) -> Result<Outcome, String> {
    let r = cx.call(request, ACCOUNT, json!({})).await?;
    let all = list(&r[kind]);
    if cx.verbose() {
        return Ok(Outcome::Print(
            serde_json::to_string_pretty(&Value::Array(all)).unwrap_or_default(),
        ));
    }
    Ok(Outcome::Print(
        all.iter()
            .map(|i| text(&i["name"]))
            .collect::<Vec<_>>()
            .join("\n"),
    ))
}

/// `csig {name} {value}`: prints the new signature's id.
async fn create_signature(cx: &Cx<'_>) -> Result<Outcome, String> {
    let (name, value) = (cx.arg(0)?, cx.arg(1)?);
    let r = cx
        .call(
            "CreateSignatureRequest",
            ACCOUNT,
            json!({ "signature": { "name": name,
                "content": [{ "type": "text/plain", "_content": value }] } }),
        )
        .await?;
    Ok(Outcome::Print(text(&first(&r["signature"])["id"])))
}

/// The signature named (any case) or numbered `key`.
async fn signature(cx: &Cx<'_>, key: &str) -> Result<Value, String> {
    let r = cx.call("GetSignaturesRequest", ACCOUNT, json!({})).await?;
    list(&r["signature"])
        .into_iter()
        .find(|s| text(&s["name"]).eq_ignore_ascii_case(key) || text(&s["id"]) == key)
        .ok_or_else(|| format!("zclient.CLIENT_ERROR: unknown signature: {key}"))
}

/// The plain text of a signature.
fn plain(sig: &Value) -> String {
    list(&sig["content"])
        .into_iter()
        .find(|c| text(&c["type"]).is_empty() || text(&c["type"]) == "text/plain")
        .map(|c| text(&c["_content"]))
        .unwrap_or_default()
}

/// `msig {name|id} {value}` (a new text) or `rsig {name|id} {new-name}`.
async fn modify_signature(cx: &Cx<'_>, rename: bool) -> Result<Outcome, String> {
    let (key, value) = (cx.arg(0)?, cx.arg(1)?);
    let sig = signature(cx, key).await?;
    let (name, body) = if rename {
        (value.to_string(), plain(&sig))
    } else {
        (text(&sig["name"]), value.to_string())
    };
    cx.call(
        "ModifySignatureRequest",
        ACCOUNT,
        json!({ "signature": { "id": text(&sig["id"]), "name": name,
            "content": [{ "type": "text/plain", "_content": body }] } }),
    )
    .await?;
    Ok(Outcome::Print(String::new()))
}

async fn delete_signature(cx: &Cx<'_>) -> Result<Outcome, String> {
    let sig = signature(cx, cx.arg(0)?).await?;
    cx.call(
        "DeleteSignatureRequest",
        ACCOUNT,
        json!({ "signature": { "id": text(&sig["id"]) } }),
    )
    .await?;
    Ok(Outcome::Print(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_attributes_come_in_pairs() {
        let w: Vec<String> = ["zimbraPrefFromAddress", "a@x"].map(String::from).to_vec();
        assert_eq!(
            pairs(&w).unwrap(),
            vec![json!({"name": "zimbraPrefFromAddress", "_content": "a@x"})]
        );
        assert!(pairs(&w[..1]).is_err());
        assert!(pairs(&[]).unwrap().is_empty());
    }

    #[test]
    fn the_plain_text_of_a_signature_is_found() {
        let sig = json!({"name": "s", "content": [
            {"type": "text/html", "_content": "<b>x</b>"},
            {"type": "text/plain", "_content": "x"}]});
        assert_eq!(plain(&sig), "x");
        assert_eq!(plain(&json!({})), "");
    }
}
