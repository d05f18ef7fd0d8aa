#!/usr/bin/env python3
"""Generate zcs-core/src/attrs/table.rs from attrs.tsv and aliases.tsv.

Run from anywhere: `python3 zcs-core/tools/gen_attrs.py`. The build never runs this
script; the generated table.rs is committed next to its data files. The script checks the
data as it goes (unknown kinds, bad bounds, duplicate names) and stops on the first error.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ATTRS_DIR = os.path.join(HERE, "..", "src", "attrs")
DATA = os.path.join(ATTRS_DIR, "attrs.tsv")
ALIASES = os.path.join(ATTRS_DIR, "aliases.tsv")
OUT = os.path.join(ATTRS_DIR, "table.rs")

WIDTH = 100

KINDS = {
    "globalConfig": "GlobalConfig",
    "server": "Server",
    "domain": "Domain",
    "cos": "Cos",
    "account": "Account",
    "alias": "Alias",
    "distributionList": "DistributionList",
    "group": "DynamicGroup",
    "calendarResource": "CalendarResource",
    "identity": "Identity",
    "signature": "Signature",
    "dataSource": "DataSource",
    "zimletEntry": "Zimlet",
}

SIMPLE_TYPES = {
    "string": "String",
    "integer": "Integer",
    "long": "Long",
    "boolean": "Boolean",
    "duration": "Duration",
    "time": "Time",
    "size": "Size",
    "email": "Email",
    "emailp": "EmailPattern",
    "id": "Id",
    "port": "Port",
    "cos": "Cos",
    "domain": "Domain",
    "dn": "Dn",
    "phone": "PhoneNumber",
    "binary": "Binary",
}

INHERIT = {
    "none": "None",
    "account-cos": "AccountCos",
    "account-cos-global": "AccountCosGlobal",
    "account-cos-domain": "AccountCosDomainGlobal",
    "account-domain-global": "AccountDomainGlobal",
    "server-global": "ServerGlobal",
    "domain-global": "DomainGlobal",
}

FLAGS = {
    "accountInfo": "ACCOUNT_INFO",
    "domainInfo": "DOMAIN_INFO",
    "domainAdminModifiable": "DOMAIN_ADMIN_MODIFIABLE",
    "accountInherited": "ACCOUNT_INHERITED",
    "domainInherited": "DOMAIN_INHERITED",
    "serverInherited": "SERVER_INHERITED",
    "accountCosDomainInherited": "ACCOUNT_COS_DOMAIN_INHERITED",
    "idn": "IDN",
    "serverPreferAlwaysOn": "SERVER_PREFER_ALWAYS_ON",
    "ephemeral": "EPHEMERAL",
    "expirable": "EXPIRABLE",
    "dynamic": "DYNAMIC",
}

RESTART = {"all", "antivirus", "antispam", "archiving", "convertd", "mta", "mailbox",
           "logger", "snmp", "ldap", "spell", "memcached", "nginxproxy", "stats"}

NUMERIC = {"integer", "long", "port"}
DUR_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
              "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


class DataError(Exception):
    pass


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            out.append({"t": "\t", "n": "\n", "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_tsv(path, ncols):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = [unescape(c) for c in line.split("\t")]
            if len(cols) != ncols:
                raise DataError(f"{path}:{lineno}: {len(cols)} columns, want {ncols}")
            rows.append((lineno, cols))
    return rows


def bound(text, ty, where):
    """A bound in the type's base unit (ms for durations, bytes for sizes)."""
    if text == "":
        return None
    if ty == "duration":
        m = re.fullmatch(r"(-?\d+)(ms|[smhd])?", text)
        if not m:
            raise DataError(f"{where}: bad duration bound {text!r}")
        return int(m.group(1)) * DUR_UNITS[m.group(2) or "ms"]
    if ty == "size":
        m = re.fullmatch(r"(-?\d+)\s*([A-Za-z]*)", text)
        if not m or m.group(2).lower() not in SIZE_UNITS:
            raise DataError(f"{where}: bad size bound {text!r}")
        return int(m.group(1)) * SIZE_UNITS[m.group(2).lower()]
    if not re.fullmatch(r"-?\d+", text):
        raise DataError(f"{where}: bad bound {text!r}")
    return int(text)


