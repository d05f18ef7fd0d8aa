"""SOAP helpers for the end-to-end suites, and a runner for Zimbra's SOAP QA harness
format (../shared/conformance/zimbra-soap-harness, see its README).

The runner substitutes t:property values (${TIME}, ${ICALTIME}, ${GENTIME} with
(+N unit) offsets and [base] times, ${COUNTER}, ${name}, innermost first), wraps each
t:request body in a SOAP 1.2 envelope with the current ${authToken}, sends
urn:zimbraAdmin requests to the admin URL and the others to the user URL, and checks
t:select paths with attr/match/set/emptyset/contains. Paths are XPath 1.0 as the
harness files write it (a small evaluator: /, //, ., .., @attr, text(), *, prefixes,
|, predicates with positions, comparisons, and/or, nested paths, contains(),
starts-with(), not(), count(), position(), last()). t:uploadservlettest posts a file
to /service/upload (urls["upload"]); t:mailinjecttest delivers files over LMTP
(urls["lmtp"]) and t:smtpinjecttest over SMTP (urls["smtp"], host:port; then it waits
SOAP_HARNESS_SMTP_SETTLE, 1 s, for the queue to deliver); fixture
paths are read from ${testMailRaw.root}, relative ones from the harness's root. Steps
it cannot run (IMAP, ...) make the case a skip with the reason. t:regex sets a
property from a regular expression's group; t:delay waits at most
SOAP_HARNESS_MAX_DELAY seconds (2 by default), or its full length (at most
SOAP_HARNESS_EXPIRY_DELAY, 120 s) in a case that waits out an expiry. As in Zimbra's harness, a failing step
fails its case but the steps after it still run (they may create what later cases
need) unless the step is required="true". Run it as: python soap_util.py DIR
--user-url U --admin-url A [--cafile F].
"""

import argparse
import copy
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
T = "urn:zimbraTestHarness"
PREFIXES = {
    "zimbra": "urn:zimbra",
    "acct": "urn:zimbraAccount",
    "mail": "urn:zimbraMail",
    "admin": "urn:zimbraAdmin",
    "soap": SOAP12,
    "soap12": SOAP12,
    "soap11": SOAP11,
}
DEBUG = bool(__import__("os").environ.get("SOAP_HARNESS_DEBUG"))
MAX_DELAY = float(__import__("os").environ.get("SOAP_HARNESS_MAX_DELAY", "2"))
# Wait after a t:smtpinjecttest for the queue to deliver, s.
SMTP_SETTLE = float(__import__("os").environ.get("SOAP_HARNESS_SMTP_SETTLE", "1"))
# Longest t:delay in a case that waits out an expiry (see waits_out_expiry), s.
EXPIRY_DELAY = float(__import__("os").environ.get("SOAP_HARNESS_EXPIRY_DELAY", "120"))
# The property (not a harness name) that tells run_steps the current case waits out
# an expiry.
WAITS_EXPIRY = "\x00waits-expiry"
SKIP_STEPS = {"lmtp", "smtp", "imaptest", "pop3test", "csvservlettest",
              "caldavtest", "waitforpostfix"}


