//! The contact side of item search, as Zimbra's contact-data field behaves: which
//! words a contact's contact data holds (its addresses, company and names, joined words
//! kept whole), the prefix reading of a contacts-only search, and the count of words
//! each wildcard term stood for (the response's query info).

use std::collections::HashSet;

use zcs_index::WildcardInfo;
use zcs_index::query::{Query, TextField};
use zcs_index::tokenizer::{TokenMode, analyze};
use zcs_store::Contact;

use super::{ItemDoc, glob, term_fields};

/// Whether a contact field holds an e-mail address Zimbra lists as the contact's
/// (`zimbraContactEmailFields`: `email`, `email2`, `email3`, ..., `workEmail1`...):
/// `email1` is not one of them.
pub(super) fn is_email_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n == "email" {
        return true;
    }
    let num = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    n.strip_prefix("email")
        .is_some_and(|r| num(r) && r != "1" && !r.starts_with('0'))
        || n.strip_prefix("workemail").is_some_and(num)
}

/// The words of a contact's contact data (what `contact:` and a contacts search's
/// prefixes match, Zimbra's contact-data field): its addresses whole, with their local
/// part, `@domain` and domain, then its company and names split on spaces, lower-cased.
/// Joined words are not split (`first_last` stays one word).
pub(super) fn contact_data(c: &Contact) -> Vec<(usize, String)> {
    const NAMES: [&str; 9] = [
        "company",
        "phoneticCompany",
        "firstName",
        "phoneticFirstName",
        "lastName",
        "phoneticLastName",
        "middleName",
        "nickname",
        "fullName",
    ];
    let mut words: Vec<String> = Vec::new();
    for (k, v) in &c.fields {
        if !is_email_field(k) {
            continue;
        }
        for w in v.split_whitespace() {
            let w = w.to_lowercase();
            if let Some((local, domain)) = w.split_once('@') {
                words.push(local.to_string());
                words.push(format!("@{domain}"));
                words.push(domain.to_string());
            }
            words.push(w);
        }
    }
    for (k, v) in &c.fields {
        if NAMES.iter().any(|n| n.eq_ignore_ascii_case(k)) {
            words.extend(v.split_whitespace().map(str::to_lowercase));
        }
    }
    words.retain(|w| !w.is_empty());
    words.into_iter().enumerate().collect()
}

/// A contacts-only search's query as Zimbra runs it: a `contact:` word that is one
/// token and not already a wildcard (nor `.`, which matches everything) is a prefix of
/// the contact data, `smi` finding Smith; a bare such word matches a whole word of any
/// field or a prefix of the contact data.
pub fn contact_prefixes(q: &Query) -> Query {
    match q {
        Query::And(v) => Query::And(v.iter().map(contact_prefixes).collect()),
        Query::Or(v) => Query::Or(v.iter().map(contact_prefixes).collect()),
        Query::Not(c) => Query::Not(Box::new(contact_prefixes(c))),
        Query::Term {
            field: field @ (TextField::Default | TextField::Contact),
            value,
            phrase: false,
            wildcard: false,
        } if value != "." && analyze(value, TokenMode::Query).len() == 1 => {
            let prefix = Query::Term {
                field: TextField::Contact,
                value: format!("{value}*"),
                phrase: false,
                wildcard: true,
            };
            if *field == TextField::Contact {
                prefix
            } else {
                Query::Or(vec![q.clone(), prefix])
            }
        }
        other => other.clone(),
    }
}

