//! Deciding whether an account holds a right on a target, and what it may do there.
//!
//! Precedence (spec 03 §1.15):
//! 1. A global admin (`zimbraIsAdminAccount=TRUE`) holds every right; its grants are
//!    ignored. An admin right needs `zimbraIsDelegatedAdminAccount=TRUE` otherwise.
//! 2. Levels, most specific first: the target entry; for accounts, resources and lists
//!    the groups containing it, nearest first (each nesting distance is one level); the
//!    domain; parent domains (only grants with `^`); the global grants. The first level
//!    with a matching grant decides.
//! 3. Within a level, the most specific grantee decides: the account itself, then its
//!    groups nearest first, then domain, `all` and `pub` grants. Among equally specific
//!    grantees a deny beats an allow.
//! 4. A grant whose right does not fit the entry it sits on is ignored; `*` grants on a
//!    group do not reach nested groups' members.
//! 5. When no grant anywhere mentions a right, its default applies (user rights such as
//!    `sendToDistList` default to allowed; admin rights to denied).
//!
//! An [`Evaluator`] reads the directory once (levels and the grantee's groups), then
//! answers many questions from memory, so effective-rights listings stay cheap.

use std::collections::HashMap;

use zcs_core::{Entry, EntryKind, ServiceResult};

use super::ace::{Grant, grants_of};
use super::registry::{Right, RightClass, RightDef, RightKind, expand, rights_for};
use super::types::{GranteeType, Modifier, TargetType};
use super::{RightsEngine, Target, flag, is_global_admin, no_such_right};
use crate::directory::EntryKey;

/// The grant that decided a check, and where it sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    pub target_type: TargetType,
    pub target_name: String,
    pub grant: Grant,
}

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The deciding grant; `None` when the grantee is a global admin, or a default or
    /// the absence of any grant decided.
    pub via: Option<Via>,
}

/// Attributes an admin may read or write on a target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrRights {
    /// Every attribute of the target's kind.
    pub all: bool,
    /// The attributes, by canonical name (every one of them when `all`).
    pub attrs: Vec<String>,
}

/// What an admin may do on one target (`getEffectiveRights`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveRights {
    pub target_type: TargetType,
    pub target_id: String,
    pub target_name: String,
    /// Preset rights held, catalogue order.
    pub preset: Vec<String>,
    pub get_attrs: AttrRights,
    pub set_attrs: AttrRights,
}

struct LevelGrant {
    holder: TargetType,
    holder_name: String,
    grant: Grant,
    right: Right,
}

struct Level {
    grants: Vec<LevelGrant>,
}

/// The grantee's identity as grants name it.
struct Who {
    id: String,
    addresses: Vec<String>,
    domain_id: Option<String>,
    domain: Option<String>,
    /// Group id (lower case) -> (nesting distance, admin group).
    groups: HashMap<String, (usize, bool)>,
    global_admin: bool,
    admin: bool,
}

/// Levels and grantee read once; answers from memory.
pub struct Evaluator {
    levels: Vec<Level>,
    who: Who,
}

/// What is asked: a right of the catalogue, or reading/writing one attribute.
enum Wanted<'a> {
    Def(&'static RightDef),
    Attr {
        set: bool,
        ty: TargetType,
        attr: &'a str,
    },
}

/// Whether a grant of `granted` speaks about `wanted`. An allowed write implies read;
/// a denied read implies no write, while a denied write leaves reading alone.
fn covers(granted: &Right, wanted: &Wanted<'_>, deny: bool) -> bool {
    let verb_ok = |grant_set: bool, want_set: bool| {
        if deny {
            !grant_set || want_set
        } else {
            grant_set || !want_set
        }
    };
    match (granted, wanted) {
        (Right::Def(g), w) if g.kind == RightKind::Combo => expand(g)
            .into_iter()
            .any(|m| covers(&Right::Def(m), w, deny)),
        (Right::Def(g), Wanted::Def(w)) => std::ptr::eq(*g, *w),
        (Right::Def(g), Wanted::Attr { set, ty, attr }) => {
            g.target == Some(*ty)
                && matches!(g.kind, RightKind::SetAttrs | RightKind::GetAttrs)
                && verb_ok(g.kind == RightKind::SetAttrs, *set)
                && (g.attrs.is_empty() || g.attrs.iter().any(|a| a.eq_ignore_ascii_case(attr)))
        }
        (
            Right::Inline {
                set: gs,
                target,
                attr: ga,
            },
            Wanted::Attr { set, ty, attr },
        ) => target == ty && ga.eq_ignore_ascii_case(attr) && verb_ok(*gs, *set),
        (Right::Inline { .. }, Wanted::Def(_)) => false,
    }
}

