"""Helpers for the attack review suite (test_attack_review.py): one private zcs home with
a few accounts, SOAP over JSON as a user and as an admin, REST with basic auth, raw
sockets to every listener, archive builders for hostile tar/zip/gzip bodies and a
small HTTP server on 127.0.0.1 that redirects, stalls or floods a feed fetch.

Everything here talks to 127.0.0.1 only: the server under test and servers started
here."""

import base64
import gzip
import http.server
import io
import json
import socket
import ssl
import struct
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
import zlib

from zcs import Zcs

DOMAIN = "attack.test"
PASSWORD = "attack-pass-1"
USERS = ("alice", "bob", "carol", "dave", "dadmin")


def addr(user):
    return user if "@" in user else f"{user}@{DOMAIN}"


def start_home(path):
    """A started server in `path` with the accounts of USERS (dadmin a domain admin)."""
    z = Zcs(path)
    z.init()
    z.start()
    z.zmprov("cd", DOMAIN)
    for u in USERS:
        z.zmprov("ca", addr(u), PASSWORD)
    z.zmprov("ma", addr("dadmin"), "zimbraIsDelegatedAdminAccount", "TRUE")
    return z


def insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Soap:
    """JSON SOAP against one server, as users or as the admin."""

    def __init__(self, z):
        self.z = z
        self.user_url = f"http://127.0.0.1:{z.http_port}/service/soap"
        self.admin_url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"

    def call(self, name, body=None, token=None, ns="urn:zimbraMail", admin=False,
             timeout=60):
        """(status, Body dict) of one request; faults come back as the Body's Fault."""
        context = {"_jsns": "urn:zimbra"}
        if token:
            context["authToken"] = {"_content": token}
        doc = {"Header": {"context": context},
               "Body": {name: dict(body or {}, _jsns=ns)}}
        url = self.admin_url if admin else self.user_url
        req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        ctx = insecure() if admin else None
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text).get("Body", {})
        except ValueError:
            return status, {"raw": text}

    def login(self, user, password=PASSWORD):
        status, body = self.call("AuthRequest", {
            "account": {"by": "name", "_content": addr(user)},
            "password": {"_content": password}}, ns="urn:zimbraAccount")
        if "AuthResponse" not in body:
            return None, fault(body)
        return body["AuthResponse"]["authToken"][0]["_content"], None

    def admin_login(self, user=None, password=None):
        name = addr(user) if user else f"admin@{self.z_domain()}"
        status, body = self.call("AuthRequest", {
            "name": name, "password": password or self.z.admin_password},
            ns="urn:zimbraAdmin", admin=True)
        if "AuthResponse" not in body:
            return None, fault(body)
        return body["AuthResponse"]["authToken"][0]["_content"], None

    def z_domain(self):
        out = self.z.run("zmprov", "gaaa").stdout.split()
        return out[0].split("@", 1)[1]


def fault(body):
    """The fault code of a Body, or None when it is not a fault."""
    f = body.get("Fault") if isinstance(body, dict) else None
    if not f:
        return None
    try:
        return f["Detail"]["Error"]["Code"]
    except (KeyError, TypeError):
        return "?"


def basic(user, password=PASSWORD):
    raw = base64.b64encode(f"{addr(user)}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def rest(z, path, user=None, method="GET", data=None, ctype=None, headers=None,
         timeout=120):
    """(status, body bytes) of one request to the user HTTP port."""
    h = dict(basic(user)) if user else {}
    if ctype:
        h["Content-Type"] = ctype
    h.update(headers or {})
    req = urllib.request.Request(f"http://127.0.0.1:{z.http_port}{path}", data=data,
                                 method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---- hostile archives ------------------------------------------------------------------

def tar_bytes(members):
    """A tar of (TarInfo, data-or-None) pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


def file_info(name, mtime=1_700_000_000):
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    return info


def link_info(name, target, hard=False):
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def eml(subject, body="hello"):
    return (f"From: x@remote.test\r\nTo: y@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@remote.test>\r\n\r\n{body}\r\n").encode()


def gzip_bomb(unpacked_mb):
    """A gzip of a tar header announcing a file of `unpacked_mb` MiB of zeros."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    info = tarfile.TarInfo("Inbox/bomb.eml")
    info.size = unpacked_mb * 1024 * 1024
    out = [co.compress(info.tobuf(format=tarfile.GNU_FORMAT))]
    zeros = b"\0" * (1024 * 1024)
    for _ in range(unpacked_mb):
        out.append(co.compress(zeros))
    out.append(co.flush())
    return b"".join(out)


def zip_bytes(entries):
    """A zip of (name, data) pairs (deflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def zip_lying_size(real_mb, said=100):
    """A zip whose one deflated entry says `said` bytes but holds `real_mb` MiB."""
    raw = zip_bytes([("Briefcase/big.txt", b"\0" * (real_mb * 1024 * 1024))])
    out = bytearray(raw)
    # Patch the uncompressed size in the local header (offset 22) and in the central
    # directory entry (offset 24 from its signature).
    struct.pack_into("<I", out, 22, said)
    cd = out.rfind(b"PK\x01\x02")
    struct.pack_into("<I", out, cd + 24, said)
    return bytes(out)


def gz(data):
    return gzip.compress(data)


# ---- raw sockets -----------------------------------------------------------------------

def connect(port, timeout=10, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        s = insecure().wrap_socket(s, server_hostname="localhost")
    return s


def read_some(s, wait=2.0, limit=65536):
    """What the peer sends within `wait` seconds (b"" when it closes or says nothing)."""
    s.settimeout(wait)
    out = b""
    end = time.time() + wait
    try:
        while len(out) < limit and time.time() < end:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
            if out.endswith(b"\n"):
                s.settimeout(0.3)
    except (socket.timeout, OSError):
        pass
    return out


# ---- a hostile HTTP server for feed fetches ----------------------------------------

RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
       b"<item><title>Item one</title><guid>g1</guid><description>d</description></item>"
       b"</channel></rss>")


class FeedServer:
    """http://127.0.0.1:PORT answering by path: /feed.xml a small RSS, /redirect?to=URL a
    302 to URL, /huge a never-ending body, /slow one byte a second, /hits counts."""

    def __init__(self, host="127.0.0.1"):
        self.hits = []
        self.host = host
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.hits.append(self.path)
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.end_headers()
                elif self.path == "/huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    block = b"<!--" + b"x" * 65536 + b"-->"
                    try:
                        for _ in range(400):  # ~26 MB
                            self.wfile.write(block)
                    except OSError:
                        pass
                elif self.path == "/slow":
                    self.send_response(200)
                    self.end_headers()
                    try:
                        for _ in range(120):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(1)
                    except OSError:
                        pass
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    self.wfile.write(RSS)

        self.srv = http.server.ThreadingHTTPServer((host, 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://{self.host}:{self.port}{path}"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def rss_of(pid):
    """Resident set size of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def hwm_of(pid):
    """Peak resident set size of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
