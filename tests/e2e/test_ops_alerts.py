"""Operator alerts and statistics: the authentication-failure watcher (zmauditwatch)
mails the notice user when one account fails from one address ten times in a minute,
and stays quiet at nine; zmstatctl controls the statistics collector and mailboxd.csv
carries the guide's connection columns."""

import csv
import email
import imaplib
import time

import pytest

from zcs import Zcs

DOMAIN = "alerts.test"
ADMIN = f"watch@{DOMAIN}"
VICTIM = f"victim@{DOMAIN}"
QUIET = f"quiet@{DOMAIN}"
PASSWORD = "alert-secret-31"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("alerts"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    zcs.zmprov("cd", DOMAIN)
    for a in (ADMIN, VICTIM, QUIET):
        zcs.zmprov("ca", a, PASSWORD)
    zcs.run("zmlocalconfig", "-e", f"zimbra_swatch_notice_user={ADMIN}",
            "zmstat_interval=1")
    zcs.start()
    yield zcs
    zcs.stop()


def fail_logins(server, account, n):
    for _ in range(n):
        imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(account, "not-the-password")
        imap.logout()


def alert_subjects(server):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
    imap.login(ADMIN, PASSWORD)
    imap.select("INBOX", readonly=True)
    _, data = imap.search(None, "ALL")
    subjects = []
    for num in data[0].split():
        _, parts = imap.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects.append(email.message_from_bytes(parts[0][1])["Subject"] or "")
    imap.logout()
    return [s for s in subjects if s.startswith("zmauditwatch")]


def test_ten_failures_of_one_account_from_one_address_are_mailed_once(server):
    # 9 + 10 from one address stays under the per-address threshold (20).
    fail_logins(server, QUIET, 9)
    fail_logins(server, VICTIM, 10)
    deadline = time.time() + 30
    subjects = []
    while time.time() < deadline:
        subjects = alert_subjects(server)
        if subjects:
            break
        time.sleep(0.5)
    time.sleep(1)
    subjects = alert_subjects(server)
    assert len(subjects) == 1, subjects
    assert VICTIM in subjects[0] and "127.0.0.1" in subjects[0], subjects
    assert not any(QUIET in s for s in subjects), subjects
    audit = (server.home / "log" / "audit.log").read_text(errors="replace")
    assert "authentication failure alert" in audit


def test_mailboxd_csv_counts_imap_connections(server):
    path = server.home / "log" / "zmstat" / "mailboxd.csv"
    deadline = time.time() + 15
    while not path.exists() and time.time() < deadline:
        time.sleep(0.3)
    header = [h.strip() for h in path.read_text().splitlines()[0].split(",")]
    for col in ("heap_used", "heap_free", "imap_conn", "soap_sessions", "pop_conn",
                "db_conn_count"):
        assert col in header, header

    def last_imap_conn():
        rows = list(csv.reader(path.read_text().splitlines()))
        return int(rows[-1][header.index("imap_conn")].strip())

    time.sleep(2.5)
    before = last_imap_conn()
    sessions = []
    for _ in range(3):
        imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
        imap.login(VICTIM, PASSWORD)
        sessions.append(imap)
    time.sleep(2.5)
    during = last_imap_conn()
    for s in sessions:
        s.logout()
    assert during - before >= 3, (before, during)


def test_zmstatctl_stops_starts_and_rotates(server):
    out = server.run("zmstatctl", "status").stdout
    assert "Running" in out, out
    server.run("zmstatctl", "stop")
    assert "Stopped" in server.run("zmstatctl", "status", check=False).stdout
    path = server.home / "log" / "zmstat" / "proc.csv"
    time.sleep(1.5)
    size = path.stat().st_size
    time.sleep(2.5)
    assert path.stat().st_size == size, "samples written while stopped"
    server.run("zmstatctl", "start")
    assert "Running" in server.run("zmstatctl", "status").stdout
    server.run("zmstatctl", "rotate")
    rotated = [p for p in (server.home / "log" / "zmstat").iterdir() if p.is_dir()]
    assert rotated and any((p / "proc.csv").exists() for p in rotated), rotated


def test_zmstat_chart_draws_the_csv_files(server, tmp_path):
    time.sleep(1.5)
    out = server.run("zmstat-chart", "-s", server.home / "log" / "zmstat", "-d", tmp_path,
                     "--title", "ops test").stdout
    assert "charts written" in out, out
    html = (tmp_path / "index.html").read_text()
    assert "<svg" in html and "mailboxd.csv: imap_conn" in html and "Summary" in html
    server.run("zmstat-chart-config")
    xml = (server.home / "conf" / "zmstat-chart.xml").read_text()
    assert 'infile="proc.csv"' in xml, xml[:300]


def test_admin_changes_over_soap_reach_the_audit_log(server):
    from soap_util import json_request, ssl_context
    host = server.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    url = f"https://127.0.0.1:{server.admin_port}/service/admin/soap"
    ctx = ssl_context(server.ca_file())
    status, js = json_request(url, "AuthRequest", "urn:zimbraAdmin",
                              {"name": f"admin@{host}", "password": server.admin_password},
                              ctx=ctx)
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    token = t["_content"] if isinstance(t, dict) else t
    victim_id = server.zmprov("ga", VICTIM, "zimbraId").stdout.split("zimbraId: ")[1].strip()
    status, js = json_request(url, "ModifyAccountRequest", "urn:zimbraAdmin",
                              {"id": victim_id, "_attrs": {"displayName": "Renamed Victim"}},
                              token, ctx=ctx)
    assert status == 200, js
    deadline = time.time() + 10
    line = ""
    while time.time() < deadline and not line:
        audit = (server.home / "log" / "audit.log").read_text(errors="replace")
        line = next((l for l in audit.splitlines()
                     if "admin change" in l and "ModifyAccount" in l), "")
        time.sleep(0.2)
    assert line, "no audit line for the SOAP ModifyAccount"
    assert "via=soap" in line and f"admin=admin@{host}" in line and "127.0.0.1" in line, line
    assert server.admin_password not in line


def test_soap_create_set_password_and_delete_are_audited_without_the_password(server):
    from soap_util import json_request, ssl_context
    from zcs import SECRETS
    host = server.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    url = f"https://127.0.0.1:{server.admin_port}/service/admin/soap"
    ctx = ssl_context(server.ca_file())
    status, js = json_request(url, "AuthRequest", "urn:zimbraAdmin",
                              {"name": f"admin@{host}", "password": server.admin_password},
                              ctx=ctx)
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    token = t["_content"] if isinstance(t, dict) else t
    first, second = "Created-over-soap-7", "Changed-over-soap-8"
    SECRETS.update({first, second})
    name = f"soapmade@{DOMAIN}"
    status, js = json_request(url, "CreateAccountRequest", "urn:zimbraAdmin",
                              {"name": name, "password": first}, token, ctx=ctx)
    assert status == 200, js
    new_id = js["Body"]["CreateAccountResponse"]["account"][0]["id"]
    for req, body in (("SetPasswordRequest", {"id": new_id, "newPassword": second}),
                      ("DeleteAccountRequest", {"id": new_id})):
        status, js = json_request(url, req, "urn:zimbraAdmin", body, token, ctx=ctx)
        assert status == 200, js
    wanted = ["CreateAccount", "SetPassword", "DeleteAccount"]
    deadline = time.time() + 10
    while True:
        audit = (server.home / "log" / "audit.log").read_text(errors="replace")
        lines = {w: next((l for l in audit.splitlines()
                          if "admin change" in l and f"cmd={w}" in l), "") for w in wanted}
        if all(lines.values()) or time.time() > deadline:
            break
        time.sleep(0.2)
    for w, line in lines.items():
        assert line, f"no audit line for SOAP {w}"
        assert "via=soap" in line and f"admin=admin@{host}" in line and "result=ok" in line, line
    assert f"name={name}" in lines["CreateAccount"], lines["CreateAccount"]
    assert first not in audit and second not in audit
