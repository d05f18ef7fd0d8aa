//! Zimbra's directory information tree: which DN an entry of each kind and name lives at,
//! the containers above it, the object classes that make it that kind, and the name an
//! entry read back from its DN has.
//!
//! Layout (under an optional base DN, empty in a real deployment, as in Zimbra):
//! - global config `cn=config,cn=zimbra` (name ""); any other global config name `N` is
//!   `cn=N,cn=zimbra`
//! - servers `cn=N,cn=servers,cn=zimbra`, COS `cn=N,cn=cos,cn=zimbra`, zimlets
//!   `cn=N,cn=zimlets,cn=zimbra`
//! - domain `a.b.c` is `dc=a,dc=b,dc=c`; accounts, calendar resources, distribution lists
//!   and aliases `local@a.b.c` are `uid=local,ou=people,dc=a,dc=b,dc=c`; dynamic groups
//!   `cn=local,cn=groups,dc=a,dc=b,dc=c`
//! - identities, signatures and data sources named `owner@domain/NAME` are children of the
//!   owner's entry (`zimbraPrefIdentityName=NAME,uid=owner,ou=people,...`, with
//!   `zimbraSignatureName` and `zimbraDataSourceName`); a name without an owner part lives
//!   under `cn=identities|signatures|datasources,cn=zimbra`
//! - zcs bookkeeping: address reservations `cn=ADDR,cn=addresses,cn=zimbra`, retired ids
//!   `zimbraId=ID,cn=retiredids,cn=zimbra`.
//!
//! Not in charge of talking to the server.

use zcs_core::{EntryKind, ServiceError, ServiceResult};

use super::escape::{dn_value, parse_dn};

/// A container entry that must exist above an entry: its DN and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Where it goes.
    pub dn: String,
    /// What it holds (object classes and naming attribute).
    pub attrs: Vec<(&'static str, Vec<String>)>,
}

/// Where an entry of a kind and name lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The full DN.
    pub dn: String,
    /// The naming attribute of the entry's RDN (`uid`, `cn`, `dc`, ...).
    pub rdn_attr: &'static str,
    /// Its value, unescaped.
    pub rdn_value: String,
    /// The parent's DN.
    pub parent: String,
    /// Containers to create, top first, when the parent is missing. Empty when the parent
    /// is an entry that must already exist (the owner of an identity).
    pub containers: Vec<Container>,
}

impl Placement {
    /// The RDN string (`uid=joe`).
    pub fn rdn(&self) -> String {
        format!("{}={}", self.rdn_attr, dn_value(&self.rdn_value))
    }
}

/// The tree under a base DN.
#[derive(Debug, Clone)]
pub struct Dit {
    base: String,
}

/// The object class that marks entries of `kind`, as a search filter.
pub fn kind_filter(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::GlobalConfig => "(objectClass=zimbraGlobalConfig)",
        EntryKind::Server => "(objectClass=zimbraServer)",
        EntryKind::Domain => "(objectClass=zimbraDomain)",
        EntryKind::Cos => "(objectClass=zimbraCOS)",
        EntryKind::Account => {
            "(&(objectClass=zimbraAccount)(!(objectClass=zimbraCalendarResource)))"
        }
        EntryKind::Alias => "(objectClass=zimbraAlias)",
        EntryKind::DistributionList => "(objectClass=zimbraDistributionList)",
        EntryKind::DynamicGroup => "(objectClass=zimbraGroup)",
        EntryKind::CalendarResource => "(objectClass=zimbraCalendarResource)",
        EntryKind::Identity => "(objectClass=zimbraIdentity)",
        EntryKind::Signature => "(objectClass=zimbraSignature)",
        EntryKind::DataSource => "(objectClass=zimbraDataSource)",
        EntryKind::Zimlet => "(objectClass=zimbraZimletEntry)",
    }
}

/// A filter matching every entry of an address kind (accounts, calendar resources,
/// distribution lists, dynamic groups).
pub const ADDRESS_KINDS_FILTER: &str = "(|(objectClass=zimbraAccount)\
     (objectClass=zimbraDistributionList)(objectClass=zimbraGroup))";