/// For each wildcard term of `q` (in query order), how many distinct words of `docs`
/// it stands for in the fields it searches.
pub(super) fn wildcard_counts(q: &Query, docs: &[ItemDoc], out: &mut Vec<WildcardInfo>) {
    match q {
        Query::And(v) | Query::Or(v) => v.iter().for_each(|c| wildcard_counts(c, docs, out)),
        Query::Not(c) => wildcard_counts(c, docs, out),
        Query::Term {
            field,
            value,
            phrase: false,
            wildcard: true,
        } => {
            let pattern = zcs_index::fold::fold(value);
            if pattern.chars().all(|c| c == '*') {
                return;
            }
            let Some(wanted) = term_fields(field) else {
                return;
            };
            let mut words: HashSet<&str> = HashSet::new();
            for doc in docs {
                for (f, tokens) in &doc.fields {
                    if wanted.contains(f) {
                        words.extend(
                            tokens
                                .iter()
                                .map(|(_, t)| t.as_str())
                                .filter(|t| glob(&pattern, t)),
                        );
                    }
                }
            }
            out.push(WildcardInfo {
                pattern,
                expanded: words.len(),
                all: true,
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use zcs_core::{Flags, ItemId, folder};
    use zcs_index::query;

    use super::super::{ItemCtx, ItemHit, matches};
    use super::*;

    fn contact(id: i32, fields: &[(&str, &str)]) -> ItemHit {
        ItemHit::Contact(Contact {
            id: ItemId(id),
            folder: ItemId(folder::CONTACTS),
            flags: Flags::default(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            members: Vec::new(),
            is_group: false,
            modseq: 1,
            revision: 1,
            date_ms: 0,
            changed_ms: 0,
        })
    }

    /// The ids of `hits` matching `text` as a contacts-only search runs it, and the
    /// wildcard counts it reports.
    fn contact_search(hits: &[ItemHit], text: &str) -> (Vec<i32>, Vec<WildcardInfo>) {
        let q = contact_prefixes(&query::parse(text).unwrap());
        let docs: Vec<ItemDoc> = hits.iter().map(ItemDoc::of).collect();
        let ctx = ItemCtx {
            folders: &[],
            now: crate::search::zone::utc_now(),
            tags: HashMap::new(),
        };
        let mut info = Vec::new();
        wildcard_counts(&q, &docs, &mut info);
        let ids = hits
            .iter()
            .zip(&docs)
            .filter(|(h, d)| matches(&q, h, d, &ctx))
            .map(|(h, _)| h.id().0)
            .collect();
        (ids, info)
    }

    #[test]
    fn contact_searches_match_prefixes_of_contact_data() {
        // The harness's Search-Contacts contacts, cut down.
        let hits = [
            contact(
                257,
                &[
                    ("firstName", "firstName1"),
                    ("email", "firstname01_lastname01@testsearch.com"),
                    ("email1", "firstname11_lastname11@testsearch.com"),
                    ("email2", "firstname21_lastname21@testsearch.com"),
                    ("company", "company1"),
                ],
            ),
            contact(
                258,
                &[
                    ("firstName", "firstName2"),
                    ("lastName", "lastName2"),
                    ("email", "firstname02_lastname02@testsearch.com"),
                    ("email1", "firstname12_lastname12@testsearch.com"),
                    ("mobilePhone", "12412"),
                    ("company", "company2"),
                ],
            ),
            contact(
                259,
                &[("firstName", "firstName3"), ("email", "x@testsearch.co.in")],
            ),
        ];
        let (ids, info) = contact_search(&hits, "firstName01");
        assert_eq!(ids, vec![257]);
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].pattern, "firstname01*");
        assert_eq!(info[0].expanded, 2, "{info:?}");
        assert!(info[0].all);
        // `email1` is not one of Zimbra's e-mail fields; joined words stay whole.
        assert_eq!(contact_search(&hits, "firstName1").0, vec![257]);
        assert_eq!(contact_search(&hits, "lastName2").0, vec![258]);
        assert_eq!(contact_search(&hits, "comp").0, vec![257, 258]);
        assert_eq!(contact_search(&hits, "12412").0, vec![258]);
        assert_eq!(contact_search(&hits, "@testsearch.com").0, vec![257, 258]);
        assert_eq!(contact_search(&hits, "contact:firstname3").0, vec![259]);
        assert!(is_email_field("email2") && is_email_field("workEmail1"));
        assert!(!is_email_field("email1") && !is_email_field("emailx"));
    }
}