def ssl_context(cafile=None):
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if cafile is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def post(url, body, ctx=None, headers=None, timeout=30):
    """POSTs `body` (str); returns (status, headers, text) for 2xx and 5xx alike."""
    req = urllib.request.Request(url, data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/soap+xml", **(headers or {})})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def envelope(body_xml, token=None, context_xml=None, user_agent="zcs-e2e"):
    ctx = f"<authToken>{token}</authToken>" if token else ""
    if context_xml is not None:
        ctx = context_xml
    if user_agent:
        ctx += f'<userAgent name="{user_agent}"/>'
    return (f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Header><context xmlns="urn:zimbra">'
            f'{ctx}</context></soap:Header><soap:Body>{body_xml}'
            f"</soap:Body></soap:Envelope>")


def json_request(url, name, ns, body, token=None, ctx=None):
    """Sends a JSON envelope; returns (status, parsed JSON)."""
    context = {"_jsns": "urn:zimbra"}
    if token:
        context["authToken"] = {"_content": token}
    doc = {"Header": {"context": context}, "Body": {name: dict(body, _jsns=ns)}}
    status, _, text = post(url, json.dumps(doc), ctx)
    return status, json.loads(text)


def soap_body(text):
    """The first element of the Body of an XML response."""
    root = ET.fromstring(text)
    body = root.find(f"{{{SOAP12}}}Body")
    if body is None:
        body = root.find(f"{{{SOAP11}}}Body")
    return root, (list(body)[0] if body is not None and len(body) else None)


def fault_code(text):
    el = ET.fromstring(text).find(".//{urn:zimbra}Code")
    return el.text if el is not None else None


# ---- harness runner -----------------------------------------------------------------

class Unsupported(Exception):
    """A step or path the runner cannot evaluate: the case is skipped with this reason."""


# Longest wait for a concurrent="true" test at the end of its case, s.
CONCURRENT_TIMEOUT = 40


# Stands for "${" in an expand="0" property's value until substitution is over.
LITERAL = "\x00{"


class Props:
    def __init__(self, base):
        self.values = dict(base)
        self.counter = 0
        # The salt of the last JWT issued (its ZM_JWT cookie), for jwtToken contexts.
        self.jwt_salt = None

    def define(self, name, value, expand=True):
        """Defines a property; ${TIME}/${COUNTER} are fixed now, as the harness does.
        With expand=False (the harness's expand="0") the value is kept as written: its
        ${...} stay literal wherever it is used (a message template the server fills)."""
        if not expand:
            self.values[name] = value.replace("${", LITERAL)
            return
        try:
            self.values[name] = self.sub(value)
        except Unsupported:
            self.values[name] = value

    def sub(self, text, depth=0):
        """Substitutes ${...} references, innermost first, so a base time may itself be
        a property: ${ICALTIME(+1h)[${appt.start}]}."""
        def one(m):
            name = m.group(1)
            t = time_function(name)
            if t is not None:
                return t
            if name == "COUNTER":
                self.counter += 1
                return str(self.counter)
            if name in self.values:
                return self.sub(self.values[name], depth + 1) if depth < 10 else self.values[name]
            raise Unsupported(f"undefined property ${{{name}}}")
        for _ in range(10):
            new = re.sub(r"\$\{([^{}]+)\}", one, text)
            if new == text:
                break
            text = new
        return text if depth else text.replace(LITERAL, "${")


def time_function(name):
    """The harness's time values: TIME (ms since the epoch), ICALTIME (UTC wall time
    yyyyMMddTHHmmss), GENTIME (LDAP generalized time) and XZIMBRARECEIVED (an RFC 5322
    date for the X-Zimbra-Received header of injected mail), each with optional (+N unit)
    offsets, applied in turn (${ICALTIME(-1d)(+30m)}), and a [base ms] instead of now;
    None for other names."""
    m = re.fullmatch(r"(TIME|ICALTIME|GENTIME|XZIMBRARECEIVED)"
                     r"((?:\([+-]\d+[dhms]\))*)(?:\[(-?\d+)\])?", name)
    if not m:
        return None
    kind, offsets, base = m.groups()
    ms = int(base) if base is not None else int(time.time() * 1000)
    for sign, n, unit in re.findall(r"\(([+-])(\d+)([dhms])\)", offsets):
        delta = int(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit] * 1000
        ms += delta if sign == "+" else -delta
    if kind == "TIME":
        return str(ms)
    if kind == "XZIMBRARECEIVED":
        import email.utils
        return email.utils.formatdate(ms / 1000, usegmt=True)
    t = time.gmtime(ms / 1000)
    return time.strftime("%Y%m%dT%H%M%S" if kind == "ICALTIME" else "%Y%m%d%H%M%SZ", t)


# ---- XPath ----------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"[^"]*"|'[^']*')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<op>//|/|\[|\]|\(|\)|,|!=|<=|>=|=|<|>|\||@|\.\.|\.|\*)
  | (?P<name>[A-Za-z_][\w.-]*(?::(?:[A-Za-z_][\w.-]*|\*))?)
)""", re.X)


def _tokens(path):
    out, pos = [], 0
    path = path.strip()
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            if path[pos:].strip() == "":
                break
            raise Unsupported(f"XPath syntax at {path[pos:pos + 20]!r} in {path}")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


class _Doc:
    """The document node above the root element, so `/x` names the root and `//x`
    includes it."""

    def __init__(self, root):
        self.root = root
        self.parents = {c: p for p in root.iter() for c in p}

    def children(self, node):
        if node is self:
            return [self.root]
        return [c for c in node if isinstance(c.tag, str)]

    def descendants_or_self(self, node):
        if node is self:
            return [self] + [e for e in self.root.iter() if isinstance(e.tag, str)]
        return [e for e in node.iter() if isinstance(e.tag, str)]

    def parent(self, node):
        if node is self:
            return None
        return self.parents.get(node, self)


def _name_matches(el, test):
    """`prefix:name`, `prefix:*`, `*` or an unprefixed name, which matches in any
    namespace (as Zimbra's harness evaluates //ResetPasswordResponse)."""
    if not isinstance(getattr(el, "tag", None), str):
        return False
    if test == "*":
        return True
    tag = el.tag
    ns, local = (tag[1:].split("}", 1) if tag.startswith("{") else ("", tag))
    if ":" in test:
        prefix, name = test.split(":", 1)
        if prefix not in PREFIXES:
            raise Unsupported(f"XPath prefix: {prefix}")
        return ns == PREFIXES[prefix] and (name == "*" or name == local)
    return local == test


def _string(v):
    """XPath string() of an element, attribute value or literal."""
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return str(int(v)) if v == int(v) else str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return "".join(v.itertext()) if hasattr(v, "itertext") else ""


def _bool(v):
    if isinstance(v, list):
        return bool(v)
    if isinstance(v, str):
        return v != ""
    if isinstance(v, float):
        return v != 0
    return bool(v)


def _compare(a, op, b):
    """XPath comparison: node-sets compare by any member's string value."""
    av = a if isinstance(a, list) else [a]
    bv = b if isinstance(b, list) else [b]
    for x in av:
        for y in bv:
            if op in ("=", "!="):
                if isinstance(x, float) or isinstance(y, float):
                    try:
                        eq = float(_string(x)) == float(_string(y))
                    except ValueError:
                        eq = False
                elif isinstance(x, bool) or isinstance(y, bool):
                    eq = _bool(x) == _bool(y)
                else:
                    eq = _string(x) == _string(y)
                if eq == (op == "="):
                    return True
            else:
                try:
                    fx, fy = float(_string(x)), float(_string(y))
                except ValueError:
                    continue
                if {"<": fx < fy, ">": fx > fy, "<=": fx <= fy, ">=": fx >= fy}[op]:
                    return True
    return False


class _XPath:
    """A recursive-descent evaluator for the XPath 1.0 the harness files use: location
    paths with `/`, `//`, `.`, `..`, `@attr` and `text()` steps, prefixed names, `|`,
    predicates with positions, comparisons, `and`/`or`, nested paths and the functions
    contains, starts-with, not, count, position, last, text, string, normalize-space."""

    def __init__(self, path, doc):
        self.path = path
        self.toks = _tokens(path)
        self.i = 0
        self.doc = doc

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise Unsupported(f"XPath: expected {value!r} in {self.path}")
        self.i += 1
        return tok

    # The grammar, each method evaluating for one context node (and its position/size).
    def expr(self, ctx):
        v = self.and_expr(ctx)
        while self.peek() == ("name", "or"):
            self.take()
            w = self.and_expr(ctx)
            v = _bool(v) or _bool(w)
        return v

    def and_expr(self, ctx):
        v = self.cmp_expr(ctx)
        while self.peek() == ("name", "and"):
            self.take()
            w = self.cmp_expr(ctx)
            v = _bool(v) and _bool(w)
        return v

    def cmp_expr(self, ctx):
        v = self.union(ctx)
        while self.peek()[0] == "op" and self.peek()[1] in ("=", "!=", "<", ">", "<=", ">="):
            op = self.take()[1]
            w = self.union(ctx)
            v = _compare(v, op, w)
        return v

    def union(self, ctx):
        v = self.primary(ctx)
        while self.peek() == ("op", "|"):
            self.take()
            w = self.primary(ctx)
            if not (isinstance(v, list) and isinstance(w, list)):
                raise Unsupported(f"XPath union of non-node-sets: {self.path}")
            v = v + [x for x in w if not any(x is y for y in v)]
        return v

    def primary(self, ctx):
        kind, val = self.peek()
        if kind == "str":
            self.take()
            return val[1:-1]
        if kind == "num":
            self.take()
            return float(val)
        if kind == "op" and val == "(":
            self.take()
            v = self.expr(ctx)
            self.take(")")
            return v
        if kind == "name" and self.peek(1) == ("op", "(") and val not in ("text", "node"):
            return self.function(ctx)
        return self.location(ctx)

    def function(self, ctx):
        name = self.take()[1]
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.expr(ctx))
            if self.peek() == ("op", ","):
                self.take()
            elif self.peek() != ("op", ")"):
                raise Unsupported(f"XPath: bad arguments in {self.path}")
        self.take(")")
        node, pos, size = ctx

        def s(k):
            if k < len(args):
                a = args[k]
                return _string(a[0]) if isinstance(a, list) and a else (
                    "" if isinstance(a, list) else _string(a))
            return _string(node)
        if name == "contains":
            return s(1) in s(0)
        if name == "starts-with":
            return s(0).startswith(s(1))
        if name == "ends-with":
            return s(0).endswith(s(1))
        if name == "not":
            return not _bool(args[0])
        if name == "count":
            return float(len(args[0]) if isinstance(args[0], list) else 0)
        if name == "position":
            return float(pos)
        if name == "last":
            return float(size)
        if name == "string":
            return s(0)
        if name == "normalize-space":
            return " ".join(s(0).split())
        if name == "string-length":
            return float(len(s(0)))
        if name in ("true", "false"):
            return name == "true"
        raise Unsupported(f"XPath function {name}() in {self.path}")

    def location(self, ctx):
        """A location path from the context node (or the document for `/`, `//`)."""
        node = ctx[0]
        kind, val = self.peek()
        if kind == "op" and val in ("/", "//"):
            nodes = [self.doc]
        else:
            nodes = [node]
            nodes = self.step(nodes, "child")
        while self.peek()[0] == "op" and self.peek()[1] in ("/", "//"):
            sep = self.take()[1]
            if sep == "//":
                seen, expanded = set(), []
                for n in nodes:
                    for d in self.doc.descendants_or_self(n) if not isinstance(n, str) else []:
                        if id(d) not in seen:
                            seen.add(id(d))
                            expanded.append(d)
                nodes = expanded
            if self.peek()[0] is None:
                # A trailing "/" (the document itself) selects what it names.
                break
            nodes = self.step(nodes, "child")
        return nodes

    def step(self, nodes, axis):
        """One step from each of `nodes`: `.`, `..`, `@name`, `text()`, `*` or a name,
        then its predicates, which see positions among each node's own matches."""
        kind, val = self.take()
        out = []
        if (kind, val) == ("op", "."):
            out = list(nodes)
            groups = [out]
        elif (kind, val) == ("op", ".."):
            out = [p for p in (self.doc.parent(n) for n in nodes if not isinstance(n, str))
                   if p is not None]
            groups = [out]
        elif (kind, val) == ("op", "@"):
            name = self.take()[1]
            vals = []
            for n in nodes:
                if isinstance(n, str) or n is self.doc:
                    continue
                if name == "*":
                    vals.extend(n.attrib.values())
                elif n.get(name) is not None:
                    vals.append(n.get(name))
            return vals
        elif kind == "name" and val == "text" and self.peek() == ("op", "("):
            self.take("(")
            self.take(")")
            return ["".join([n.text or ""] + [c.tail or "" for c in n])
                    for n in nodes if not isinstance(n, str) and n is not self.doc]
        elif kind == "name" or (kind, val) == ("op", "*"):
            groups = []
            for n in nodes:
                if isinstance(n, str):
                    continue
                groups.append([c for c in self.doc.children(n) if _name_matches(c, val)])
        else:
            raise Unsupported(f"XPath step {val!r} in {self.path}")
        while self.peek() == ("op", "["):
            self.take()
            start = self.i
            new_groups, evaluated = [], False
            for g in groups:
                kept = []
                for k, el in enumerate(g):
                    self.i = start
                    evaluated = True
                    v = self.expr((el, k + 1, len(g)))
                    if isinstance(v, float):
                        ok = v == k + 1
                    else:
                        ok = _bool(v)
                    if ok:
                        kept.append(el)
                new_groups.append(kept)
            if not evaluated:
                self.i = start
                self.skip_predicate()
            else:
                self.take("]")
            groups = new_groups
        seen, out = set(), []
        for g in groups:
            for el in g:
                if id(el) not in seen:
                    seen.add(id(el))
                    out.append(el)
        return out

    def skip_predicate(self):
        depth = 1
        while depth:
            kind, val = self.take()
            if kind is None:
                raise Unsupported(f"XPath: unclosed [ in {self.path}")
            if (kind, val) == ("op", "["):
                depth += 1
            elif (kind, val) == ("op", "]"):
                depth -= 1