/// A filter matching every entry of any kind (not containers or zcs bookkeeping).
pub const ANY_KIND_FILTER: &str = "(|(objectClass=zimbraGlobalConfig)(objectClass=zimbraServer)\
     (objectClass=zimbraDomain)(objectClass=zimbraCOS)(objectClass=zimbraAccount)\
     (objectClass=zimbraAlias)(objectClass=zimbraDistributionList)(objectClass=zimbraGroup)\
     (objectClass=zimbraIdentity)(objectClass=zimbraSignature)(objectClass=zimbraDataSource)\
     (objectClass=zimbraZimletEntry))";

/// The kind an entry with these object classes is, if any.
pub fn kind_of(classes: &[String]) -> Option<EntryKind> {
    let has = |c: &str| classes.iter().any(|v| v.eq_ignore_ascii_case(c));
    let kind = if has("zimbraGlobalConfig") {
        EntryKind::GlobalConfig
    } else if has("zimbraServer") {
        EntryKind::Server
    } else if has("zimbraDomain") {
        EntryKind::Domain
    } else if has("zimbraCOS") {
        EntryKind::Cos
    } else if has("zimbraCalendarResource") {
        EntryKind::CalendarResource
    } else if has("zimbraAccount") {
        EntryKind::Account
    } else if has("zimbraAlias") {
        EntryKind::Alias
    } else if has("zimbraDistributionList") {
        EntryKind::DistributionList
    } else if has("zimbraGroup") {
        EntryKind::DynamicGroup
    } else if has("zimbraIdentity") {
        EntryKind::Identity
    } else if has("zimbraSignature") {
        EntryKind::Signature
    } else if classes.iter().any(|c| {
        let c = c.to_ascii_lowercase();
        c.starts_with("zimbra") && c.ends_with("datasource")
    }) {
        EntryKind::DataSource
    } else if has("zimbraZimletEntry") {
        EntryKind::Zimlet
    } else {
        return None;
    };
    Some(kind)
}

/// The object classes an entry of `kind` must carry (structural class first), as Zimbra
/// gives them.
pub fn required_classes(kind: EntryKind) -> &'static [&'static str] {
    match kind {
        EntryKind::GlobalConfig => &["organizationalRole", "zimbraGlobalConfig"],
        EntryKind::Server => &["zimbraServer"],
        EntryKind::Domain => &["organization", "dcObject", "zimbraDomain"],
        EntryKind::Cos => &["zimbraCOS"],
        EntryKind::Account => &["inetOrgPerson", "zimbraAccount"],
        EntryKind::CalendarResource => {
            &["inetOrgPerson", "zimbraAccount", "zimbraCalendarResource"]
        }
        EntryKind::Alias => &["zimbraAlias"],
        EntryKind::DistributionList => &["zimbraDistributionList", "zimbraMailRecipient"],
        EntryKind::DynamicGroup => &["groupOfURLs", "zimbraGroup", "zimbraMailRecipient"],
        EntryKind::Identity => &["zimbraIdentity"],
        EntryKind::Signature => &["zimbraSignature"],
        EntryKind::DataSource => &["zimbraDataSource"],
        EntryKind::Zimlet => &["zimbraZimletEntry"],
    }
}

/// Attributes the structural class of `kind` requires besides its RDN, filled from the
/// RDN value when the caller gave none.
pub fn required_attrs(kind: EntryKind) -> &'static [&'static str] {
    match kind {
        // inetOrgPerson's superior `person` MUST ( sn $ cn ).
        EntryKind::Account | EntryKind::CalendarResource => &["cn", "sn"],
        // organization MUST o; dcObject MUST dc (the RDN).
        EntryKind::Domain => &["o"],
        // organizationalRole and groupOfURLs MUST cn (the RDN).
        _ => &[],
    }
}

fn role(cn: &str, dn: String) -> Container {
    Container {
        dn,
        attrs: vec![
            ("objectClass", vec!["organizationalRole".into()]),
            ("cn", vec![cn.into()]),
        ],
    }
}

fn invalid(kind: EntryKind, name: &str, why: &str) -> ServiceError {
    ServiceError::invalid_request(format!("invalid {kind} name {name:?}: {why}"))
}

impl Dit {
    /// The tree under `base` (`""` for a whole directory, as Zimbra lays it out).
    pub fn new(base: &str) -> Self {
        Dit {
            base: base.trim().to_string(),
        }
    }

    /// The base DN (`""` for none).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `rel` under the base.
    pub fn under(&self, rel: &str) -> String {
        match (rel.is_empty(), self.base.is_empty()) {
            (true, _) => self.base.clone(),
            (false, true) => rel.to_string(),
            (false, false) => format!("{rel},{}", self.base),
        }
    }