def rust_str(s):
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def str_lit(s, indent, room):
    """A string literal that fits in `room` columns, as concat!() pieces if it must."""
    lit = rust_str(s)
    if len(lit) <= room:
        return lit
    pad = " " * (indent + 4)
    pieces, cur = [], ""
    for ch in s:
        if len(rust_str(cur + ch)) > WIDTH - len(pad) - 1:
            pieces.append(rust_str(cur))
            cur = ""
        cur += ch
    pieces.append(rust_str(cur))
    inner = ",\n".join(pad + p for p in pieces)
    return "concat!(\n" + inner + ",\n" + " " * indent + ")"


class Interner:
    """Shared `const` slices, so equal lists are written once."""

    def __init__(self, prefix, ty):
        self.prefix, self.ty, self.names, self.items = prefix, ty, {}, []

    def get(self, key, body):
        if key not in self.names:
            name = f"{self.prefix}{len(self.names)}"
            self.names[key] = name
            self.items.append((name, body))
        return self.names[key]

    def emit(self, out):
        for name, body in self.items:
            line = f"const {name}: {self.ty} = &[{body}];"
            if len(line) <= WIDTH:
                out.append(line)
            else:
                out.append(f"const {name}: {self.ty} = &[")
                for part in body.split(", "):
                    out.append(f"    {part},")
                out.append("];")


def str_list(values, indent, room):
    if not values:
        return "&[]"
    inline = "&[" + ", ".join(rust_str(v) for v in values) + "]"
    if len(inline) <= room and "\n" not in inline:
        return inline
    pad = " " * (indent + 4)
    parts = [pad + str_lit(v, indent + 4, WIDTH - len(pad) - 1) + "," for v in values]
    return "&[\n" + "\n".join(parts) + "\n" + " " * indent + "]"