def xpath_select(root, path, context=None):
    """Evaluates XPath `path` on the tree of `root`; a relative path starts at `context`
    (default the document). Returns the elements (or attribute/text strings) found."""
    doc = _Doc(root)
    x = _XPath(path, doc)
    start = context if context is not None else doc
    if x.peek()[0] is None:
        return []
    v = x.expr((start, 1, 1))
    if x.peek()[0] is not None:
        raise Unsupported(f"XPath: unexpected {x.peek()[1]!r} in {path}")
    if not isinstance(v, list):
        raise Unsupported(f"XPath does not select nodes: {path}")
    return v


def find_path(root, path, scope=None):
    """The elements (or strings) a harness select path names. At the top level a relative
    path, or an absolute one naming no envelope element, is searched anywhere in the
    response (Zimbra's harness evaluates it on the response element); inside a nested
    select a relative path starts at each element its parent matched."""
    p = path.strip()
    if scope is None:
        if not p.startswith("/"):
            p = "//" + p
        elif not p.startswith("//") and not re.match(r"/(soap\w*|soap11|soap12):", p):
            p = "/" + p
        return xpath_select(root, p)
    if p.startswith("/"):
        return xpath_select(root, p)
    found = []
    for el in scope:
        if isinstance(el, str):
            continue
        for hit in xpath_select(root, p, el):
            if not any(hit is f for f in found):
                found.append(hit)
    return found


