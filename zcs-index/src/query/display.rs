//! Canonical printing of a [`Query`]: lower-case field names, `OR` between alternatives,
//! `-` for negation, parentheses only where precedence needs them, values quoted when
//! they must be. Parsing the printed text gives back an equal AST.

use std::fmt;

use super::{Comparison, DateField, HasKind, ItemSet, Priority, Query, RangeField, TextField};

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::And(children) => {
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    if matches!(c, Query::Or(_)) {
                        write!(f, "({c})")?;
                    } else {
                        write!(f, "{c}")?;
                    }
                }
                Ok(())
            }
            Query::Or(children) => {
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
            Query::Not(inner) => match **inner {
                Query::And(_) | Query::Or(_) | Query::Not(_) => write!(f, "-({inner})"),
                _ => write!(f, "-{inner}"),
            },
            leaf => write_leaf(leaf, f),
        }
    }
}

fn write_leaf(q: &Query, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match q {
        Query::Term {
            field,
            value,
            phrase,
            ..
        } => {
            write_text_field(field, f)?;
            let looks_like_range = value.starts_with('<') || value.starts_with('>');
            if *phrase {
                write_quoted(value, f)
            } else if *field == TextField::From && looks_like_range {
                // Printed in brackets so it reads back as an address, not a comparison.
                write!(f, "<{value}>")
            } else {
                f.write_str(value)
            }
        }
        Query::In(v) => write_named("in", v, f),
        Query::Under(v) => write_named("under", v, f),
        Query::InId(v) => write_named("inid", v, f),
        Query::UnderId(v) => write_named("underid", v, f),
        Query::Tag(v) => write_named("tag", v, f),
        Query::My(v) => write_named("my", v, f),
        Query::Sort(v) => write_named("sort", v, f),
        Query::Type(v) => write_named("type", v, f),
        Query::Attachment(v) => write_named("attachment", v, f),
        Query::Is(flag) => write!(f, "is:{}", flag.as_str()),
        Query::Has(HasKind::Attachment) => f.write_str("has:attachment"),
        Query::Has(HasKind::Object(o)) => write_named("has", o, f),
        Query::Priority(Priority::High) => f.write_str("priority:high"),
        Query::Priority(Priority::Low) => f.write_str("priority:low"),
        Query::Priority(Priority::Normal) => f.write_str("priority:normal"),
        Query::Date { field, op, value } => {
            write!(f, "{}:{}{value}", date_field_name(*field), op_str(*op))
        }
        Query::Size { op, bytes } => write!(f, "size:{}{bytes}", op_str(*op)),
        Query::TextRange { field, op, value } => {
            let name = match field {
                RangeField::Subject => "subject",
                RangeField::From => "from",
            };
            let plain = value.chars().all(|c| {
                !c.is_whitespace() && !matches!(c, '(' | ')' | '"' | ':' | '{' | '}' | '\\')
            }) && !(value.ends_with('>') && *field == RangeField::From);
            if plain {
                write!(f, "{name}:{}{value}", op_str(*op))
            } else {
                write!(f, "{name}:")?;
                write_quoted(&format!("{}{value}", op_str(*op)), f)
            }
        }
        Query::Item(set) => match set {
            ItemSet::All => f.write_str("item:all"),
            ItemSet::None => f.write_str("item:none"),
            ItemSet::Ids(ids) if ids.len() == 1 => write!(f, "item:{}", ids[0]),
            ItemSet::Ids(ids) => {
                let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                write!(f, "item:{{{}}}", list.join(","))
            }
            ItemSet::Range { from, to } => write!(f, "item:{{{from}--{to}}}"),
        },
        Query::Message(id) => write!(f, "message:{id}"),
        Query::Conv(id) => write!(f, "conv:{id}"),
        Query::ConvCount { op, count } => write!(f, "conv-count:{}{count}", op_str(*op)),
        Query::ConvMinM(n) => write!(f, "conv-minm:{n}"),
        Query::ConvMaxM(n) => write!(f, "conv-maxm:{n}"),
        Query::Modseq { op, value } => write!(f, "modseq:{}{value}", op_str(*op)),
        Query::And(_) | Query::Or(_) | Query::Not(_) => write!(f, "({q})"),
    }
}

fn write_text_field(field: &TextField, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let name = match field {
        TextField::Default => return Ok(()),
        TextField::Field(name) => return write!(f, "#{name}:"),
        TextField::Content => "content",
        TextField::Subject => "subject",
        TextField::From => "from",
        TextField::To => "to",
        TextField::Cc => "cc",
        TextField::ToFrom => "tofrom",
        TextField::ToCc => "tocc",
        TextField::FromCc => "fromcc",
        TextField::ToFromCc => "tofromcc",
        TextField::MsgId => "msgid",
        TextField::EnvTo => "envto",
        TextField::EnvFrom => "envfrom",
        TextField::Contact => "contact",
        TextField::Filename => "filename",
        TextField::Author => "author",
        TextField::Title => "title",
        TextField::Keywords => "keywords",
        TextField::Company => "company",
        TextField::Metadata => "metadata",
    };
    write!(f, "{name}:")
}

fn date_field_name(field: DateField) -> &'static str {
    match field {
        DateField::Date => "date",
        DateField::MDate => "mdate",
        DateField::Day => "day",
        DateField::Week => "week",
        DateField::Month => "month",
        DateField::Year => "year",
        DateField::ApptStart => "appt-start",
        DateField::ApptEnd => "appt-end",
        DateField::ConvStart => "conv-start",
        DateField::ConvEnd => "conv-end",
    }
}

fn op_str(op: Comparison) -> &'static str {
    match op {
        Comparison::Eq => "",
        Comparison::Lt => "<",
        Comparison::Le => "<=",
        Comparison::Gt => ">",
        Comparison::Ge => ">=",
    }
}

/// `name:value`, quoting the value unless it is a plain word.
fn write_named(name: &str, value: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{name}:")?;
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"' | ':' | '{' | '}'));
    if plain {
        f.write_str(value)
    } else {
        write_quoted(value, f)
    }
}

/// `"..."` with `"` and `\` escaped by a backslash.
fn write_quoted(value: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}
