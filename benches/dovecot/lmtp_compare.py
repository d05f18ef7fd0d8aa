#!/usr/bin/env python3
"""LMTP delivery of real corpus messages, zcs against Dovecot's LMTP, in one run.

Issue 4's figure: corpus messages of 10-100 KiB over 16 connections, durable (each `250`
only after the message is on disk) and, for zcs, indexed; Dovecot is Debian's
dovecot-lmtpd on maildir with its default fsync and no full-text search. Both servers
take the same messages from the same `lmtp-load` invocation, one after the other, into
four mailboxes (one recipient per message, in turn). For zcs the script also reports the
peak resident memory of the server (VmHWM) and the seconds after the last `250` until
the store marks every delivered message indexed (read from its SQLite database,
read-only, while the server runs), then how long a lone delivery on the quiet server
takes to become searchable (20 probes).

Both servers run only on 127.0.0.1, on free ports, from a private temporary directory,
and are stopped at the end; no system service is touched. Needs root for Dovecot's
privilege drop (mail belongs to `nobody`) and the release binaries.

Usage: benches/dovecot/lmtp_compare.py [--messages 4000] [--connections 16] [--bin DIR]
"""

import argparse
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(HERE))
from compare import free_port  # noqa: E402

PASSWORD = "bench-pass-1"
USERS = [f"u{i}@bench.test" for i in range(1, 5)]

DOVECOT_CONF = """\
base_dir = {t}/run
state_dir = {t}/state
log_path = {t}/dovecot.log
info_log_path = {t}/dovecot.log
listen = 127.0.0.1
protocols = lmtp
ssl = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
mail_location = maildir:{t}/mail/%n
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={t}/home/%n
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
  unix_listener lmtp {{
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
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
"""


def wait_port(port, what, log):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}; see {log}")


def lmtp_load(bin_dir, port, args, users):
    cmd = [str(bin_dir / "lmtp-load"), "--addr", f"127.0.0.1:{port}",
           "-c", str(args.connections), "-n", str(args.messages // args.connections),
           "--corpus", args.corpus, "--spread"]
    for u in users:
        cmd += ["-r", u]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"lmtp-load failed: {out.stderr}")
    return out.stdout.strip()


def cpu_seconds(pid):
    """User plus system CPU seconds the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return line.split(":", 1)[1].strip()
    return "?"


def run_dovecot(work, bin_dir, args):
    t = work / "dovecot"
    for d in ["run", "state", "mail", "home"]:
        (t / d).mkdir(parents=True, exist_ok=True)
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    for top in [t / "mail", t / "home"]:
        os.chown(top, uid, gid)
    port = free_port()
    conf = t / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(t=t, port=port, password=PASSWORD, uid=uid,
                                        gid=gid))
    subprocess.run(["dovecot", "-c", str(conf)], check=True, timeout=60)
    try:
        wait_port(port, "dovecot", t / "dovecot.log")
        users = [u.split("@")[0] for u in USERS]
        out = lmtp_load(bin_dir, port, args, users)
        files = sum(len(fs) for root, _d, fs in os.walk(t / "mail")
                    if root.endswith(("/new", "/cur")))
        return out, files
    finally:
        subprocess.run(["doveadm", "-c", str(conf), "stop"], capture_output=True,
                       timeout=60)


def searchable_latencies(port, db, count=20):
    """Seconds from each lone delivery's `250` until the store marks it indexed (the
    index has committed it, so a search finds it): issue 5's "searchable within one
    second". One message at a time on a quiet server, after the load."""
    import smtplib
    out = []
    for n in range(count):
        data = (f"From: a@bench.test\r\nTo: {USERS[0]}\r\nSubject: lone {n}\r\n"
                f"Message-ID: <lone-{n}-{time.time()}@bench.test>\r\n\r\n"
                f"searchable probe {n}\r\n")
        with smtplib.LMTP("127.0.0.1", port) as c:
            c.sendmail("a@bench.test", [USERS[0]], data)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 30:
            left = db.execute("SELECT COUNT(*) FROM mail_item WHERE type = 5 AND indexed = 0"
                              ).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.005)
        out.append(time.perf_counter() - t0)
        time.sleep(0.3)
    return sorted(out)


def run_zcs(work, bin_dir, args):
    os.environ["ZCS_BIN_DIR"] = str(bin_dir)
    import zcs  # noqa: E402  (reads ZCS_BIN_DIR at import)
    zcs.BIN_DIR = Path(bin_dir)
    z = zcs.Zcs(work / "zcs")
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.start()
    try:
        z.zmprov("cd", "bench.test")
        for u in USERS:
            z.zmprov("ca", u, PASSWORD)
        wait_port(z.lmtp_port, "zcs", z.server_log())
        cpu0 = cpu_seconds(z.pid())
        out = lmtp_load(bin_dir, z.lmtp_port, args, USERS)
        done = time.perf_counter()
        cpu_delivery = cpu_seconds(z.pid()) - cpu0
        hwm_delivery = vm_hwm(z.pid())
        db = sqlite3.connect(f"file:{work / 'zcs' / 'db' / 'mailbox.db'}?mode=ro", uri=True)
        while time.perf_counter() - done < 1800:
            left, total = db.execute(
                "SELECT COUNT(*) FILTER (WHERE indexed = 0), COUNT(*) FROM mail_item "
                "WHERE type = 5").fetchone()
            if left == 0 and total >= args.messages:
                break
            time.sleep(0.1)
        indexed_after = time.perf_counter() - done
        cpu_indexed = cpu_seconds(z.pid()) - cpu0
        print(f"server CPU per message: {cpu_delivery * 1000 / args.messages:.2f} ms until "
              f"the last 250, {cpu_indexed * 1000 / args.messages:.2f} ms until all indexed")
        latencies = searchable_latencies(z.lmtp_port, db)
        db.close()
        return out, hwm_delivery, vm_hwm(z.pid()), indexed_after, latencies
    finally:
        z.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--corpus", default="/work/shared/corpus")
    p.add_argument("--bin", default=str(REPO / "target" / "release"))
    p.add_argument("--order", choices=["zcs-first", "dovecot-first"], default="zcs-first")
    args = p.parse_args()
    bin_dir = Path(args.bin).resolve()
    work = Path(tempfile.mkdtemp(prefix="zcs-lmtp-compare."))
    os.chmod(work, 0o755)
    try:
        runs = [("zcs", run_zcs), ("dovecot", run_dovecot)]
        if args.order == "dovecot-first":
            runs.reverse()
        results = {name: fn(work, bin_dir, args) for name, fn in runs}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    z_out, hwm_delivery, hwm_end, indexed_after, lat = results["zcs"]
    d_out, d_files = results["dovecot"]
    print("== zcs (SQLite metadata, blob files, redo log, background indexing)")
    print(z_out)
    print(f"server VmHWM after delivery {hwm_delivery}, after indexing {hwm_end}")
    print(f"every message indexed {indexed_after:.1f} s after the last 250")
    print(f"lone delivery searchable after (s, {len(lat)} probes): "
          f"p50 {lat[len(lat) // 2]:.3f} max {lat[-1]:.3f}")
    print("== dovecot-lmtpd (maildir, default fsync, no FTS)")
    print(d_out)
    print(f"files in maildirs: {d_files}")

    def rate(out):
        for word in out.split():
            if word.startswith("throughput="):
                return float(word.split("=")[1])
        return 0.0

    z, d = rate(z_out), rate(d_out)
    if d:
        print(f"== zcs / dovecot: {z / d:.2f}x")


if __name__ == "__main__":
    main()
