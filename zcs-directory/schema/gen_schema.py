#!/usr/bin/env python3
"""Generates zimbra.schema (slapd.conf syntax) from the zcs attribute registry.

In charge of the LDAP schema zcs ships for its OpenLDAP backend: one attribute type per
registry attribute that the standard OpenLDAP schemas do not already define, the object
classes zcs entries use (with Zimbra's names and OIDs), amavisAccount, and the few private
types the backend keeps its bookkeeping in. Not in charge of slapd configuration.

Usage: python3 zcs-directory/schema/gen_schema.py  (from the repository root; rewrites
zcs-directory/schema/zimbra.schema). Reads the standard schemas from /etc/ldap/schema
(Debian's slapd package) to know which names they define; commit the output.

OIDs: a registry attribute with a Zimbra id N gets Zimbra's 1.3.6.1.4.1.19348.1.1.N; object
class id N gets 1.3.6.1.4.1.19348.2.2.N. Everything else is under the documentation arc
1.3.6.1.4.1.32473 (RFC 5612): attributes without a Zimbra id take .1.1.<crc32 of the name>
so adding attributes never renumbers others; zcs's private types are under .2.
"""

import os
import re
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGISTRY = os.path.join(ROOT, "zcs-core", "src", "attrs", "attrs.tsv")
OUT = os.path.join(ROOT, "zcs-directory", "schema", "zimbra.schema")
STANDARD_DIR = "/etc/ldap/schema"
# The schemas the CI slapd loads before this one (Zimbra loads the same ones).
STANDARD = ["core", "cosine", "inetorgperson", "nis", "dyngroup"]

ZIMBRA_ATTR_ARC = "1.3.6.1.4.1.19348.1.1"
ZIMBRA_OC_ARC = "1.3.6.1.4.1.19348.2.2"
DOC_ARC = "1.3.6.1.4.1.32473"

DIRECTORY_STRING = "1.3.6.1.4.1.1466.115.121.1.15"
OCTET_STRING = "1.3.6.1.4.1.1466.115.121.1.40"

# (Zimbra id, name, kind, superior, description). Zimbra's ids and kinds; the MAY list of
# every class is the permissive `zcsAllAttributes` they all derive from.
CLASSES = [
    (7, "zimbraMailRecipient", "AUXILIARY", "zcsAllAttributes", "mail recipient"),
    (1, "zimbraAccount", "AUXILIARY", "zimbraMailRecipient", "account"),
    (3, "zimbraCOS", "STRUCTURAL", "zcsAllAttributes", "class of service"),
    (4, "zimbraDomain", "AUXILIARY", "zimbraMailRecipient", "domain"),
    (5, "zimbraSecurityGroup", "AUXILIARY", "zcsAllAttributes", "security group"),
    (6, "zimbraDistributionList", "STRUCTURAL", "zcsAllAttributes", "distribution list"),
    (8, "zimbraServer", "STRUCTURAL", "zcsAllAttributes", "server"),
    (9, "zimbraGlobalConfig", "AUXILIARY", "zcsAllAttributes", "global config"),
    (11, "zimbraAlias", "STRUCTURAL", "zcsAllAttributes", "alias of a recipient"),
    (12, "zimbraMimeEntry", "STRUCTURAL", "zcsAllAttributes", "MIME type handler"),
    (13, "zimbraObjectEntry", "STRUCTURAL", "zcsAllAttributes", "object type"),
    (14, "zimbraTimeZone", "STRUCTURAL", "zcsAllAttributes", "time zone"),
    (15, "zimbraZimletEntry", "STRUCTURAL", "zcsAllAttributes", "zimlet"),
    (16, "zimbraCalendarResource", "AUXILIARY", "zcsAllAttributes", "calendar resource"),
    (17, "zimbraIdentity", "STRUCTURAL", "zcsAllAttributes", "account identity"),
    (18, "zimbraDataSource", "STRUCTURAL", "zcsAllAttributes", "data source"),
    (19, "zimbraPop3DataSource", "STRUCTURAL", "zimbraDataSource", "POP3 data source"),
    (20, "zimbraImapDataSource", "STRUCTURAL", "zimbraDataSource", "IMAP data source"),
    (21, "zimbraSignature", "STRUCTURAL", "zcsAllAttributes", "account signature"),
    (24, "zimbraRssDataSource", "STRUCTURAL", "zimbraDataSource", "RSS data source"),
    (26, "zimbraGalDataSource", "STRUCTURAL", "zimbraDataSource", "GAL data source"),
    (27, "zimbraGroup", "AUXILIARY", "zcsAllAttributes", "dynamic group"),
    (28, "zimbraGroupDynamicUnit", "AUXILIARY", "zcsAllAttributes", "dynamic group unit"),
    (29, "zimbraGroupStaticUnit", "STRUCTURAL", "zcsAllAttributes", "dynamic group static unit"),
]

# Registry attributes whose OID was fixed before they joined the registry (amavisSpamLover
# was the one amavisd-new attribute the schema carried by hand).
FIXED_OIDS = {"amavisSpamLover": f"{DOC_ARC}.2.1.3"}

# zcs's private types: bookkeeping the LDAP backend strips from what it returns.
PRIVATE_ATTRS = [
    ("2.1.1", "zcsImplicit",
     "attributes or values the zcs backend added to satisfy the schema (attr or attr:value)"),
    ("2.1.2", "zcsEntryName", "entry name spelling when it differs from the one the DN gives"),
]