def main():
    header = None
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                header = line.rstrip("\n").split("\t")
                break
    rows = read_tsv(DATA, len(header))[1:]
    aliases = read_tsv(ALIASES, 3)

    kinds = Interner("K", "&[EntryKind]")
    enums = Interner("E", "&[&str]")
    restarts = Interner("R", "&[&str]")
    kinds.get((), "")
    restarts.get((), "")

    defs, metas, seen, flag_sets = [], [], set(), {}
    for lineno, cols in rows:
        r = dict(zip(header, cols))
        name = r["name"]
        where = f"{DATA}:{lineno} ({name})"
        if name.lower() in seen:
            raise DataError(f"{where}: duplicate name")
        seen.add(name.lower())

        ty = r["type"]
        m = re.fullmatch(r"enum\((.*)\)", ty)
        if m:
            values = [v for v in m.group(1).split(",")]
            if any(v == "" for v in values):
                raise DataError(f"{where}: empty enum value")
            body = ", ".join(rust_str(v) for v in values)
            ty_code = f"T::Enum({enums.get(tuple(values), body)})"
            base = "enum"
        elif ty in SIMPLE_TYPES:
            ty_code = f"T::{SIMPLE_TYPES[ty]}"
            base = ty
        else:
            raise DataError(f"{where}: unknown type {ty!r}")

        card = {"single": "S", "multi": "M"}.get(r["card"])
        if card is None:
            raise DataError(f"{where}: bad cardinality {r['card']!r}")

        def kind_slice(text):
            names = [k for k in text.split(",") if k]
            for k in names:
                if k not in KINDS:
                    raise DataError(f"{where}: unknown entry kind {k!r}")
            order = [k for k in KINDS if k in names]
            return kinds.get(tuple(order), ", ".join(KINDS[k] for k in order))

        on = kind_slice(r["on"])
        if on == "K0":
            raise DataError(f"{where}: applies to no entry kind")
        required = kind_slice(r["required"])

        default = json.loads(r["default"])
        gcv = json.loads(r["gcv"])
        cosv = json.loads(r["cosv"])
        if r["card"] == "single" and max(len(default), len(gcv), len(cosv)) > 1:
            raise DataError(f"{where}: several defaults on a single-valued attribute")

        inherit = INHERIT.get(r["inherit"])
        if inherit is None:
            raise DataError(f"{where}: bad inherit {r['inherit']!r}")

        rs = [s for s in r["restart"].split(",") if s]
        for s in rs:
            if s not in RESTART:
                raise DataError(f"{where}: unknown server type {s!r}")
        restart = restarts.get(tuple(rs), ", ".join(rust_str(s) for s in rs))

        flags = [fl for fl in r["flags"].split(",") if fl]
        for fl in flags:
            if fl not in FLAGS:
                raise DataError(f"{where}: unknown flag {fl!r}")
        flag_key = tuple(sorted(flags))
        if flag_key not in flag_sets:
            flag_sets[flag_key] = f"G{len(flag_sets)}"
        flag_code = flag_sets[flag_key]

        if base in NUMERIC or base in ("duration", "size"):
            lo, hi = bound(r["min"], base, where), bound(r["max"], base, where)
            max_len = None
        else:
            lo, hi = None, None
            max_len = bound(r["max"], "integer", where)
        if lo is not None and hi is not None and lo > hi:
            raise DataError(f"{where}: min above max")

        desc = r["desc"]
        if not desc:
            raise DataError(f"{where}: no description")

        opt = lambda v: "None" if v is None else f"Some({v})"
        ind = 8
        line1 = f"    a({rust_str(name)}, {ty_code}, {card}, {on},"
        args = f"I::{inherit}, {'true' if rs else 'false'}, {opt(lo)}, {opt(hi)},"
        dlit = str_lit(desc, ind, WIDTH - ind - 2)
        inline = str_list(default, ind, 10_000)
        lines = []
        one = f"        {inline}, {args} {dlit}),"
        two = f"        {inline}, {args}"
        if "\n" not in inline and "\n" not in one and len(one) <= WIDTH:
            lines.append(one)
        elif "\n" not in inline and len(two) <= WIDTH:
            lines.append(two)
            lines.append(f"        {dlit}),")
        else:
            multi = str_list(default, ind, 0)
            lines.append(f"        {multi}, {args}")
            lines.append(f"        {dlit}),")
        defs.append((line1, lines))

        ident = r["id"]
        if ident and not ident.isdigit():
            raise DataError(f"{where}: bad id {ident!r}")
        meta = [
            opt(int(ident) if ident else None),
            rust_str(r["ztype"]),
            required,
            str_list(gcv, ind, WIDTH - ind - 2),
            str_list(cosv, ind, WIDTH - ind - 2),
            flag_code,
            restart,
            rust_str(r["since"]),
            rust_str(r["deprecated"]),
            "true" if r["immutable"] == "1" else "false",
            opt(max_len),
        ]
        metas.append(meta)

    names = {cols[0].lower() for _, cols in rows}
    alias_rows = []
    for lineno, (alias, target, _why) in aliases:
        if alias.lower() in names:
            raise DataError(f"{ALIASES}:{lineno}: alias {alias} is also an attribute")
        if target.lower() not in names:
            raise DataError(f"{ALIASES}:{lineno}: alias target {target} is not an attribute")
        alias_rows.append((alias, target))

    out = []
    out.append("//! The attribute table: generated by `tools/gen_attrs.py` from `attrs.tsv` and")
    out.append("//! `aliases.tsv`. Edit those files and rerun the script; never edit this one.")
    out.append("//! [`ATTRS`] and [`META`] are parallel: entry `i` of one describes the same")
    out.append("//! attribute as entry `i` of the other.")
    out.append("")
    out.append("use super::{AttrDef, AttrFlags as F, AttrMeta, AttrType as T, Inherit as I};")
    out.append("use super::Cardinality::{Multi as M, Single as S};")
    out.append("use crate::entry::EntryKind::{self, *};")
    out.append("")
    out.append("#[allow(clippy::too_many_arguments)]")
    out.append("const fn a(")
    out.append("    name: &'static str,")
    out.append("    ty: T,")
    out.append("    cardinality: super::Cardinality,")
    out.append("    on: &'static [EntryKind],")
    out.append("    default: &'static [&'static str],")
    out.append("    inherit: I,")
    out.append("    requires_restart: bool,")
    out.append("    min: Option<i64>,")
    out.append("    max: Option<i64>,")
    out.append("    desc: &'static str,")
    out.append(") -> AttrDef {")
    out.append("    AttrDef {")
    out.append("        name,")
    out.append("        ty,")
    out.append("        cardinality,")
    out.append("        on,")
    out.append("        default,")
    out.append("        inherit,")
    out.append("        requires_restart,")
    out.append("        min,")
    out.append("        max,")
    out.append("        desc,")
    out.append("    }")
    out.append("}")
    out.append("")
    out.append("#[allow(clippy::too_many_arguments)]")
    out.append("const fn m(")
    out.append("    id: Option<u32>,")
    out.append("    zimbra_type: &'static str,")
    out.append("    required_in: &'static [EntryKind],")
    out.append("    global_config_value: &'static [&'static str],")
    out.append("    default_cos_value: &'static [&'static str],")
    out.append("    flags: F,")
    out.append("    restart: &'static [&'static str],")
    out.append("    since: &'static str,")
    out.append("    deprecated_since: &'static str,")
    out.append("    immutable: bool,")
    out.append("    max_len: Option<u32>,")
    out.append(") -> AttrMeta {")
    out.append("    AttrMeta {")
    out.append("        id,")
    out.append("        zimbra_type,")
    out.append("        required_in,")
    out.append("        global_config_value,")
    out.append("        default_cos_value,")
    out.append("        flags,")
    out.append("        restart,")
    out.append("        since,")
    out.append("        deprecated_since,")
    out.append("        immutable,")
    out.append("        max_len,")
    out.append("    }")
    out.append("}")
    out.append("")
    kinds.emit(out)
    enums.emit(out)
    restarts.emit(out)
    for key, name in flag_sets.items():
        if not key:
            out.append(f"const {name}: F = F(0);")
            continue
        line = f"const {name}: F = F(" + " | ".join(f"F::{FLAGS[k]}.0" for k in key) + ");"
        if len(line) <= WIDTH:
            out.append(line)
        else:
            out.append(f"const {name}: F = F(F::{FLAGS[key[0]]}.0")
            for k in key[1:]:
                out.append(f"    | F::{FLAGS[k]}.0")
            out.append(");")
    out.append("")
    out.append(f"/// Every attribute zcs knows ({len(defs)}), sorted by lower-cased name.")
    out.append("pub static ATTRS: &[AttrDef] = &[")
    for line1, lines in defs:
        out.append(line1)
        out.extend(lines)
    out.append("];")
    out.append("")
    out.append("/// What `zmprov desc` shows beyond [`AttrDef`], one entry per [`ATTRS`] entry.")
    out.append("pub(super) static META: &[AttrMeta] = &[")
    for meta in metas:
        one = "    m(" + ", ".join(meta) + "),"
        if len(one) <= WIDTH and "\n" not in one:
            out.append(one)
            continue
        out.append("    m(")
        for part in meta:
            out.append("        " + part + ",")
        out.append("    ),")
    out.append("];")
    out.append("")
    out.append("/// Guide spellings that are not attribute names: (alias, canonical name).")
    out.append("pub(super) static ALIASES: &[(&str, &str)] = &[")
    for alias, target in alias_rows:
        out.append(f"    ({rust_str(alias)}, {rust_str(target)}),")
    out.append("];")
    text = "\n".join(out) + "\n"

    for n, line in enumerate(text.split("\n"), 1):
        if len(line) > WIDTH:
            raise DataError(f"generated line {n} is {len(line)} columns: {line[:60]}...")
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUT}: {len(defs)} attributes, {len(alias_rows)} aliases")


if __name__ == "__main__":
    try:
        main()
    except DataError as e:
        print(f"gen_attrs: {e}", file=sys.stderr)
        sys.exit(1)
