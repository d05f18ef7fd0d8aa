"""Runs last: every log written by every server of this test run (mailbox.log, audit.log,
zcs.out and their rolled-over days) holds none of the passwords the suites used and no
auth token, and every mailbox.log line has Zimbra's layout."""

import re

import pytest

import zcs

TOKEN = re.compile(r"\b0_[0-9a-f]{16,}_[0-9a-f]{16,}\b")
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (ERROR|WARN |INFO |DEBUG|TRACE) "
                  r"\[[^\]]*\] \[[^\]]*\] \w+ - ")


def log_files():
    for home in zcs.HOMES:
        log = home / "log"
        if log.is_dir():
            for path in log.iterdir():
                if path.is_file() and (".log" in path.name or ".out" in path.name):
                    yield path


def test_no_log_of_the_run_holds_a_password_or_token():
    files = list(log_files())
    if not files:
        pytest.skip("no server ran in this session")
    secrets = {s for s in zcs.SECRETS if len(s) >= 6}
    leaks = []
    for path in files:
        text = path.read_text(errors="replace")
        for secret in secrets:
            if secret in text:
                leaks.append(f"{path}: a password")
        if TOKEN.search(text):
            leaks.append(f"{path}: an auth token")
    assert not leaks, leaks


def test_every_mailbox_log_line_has_zimbras_layout():
    bad = []
    for path in log_files():
        if path.name.startswith("mailbox.log") or path.name.startswith("audit.log"):
            for line in path.read_text(errors="replace").splitlines():
                if line and not LINE.match(line):
                    bad.append(f"{path}: {line[:120]}")
    assert not bad, bad[:5]