def standard_names():
    """Lower-cased attribute names (all aliases) the standard schemas define."""
    names = set()
    pattern = re.compile(r"attributetype\s*\(\s*\S+\s+NAME\s+(\(([^)]*)\)|'([^']*)')",
                         re.IGNORECASE)
    for base in STANDARD:
        path = os.path.join(STANDARD_DIR, base + ".schema")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in pattern.finditer(text):
            listed = m.group(2) if m.group(2) is not None else "'" + m.group(3) + "'"
            names.update(n.lower() for n in re.findall(r"'([^']+)'", listed))
    return names


def registry():
    """(name, type, ztype, zimbra id or '') rows of the registry, in file order."""
    rows = []
    with open(REGISTRY, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "name":
                continue
            rows.append((cols[0], cols[1], cols[2], cols[14]))
    return rows


def doc_oid(name, used):
    n = zlib.crc32(name.encode("utf-8"))
    oid = f"{DOC_ARC}.1.1.{n}"
    if oid in used:
        sys.exit(f"OID collision for {name}")
    used.add(oid)
    return oid


def attribute_type(oid, name, ztype, desc):
    if ztype in ("binary", "certificate"):
        rules = f"EQUALITY octetStringMatch\n  SYNTAX {OCTET_STRING}"
    elif ztype in ("cstring", "ostring", "regex"):
        rules = (f"EQUALITY caseExactMatch SUBSTR caseExactSubstringsMatch\n"
                 f"  SYNTAX {DIRECTORY_STRING}")
    else:
        rules = (f"EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch\n"
                 f"  SYNTAX {DIRECTORY_STRING}")
    return f"attributetype ( {oid} NAME '{name}'\n  DESC '{desc}'\n  {rules} )\n"


def main():
    std = standard_names()
    used = set()
    out = [
        "# zimbra.schema: the LDAP schema of the zcs OpenLDAP backend (slapd.conf syntax).\n",
        "# GENERATED by zcs-directory/schema/gen_schema.py from zcs-core/src/attrs/attrs.tsv;\n",
        "# do not edit. Load after core, cosine, inetorgperson, nis and dyngroup.\n",
        "#\n",
        "# Attribute types are permissive on purpose: every string-like attribute is a\n",
        "# Directory String compared case-insensitively (case-exact for Zimbra's cstring,\n",
        "# ostring and regex types), binary ones are Octet Strings, and none is SINGLE-VALUE;\n",
        "# zcs's Provisioning layer enforces types, ranges and cardinality from the registry.\n",
        "# Every object class derives from the abstract zcsAllAttributes, whose MAY lists every\n",
        "# registry attribute, so any attribute can be set on any entry kind.\n",
        "\n",
    ]
    may = []
    amavis = []
    for name, _type, ztype, zid in registry():
        if name.lower() == "objectclass":
            continue
        may.append(name)
        if name.lower() in std:
            continue
        if name in FIXED_OIDS:
            oid = FIXED_OIDS[name]
        else:
            oid = f"{ZIMBRA_ATTR_ARC}.{zid}" if zid else doc_oid(name, used)
        out.append(attribute_type(oid, name, ztype, f"zcs registry attribute ({ztype})"))
        if name.startswith("amavis"):
            amavis.append(name)
    for extra in ["dc", "uid", "mail", "o", "ou", "cn", "sn", "description", "member",
                  "memberURL", "userPassword"]:
        if extra.lower() not in (m.lower() for m in may):
            may.append(extra)

    out.append("\n# zcs private bookkeeping (documentation arc, RFC 5612)\n")
    for suffix, name, desc in PRIVATE_ATTRS:
        out.append(attribute_type(f"{DOC_ARC}.{suffix}", name, "cstring", desc))
        may.append(name)

    out.append("\n# Every registry attribute, allowed on every class below.\n")
    out.append(f"objectclass ( {DOC_ARC}.2.2.1 NAME 'zcsAllAttributes'\n")
    out.append("  DESC 'zcs: any registry attribute' SUP top ABSTRACT\n  MAY ( ")
    lines = []
    for i in range(0, len(may), 4):
        lines.append(" $ ".join(may[i:i + 4]))
    out.append(" $\n    ".join(lines))
    out.append(" ) )\n\n")

    out.append("# Zimbra's object classes (Zimbra's names, ids and kinds).\n")
    for zid, name, kind, sup, desc in CLASSES:
        out.append(f"objectclass ( {ZIMBRA_OC_ARC}.{zid} NAME '{name}'\n"
                   f"  DESC '{desc}' SUP {sup} {kind} )\n")

    out.append("\n# amavisd-new's account class, which Zimbra adds to accounts.\n")
    out.append(f"objectclass ( {DOC_ARC}.2.2.2 NAME 'amavisAccount'\n"
               "  DESC 'amavis: per-recipient settings' SUP zcsAllAttributes AUXILIARY\n"
               "  MAY ( " + " $\n    ".join(" $ ".join(amavis[i:i + 3])
                                          for i in range(0, len(amavis), 3)) + " ) )\n")
    out.append("\n# zcs private: one entry per address (cn) naming its owner's zimbraId, and one\n"
               "# per retired zimbraId; both keep uniqueness atomic through DN uniqueness.\n")
    out.append(f"objectclass ( {DOC_ARC}.2.2.3 NAME 'zcsAddress'\n"
               "  DESC 'zcs: address reservation' SUP top STRUCTURAL\n"
               "  MUST ( cn $ zimbraId ) )\n")
    out.append(f"objectclass ( {DOC_ARC}.2.2.4 NAME 'zcsRetiredId'\n"
               "  DESC 'zcs: zimbraId of a deleted entry' SUP top STRUCTURAL\n"
               "  MUST ( zimbraId ) MAY ( description ) )\n")

    with open(OUT, "w", encoding="utf-8") as f:
        f.write("".join(out))
    print(f"wrote {OUT}: {len(may)} attributes allowed, {len(CLASSES) + 4} classes")


if __name__ == "__main__":
    main()
