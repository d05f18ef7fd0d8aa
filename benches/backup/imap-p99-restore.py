"""IMAP latency of the accounts a server keeps serving while it restores another one
online: the p99 of other users' IMAP commands while idle, then while `zmrestore`
restores one large account into the running server (a RestoreRequest: rows replaced,
redo replayed, the account reindexed before it leaves maintenance).

A private zcs home (tests/e2e/zcs.py) on free loopback ports: one account of
--messages messages (the one restored) and --others accounts of 50 messages each, all
delivered over SMTP, then a full backup. One client thread per other account keeps an
IMAP session open and loops over `FETCH 1:10 (FLAGS ENVELOPE)` and `SEARCH BODY <word>`,
timing each command. Phase 1: --seconds of that with nothing else running (idle). Phase
2: the same while `zmrestore -a <large account>` runs, until it returns. Prints p50 and
p99 of both phases and their ratio (the target: p99 during the restore under 2x idle).

Usage: python3 benches/backup/imap-p99-restore.py [--bin target/release]
       [--messages 2000] [--others 4] [--seconds 20]
"""

import argparse
import imaplib
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

PASSWORD = "bench-pass-1"
DOMAIN = "p99.test"


def deliver(z, user, n, tag, kib):
    line = f"message {tag} carries this line of text to fill its body up\r\n"
    body = line * max(1, (kib * 1024) // len(line))
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        for i in range(n):
            s.sendmail("x@remote.test", [user],
                       f"Subject: {tag} {i}\r\n\r\nword w{tag}{i}\r\n{body}")


def inbox_count(z, user):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=60)
    try:
        m.login(user, PASSWORD)
        return int(m.select("INBOX", readonly=True)[1][0])
    finally:
        m.logout()


def wait_for(z, user, want):
    deadline = time.time() + 600
    while time.time() < deadline:
        if inbox_count(z, user) >= want:
            return
        time.sleep(0.5)
    raise SystemExit(f"{user}: mail not delivered in time")


def probe(z, user, tag, stop, out):
    """Times IMAP commands for `user` until `stop` is set; appends seconds to `out`."""
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=60)
    m.login(user, PASSWORD)
    m.select("INBOX", readonly=True)
    i = 0
    while not stop.is_set():
        t = time.perf_counter()
        if i % 2 == 0:
            m.fetch("1:10", "(FLAGS ENVELOPE)")
        else:
            m.search(None, "BODY", f"w{tag}{i % 50}")
        out.append(time.perf_counter() - t)
        i += 1
    m.logout()


def phase(z, others, run):
    """Runs the probes while `run()` runs; returns the latencies."""
    stop = threading.Event()
    samples = [[] for _ in others]
    threads = [threading.Thread(target=probe, args=(z, u, f"o{n}", stop, samples[n]))
               for n, u in enumerate(others)]
    for t in threads:
        t.start()
    try:
        run()
    finally:
        stop.set()
        for t in threads:
            t.join()
    return sorted(x for s in samples for x in s)


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release"))
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size-kib", type=int, default=4)
    ap.add_argument("--others", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    os.environ["ZCS_BIN_DIR"] = str(Path(args.bin).resolve())
    from zcs import Zcs  # reads ZCS_BIN_DIR at import

    big = f"big@{DOMAIN}"
    others = [f"other{n}@{DOMAIN}" for n in range(args.others)]
    with tempfile.TemporaryDirectory(prefix="zcs-p99-") as tmp:
        z = Zcs(Path(tmp) / "home")
        z.init()
        z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
        z.start()
        try:
            z.zmprov("cd", DOMAIN)
            for u in [big, *others]:
                z.zmprov("ca", u, PASSWORD)
            t = time.time()
            deliver(z, big, args.messages, "big", args.size_kib)
            for n, u in enumerate(others):
                deliver(z, u, 50, f"o{n}", args.size_kib)
            wait_for(z, big, args.messages)
            for u in others:
                wait_for(z, u, 50)
            print(f"load: {args.messages} + {args.others} x 50 messages in "
                  f"{time.time() - t:.1f} s")
            z.run("zmbackup", "-f", "-a", "all")
            time.sleep(2)  # let the indexer finish the last deliveries

            idle = phase(z, others, lambda: time.sleep(args.seconds))
            took = {}

            def restore():
                t0 = time.time()
                subprocess.run([str(Path(args.bin) / "zmrestore"), "-a", big], env=z.env,
                               check=True, capture_output=True, timeout=1800)
                took["s"] = time.time() - t0

            busy = phase(z, others, restore)
            assert inbox_count(z, big) == args.messages
        finally:
            z.stop()
    print(f"idle: {len(idle)} commands, p50 {pct(idle, 0.5):.2f} ms, "
          f"p99 {pct(idle, 0.99):.2f} ms")
    print(f"during the restore of {args.messages} messages ({took['s']:.1f} s): "
          f"{len(busy)} commands, p50 {pct(busy, 0.5):.2f} ms, p99 {pct(busy, 0.99):.2f} ms")
    print(f"p99 during restore / idle: {pct(busy, 0.99) / pct(idle, 0.99):.2f}x")


if __name__ == "__main__":
    main()