impl Evaluator {
    /// Decides a right (a combo needs every member; an inline attribute right the
    /// attribute).
    pub fn decide(&self, right: &Right) -> Decision {
        match right {
            Right::Def(d) if d.kind == RightKind::Combo => {
                let mut last = Decision {
                    allowed: true,
                    via: None,
                };
                for m in expand(d) {
                    last = self.decide_wanted(&Wanted::Def(m), m.class, m.default_allow);
                    if !last.allowed {
                        return last;
                    }
                }
                last
            }
            Right::Def(d) => self.decide_wanted(&Wanted::Def(d), d.class, d.default_allow),
            Right::Inline { set, target, attr } => self.decide_wanted(
                &Wanted::Attr {
                    set: *set,
                    ty: *target,
                    attr,
                },
                RightClass::Admin,
                false,
            ),
        }
    }

    /// Whether reading (`set` false) or writing `attr` of a `ty` entry is allowed.
    pub fn attr_allowed(&self, ty: TargetType, attr: &str, set: bool) -> bool {
        let attr = zcs_core::attrs::canonical(attr);
        self.decide_wanted(&Wanted::Attr { set, ty, attr }, RightClass::Admin, false)
            .allowed
    }

    fn decide_wanted(&self, wanted: &Wanted<'_>, class: RightClass, default: bool) -> Decision {
        let denied = Decision {
            allowed: false,
            via: None,
        };
        if self.who.global_admin {
            return Decision {
                allowed: true,
                via: None,
            };
        }
        if class == RightClass::Admin && !self.who.admin {
            return denied;
        }
        let mut mentioned = false;
        for level in &self.levels {
            let mut best: Option<(usize, &LevelGrant)> = None;
            for lg in level
                .grants
                .iter()
                .filter(|lg| covers(&lg.right, wanted, lg.grant.is_deny()))
            {
                mentioned = true;
                let Some(tier) = self.tier(&lg.grant, class) else {
                    continue;
                };
                let better = match best {
                    None => true,
                    Some((t, b)) => {
                        tier < t || (tier == t && lg.grant.is_deny() && !b.grant.is_deny())
                    }
                };
                if better {
                    best = Some((tier, lg));
                }
            }
            if let Some((_, lg)) = best {
                return Decision {
                    allowed: !lg.grant.is_deny(),
                    via: Some(Via {
                        target_type: lg.holder,
                        target_name: lg.holder_name.clone(),
                        grant: lg.grant.clone(),
                    }),
                };
            }
        }
        Decision {
            allowed: !mentioned && default,
            via: None,
        }
    }

    /// How specific a matching grantee is (lower wins); `None` when the grant does not
    /// name this grantee.
    fn tier(&self, g: &Grant, class: RightClass) -> Option<usize> {
        let w = &self.who;
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match g.grantee_type {
            GranteeType::Usr => eq(&g.grantee, &w.id).then_some(0),
            GranteeType::Gst | GranteeType::Email => {
                w.addresses.iter().any(|a| eq(a, &g.grantee)).then_some(0)
            }
            GranteeType::Grp => {
                let (dist, admin_group) = w.groups.get(&g.grantee.to_ascii_lowercase())?;
                (class == RightClass::User || *admin_group).then_some(*dist)
            }
            _ if class == RightClass::Admin => None,
            GranteeType::Dom => w
                .domain_id
                .as_deref()
                .is_some_and(|d| eq(d, &g.grantee))
                .then_some(1000),
            GranteeType::Edom => w
                .domain
                .as_deref()
                .is_some_and(|d| eq(d, &g.grantee))
                .then_some(1000),
            GranteeType::All => Some(1001),
            GranteeType::Pub => Some(1002),
            // LIMITATION: external groups and access keys are never matched here.
            GranteeType::Egp | GranteeType::Key => None,
        }
    }
}

