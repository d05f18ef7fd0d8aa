"""Times the same IMAP SEARCH queries against zcs and against Dovecot with
dovecot-fts-xapian, on the same messages, in the same run.

Input: a directory written by `search-bench --export DIR` (a Maildir of the benchmark's
synthetic mailbox, flags in the file names, dates in the names, and queries.tsv).

Dovecot runs from a private configuration in a temporary directory, listening only on
127.0.0.1 on a free port; it is stopped at the end (`doveadm stop` on its own base_dir).
No system Dovecot service is touched. zcs runs from a private home (tests/e2e/zcs.py)
on free loopback ports and is stopped at the end.

With `--mixed N`, both servers then also run imap-bench's realistic mix (`imap-bench
--target`: N clients of the one account doing SELECT, FETCH FLAGS, FETCH BODY[], STORE,
SEARCH SUBJECT, APPEND and IDLE for `--mixed-secs`), Dovecot first, on the same mailbox.

Usage: python3 benches/dovecot/compare.py --corpus DIR [--runs N] [--bin target/release]
       [--mixed N --mixed-secs S]
"""

import argparse
import imaplib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

USER = "bench@bench.test"
PASSWORD = "bench-secret-1"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_corpus(corpus):
    """(file path, folder, IMAP flags, date seconds) per message, in corpus order."""
    out = []
    def number(p):
        return int(p.name.split(".M")[1].split(".")[0])

    for p in sorted((corpus / "cur").iterdir(), key=number):
        secs = int(p.name.split(".")[0])
        box = "INBOX" if ".inbox:" in p.name else "Work"
        info = p.name.rsplit(":2,", 1)[1]
        flags = []
        if "S" in info:
            flags.append("\\Seen")
        if "F" in info:
            flags.append("\\Flagged")
        out.append((p, box, flags, secs))
    return out


def queries(corpus):
    qs = []
    for line in (corpus / "queries.tsv").read_text().splitlines():
        z, imap = line.split("\t", 1)
        if imap != "-":
            qs.append((z, imap))
    return qs


def percentile(values, p):
    values = sorted(values)
    i = round((len(values) - 1) * p)
    return values[min(i, len(values) - 1)]


def time_queries(port, mailbox, qs, runs, login):
    """p50/p99 (ms) and hit count of each IMAP query, on one authenticated connection."""
    imap = imaplib.IMAP4("127.0.0.1", port)
    login(imap)
    typ, _ = imap.select(mailbox, readonly=True)
    assert typ == "OK", typ
    rows = []
    for z, key in qs:
        times = []
        hits = 0
        for _ in range(runs):
            t = time.perf_counter()
            typ, data = imap.uid("SEARCH", key)
            times.append((time.perf_counter() - t) * 1000)
            assert typ == "OK", (key, typ, data)
            hits = len(data[0].split()) if data and data[0] else 0
        rows.append((z, key, hits, percentile(times, 0.5), percentile(times, 0.99)))
    imap.logout()
    return rows


# ---- Dovecot ---------------------------------------------------------------------

DOVECOT_CONF = """\
base_dir = {t}/run
state_dir = {t}/state
log_path = {t}/dovecot.log
info_log_path = {t}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
mail_location = maildir:{t}/mail/%n
mail_plugins = fts fts_xapian
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={t}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
  }}
}}
protocol imap {{
  mail_max_userip_connections = 512
}}
plugin {{
  fts = xapian
  fts_xapian = partial=3 full=20
  fts_autoindex = yes
  fts_enforced = yes
}}
"""


class Dovecot:
    def __init__(self, work):
        self.t = work / "dovecot"
        self.port = free_port()
        self.conf = self.t / "dovecot.conf"

    def setup(self, msgs):
        for d in ["run", "state", "mail", "home"]:
            (self.t / d).mkdir(parents=True, exist_ok=True)
        # Dovecot serves no mail as root: run as root, mail belongs to `nobody`.
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            import pwd
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
        self.conf.write_text(DOVECOT_CONF.format(
            t=self.t, port=self.port, password=PASSWORD, uid=uid, gid=gid))
        user = USER.split("@")[0]
        base = self.t / "mail" / user
        (self.t / "home" / user).mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        for sub in ["", ".Work"]:
            for d in ["cur", "new", "tmp"]:
                (base / sub / d).mkdir(parents=True, exist_ok=True)
        for p, box, _flags, secs in msgs:
            dest = base / ("" if box == "INBOX" else ".Work") / "cur" / p.name
            shutil.copyfile(p, dest)
            os.utime(dest, (secs, secs))
        copy_s = time.perf_counter() - t
        for top in [self.t / "mail", self.t / "home"]:
            for root, dirs, files in os.walk(top):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(name, uid, gid)
        return copy_s

    def doveadm(self, *args):
        return subprocess.run(["doveadm", "-c", str(self.conf), *args],
                              capture_output=True, text=True, timeout=7200)

    def start(self):
        subprocess.run(["dovecot", "-c", str(self.conf)], check=True, timeout=60)
        for _ in range(100):
            try:
                imaplib.IMAP4("127.0.0.1", self.port).logout()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start; see " + str(self.t / "dovecot.log"))

    def index(self):
        """Builds the mailbox indexes and the Xapian full-text index; seconds taken."""
        user = USER.split("@")[0]
        t = time.perf_counter()
        for box in ["INBOX", "Work"]:
            r = self.doveadm("index", "-u", user, box)
            if r.returncode != 0 or "Error" in r.stderr:
                raise RuntimeError(f"doveadm index {box}: {r.stderr}")
        return time.perf_counter() - t

    def size(self):
        """Bytes of Dovecot's indexes (dovecot.index*, the Xapian databases), not mail."""
        total = 0
        for root, _dirs, files in os.walk(self.t):
            in_xapian = "xapian" in root
            for f in files:
                if in_xapian or f.startswith("dovecot."):
                    total += os.path.getsize(os.path.join(root, f))
        return total

    def stop(self):
        subprocess.run(["doveadm", "-c", str(self.conf), "stop"], capture_output=True,
                       timeout=60)

    def login(self, imap):
        imap.login(USER.split("@")[0], PASSWORD)


