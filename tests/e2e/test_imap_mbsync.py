"""Real clients against a real server: mbsync (isync) mirrors a 1,000-message mailbox
over implicit TLS both ways, and a pass with nothing new changes nothing; curl lists,
fetches and appends over IMAP (STARTTLS and imaps) and lists/retrieves over POP3S.
Skips loudly when mbsync is missing (see .ci/setup.d/60-isync.sh)."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import imapclient
import pytest

from imap_util import (PASSWORD, USER, deliver_lmtp, message, raw_multiappend, start_home,
                       tls_context)

COUNT = 1000
MBSYNC = os.environ.get("ZCS_TEST_MBSYNC") or shutil.which("mbsync")


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    home = start_home(tmp_path_factory, "imap-mbsync")
    yield home
    home.stop()


def server_uids(z):
    c = imapclient.IMAPClient("localhost", port=z.imaps_port, ssl=True,
                              ssl_context=tls_context(z), timeout=60)
    c.login(USER, PASSWORD)
    info = c.select_folder("INBOX", readonly=True)
    uids = c.search("ALL")
    flags = c.get_flags(uids) if uids else {}
    c.logout()
    return info, uids, flags


def maildir_files(root):
    inbox = Path(root) / "INBOX"
    return sorted(p for sub in ("cur", "new") for p in (inbox / sub).glob("*") if p.is_file())


def run_mbsync(z, tmp_path):
    conf = tmp_path / "mbsyncrc"
    mirror = tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    conf.write_text(f"""IMAPAccount zcs
Host localhost
Port {z.imaps_port}
User {USER}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {z.ca_file()}
AuthMechs PLAIN
PipelineDepth 50

IMAPStore remote
Account zcs

MaildirStore local
Path {mirror}/
Inbox {mirror}/INBOX
SubFolders Verbatim

Channel mirror
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
""")
    proc = subprocess.run([MBSYNC, "-c", str(conf), "-V", "mirror"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return mirror, proc.stdout + proc.stderr


def test_mbsync_mirrors_both_ways_then_settles(z, tmp_path):
    if not MBSYNC:
        pytest.skip("mbsync not installed (ZCS_TEST_MBSYNC unset): mbsync suite skipped")
    t0 = time.monotonic()
    for start in range(0, COUNT, 250):
        reply = raw_multiappend(z, "INBOX", [message(i) for i in range(start, start + 250)])
        assert reply.startswith("b OK"), reply
    print(f"1,000 messages appended in {time.monotonic() - t0:.1f} s")
    info, uids, _ = server_uids(z)
    assert len(uids) == COUNT

    # Pass 1: the server's 1,000 messages come down.
    mirror, out = run_mbsync(z, tmp_path)
    assert len(maildir_files(mirror)) == COUNT, out

    # Both sides change: two new messages on the server, one new file and one message
    # marked seen on the near side.
    deliver_lmtp(z, [message(COUNT + 1), message(COUNT + 2)])
    new_dir = Path(mirror) / "INBOX" / "new"
    (new_dir / "1700000000.local1.host").write_bytes(message(COUNT + 3, "written locally"))
    first = maildir_files(mirror)[0]
    first.rename(first.parent.parent / "cur" / (first.name.split(":")[0] + ":2,S"))

    # Pass 2: both ways.
    mirror, out = run_mbsync(z, tmp_path)
    assert len(maildir_files(mirror)) == COUNT + 3, out
    info, uids, flags = server_uids(z)
    assert len(uids) == COUNT + 3
    assert sum(1 for f in flags.values() if b"\\Seen" in f) == 1

    # Pass 3: nothing new, nothing changes on either side.
    before_files = [p.name for p in maildir_files(mirror)]
    mirror, out = run_mbsync(z, tmp_path)
    assert [p.name for p in maildir_files(mirror)] == before_files, out
    info2, uids2, flags2 = server_uids(z)
    assert uids2 == uids and flags2 == flags
    assert info2[b"UIDNEXT"] == info[b"UIDNEXT"]
    assert info2[b"HIGHESTMODSEQ"] == info[b"HIGHESTMODSEQ"]
    near = re.findall(r"near: \+(\d+) \*(\d+) #(\d+) -(\d+)", out)
    far = re.findall(r"far: \+(\d+) \*(\d+) #(\d+) -(\d+)", out)
    if near and far:
        assert set(near[-1]) == {"0"} and set(far[-1]) == {"0"}, out


def curl(*args):
    proc = subprocess.run(["curl", "-sS", "--max-time", "30", *map(str, args)],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode(errors="replace")


def test_curl_over_imap_and_pop3(z, tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl not installed")
    deliver_lmtp(z, [message(5000, "curl me")])
    ca = z.ca_file()
    auth = f"{USER}:{PASSWORD}"
    # STARTTLS on the IMAP port (cleartext login is off), then imaps.
    listing = curl("--ssl-reqd", "--cacert", ca, "-u", auth, f"imap://localhost:{z.imap_port}/")
    assert "INBOX" in listing, listing
    base = f"imaps://localhost:{z.imaps_port}"
    found = curl("--cacert", ca, "-u", auth, "-X", "UID SEARCH SUBJECT \"curl me\"",
                 f"{base}/INBOX")
    uid = found.split()[-1]
    body = curl("--cacert", ca, "-u", auth, f"{base}/INBOX;UID={uid}")
    assert "Subject: curl me" in body, body
    upload = tmp_path / "upload.eml"
    upload.write_bytes(message(5001, "uploaded by curl"))
    curl("--cacert", ca, "-u", auth, "-T", upload, f"{base}/Drafts")
    found = curl("--cacert", ca, "-u", auth, "-X", "SEARCH SUBJECT \"uploaded by curl\"",
                 f"{base}/Drafts")
    assert found.split()[-1].isdigit(), found
    # POP3S: list, then retrieve the first message.
    pop = f"pop3s://localhost:{z.pop3s_port}"
    listing = curl("--cacert", ca, "-u", auth, f"{pop}/")
    assert re.match(r"1 \d+", listing), listing
    first = curl("--cacert", ca, "-u", auth, f"{pop}/1")
    assert "Subject:" in first
