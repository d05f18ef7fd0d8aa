"""The whole server on a MariaDB, PostgreSQL or OpenLDAP directory (zcs_directory_url):
provision with zmprov, deliver over SMTP, read over IMAP. Runs when .ci/run exports
ZCS_TEST_POSTGRES_URL / ZCS_TEST_MYSQL_URL / ZCS_TEST_LDAP_URL; skips loudly otherwise.
Each run creates its own database (or LDAP subtree) and removes it afterwards."""

import imaplib
import os
import shutil
import smtplib
import subprocess
import urllib.parse
import uuid

import pytest

from zcs import Zcs

USER = "db1@db.test"
PASSWORD = "db-pass-1"


def admin(kind, url, sql):
    """Runs `sql` on the server `url` names, as its user (the setup scripts' servers
    trust loopback connections)."""
    u = urllib.parse.urlsplit(url)
    host = u.hostname or "127.0.0.1"
    if kind == "postgres":
        cmd = ["psql", "-h", host, "-p", str(u.port or 5432), "-U", u.username or "postgres",
               "-d", "postgres", "-c", sql]
    else:
        cmd = ["mariadb", "-h", host, "-P", str(u.port or 3306), "-u", u.username or "root",
               "-e", sql]
    if not shutil.which(cmd[0]):
        pytest.skip(f"SKIPPED: {cmd[0]} client not installed")
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def ldap_tool(tool, url, dn, pw, *args, input=None):
    if not shutil.which(tool):
        pytest.skip(f"SKIPPED: {tool} not installed")
    return subprocess.run([tool, "-x", "-H", url, "-D", dn, "-w", pw, *args], input=input,
                          text=True, capture_output=True, timeout=60)


def ldap_subtree():
    """A private base o=... with cn=zimbra under it, as a URL zcs_directory_url takes."""
    url = os.environ.get("ZCS_TEST_LDAP_URL")
    if not url:
        print("SKIPPED: ZCS_TEST_LDAP_URL not set")
        pytest.skip("SKIPPED: ZCS_TEST_LDAP_URL not set")
    dn = os.environ["ZCS_TEST_LDAP_BIND_DN"]
    pw = os.environ["ZCS_TEST_LDAP_BIND_PASSWORD"]
    base = f"o=e2e{uuid.uuid4().hex[:10]}"
    ldif = (f"dn: {base}\nobjectClass: organization\no: {base[2:]}\n\n"
            f"dn: cn=zimbra,{base}\nobjectClass: organizationalRole\ncn: zimbra\n")
    added = ldap_tool("ldapadd", url, dn, pw, input=ldif)
    assert added.returncode == 0, added.stderr
    q = urllib.parse.quote
    return (f"{url}/{q(base, safe='')}????bindname={q(dn, safe='')},X-BINDPW={q(pw, safe='')}",
            lambda: ldap_tool("ldapdelete", url, dn, pw, "-r", base))


@pytest.fixture(params=["postgres", "mysql", "ldap"])
def database(request):
    kind = request.param
    if kind == "ldap":
        url, cleanup = ldap_subtree()
        try:
            yield url
        finally:
            cleanup()
        return
    env = {"postgres": "ZCS_TEST_POSTGRES_URL", "mysql": "ZCS_TEST_MYSQL_URL"}[kind]
    base = os.environ.get(env)
    if not base:
        print(f"SKIPPED: {env} not set")
        pytest.skip(f"SKIPPED: {env} not set")
    name = f"zcs_e2e_{uuid.uuid4().hex[:12]}"
    admin(kind, base, f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        admin(kind, base, f"DROP DATABASE {name}")


def test_server_on_sql_directory(database, tmp_path):
    z = Zcs(tmp_path / "home")
    z.run("zmlocalconfig", "-e", f"zcs_directory_url={database}")
    z.init()
    z.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
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
        # A restart reads everything back from the same directory.
        z.stop()
        z.start()
        m = imaplib.IMAP4("127.0.0.1", z.imap_port, timeout=30)
        m.login(USER, PASSWORD)
        m.logout()
    finally:
        z.stop()
