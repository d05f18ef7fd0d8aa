//! `zmprov describe` (desc): attribute names from the registry, all of them or those of
//! one entry type (`desc account`), with their descriptions (`-v`), only the ones an
//! entry does not inherit (`-ni`), or one attribute's properties (`-a name`), in the
//! layout Zimbra prints.

use zcs_core::attrs::{self, AttrDef};
use zcs_core::{EntryKind, ServiceError};

use super::commands::CmdError;

/// What a `desc` command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    verbose: bool,
    non_inherited: bool,
    kind: Option<EntryKind>,
    attr: Option<String>,
}

/// The entry types `desc` accepts, in Zimbra's spelling.
fn entry_types() -> String {
    EntryKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn bad(why: String) -> CmdError {
    CmdError::Fault(ServiceError::invalid_request(why))
}

fn parse(a: &[String]) -> Result<Args, CmdError> {
    let mut out = Args::default();
    let mut it = a.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "-v" => out.verbose = true,
            "-ni" => out.non_inherited = true,
            "-a" => out.attr = Some(it.next().ok_or(CmdError::Usage)?.clone()),
            t if !t.starts_with('-') && out.kind.is_none() => {
                let kind = t.parse::<EntryKind>().map_err(|_| {
                    bad(format!(
                        "unknown entry type: {t}; valid entry types: {}",
                        entry_types()
                    ))
                })?;
                out.kind = Some(kind);
            }
            _ => return Err(CmdError::Usage),
        }
    }
    if out.attr.is_some() && (out.kind.is_some() || out.verbose || out.non_inherited) {
        return Err(bad(
            "can only specify either an entry type or a specific attribute".into(),
        ));
    }
    if out.non_inherited && out.kind.is_none() {
        return Err(bad("-ni needs an entry type".into()));
    }
    Ok(out)
}

/// `text` wrapped into lines of at most `width` columns after `indent`, breaking at
/// spaces (a longer word stays whole on its own line).
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `def` is one `kind` does not inherit: for accounts, not also on COS; for
/// domains and servers, not also on the global config; for any other kind, on that
/// kind alone.
fn not_inherited(def: &AttrDef, kind: EntryKind) -> bool {
    match kind {
        EntryKind::Account => !def.applies_to(EntryKind::Cos),
        EntryKind::Domain | EntryKind::Server => !def.applies_to(EntryKind::GlobalConfig),
        _ => def.on.len() <= 1,
    }
}

/// `desc [-v] [-ni] [{entry-type}]` or `desc -a {attribute}`: attribute names one per
/// line in name order (each followed by its wrapped description and an empty line with
/// `-v`), or one attribute's properties followed by an empty line. An attribute the
/// registry does not know prints `no attribute info for <name>`, as Zimbra's does.
pub(super) async fn describe(
    _p: &zcs_directory::Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let args = parse(a)?;
    if let Some(name) = &args.attr {
        return Ok(match attrs::lookup(name) {
            Some(def) => attrs::describe(def) + "\n",
            None => format!("no attribute info for {name}\n\n"),
        });
    }
    let mut defs: Vec<&AttrDef> = attrs::ATTRS
        .iter()
        .filter(|d| args.kind.is_none_or(|k| d.applies_to(k)))
        .filter(|d| match (args.non_inherited, args.kind) {
            (true, Some(k)) => not_inherited(d, k),
            _ => true,
        })
        .collect();
    defs.sort_by(|x, y| x.name.cmp(y.name));
    let mut out = String::new();
    for d in defs {
        out.push_str(d.name);
        out.push('\n');
        if args.verbose {
            out.push_str(&wrap(d.desc, 70, "    "));
            out.push_str("\n\n");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn arguments_parse_as_zimbra_reads_them() {
        let a = parse(&words("-ni -v account")).ok().expect("parses");
        assert!(a.verbose && a.non_inherited);
        assert_eq!(a.kind, Some(EntryKind::Account));
        assert!(parse(&words("account -a zimbraId")).is_err());
        assert!(parse(&words("-ni")).is_err());
        assert!(parse(&words("nosuchtype")).is_err());
        assert_eq!(
            parse(&words("-a zimbraId"))
                .ok()
                .expect("parses")
                .attr
                .as_deref(),
            Some("zimbraId")
        );
    }

    #[test]
    fn descriptions_wrap_at_seventy_columns() {
        let text = "word ".repeat(40);
        let w = wrap(&text, 70, "    ");
        assert!(
            w.lines()
                .all(|l| l.len() <= 74 && l.starts_with("    word"))
        );
        assert_eq!(wrap("", 70, "    "), "    ");
    }
}