def attr_value(el, attr):
    """Attribute `attr` of `el`, or else the text of its child of that local name: Zimbra's
    Element reads `<su>x</su>` wherever it reads `su="x"` (content-disposition values),
    and its harness checks attributes through that same reading."""
    if isinstance(el, str):
        return None
    v = el.get(attr)
    if v is not None:
        return v
    for c in el:
        if isinstance(c.tag, str) and c.tag.split("}")[-1] == attr:
            return c.text or ""
    return None


def text_of(el):
    """An element's own text, or a string the path selected (an attribute, text())."""
    return el if isinstance(el, str) else (el.text or "")


def check_select(sel, root, props, scope=None):
    """Checks one t:select. A nested t:select is evaluated against each element its
    parent matched: without a path it checks those elements themselves."""
    path = props.sub(sel.get("path", "")).strip()
    if scope is not None and not path:
        found = list(scope)
    else:
        found = find_path(root, path, scope)
    attr = sel.get("attr")
    match = sel.get("match")
    contains = sel.get("contains")
    if sel.get("emptyset") in ("1", "true"):
        # With attr= (and match=), "empty" means no element found carries that
        # attribute (with a matching value).
        if attr or match is not None or contains is not None:
            vals = [attr_value(el, attr) if attr else text_of(el) for el in found]
            vals = [v for v in vals if v is not None]
            if match is not None:
                pattern = props.sub(match)
                try:
                    vals = [v for v in vals if re.fullmatch(pattern, v, re.S)]
                except re.error:
                    raise Unsupported(f"regex {pattern!r}")
            if contains is not None:
                needle = props.sub(contains)
                vals = [v for v in vals if needle in v]
            if vals:
                return f"expected no {attr or 'text'} {vals[:3]!r} at {path}"
            return None
        if found:
            return f"expected nothing at {path}"
        return None
    if not found:
        return f"nothing at {path}"
    values = []
    for el in found:
        values.append(attr_value(el, attr) if attr else text_of(el))
    if attr and all(v is None for v in values):
        return f"no attribute {attr} at {path}"
    values = [v for v in values if v is not None]
    if match is not None:
        pattern = props.sub(match)
        try:
            if not any(re.fullmatch(pattern, v, re.S) for v in values):
                return f"{path}{'@' + attr if attr else ''}={values[:3]!r} does not match {pattern!r}"
        except re.error:
            raise Unsupported(f"regex {pattern!r}")
    if contains is not None:
        needle = props.sub(contains)
        if not any(needle in v for v in values):
            return f"{path} does not contain {needle!r}"
    if sel.get("set"):
        props.values[sel.get("set")] = values[0]
    for child in sel.findall(f"{{{T}}}select"):
        reason = check_select(child, root, props, found)
        if reason:
            return reason
    if sel.get("query"):
        # A t:for's break condition: this select (and those it holds) matched.
        props.values[sel.get("query")] = "1"
    return None


def run_test(test, props, urls, ctx):
    req = test.find(f"{{{T}}}request")
    if req is None or len(req) == 0:
        raise Unsupported("test without a request")
    body_el = copy.deepcopy(list(req)[0])
    # Substitute in the tree, so values are escaped when serialised.
    for el in body_el.iter():
        if el.text:
            el.text = props.sub(el.text)
        if el.tail:
            el.tail = props.sub(el.tail)
        for k, v in list(el.attrib.items()):
            el.attrib[k] = props.sub(v)
    raw = ET.tostring(body_el, encoding="unicode")
    context_xml = None
    rc = test.find(f"{{{T}}}requestContext")
    if rc is not None:
        # t:requestContext replaces the header context's content.
        parts = []
        for child in rc:
            c = copy.deepcopy(child)
            for el in c.iter():
                el.tag = el.tag.split("}")[-1]
                if el.text:
                    el.text = props.sub(el.text)
                for k, v in list(el.attrib.items()):
                    el.attrib[k] = props.sub(v)
            c.tail = None
            parts.append(ET.tostring(c, encoding="unicode"))
        context_xml = "".join(parts)
        # Zimbra's harness adds the salt of the JWT it holds (the ZM_JWT cookie of the
        # AuthResponse that issued it) to a context that carries a jwtToken.
        if props.jwt_salt and "<jwtToken>" in context_xml and "<jwtSalt>" not in context_xml:
            context_xml += f"<jwtSalt>{props.jwt_salt}</jwtSalt>"
    delay = test.get("delay")
    if delay and delay.isdigit():
        time.sleep(min(int(delay), 10_000) / 1000)
    ns = body_el.tag[1:].split("}")[0] if body_el.tag.startswith("{") else ""
    url = urls["admin"] if ns == "urn:zimbraAdmin" else urls["user"]
    token = props.values.get("authToken")
    # Zimbra's harness names no user agent unless a t:requestContext does (Zimbra's
    # delayed indexing tells the two apart: ZCS-8515-8517).
    status, headers, text = post(url, envelope(raw, token, context_xml, user_agent=None), ctx)
    remember_jwt_salt(props, headers)
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return f"unparsable response (HTTP {status})"
    resp = test.find(f"{{{T}}}response")
    if resp is None:
        return None
    for sel in resp.findall(f"{{{T}}}select"):
        reason = check_select(sel, root, props)
        if reason and DEBUG:
            print(f"--- {reason}\n>>> {raw[:600]}\n<<< {text[:800]}", file=sys.stderr)
        if reason:
            code = fault_code(text) if status == 500 else None
            return reason + (f" (fault {code})" if code else "")
    return None