    /// `cn=zimbra` under the base.
    pub fn zimbra(&self) -> String {
        self.under("cn=zimbra")
    }

    fn zimbra_child(&self, cn: &str) -> (String, Vec<Container>) {
        let zimbra = self.zimbra();
        let dn = format!("cn={cn},{zimbra}");
        let containers = vec![role("zimbra", zimbra), role(cn, dn.clone())];
        (dn, containers)
    }

    /// The DN of the reservation entry of `addr` (lower-cased already), and its container.
    pub fn address(&self, addr: &str) -> (String, Vec<Container>) {
        let (parent, containers) = self.zimbra_child("addresses");
        (format!("cn={},{parent}", dn_value(addr)), containers)
    }

    /// The DN of the retired-id marker of `id`, and its container.
    pub fn retired(&self, id: &str) -> (String, Vec<Container>) {
        let (parent, containers) = self.zimbra_child("retiredids");
        (format!("zimbraId={},{parent}", dn_value(id)), containers)
    }

    /// The DN of domain `domain` and its `dc` containers from the top down (excluding
    /// the domain's own entry).
    pub fn domain(&self, domain: &str) -> Option<(String, Vec<Container>)> {
        let labels: Vec<&str> = domain.trim().trim_end_matches('.').split('.').collect();
        if labels.iter().any(|l| l.trim().is_empty()) {
            return None;
        }
        let mut containers = Vec::new();
        let mut dn = self.base.clone();
        for label in labels.iter().rev() {
            let rdn = format!("dc={}", dn_value(label));
            dn = if dn.is_empty() {
                rdn
            } else {
                format!("{rdn},{dn}")
            };
            containers.push(Container {
                dn: dn.clone(),
                attrs: vec![
                    (
                        "objectClass",
                        vec!["organization".into(), "dcObject".into()],
                    ),
                    ("dc", vec![label.to_string()]),
                    ("o", vec![label.to_string()]),
                ],
            });
        }
        containers.pop();
        Some((dn, containers))
    }