# ---- zcs ---------------------------------------------------------------------------

class ZcsServer:
    def __init__(self, work, bin_dir):
        os.environ["ZCS_BIN_DIR"] = str(bin_dir)
        import zcs  # noqa: E402  (reads ZCS_BIN_DIR at import)
        zcs.BIN_DIR = Path(bin_dir)
        self.z = zcs.Zcs(work / "zcs")

    def setup(self):
        self.z.init()
        # Every client of the bench comes from 127.0.0.1: lift the per-address cap (50 by
        # default) as a site would for a proxy in front.
        self.z.run("zmlocalconfig", "-e", "zcs_imap_max_connections_per_ip=1000")
        self.z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
        self.z.start()
        self.z.zmprov("cd", USER.split("@")[1])
        self.z.zmprov("ca", USER, PASSWORD)
        self.z.run("zmprov", "ma", USER, "zimbraImapMaxConnections", "256", check=False)

    def load(self, msgs, connections=8):
        """APPENDs every message with its flags and date over `connections` sessions."""
        imap = imaplib.IMAP4("127.0.0.1", self.z.imap_port)
        self.login(imap)
        imap.create("Work")
        imap.logout()
        errors = []

        def worker(part):
            try:
                c = imaplib.IMAP4("127.0.0.1", self.z.imap_port)
                self.login(c)
                for p, box, flags, secs in part:
                    date = imaplib.Time2Internaldate(secs)
                    typ, data = c.append(box, "(" + " ".join(flags) + ")", date,
                                         p.read_bytes())
                    if typ != "OK":
                        raise RuntimeError(f"APPEND: {typ} {data}")
                c.logout()
            except Exception as e:  # reported after the join
                errors.append(e)

        t = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(msgs[i::connections],))
                   for i in range(connections)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise errors[0]
        return time.perf_counter() - t

    def wait_indexed(self, word, want, timeout=1800):
        """Seconds until a TEXT search finds `want` messages (the index caught up)."""
        imap = imaplib.IMAP4("127.0.0.1", self.z.imap_port)
        self.login(imap)
        imap.select("INBOX", readonly=True)
        t = time.perf_counter()
        while time.perf_counter() - t < timeout:
            typ, data = imap.uid("SEARCH", "TEXT", word)
            if typ == "OK" and data[0] and len(data[0].split()) >= want:
                break
            time.sleep(0.5)
        imap.logout()
        return time.perf_counter() - t

    def stop(self):
        self.z.stop()

    def login(self, imap):
        imap.login(USER, PASSWORD)

    def soap_times(self, qs, runs):
        """p50/p99 (ms) and total of each query as the web client sends it: SOAP
        SearchRequest (JSON over HTTP, a new connection each time), a page of 100."""
        import json
        import urllib.request
        url = f"http://127.0.0.1:{self.z.http_port}/service/soap"

        def call(body, token=None):
            ctx = {"_jsns": "urn:zimbra"}
            if token:
                ctx["authToken"] = token
            req = urllib.request.Request(
                url, data=json.dumps({"Header": {"context": ctx}, "Body": body}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read())

        auth = call({"AuthRequest": {"_jsns": "urn:zimbraAccount",
                                     "account": {"by": "name", "_content": USER},
                                     "password": {"_content": PASSWORD}}})
        token = auth["Body"]["AuthResponse"]["authToken"][0]["_content"]
        rows = []
        for z, _key in qs:
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                v = call({"SearchRequest": {"_jsns": "urn:zimbraMail", "query": z,
                                            "types": "message", "limit": "100"}}, token)
                times.append((time.perf_counter() - t) * 1000)
                assert "Fault" not in v["Body"], v
            rows.append((percentile(times, 0.5), percentile(times, 0.99)))
        return rows


def run_mixed(bin_dir, port, user, clients, secs):
    """imap-bench's mixed workload against 127.0.0.1:port; its printed table."""
    r = subprocess.run([str(Path(bin_dir) / "imap-bench"), "--target", f"127.0.0.1:{port}",
                        "--mixed", str(clients), "--mixed-secs", str(secs),
                        "--user", user, "--password", PASSWORD],
                       capture_output=True, text=True, timeout=secs + 600)
    if r.returncode != 0:
        raise RuntimeError(f"imap-bench against port {port}: {r.stderr[-2000:]}")
    return (r.stdout + r.stderr).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--bin", type=Path, default=ROOT / "target" / "release")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--mixed", type=int, default=0, help="clients of the mixed workload")
    ap.add_argument("--mixed-secs", type=int, default=30)
    ap.add_argument("--parallel-load", action="store_true",
                    help="index Dovecot while zcs loads (halves the wall time of large "
                         "runs; each load's own time then includes the other's load)")
    ap.add_argument("--load-sessions", type=int, default=8,
                    help="IMAP sessions appending to zcs at once")
    args = ap.parse_args()

    msgs = read_corpus(args.corpus)
    qs = queries(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="zcs-dovecot-cmp-"))
    # Dovecot's mail processes run as `nobody` and must reach the mail below.
    work.chmod(0o755)
    print(f"{len(msgs)} messages, {len(qs)} queries, {args.runs} runs each; work dir {work}")
    inbox_word_count = None
    mixed_out = {}

    dv = Dovecot(work)
    zs = ZcsServer(work, args.bin)
    try:
        copy_s = dv.setup(msgs)
        dv.start()
        idx = {}

        def index_dovecot():
            try:
                idx["s"] = dv.index()
            except Exception as e:  # raised after the join
                idx["error"] = e

        indexer = threading.Thread(target=index_dovecot)
        indexer.start()
        if not args.parallel_load:
            indexer.join()
        zs.setup()
        load_s = zs.load(msgs, args.load_sessions)
        indexer.join()
        if "error" in idx:
            raise idx["error"]
        idx_s = idx["s"]
        print(f"dovecot: maildir written in {copy_s:.1f} s, doveadm index "
              f"(mail index + fts-xapian) {idx_s:.1f} s ({len(msgs) / idx_s:.0f} msg/s), "
              f"index files {dv.size() / 1e6:.1f} MB"
              + (" (while zcs loaded)" if args.parallel_load else ""))

        inbox = [m for m in msgs if m[1] == "INBOX"]
        # The last INBOX message's rare words are indexed last; wait for a common word
        # to reach every INBOX message that has it, as Dovecot's index covers them all.
        budget = sum(1 for m in inbox if b"budget" in m[0].read_bytes())
        inbox_word_count = budget
        wait_s = zs.wait_indexed("budget", budget)
        print(f"zcs: {len(msgs)} IMAP APPENDs over {args.load_sessions} sessions in "
              f"{load_s:.1f} s "
              f"({len(msgs) / load_s:.0f} msg/s), index caught up {wait_s:.1f} s later")
        # Both servers idle now: Dovecot's queries, then zcs's.
        dv_rows = time_queries(dv.port, "INBOX", qs, args.runs, dv.login)
        zs_rows = time_queries(zs.z.imap_port, "INBOX", qs, args.runs, zs.login)
        soap_rows = zs.soap_times(qs, args.runs)
        if args.mixed:
            for name, port, user in [("dovecot", dv.port, USER.split("@")[0]),
                                     ("zcs", zs.z.imap_port, USER)]:
                mixed_out[name] = run_mixed(args.bin, port, user, args.mixed,
                                            args.mixed_secs)
    finally:
        dv.stop()
        try:
            zs.stop()
        except Exception as e:  # the figures above still stand
            print(f"zcs stop: {e}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print("| query (zcs) | IMAP SEARCH | zcs IMAP hits | zcs IMAP p50 / p99 | "
          "zcs SOAP p50 / p99 | Dovecot hits | Dovecot p50 / p99 | Dovecot p50 / zcs p50 "
          "(IMAP, SOAP) |")
    print("|---|---|---|---|---|---|---|---|")
    for (z, key, zh, z50, z99), (s50, s99), (_, _, dh, d50, d99) in zip(
            zs_rows, soap_rows, dv_rows):
        r_imap = d50 / z50 if z50 > 0 else float("inf")
        r_soap = d50 / s50 if s50 > 0 else float("inf")
        print(f"| `{z}` | `{key}` | {zh} | {z50:.2f} / {z99:.2f} ms | "
              f"{s50:.2f} / {s99:.2f} ms | {dh} | {d50:.2f} / {d99:.2f} ms | "
              f"{r_imap:.1f}x, {r_soap:.1f}x |")
    for name, out in mixed_out.items():
        print()
        print(f"mixed workload against {name}:")
        print(out)
    print()
    print(f"median p50: zcs IMAP {statistics.median(r[3] for r in zs_rows):.2f} ms, "
          f"zcs SOAP {statistics.median(r[0] for r in soap_rows):.2f} ms, "
          f"Dovecot {statistics.median(r[3] for r in dv_rows):.2f} ms "
          f"(INBOX messages with 'budget': {inbox_word_count})")


if __name__ == "__main__":
    main()