def remember_jwt_salt(props, headers):
    """Keeps the ZM_JWT cookie a response sets (the salt of the JWT it issued)."""
    for k, v in headers.items():
        if k.lower() != "set-cookie":
            continue
        m = re.match(r"\s*ZM_JWT=([^;]*)", v)
        if m:
            props.jwt_salt = m.group(1)


def is_jwt(token):
    """A JWT (header.claims.signature) rather than a Zimbra auth token."""
    return token.count(".") == 2


def fixture_path(props, text):
    """The path `text` names after substitution; a relative one (data/soapvalidator/...)
    is relative to the harness's root directory, as Zimbra's harness runs from there."""
    path = Path(props.sub(text.strip()))
    root = props.values.get("harness.root")
    if not path.is_absolute() and root:
        path = Path(root) / path
    return path if path.exists() else (case_insensitive(path) or path)


def case_insensitive(path):
    """The existing file or folder `path` names when its components are matched without
    regard to case, or None. Zimbra's QA ran the harness on a case-insensitive file
    system, so a few files name folders in another case than the tree has
    (Charsets/utf-8 for Charsets/UTF-8); only a unique match counts."""
    parts = path.parts
    if not parts:
        return None
    cur = Path(parts[0])
    for part in parts[1:]:
        if (cur / part).exists():
            cur = cur / part
            continue
        if not cur.is_dir():
            return None
        hits = [c for c in cur.iterdir() if c.name.lower() == part.lower()]
        if len(hits) != 1:
            return None
        cur = hits[0]
    return cur


def harness_file(props, text):
    """A harness data file named by `text` (after substitution); Unsupported if absent."""
    path = fixture_path(props, text)
    if not path.is_file():
        raise Unsupported(f"fixture file missing: {path}")
    return path


def run_upload(step, props, urls, ctx):
    """t:uploadservlettest: posts the file with the current token as the auth cookie and
    sets the properties its t:select attr="id" names to the upload id. The file goes as
    application/octet-stream, as the harness's HTTP client sends a file part."""
    if "upload" not in urls:
        raise Unsupported("no upload URL")
    req = step.find(f"{{{T}}}uploadServletRequest")
    fn = req.find("filename") if req is not None else None
    if fn is None or not (fn.text or "").strip():
        raise Unsupported("upload without a file name")
    path = harness_file(props, fn.text)
    boundary = "----zcsharness"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() \
        + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    token = props.values.get("authToken", "")
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Cookie": f"ZM_AUTH_TOKEN={token}"}
    if is_jwt(token) and props.jwt_salt:
        # A JWT goes as a bearer token, its salt in the ZM_JWT cookie (Zimbra's harness).
        headers["Authorization"] = f"Bearer {token}"
        headers["Cookie"] = f"ZM_JWT={props.jwt_salt}"
    r = urllib.request.Request(urls["upload"] + "?fmt=raw", data=body, method="POST",
                               headers=headers)
    try:
        with urllib.request.urlopen(r, context=ctx, timeout=30) as resp:
            text = resp.read().decode()
    except urllib.error.HTTPError as e:
        return f"upload failed: HTTP {e.code}"
    m = re.search(r"'([^']*:[^']*)'\s*$", text.strip())
    if not m:
        return f"upload gave no id: {text[:100]!r}"
    resp_el = step.find(f"{{{T}}}uploadServletResponse")
    for sel in (resp_el.findall(f"{{{T}}}select") if resp_el is not None else []):
        if sel.get("attr") == "id" and sel.get("set"):
            props.values[sel.get("set")] = m.group(1)
    return None