    /// Where an entry of `kind` named `name` lives.
    ///
    /// # Errors
    /// `service.INVALID_REQUEST` for a name that has no place in the tree (an address
    /// kind without `local@domain`, a domain with an empty label).
    pub fn place(&self, kind: EntryKind, name: &str) -> ServiceResult<Placement> {
        let name = name.trim();
        let in_zimbra = |container: &str, attr: &'static str| {
            let (parent, containers) = self.zimbra_child(container);
            Placement {
                dn: format!("{attr}={},{parent}", dn_value(name)),
                rdn_attr: attr,
                rdn_value: name.to_string(),
                parent,
                containers,
            }
        };
        match kind {
            EntryKind::GlobalConfig => {
                let zimbra = self.zimbra();
                let value = if name.is_empty() { "config" } else { name };
                Ok(Placement {
                    dn: format!("cn={},{zimbra}", dn_value(value)),
                    rdn_attr: "cn",
                    rdn_value: value.to_string(),
                    containers: vec![role("zimbra", zimbra.clone())],
                    parent: zimbra,
                })
            }
            _ if name.is_empty() => Err(invalid(kind, name, "empty")),
            EntryKind::Server => Ok(in_zimbra("servers", "cn")),
            EntryKind::Cos => Ok(in_zimbra("cos", "cn")),
            EntryKind::Zimlet => Ok(in_zimbra("zimlets", "cn")),
            EntryKind::Domain => {
                let (dn, containers) = self
                    .domain(name)
                    .ok_or_else(|| invalid(kind, name, "empty label"))?;
                let parent = containers
                    .last()
                    .map_or_else(|| self.base.clone(), |c| c.dn.clone());
                let label = name.split('.').next().unwrap_or(name).to_string();
                Ok(Placement {
                    dn,
                    rdn_attr: "dc",
                    rdn_value: label,
                    parent,
                    containers,
                })
            }
            EntryKind::Account
            | EntryKind::CalendarResource
            | EntryKind::DistributionList
            | EntryKind::Alias
            | EntryKind::DynamicGroup => {
                let (local, domain) = name
                    .rsplit_once('@')
                    .filter(|(l, d)| !l.is_empty() && !d.is_empty())
                    .ok_or_else(|| invalid(kind, name, "not local@domain"))?;
                let (domain_dn, mut containers) = self
                    .domain(domain)
                    .ok_or_else(|| invalid(kind, name, "bad domain"))?;
                // The domain's own entry, as a plain dc container when it is missing.
                let label = domain.split('.').next().unwrap_or(domain).to_string();
                containers.push(Container {
                    dn: domain_dn.clone(),
                    attrs: vec![
                        (
                            "objectClass",
                            vec!["organization".into(), "dcObject".into()],
                        ),
                        ("dc", vec![label.clone()]),
                        ("o", vec![label]),
                    ],
                });
                let (attr, parent) = if kind == EntryKind::DynamicGroup {
                    let p = format!("cn=groups,{domain_dn}");
                    containers.push(role("groups", p.clone()));
                    ("cn", p)
                } else {
                    let p = format!("ou=people,{domain_dn}");
                    containers.push(Container {
                        dn: p.clone(),
                        attrs: vec![
                            ("objectClass", vec!["organizationalUnit".into()]),
                            ("ou", vec!["people".into()]),
                        ],
                    });
                    ("uid", p)
                };
                Ok(Placement {
                    dn: format!("{attr}={},{parent}", dn_value(local)),
                    rdn_attr: attr,
                    rdn_value: local.to_string(),
                    parent,
                    containers,
                })
            }
            EntryKind::Identity | EntryKind::Signature | EntryKind::DataSource => {
                let (attr, container) = match kind {
                    EntryKind::Identity => ("zimbraPrefIdentityName", "identities"),
                    EntryKind::Signature => ("zimbraSignatureName", "signatures"),
                    _ => ("zimbraDataSourceName", "datasources"),
                };
                match name.split_once('/') {
                    Some((owner, item)) if owner.contains('@') && !item.is_empty() => {
                        let owner = self.place(EntryKind::Account, owner)?;
                        Ok(Placement {
                            dn: format!("{attr}={},{}", dn_value(item), owner.dn),
                            rdn_attr: attr,
                            rdn_value: item.to_string(),
                            parent: owner.dn,
                            containers: Vec::new(),
                        })
                    }
                    _ => Ok(in_zimbra(container, attr)),
                }
            }
        }
    }

    /// The RDNs of `dn` below the base, most specific first; `None` when `dn` is not
    /// under the base or does not parse.
    pub fn relative_rdns(&self, dn: &str) -> Option<Vec<(String, String)>> {
        let mut rdns = parse_dn(dn).ok()?;
        let base = parse_dn(&self.base).ok()?;
        if rdns.len() < base.len() {
            return None;
        }
        let tail = rdns.split_off(rdns.len() - base.len());
        let same = tail.iter().zip(&base).all(|((ta, tv), (ba, bv))| {
            ta.eq_ignore_ascii_case(ba) && tv.to_lowercase() == bv.to_lowercase()
        });
        same.then_some(rdns)
    }

    /// The name an entry of `kind` at `dn` has, as Zimbra derives it from the DN; `None`
    /// when the DN is not shaped like that kind's.
    pub fn name_of(&self, kind: EntryKind, dn: &str) -> Option<String> {
        let rdns = self.relative_rdns(dn)?;
        let first = rdns.first()?.1.clone();
        let dcs = |from: usize| -> Option<String> {
            let labels: Vec<&str> = rdns
                .get(from..)?
                .iter()
                .map(|(a, v)| a.eq_ignore_ascii_case("dc").then_some(v.as_str()))
                .collect::<Option<_>>()?;
            (!labels.is_empty()).then(|| labels.join("."))
        };
        match kind {
            EntryKind::GlobalConfig => {
                if rdns.len() == 2 && first.eq_ignore_ascii_case("config") {
                    Some(String::new())
                } else {
                    Some(first)
                }
            }
            EntryKind::Server | EntryKind::Cos | EntryKind::Zimlet => Some(first),
            EntryKind::Domain => dcs(0),
            EntryKind::Account
            | EntryKind::CalendarResource
            | EntryKind::DistributionList
            | EntryKind::Alias
            | EntryKind::DynamicGroup => Some(format!("{first}@{}", dcs(2)?)),
            EntryKind::Identity | EntryKind::Signature | EntryKind::DataSource => {
                let owner_is_account = rdns
                    .get(1)
                    .is_some_and(|(a, _)| a.eq_ignore_ascii_case("uid"));
                if owner_is_account {
                    Some(format!("{}@{}/{first}", rdns[1].1, dcs(3)?))
                } else {
                    Some(first)
                }
            }
        }
    }

    /// How many RDNs `dn` has (deeper entries are deleted first).
    pub fn depth(dn: &str) -> usize {
        parse_dn(dn).map_or(0, |r| r.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zimbra_layout() {
        let d = Dit::new("");
        let p = d.place(EntryKind::GlobalConfig, "").unwrap();
        assert_eq!(p.dn, "cn=config,cn=zimbra");
        assert_eq!(d.name_of(EntryKind::GlobalConfig, &p.dn).unwrap(), "");
        let p = d.place(EntryKind::Cos, "default").unwrap();
        assert_eq!(p.dn, "cn=default,cn=cos,cn=zimbra");
        let p = d.place(EntryKind::Account, "Joe@Ex.test").unwrap();
        assert_eq!(p.dn, "uid=Joe,ou=people,dc=Ex,dc=test");
        assert_eq!(p.parent, "ou=people,dc=Ex,dc=test");
        let dns: Vec<_> = p.containers.iter().map(|c| c.dn.as_str()).collect();
        assert_eq!(dns, ["dc=test", "dc=Ex,dc=test", "ou=people,dc=Ex,dc=test"]);
        assert_eq!(d.name_of(EntryKind::Account, &p.dn).unwrap(), "Joe@Ex.test");
        let p = d.place(EntryKind::DynamicGroup, "g@x.test").unwrap();
        assert_eq!(p.dn, "cn=g,cn=groups,dc=x,dc=test");
        let p = d.place(EntryKind::Domain, "a.b.test").unwrap();
        assert_eq!(p.dn, "dc=a,dc=b,dc=test");
        assert_eq!(p.parent, "dc=b,dc=test");
        assert_eq!(d.name_of(EntryKind::Domain, &p.dn).unwrap(), "a.b.test");
        let p = d
            .place(EntryKind::Identity, "joe@x.test/Work, home")
            .unwrap();
        assert_eq!(
            p.dn,
            "zimbraPrefIdentityName=Work\\, home,uid=joe,ou=people,dc=x,dc=test"
        );
        assert_eq!(
            d.name_of(EntryKind::Identity, &p.dn).unwrap(),
            "joe@x.test/Work, home"
        );
        let p = d.place(EntryKind::Signature, "sig").unwrap();
        assert_eq!(p.dn, "zimbraSignatureName=sig,cn=signatures,cn=zimbra");
        assert!(d.place(EntryKind::Account, "nodomain").is_err());
        assert!(d.place(EntryKind::Domain, "a..b").is_err());
        assert!(d.place(EntryKind::Cos, "").is_err());
    }

    #[test]
    fn base_is_appended_and_stripped() {
        let d = Dit::new("o=t1");
        let p = d.place(EntryKind::Server, "mail.test").unwrap();
        assert_eq!(p.dn, "cn=mail.test,cn=servers,cn=zimbra,o=t1");
        assert_eq!(d.name_of(EntryKind::Server, &p.dn).unwrap(), "mail.test");
        let p = d.place(EntryKind::Account, "a@x.test").unwrap();
        assert_eq!(p.dn, "uid=a,ou=people,dc=x,dc=test,o=t1");
        assert_eq!(d.name_of(EntryKind::Account, &p.dn).unwrap(), "a@x.test");
        assert_eq!(d.name_of(EntryKind::Account, "uid=a,ou=people,dc=x"), None);
        assert_eq!(
            d.address("a@x.test").0,
            "cn=a@x.test,cn=addresses,cn=zimbra,o=t1"
        );
    }

    #[test]
    fn kinds_from_classes() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kind_of(&c(&["inetOrgPerson", "zimbraAccount", "amavisAccount"])),
            Some(EntryKind::Account)
        );
        assert_eq!(
            kind_of(&c(&["zimbraAccount", "zimbraCalendarResource"])),
            Some(EntryKind::CalendarResource)
        );
        assert_eq!(
            kind_of(&c(&["zimbraPop3DataSource"])),
            Some(EntryKind::DataSource)
        );
        assert_eq!(kind_of(&c(&["organizationalUnit"])), None);
    }
}
