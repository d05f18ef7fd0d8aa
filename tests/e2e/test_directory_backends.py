"""The whole server on a MariaDB or PostgreSQL directory (zcs_directory_url): provision
with zmprov, deliver over SMTP, read over IMAP. Runs when .ci/run exports
ZCS_TEST_POSTGRES_URL / ZCS_TEST_MYSQL_URL; skips loudly otherwise. Each run creates its
own database and drops it afterwards."""

import imaplib
import os
import shutil
import smtplib
import subprocess
import uuid

import pytest

from zcs import Zcs

USER = "db1@db.test"
PASSWORD = "db-pass-1"


def admin(kind, sql):
    if kind == "postgres":
        cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql]
    else:
        cmd = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-e", sql]
    if not shutil.which(cmd[0]):
        pytest.skip(f"SKIPPED: {cmd[0]} client not installed")
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@pytest.fixture(params=["postgres", "mysql"])
def database(request):
    kind = request.param
    env = {"postgres": "ZCS_TEST_POSTGRES_URL", "mysql": "ZCS_TEST_MYSQL_URL"}[kind]
    base = os.environ.get(env)
    if not base:
        print(f"SKIPPED: {env} not set")
        pytest.skip(f"SKIPPED: {env} not set")
    name = f"zcs_e2e_{uuid.uuid4().hex[:12]}"
    admin(kind, f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        admin(kind, f"DROP DATABASE {name}")


def test_server_on_sql_directory(database, tmp_path):
    z = Zcs(tmp_path / "home")
    z.run("zmlocalconfig", "-e", f"zcs_directory_url={database}")
    z.init()
    z.start()
    try:
        z.zmprov("cd", "db.test")
        z.zmprov("ca", USER, PASSWORD)
        assert z.zmprov("ga", USER).stdout.splitlines()[0] == f"# name {USER}"
        with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
            s.sendmail("x@remote.test", [USER], b"Subject: sql\r\n\r\nhello\r\n")
        m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        m.login(USER, PASSWORD)
        typ, data = m.select("INBOX")
        assert int(data[0]) == 1
        m.logout()
        assert not (z.home / "db" / "directory.db").exists()
    finally:
        z.stop()