def run_rest(step, props, urls, ctx):
    """t:resttest: GETs /home/{user|~}/ with the request's parameters (id, part, view,
    fmt, ...) and the current token as the auth cookie. `attr="StatusCode"` is the HTTP
    status; any other attr is a header of the returned MIME entity, else of the HTTP
    response; a select without attr checks the body text."""
    import email
    from urllib.parse import quote, urlencode, urlsplit
    req = step.find(f"{{{T}}}restServletRequest")
    if req is None:
        raise Unsupported("t:resttest without a request")
    params, user = [], "~"
    for c in req:
        if not isinstance(c.tag, str) or c.tag.startswith(f"{{{T}}}"):
            continue
        name, value = c.tag.split("}")[-1], props.sub((c.text or "").strip())
        if name == "user":
            user = value
        elif name in ("url", "folder", "guest", "password", "basicauth"):
            raise Unsupported(f"t:resttest parameter {name}")
        else:
            params.append((name, value))
    base = urlsplit(urls["user"])
    url = f"{base.scheme}://{base.netloc}/home/{quote(user)}/?{urlencode(params)}"
    token = props.values.get("authToken", "")
    r = urllib.request.Request(url, headers={"Cookie": f"ZM_AUTH_TOKEN={token}"})
    try:
        with urllib.request.urlopen(r, context=ctx, timeout=30) as resp:
            status, headers, body = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        status, headers, body = e.code, dict(e.headers), e.read()
    msg = email.message_from_bytes(body)
    text = body.decode("utf-8", "replace")
    resp_el = step.find(f"{{{T}}}restServletResponse")
    for sel in (resp_el.findall(f"{{{T}}}select") if resp_el is not None else []):
        attr = sel.get("attr")
        if attr == "StatusCode":
            value = str(status)
        elif attr:
            value = msg.get(attr)
            if value is None:
                value = next((v for k, v in headers.items() if k.lower() == attr.lower()),
                             None)
            if value is None:
                if sel.get("emptyset") in ("1", "true"):
                    continue
                return f"REST: no header {attr} (HTTP {status})"
        else:
            value = text
        if sel.get("emptyset") in ("1", "true") and attr:
            return f"REST: header {attr} present"
        match, contains = sel.get("match"), sel.get("contains")
        if match is not None:
            pattern = props.sub(match)
            try:
                if not re.fullmatch(pattern, value, re.S):
                    return f"REST: {attr or 'body'}={value[:80]!r} does not match {pattern!r}"
            except re.error:
                raise Unsupported(f"regex {pattern!r}")
        if contains is not None and props.sub(contains) not in value:
            return f"REST: {attr or 'body'} does not contain {props.sub(contains)!r}"
        if sel.get("set"):
            props.values[sel.get("set")] = value
    return None


def modify_headers(data, mods):
    """`data` (a message, CRLF lines) with each (name, value) of `mods` set as the
    harness's <modify><header a=name>value</header> does: the first field of that name
    takes the value (its folded lines dropped), later ones are removed, a missing one
    is added at the top. Values are written as given (UTF-8), as JavaMail's setHeader
    writes them."""
    if not mods:
        return data
    end = data.find(b"\r\n\r\n")
    head, body = (data, b"") if end < 0 else (data[:end + 2], data[end + 2:])
    fields = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    for name, value in mods:
        new = name.encode() + b": " + value.encode()
        key = name.lower().encode()
        hits = [i for i, f in enumerate(fields) if f.split(b":", 1)[0].strip().lower() == key]
        if hits:
            fields[hits[0]] = new
            fields = [f for i, f in enumerate(fields) if i not in hits[1:]]
        else:
            fields.insert(0, new)
    return b"\r\n".join(fields) + b"\r\n" + body


def inject_mods(req, props):
    """The (header, value) pairs of an inject request's <modify> block."""
    mods = []
    for m in req.findall("modify"):
        for h in m.findall("header"):
            if h.get("a"):
                mods.append((h.get("a"), props.sub((h.text or "").strip())))
    return mods


def inject_files(req, props):
    """The fixture files an injection step names (`filename`, or every file of a
    `foldername`); Unsupported when one is missing."""
    files = []
    for tag in ("filename", "foldername"):
        for el in req.findall(tag):
            p = fixture_path(props, el.text or "")
            if p.is_dir():
                files.extend(sorted(x for x in p.iterdir() if x.is_file()))
            elif p.is_file():
                files.append(p)
            else:
                raise Unsupported(f"fixture file missing: {p}")
    return files


def wire_bytes(path):
    """A fixture file with CRLF line ends, as it goes on the wire; a bare CR ends a line
    too (old Mac files in the corpus), as Java's line readers in Zimbra's harness take it."""
    data = path.read_bytes()
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def run_inject(step, props, urls):
    """t:mailinjecttest: delivers each file (or each file of a folder) to the `to`
    addresses over LMTP (RFC 2033)."""
    import smtplib
    if "lmtp" not in urls:
        raise Unsupported("no LMTP address")
    req = step.find(f"{{{T}}}lmtpInjectRequest")
    if req is None:
        raise Unsupported("mail injection without lmtpInjectRequest")
    files = inject_files(req, props)
    rcpts = [props.sub(el.text or "").strip() for el in req.findall("to")]
    rcpts = [r for r in rcpts if r]
    sender = props.sub((req.findtext("from") or "")).strip() or "harness@example.com"
    if not files or not rcpts:
        raise Unsupported("mail injection without files or recipients")
    mods = inject_mods(req, props)
    host, port = urls["lmtp"].rsplit(":", 1)
    with smtplib.LMTP(host, int(port), timeout=30) as lmtp:
        for f in files:
            data = modify_headers(wire_bytes(f), mods)
            try:
                lmtp.sendmail(sender, rcpts, data)
            except smtplib.SMTPException as e:
                return f"LMTP delivery of {f.name} failed: {e}"
    return None


def run_smtp_inject(step, props, urls):
    """t:smtpinjecttest: sends each file to the `recipient`s over SMTP (RFC 5321) at
    urls["smtp"] (the harness's `address` names the MTA host; the test server's SMTP
    port is used). A t:select match= checks the last reply ("250 ...")."""
    import smtplib
    if "smtp" not in urls:
        raise Unsupported("no SMTP address")
    req = step.find(f"{{{T}}}smtpInjectRequest")
    if req is None:
        raise Unsupported("smtp injection without smtpInjectRequest")
    files = inject_files(req, props)
    rcpts = [props.sub(el.text or "").strip() for el in req.findall("recipient")]
    rcpts = [r for r in rcpts if r]
    sender = props.sub(req.findtext("sender") or "").strip() or "harness@example.com"
    if not files or not rcpts:
        raise Unsupported("smtp injection without files or recipients")
    host, port = urls["smtp"].rsplit(":", 1)
    mods = inject_mods(req, props)
    reply = "250 OK"
    try:
        with smtplib.SMTP(host, int(port), timeout=30) as smtp:
            for f in files:
                smtp.sendmail(sender, rcpts, modify_headers(wire_bytes(f), mods))
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = next(iter(e.recipients.values()))
        reply = f"{code} {msg.decode(errors='replace')}"
    except smtplib.SMTPResponseException as e:
        reply = f"{e.smtp_code} {e.smtp_error.decode(errors='replace')}"
    except (OSError, smtplib.SMTPException) as e:
        reply = f"SMTP failed: {e}"
    # The MTA accepted the message; delivery to the mailboxes goes through its queue.
    # Zimbra's postfix had delivered by the time the harness sent its next requests
    # (the cases search right after an injection): give the queue that moment.
    time.sleep(SMTP_SETTLE)
    resp_el = step.find(f"{{{T}}}smtpInjectResponse")
    selects = resp_el.findall(f"{{{T}}}select") if resp_el is not None else []
    for sel in selects:
        match = sel.get("match")
        if match is not None and not re.fullmatch(props.sub(match), reply, re.S):
            return f"SMTP reply {reply!r} does not match {match!r}"
    if not selects and not reply.startswith("250"):
        return f"SMTP injection failed: {reply}"
    return None