impl RightsEngine<'_> {
    /// Reads what deciding rights of `grantee` on `target` needs.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn evaluate(&self, grantee: &Entry, target: &Target) -> ServiceResult<Evaluator> {
        let who = self.who(grantee).await?;
        let levels = if who.global_admin {
            Vec::new()
        } else {
            self.levels(target).await?
        };
        Ok(Evaluator { levels, who })
    }

    /// Whether `grantee` holds `right` on `target`, and through which grant.
    ///
    /// # Errors
    /// `account.NO_SUCH_RIGHT` for an unknown right.
    pub async fn check_right(
        &self,
        grantee: &Entry,
        target: &Target,
        right: &str,
    ) -> ServiceResult<Decision> {
        let r = Right::lookup(right).ok_or_else(|| no_such_right(right))?;
        Ok(self.evaluate(grantee, target).await?.decide(&r))
    }

    /// The preset rights and readable/writable attributes `grantee` has on `target`.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn effective_rights(
        &self,
        grantee: &Entry,
        target: &Target,
    ) -> ServiceResult<EffectiveRights> {
        let ev = self.evaluate(grantee, target).await?;
        let ty = match target.ty {
            TargetType::Global => TargetType::Config,
            t => t,
        };
        let preset = rights_for(ty)
            .filter(|d| d.kind == RightKind::Preset && d.class == RightClass::Admin)
            .filter(|d| ev.decide(&Right::Def(d)).allowed)
            .map(|d| d.name.to_string())
            .collect();
        let names: Vec<&str> = zcs_core::attrs::attrs_for(ty.entry_kind())
            .map(|a| a.name)
            .collect();
        let attrs = |set: bool| {
            let allowed: Vec<String> = names
                .iter()
                .filter(|n| ev.attr_allowed(ty, n, set))
                .map(|n| n.to_string())
                .collect();
            AttrRights {
                all: !names.is_empty() && allowed.len() == names.len(),
                attrs: allowed,
            }
        };
        Ok(EffectiveRights {
            target_type: target.ty,
            target_id: target.entry.id.to_string(),
            target_name: target.display_name(),
            preset,
            get_attrs: attrs(false),
            set_attrs: attrs(true),
        })
    }

    /// The effective rights of `grantee` on every entry a grant to it (or to its groups)
    /// sits on (`getAllEffectiveRights`). A global admin gets one entry: the global
    /// target.
    ///
    /// Cost: reads every entry that can hold grants.
    ///
    /// # Errors
    /// `service.FAILURE` when the directory fails.
    pub async fn all_effective_rights(
        &self,
        grantee: &Entry,
    ) -> ServiceResult<Vec<EffectiveRights>> {
        let mut out = Vec::new();
        if is_global_admin(grantee) {
            let t = self.target(TargetType::Global, None).await?;
            out.push(self.effective_rights(grantee, &t).await?);
            return Ok(out);
        }
        let infos = self
            .grants_to(GranteeType::Usr, &grantee.name, true)
            .await?;
        let mut seen = Vec::new();
        for info in infos {
            if seen.contains(&info.target_id) {
                continue;
            }
            seen.push(info.target_id.clone());
            let target = match info.target_type {
                TargetType::Global | TargetType::Config => {
                    self.target(TargetType::Global, None).await?
                }
                t => self.target(t, Some(&info.target_id)).await?,
            };
            out.push(self.effective_rights(grantee, &target).await?);
        }
        Ok(out)
    }

    async fn who(&self, grantee: &Entry) -> ServiceResult<Who> {
        let p = self.prov;
        let mut groups: HashMap<String, (usize, bool)> = HashMap::new();
        let mut dist_by_name: HashMap<String, usize> = HashMap::new();
        for (g, via) in p.group_membership(&grantee.id.to_string()).await? {
            let d = via
                .and_then(|v| dist_by_name.get(&v.to_ascii_lowercase()).copied())
                .map_or(1, |d| d + 1);
            dist_by_name.insert(g.name.to_ascii_lowercase(), d);
            groups.insert(
                g.id.to_string().to_ascii_lowercase(),
                (d, flag(&g, "zimbraIsAdminGroup")),
            );
        }
        let domain = grantee.domain().map(str::to_ascii_lowercase);
        let domain_id = match &domain {
            Some(d) => p
                .directory()
                .get_entry(EntryKind::Domain, &EntryKey::Name(d.clone()))
                .await?
                .map(|e| e.id.to_string()),
            None => None,
        };
        let mut addresses = vec![grantee.name.clone()];
        addresses.extend(grantee.attrs.get_all("zimbraMailAlias").iter().cloned());
        Ok(Who {
            id: grantee.id.to_string(),
            addresses,
            domain_id,
            domain,
            groups,
            global_admin: is_global_admin(grantee),
            admin: flag(grantee, "zimbraIsDelegatedAdminAccount"),
        })
    }

    /// What deciding rights of `grantee` on an entry not created yet needs: the levels
    /// of `target` without group levels (a new entry is in no group yet).
    pub(super) async fn evaluate_new(
        &self,
        grantee: &Entry,
        target: &Target,
    ) -> ServiceResult<Evaluator> {
        let who = self.who(grantee).await?;
        let levels = if who.global_admin {
            Vec::new()
        } else {
            self.levels_of(target, false).await?
        };
        Ok(Evaluator { levels, who })
    }

    /// The levels grants are looked for on, most specific first.
    async fn levels(&self, target: &Target) -> ServiceResult<Vec<Level>> {
        self.levels_of(target, true).await
    }

    /// [`RightsEngine::levels`]; `groups` false leaves out the groups holding the
    /// target (for an entry that does not exist yet).
    async fn levels_of(&self, target: &Target, groups: bool) -> ServiceResult<Vec<Level>> {
        let p = self.prov;
        let dir = p.directory();
        let mut levels = Vec::new();
        let global = p.global_config().await?;
        let entry_level = |ty: TargetType, e: &Entry, only: Option<Modifier>| Level {
            grants: grants_of(e.attrs.get_all("zimbraACE"))
                .into_iter()
                .filter(|g| only.is_none_or(|m| g.modifier == m))
                .filter_map(|g| {
                    let right = Right::lookup(&g.right)?;
                    right.grantable_on(ty).then(|| LevelGrant {
                        holder: ty,
                        holder_name: match ty {
                            TargetType::Global => "globalacltarget".to_string(),
                            _ => e.name.clone(),
                        },
                        grant: g,
                        right,
                    })
                })
                .collect(),
        };
        if matches!(target.ty, TargetType::Global | TargetType::Config) {
            levels.push(entry_level(TargetType::Global, &global, None));
            return Ok(levels);
        }
        levels.push(entry_level(target.ty, &target.entry, None));
        let in_domain = matches!(
            target.ty,
            TargetType::Account | TargetType::CalResource | TargetType::Dl | TargetType::Group
        );
        if in_domain && groups {
            let mut by_dist: Vec<Vec<LevelGrant>> = Vec::new();
            let mut dist_by_name: HashMap<String, usize> = HashMap::new();
            for (g, via) in p.group_membership(&target.entry.id.to_string()).await? {
                let d = via
                    .and_then(|v| dist_by_name.get(&v.to_ascii_lowercase()).copied())
                    .map_or(1, |d| d + 1);
                dist_by_name.insert(g.name.to_ascii_lowercase(), d);
                let ty = TargetType::of_kind(g.kind).unwrap_or(TargetType::Dl);
                let mut lvl = entry_level(ty, &g, None);
                if d > 1 {
                    lvl.grants
                        .retain(|lg| lg.grant.modifier != Modifier::DisinheritSubGroups);
                }
                while by_dist.len() < d {
                    by_dist.push(Vec::new());
                }
                by_dist[d - 1].extend(lvl.grants);
            }
            levels.extend(by_dist.into_iter().map(|grants| Level { grants }));
        }
        let domain_name = match target.ty {
            TargetType::Domain => Some(target.entry.name.clone()),
            _ if in_domain => target.entry.domain().map(str::to_string),
            _ => None,
        };
        if let Some(d) = domain_name {
            if target.ty != TargetType::Domain
                && let Some(dom) = dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(d.clone()))
                    .await?
            {
                levels.push(entry_level(TargetType::Domain, &dom, None));
            }
            let mut rest = d.as_str();
            while let Some((_, parent)) = rest.split_once('.') {
                if let Some(dom) = dir
                    .get_entry(EntryKind::Domain, &EntryKey::Name(parent.to_string()))
                    .await?
                {
                    levels.push(entry_level(
                        TargetType::Domain,
                        &dom,
                        Some(Modifier::SubDomain),
                    ));
                }
                rest = parent;
            }
        }
        levels.push(entry_level(TargetType::Global, &global, None));
        Ok(levels)
    }
}
