//! Zimbra's "add new recipients to Emailed Contacts" (`zimbraPrefAutoAddAddressEnabled`):
//! after a message is sent, each recipient address that no contact of the mailbox
//! holds becomes a contact of Emailed Contacts (folder 13), its display name split into
//! first and last name.

use std::collections::HashSet;

use zcs_core::{ItemId, ServiceResult, folder};
use zcs_store::Mailbox;

use super::super::context::store_fault;

/// The contact fields Zimbra gives an auto-added address: `email`, and for a display
/// name its words as `firstName`, `middleName` (the words between) and `lastName`
/// (the last word), the whole name as `fullName`.
fn fields_for(address: &str, personal: Option<&str>) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let words: Vec<&str> = personal
        .map(|p| p.trim().trim_matches('"').split_whitespace().collect())
        .unwrap_or_default();
    match words.as_slice() {
        [] => {}
        [one] => fields.push(("firstName".to_string(), (*one).to_string())),
        [first, middle @ .., last] => {
            fields.push(("firstName".to_string(), (*first).to_string()));
            if !middle.is_empty() {
                fields.push(("middleName".to_string(), middle.join(" ")));
            }
            fields.push(("lastName".to_string(), (*last).to_string()));
        }
    }
    if !words.is_empty() {
        fields.push(("fullName".to_string(), words.join(" ")));
    }
    fields.push(("email".to_string(), address.to_string()));
    fields
}

/// Adds the `recipients` (address, display name) that no contact of `mb` holds as new
/// contacts of Emailed Contacts, each address once. Returns how many were added. The
/// caller checks `zimbraPrefAutoAddAddressEnabled` first (Zimbra's default: off).
///
/// # Errors
/// A store failure reading the address books or creating a contact.
pub(crate) async fn auto_add_recipients(
    mb: &Mailbox,
    recipients: &[(String, Option<String>)],
) -> ServiceResult<usize> {
    let mut known: HashSet<String> = HashSet::new();
    for f in mb.folders().await.map_err(store_fault)? {
        if f.view != "contact" && f.id.0 != folder::TRASH {
            continue;
        }
        for c in mb.contacts(f.id).await.map_err(store_fault)? {
            for (k, v) in &c.fields {
                if k.to_ascii_lowercase().contains("email") {
                    known.insert(v.trim().to_lowercase());
                }
            }
        }
    }
    let mut added = 0;
    for (address, personal) in recipients {
        let address = address.trim();
        if address.is_empty() || !address.contains('@') {
            continue;
        }
        if !known.insert(address.to_lowercase()) {
            continue;
        }
        let fields = fields_for(address, personal.as_deref());
        mb.create_contact(ItemId(folder::EMAILED_CONTACTS), fields, Vec::new())
            .await
            .map_err(store_fault)?;
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_split_into_first_middle_and_last() {
        let f = |p: Option<&str>| fields_for("a@x.test", p);
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            f(Some("\"Ann M. Lee\"")),
            pairs(&[
                ("firstName", "Ann"),
                ("middleName", "M."),
                ("lastName", "Lee"),
                ("fullName", "Ann M. Lee"),
                ("email", "a@x.test"),
            ])
        );
        assert_eq!(
            f(Some("Ann Lee")),
            pairs(&[
                ("firstName", "Ann"),
                ("lastName", "Lee"),
                ("fullName", "Ann Lee"),
                ("email", "a@x.test"),
            ])
        );
        assert_eq!(
            f(Some("Lee")),
            pairs(&[
                ("firstName", "Lee"),
                ("fullName", "Lee"),
                ("email", "a@x.test")
            ])
        );
        assert_eq!(f(None), pairs(&[("email", "a@x.test")]));
    }
}