def run_preauth(step, props):
    """t:preauth: computes Zimbra's preauth value, the hex HMAC-SHA1 under the domain's
    key of the attribute values joined by "|" in the order of their names (account, by,
    expires, timestamp), into the property `set` names."""
    import hashlib
    import hmac
    fields = {k: props.sub(step.get(k, "")) for k in ("account", "by", "expires", "timestamp")}
    key = props.sub(step.get("key", ""))
    value = "|".join(fields[k] for k in sorted(fields))
    mac = hmac.new(key.encode(), value.encode(), hashlib.sha1).hexdigest()
    if step.get("set"):
        props.values[step.get("set")] = mac
    return None


def run_regex(step, props):
    """t:regex: matches `regex` (Java syntax, which Python's re reads the same for the
    harness's patterns) against `input` after substitution and sets the property `set`
    to group `group` (0 by default). No match fails the step."""
    text = props.sub(step.get("input", ""))
    pattern = props.sub(step.get("regex", ""))
    try:
        m = re.search(pattern, text, re.S)
    except re.error:
        raise Unsupported(f"regex {pattern!r}")
    if not m:
        return f"t:regex {pattern!r} does not match {text[:120]!r}"
    group = int(step.get("group", "0") or 0)
    if step.get("set"):
        props.values[step.get("set")] = m.group(group) or ""
    return None


def waits_out_expiry(case):
    """Whether a case's delays wait for something to expire (a preauth value's
    `expires`, a token lifetime): its steps name an expiry outside the prose."""
    for step in case:
        local = step.tag.split("}")[-1]
        if local in ("objective", "steps"):
            continue
        if re.search(r"expires", ET.tostring(step, encoding="unicode"), re.I):
            return True
    return False


def run_case(case, props, urls, ctx):
    """Returns ("pass"|"fail"|"skip", reason). A failing step fails the case; the steps
    after it still run unless it was required="true"."""
    for step in case:
        local = step.tag.split("}")[-1]
        if local in SKIP_STEPS:
            return "skip", f"step t:{local} not supported by the runner"
    props.values[WAITS_EXPIRY] = "1" if waits_out_expiry(case) else ""
    first, _ = run_steps(list(case), props, urls, ctx)
    if first:
        return "fail", first
    return "pass", ""


# At most this many rounds of any t:test_loop (None: as written). The harness's loop
# files are scale runs (5,000 folders, 1,000 accounts, marked duration="long"); the
# suite in .ci/run caps them so that it stays a functional check. The command-line
# runner reads ZCS_HARNESS_MAX_LOOP.
MAX_LOOP = int(os.environ.get("ZCS_HARNESS_MAX_LOOP", "0") or 0) or None


def run_steps(steps, props, urls, ctx):
    """Runs `steps` in order; returns (first failure reason or None, whether a failing
    required step stopped them). t:test_loop count=N runs its steps N times (1 when
    count is absent), stopping as the steps it holds would."""
    first = None
    pending = []  # concurrent="true" tests still running: (thread, result list)

    def joined(reason, stop):
        # A concurrent test's failure counts once it is over (at the latest here).
        for thread, out in pending:
            thread.join(CONCURRENT_TIMEOUT)
            if thread.is_alive():
                out.append("concurrent test did not finish")
            reason = reason or next((r for r in out if r), None)
        return reason, stop

    for step in steps:
        local = step.tag.split("}")[-1]
        if local == "test_loop":
            count = step.get("count", "1").strip()
            count = int(count) if count.isdigit() else 1
            if MAX_LOOP:
                count = min(count, MAX_LOOP)
            for _ in range(count):
                reason, stop = run_steps(list(step), props, urls, ctx)
                first = first or reason
                if stop:
                    return joined(first, True)
            continue
        if local == "for":
            reason, stop = run_for(step, props, urls, ctx)
            first = first or reason
            if stop:
                return joined(first, True)
            continue
        if local == "property":
            props.define(step.get("name"), step.get("value", ""), step.get("expand") != "0")
            continue
        if local == "uploadservlettest":
            reason = run_upload(step, props, urls, ctx)
        elif local == "mailinjecttest":
            reason = run_inject(step, props, urls)
        elif local == "smtpinjecttest":
            reason = run_smtp_inject(step, props, urls)
        elif local == "resttest":
            reason = run_rest(step, props, urls, ctx)
        elif local == "preauth":
            reason = run_preauth(step, props)
        elif local == "regex":
            reason = run_regex(step, props)
        elif local == "delay":
            # Zimbra's delays wait for its asynchronous delivery and indexing; ours
            # needs at most a moment, so each is capped (SOAP_HARNESS_MAX_DELAY, s).
            # A delay while concurrent tests run is what the harness gives them to
            # finish: it lasts until they are over, at most its full length.
            # A case that waits out an expiry (a preauth's `expires`, ...) needs the
            # time to pass: its delays last their full length, up to EXPIRY_DELAY.
            secs = float(step.get("sec") or 0) + float(step.get("msec") or 0) / 1000
            started = time.time()
            for thread, _ in pending:
                thread.join(max(0.0, secs - (time.time() - started)))
            cap = EXPIRY_DELAY if props.values.get(WAITS_EXPIRY) else MAX_DELAY
            time.sleep(max(0.0, min(secs, cap) - (time.time() - started)))
            continue
        elif local == "test" and step.get("concurrent") == "true":
            # Runs beside the following steps, as the harness runs it (a blocking
            # WaitSetRequest that a later delivery wakes up).
            out = []

            def concurrent(st=step, o=out):
                try:
                    o.append(run_test(st, props, urls, ctx))
                except Exception as e:  # noqa: BLE001 - reported as the case's failure
                    o.append(f"concurrent test: {type(e).__name__}: {e}")
            thread = threading.Thread(target=concurrent, daemon=True)
            thread.start()
            pending.append((thread, out))
            continue
        elif local == "test":
            reason = run_test(step, props, urls, ctx)
        else:
            continue
        if reason:
            first = first or reason
            if step.get("required") == "true":
                return joined(first, True)
    return joined(first, False)


