//! `zmprov desc -a <attr>` output: the attribute's name, its description, then one
//! `key : value` line per property, keys right-aligned, in the order Zimbra prints them.
//! Zimbra's `callback` line is left out: zcs has no callback classes.

use super::value::{format_duration_ms, format_size};
use super::{AttrDef, AttrType, Cardinality};
use crate::entry::EntryKind;

fn kinds(list: &[EntryKind]) -> String {
    list.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn bound(def: &AttrDef, v: Option<i64>) -> String {
    match (v, def.ty) {
        (None, _) => String::new(),
        (Some(ms), AttrType::Duration) if ms >= 0 => format_duration_ms(ms.unsigned_abs()),
        (Some(b), AttrType::Size) if b >= 0 => format_size(b.unsigned_abs()),
        (Some(n), _) => n.to_string(),
    }
}

/// The text `zmprov desc -a` prints for `def`, ending with a newline. Attributes that
/// need a restart name the server types in the `requiresRestart` line.
pub fn describe(def: &AttrDef) -> String {
    let meta = def.meta();
    let required = meta.map(|m| m.required_in).unwrap_or(&[]);
    let optional: Vec<EntryKind> = def
        .on
        .iter()
        .copied()
        .filter(|k| !required.contains(k))
        .collect();
    let type_name = meta.map(|m| m.zimbra_type).unwrap_or(match def.ty {
        AttrType::Enum(_) => "enum",
        _ => "string",
    });
    let value = match def.ty {
        AttrType::Enum(values) => values.join(","),
        _ => String::new(),
    };
    let (min, max) = match def.ty {
        AttrType::Integer
        | AttrType::Long
        | AttrType::Port
        | AttrType::Duration
        | AttrType::Size => (bound(def, def.min), bound(def, def.max)),
        _ => (
            String::new(),
            meta.and_then(|m| m.max_len)
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
    };
    let restart = match meta.map(|m| m.restart) {
        Some(servers) if !servers.is_empty() => servers.join(","),
        _ if def.requires_restart => "yes".to_string(),
        _ => String::new(),
    };
    let rows: [(&str, String); 14] = [
        ("type", type_name.to_string()),
        ("value", value),
        ("immutable", meta.is_some_and(|m| m.immutable).to_string()),
        (
            "cardinality",
            match def.cardinality {
                Cardinality::Single => "single",
                Cardinality::Multi => "multi",
            }
            .to_string(),
        ),
        ("requiredIn", kinds(required)),
        ("optionalIn", kinds(&optional)),
        (
            "flags",
            meta.map(|m| m.flags.names().collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
        ),
        ("defaults", def.default.join(",")),
        ("min", min),
        ("max", max),
        (
            "id",
            meta.and_then(|m| m.id)
                .map(|i| i.to_string())
                .unwrap_or_default(),
        ),
        ("requiresRestart", restart),
        ("since", meta.map(|m| m.since).unwrap_or("").to_string()),
        (
            "deprecatedSince",
            meta.map(|m| m.deprecated_since).unwrap_or("").to_string(),
        ),
    ];
    let mut out = format!("{}\n    {}\n\n", def.name, def.desc);
    for (key, val) in rows {
        let line = format!("{key:>19} : {val}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::lookup;
    use super::*;

    #[test]
    fn describes_a_restart_attribute() {
        let text = describe(lookup("zimbraImapBindPort").expect("known"));
        assert!(text.starts_with("zimbraImapBindPort\n    port the IMAP server listens on\n\n"));
        assert!(text.contains("\n               type : port\n"));
        assert!(text.contains("\n    requiresRestart : mailbox\n"));
        assert!(text.contains("\n         optionalIn : globalConfig,server\n"));
        assert!(text.contains("\n           defaults : 7143\n"));
        assert!(text.contains("\n                 id : 180\n"));
        assert!(text.contains("\n              flags : serverInherited\n"));
    }

    #[test]
    fn describes_enums_bounds_and_required_kinds() {
        let text = describe(lookup("zimbraAccountStatus").expect("known"));
        assert!(text.contains("value : active,maintenance,locked,closed,lockout,pending\n"));
        assert!(text.contains("requiredIn : account,calendarResource\n"));
        let text = describe(lookup("zimbraPrefCalendarFirstDayOfWeek").expect("known"));
        assert!(text.contains("                min : 0\n"));
        assert!(text.contains("                max : 6\n"));
        let text = describe(lookup("zimbraMailQuota").expect("known"));
        assert!(
            text.contains("\n    requiresRestart :\n"),
            "empty values end at the colon"
        );
    }
}
