"""imap-bench's 100-client mix against Dovecot, on the mailbox imap-bench builds for zcs.

Writes N messages shaped like imap-bench's own (`message(i)` in
benches/src/bin/imap-bench.rs: ~1.5 KB, one in five unread) as a Maildir, runs Dovecot
from a private configuration in a temporary directory on 127.0.0.1 and a free port
(compare.py's `Dovecot`, without full-text search: the mix searches SUBJECT, which
Dovecot answers from its cache), then runs `imap-bench --target` against it and prints
the table. Dovecot is stopped and the directory removed at the end; no system service
is touched. Run `imap-bench --messages N --mixed C --mixed-secs S` for the zcs side.

Usage: python3 benches/dovecot/mixed.py [--messages N] [--clients C] [--secs S]
       [--bin DIR]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402


def message(i, user):
    body = "".join(f"Line {l} of message {i}: the quick brown fox jumps over it.\r\n"
                   for l in range(20))
    return (f"From: \"Sender {i % 211}\" <sender{i % 211}@example.org>\r\nTo: {user}\r\n"
            f"Subject: Report {i % 97} number {i}\r\n"
            f"Date: Mon, 2 Jan 2023 {(i // 60) % 24:02}:{i % 60:02}:00 +0000\r\n"
            f"Message-ID: <bench-{i}@example.org>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--secs", type=int, default=30)
    ap.add_argument("--bin", type=Path, default=compare.ROOT / "target" / "release")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zcs-dovecot-mixed-"))
    work.chmod(0o755)
    corpus = work / "corpus"
    (corpus / "cur").mkdir(parents=True)
    for i in range(args.messages):
        flags = "" if i % 5 == 0 else "S"
        secs = 1_600_000_000 + i * 60
        (corpus / "cur" / f"{secs}.M{i}.inbox:2,{flags}").write_text(
            message(i, compare.USER))
    compare.DOVECOT_CONF = compare.DOVECOT_CONF.replace("mail_plugins = fts fts_xapian\n", "")
    dv = compare.Dovecot(work)
    try:
        dv.setup(compare.read_corpus(corpus))
        dv.start()
        dv.index()
        out = compare.run_mixed(args.bin, dv.port, compare.USER.split("@")[0], args.clients,
                                args.secs)
    finally:
        dv.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"mixed workload against Dovecot ({args.messages} messages):")
    print(out)


if __name__ == "__main__":
    main()