def run_for(step, props, urls, ctx):
    """t:for start= end= break=NAME: runs its steps once per number from start to end
    until the property NAME is set (by a select's set=NAME, or query=NAME when the
    select matches): a poll for something the server does in the background. The
    round that set it gives the result; when none did, the last round's failure (or
    the loop's own) is the result. Returns (reason, stop) as run_steps does."""
    name = step.get("break", "")
    try:
        start, end = int(step.get("start", "1")), int(step.get("end", "1"))
    except ValueError:
        raise Unsupported("t:for with non-numeric bounds")
    if name:
        props.values.pop(name, None)
    reason, stop = None, False
    rounds = max(0, end - start + 1)
    for i in range(rounds):
        # A required step failing before the break stops only its round: the poll
        # goes on, and the last round's outcome stands.
        reason, stop = run_steps(list(step), props, urls, ctx)
        if name and props.values.get(name) is not None:
            return reason, stop
        if stop and (not name or i == rounds - 1):
            return reason, stop
    if name and reason is None:
        reason = f"t:for: ${{{name}}} never set"
    return reason, stop


def run_file(path, base, urls, ctx, report, types):
    area = path.relative_to(report["root"]).parts[0]
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        report["results"].append((area, path.name, "-", "skip", f"unparsable file: {e}"))
        return
    props = Props(base)
    for el in tree.getroot():
        local = el.tag.split("}")[-1]
        if local == "property":
            props.define(el.get("name"), el.get("value", ""), el.get("expand") != "0")
        elif local == "test":
            # A t:test outside any case runs in file order as the harness runs it (setup
            # between cases); it is no case of its own, so nothing is recorded.
            try:
                run_test(el, props, urls, ctx)
            except Exception:  # noqa: BLE001 - a failed setup step shows in later cases
                pass
        elif local == "test_case":
            cid = el.get("testcaseid", "?")
            ctype = el.get("type", "")
            if types and ctype not in types:
                continue
            try:
                status, reason = run_case(el, props, urls, ctx)
            except Unsupported as e:
                status, reason = "skip", str(e)
            except Exception as e:  # the runner reports, never crashes
                status, reason = "fail", f"{type(e).__name__}: {e}"
            report["results"].append((area, f"{path.name}:{cid}", ctype, status, reason))


def load_properties(conf):
    props = {}
    for line in Path(conf).read_text(errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            props[k.strip()] = v.strip()
    return props


def run(root, areas, urls, cafile=None, out=None, types=None, overrides=None):
    """Runs every *.xml under root/<area>; returns the report dict and writes `out`."""
    root = Path(root)
    harness = root
    while harness.parent != harness and not (harness / "conf" / "global.properties").exists():
        harness = harness.parent
    base = load_properties(harness / "conf" / "global.properties") \
        if (harness / "conf" / "global.properties").exists() else {}
    base.setdefault("harness.root", str(harness))
    base.update(overrides or {})
    ctx = ssl_context(cafile)
    report = {"root": root, "results": []}
    for area in areas:
        single = (root / area).is_file()
        for path in [root / area] if single else sorted((root / area).rglob("*.xml")):
            run_file(path, base, urls, ctx, report, types)
    counts = defaultdict(lambda: defaultdict(int))
    by_type = defaultdict(lambda: defaultdict(int))
    for area, _, ctype, status, _ in report["results"]:
        counts[area][status] += 1
        counts["TOTAL"][status] += 1
        if ctype in ("smoke", "sanity"):
            by_type[f"{area} smoke+sanity"][status] += 1
            by_type["TOTAL smoke+sanity"][status] += 1
    report["by_type"] = by_type
    report["counts"] = counts
    if out:
        lines = []
        for area, case, ctype, status, reason in report["results"]:
            lines.append(f"{status.upper():4} {area}/{case} [{ctype}] {reason}")
        lines.append("")
        for area, c in list(counts.items()) + list(by_type.items()):
            lines.append(f"{area}: pass {c['pass']} fail {c['fail']} skip {c['skip']}")
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("\n".join(lines) + "\n")
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--areas", default="Auth,Admin/Accounts,Folders,Tags")
    ap.add_argument("--user-url", required=True)
    ap.add_argument("--admin-url", required=True)
    ap.add_argument("--cafile")
    ap.add_argument("--types", default="")
    ap.add_argument("--out", default="target/soap-harness-report.txt")
    a = ap.parse_args()
    report = run(a.dir, a.areas.split(","), {"user": a.user_url, "admin": a.admin_url},
                 a.cafile, a.out, set(filter(None, a.types.split(","))))
    for area, c in list(report["counts"].items()) + list(report["by_type"].items()):
        print(f"{area}: pass {c['pass']} fail {c['fail']} skip {c['skip']}")


if __name__ == "__main__":
    sys.exit(main())
