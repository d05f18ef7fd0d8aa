"""Volumes, compression, HSM and the blob check end to end on a running server:
zmvolume adds a compressing primary volume and makes it current, mail delivered over
SMTP lands there gzip-compressed and reads back byte for byte over IMAP; zmhsm moves
every blob to a secondary volume while the server runs and IMAP still reads them;
zmvolume -ts turns the secondary volume off and HSM then refuses to run;
zmblobchk reports a clean store, then a missing blob, then (server stopped) deletes the
item whose blob is gone."""

import imaplib
import smtplib
import time

import pytest

from zcs import Zcs

USER = "vol1@volumes.test"
PASSWORD = "volumes-pass-1"
BIG = b"Subject: big\r\n\r\n" + b"compress me please\r\n" * 400


def imap_bodies(z):
    m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
    try:
        m.login(USER, PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        if int(data[0]) == 0:
            return []
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        return [part[1] for part in data if isinstance(part, tuple)]
    finally:
        m.logout()


def wait_for(z, n):
    deadline = time.time() + 60
    bodies = []
    while time.time() < deadline:
        bodies = imap_bodies(z)
        if len(bodies) >= n:
            return bodies
        time.sleep(0.3)
    raise AssertionError(f"INBOX holds {len(bodies)} messages, expected {n}")


@pytest.fixture()
def server(tmp_path):
    z = Zcs(tmp_path / "home")
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    z.zmprov("cd", "volumes.test")
    z.zmprov("ca", USER, PASSWORD)
    z.start()
    yield z
    z.run("zmcontrol", "stop", check=False)


def test_volumes_compression_hsm_blobchk(server, tmp_path):
    z = server
    out = z.run("zmvolume", "-l").stdout
    assert "name: message1" in out and "type: primaryMessage" in out, out
    assert "current: true" in out

    v2 = tmp_path / "v2"
    out = z.run("zmvolume", "-a", "-n", "message2", "-t", "primaryMessage", "-p", v2,
                "-c", "true", "-ct", "100").stdout
    assert "Volume 2 is created" in out, out
    z.run("zmvolume", "-sc", "-id", "2")
    out = z.run("zmvolume", "-dc").stdout
    assert "Volume id: 2" in out and "message1" not in out, out
    refused = z.run("zmvolume", "-d", "-id", "2", check=False)
    assert refused.returncode != 0 and "current" in refused.stderr

    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.sendmail("x@remote.test", [USER], BIG)
    bodies = wait_for(z, 1)
    assert bodies[0].endswith(BIG), "compressed blob reads back byte for byte"
    assert list(v2.rglob("*.msg.gz")), "the new blob is compressed on volume 2"

    hsm_dir = tmp_path / "hsm"
    z.run("zmvolume", "-a", "-n", "hsm1", "-t", "secondaryMessage", "-p", hsm_dir)
    out = z.run("zmhsm", "-t", "--policy", "message:before:+1day").stdout
    assert "Blobs moved: 1" in out, out
    assert "Blobs moved: 1" in z.run("zmhsm", "-u").stdout
    assert not list(v2.rglob("*.msg*")) and list(hsm_dir.rglob("*.msg"))
    assert imap_bodies(z)[0].endswith(BIG), "the server reads the moved blob"
    assert "No HSM session is running" in z.run("zmhsm", "-a").stdout

    # zmvolume -ts: no current secondary volume, so HSM refuses; moved blobs still read.
    assert "Turned off the current secondary volume 3." in z.run("zmvolume", "-ts").stdout
    refused = z.run("zmhsm", "-t", "--policy", "message:before:+1day", check=False)
    assert refused.returncode != 0 and "secondary" in refused.stderr, refused.stderr
    assert imap_bodies(z)[0].endswith(BIG)
    assert "There is no current secondary volume." in z.run("zmvolume", "-ts").stdout

    out = z.run("zmblobchk", "start").stdout
    assert "Checking mailbox" in out and "No errors found." in out, out
    for f in hsm_dir.rglob("*.msg"):
        f.unlink()
    out = z.run("zmblobchk", "start").stdout
    assert "file not found." in out, out

    locked = z.run("zmblobchk", "--missing-blob-delete-item", "--no-export", "start",
                   check=False)
    assert locked.returncode != 0 and "stop it" in locked.stderr, locked.stderr
    z.stop()
    out = z.run("zmblobchk", "--missing-blob-delete-item", "--no-export", "start").stdout
    assert "Deleted mailbox" in out, out
    assert "No errors found." in z.run("zmblobchk", "start").stdout
