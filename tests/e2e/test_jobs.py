"""The server's own scheduled jobs: the mailbox purge (zimbraMailPurgeSleepInterval)
empties Trash past zimbraMailTrashLifetime, and zmcontrol warns about full disks before
it starts anything (zmdisklog thresholds)."""

import imaplib
import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "jobs.test"
USER = f"jobs@{DOMAIN}"
PASSWORD = "jobs-pass-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("jobs"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE", "zimbraPop3CleartextLoginEnabled", "TRUE")
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
               "zimbraMailPurgeSleepInterval", "1s")
    zcs.zmprov("cd", DOMAIN)
    zcs.zmprov("ca", USER, PASSWORD, "zimbraMailTrashLifetime", "2s")
    zcs.start()
    yield zcs
    zcs.stop()


def test_purge_empties_trash_past_its_lifetime(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as s:
        s.sendmail("a@remote.test", [USER], b"Subject: to trash\r\n\r\nbye\r\n")
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        typ, _ = imap.uid("MOVE", "1:*", "Trash")
        assert typ == "OK"
        typ, data = imap.select("Trash")
        assert int(data[0]) == 1
        deadline = time.time() + 20
        while True:
            typ, data = imap.select("Trash")
            if int(data[0]) == 0:
                break
            assert time.time() < deadline, "Trash was not purged"
            time.sleep(0.5)
        typ, data = imap.select("INBOX")
        assert int(data[0]) == 0


def test_zmcontrol_warns_about_a_full_disk_before_starting(server):
    server.stop()
    server.run("zmlocalconfig", "-e", "zmdisklog_warn_threshold=0",
               "zmdisklog_critical_threshold=100")
    try:
        out = server.run("zmcontrol", "start").stdout
        assert "Warning: Disk warning:" in out, out
    finally:
        server.run("zmlocalconfig", "-e", "zmdisklog_warn_threshold=85",
                   "zmdisklog_critical_threshold=95")


def test_a_nightly_job_missed_while_down_runs_at_the_next_start(server):
    import os
    server.stop()
    log = server.home / "log"
    old = log / "mailbox.log.2000-01-01"
    old.write_text("ancient\n")
    forty_days = time.time() - 40 * 86400
    os.utime(old, (forty_days, forty_days))
    state = server.home / "data" / "jobs.state"
    lines = [l for l in state.read_text().splitlines() if not l.startswith("prune logs\t")]
    lines.append(f"prune logs\t{int(time.time()) - 3 * 86400}")
    state.write_text("\n".join(lines) + "\n")
    server.start()
    deadline = time.time() + 20
    while old.exists():
        assert time.time() < deadline, "the missed prune did not run"
        time.sleep(0.3)
    text = (log / "mailbox.log").read_text()
    assert "missed while the server was down" in text
    assert "scheduled job ran job=prune logs" in text


def test_the_server_runs_the_backups_zmschedulebackup_scheduled(server):
    server.run("zmschedulebackup", "-R", "f", "* * * * *")
    try:
        deadline = time.time() + 100
        while True:
            out = server.run("zmbackupquery", check=False).stdout
            if "full-" in out:
                break
            assert time.time() < deadline, f"no scheduled full backup:\n{out}"
            time.sleep(2)
        # The session is listed a moment before the job logs that it ended.
        log = server.home / "log" / "mailbox.log"
        while "scheduled backup done" not in log.read_text():
            assert time.time() < deadline, "the scheduled backup never logged its end"
            time.sleep(0.3)
    finally:
        server.run("zmschedulebackup", "-F")


def test_every_nightly_and_weekly_job_runs_when_its_time_has_passed(server):
    """Moves every job's last run eight days back: at the next start each daily and
    weekly job (crontab and zmhsm) has missed its time, runs, and shows its effect."""
    server.stop()
    state = server.home / "data" / "jobs.state"
    names = [l.split("\t")[0] for l in state.read_text().splitlines() if "\t" in l]
    eight_days_ago = int(time.time()) - 8 * 86400
    state.write_text("".join(f"{n}\t{eight_days_ago}\n" for n in names))
    server.start()
    nightly = ["prune logs", "sweep orphan blobs", "certificate expiry", "zmmaintaintables",
               "zmdbintegrityreport", "zmtrainsa", "zmtrainsa --cleanup", "zmhsm"]
    log = server.home / "log" / "mailbox.log"
    effects = ["blob sweep", "mailbox database statistics refreshed",
               "database integrity report: no problems"]
    deadline = time.time() + 60
    while True:
        text = log.read_text(errors="replace")
        missing = [n for n in nightly if f"scheduled job ran job={n} ms=" not in text]
        missing += [e for e in effects if e not in text]
        if not missing:
            break
        assert time.time() < deadline, f"not run after the clock moved: {missing}"
        time.sleep(0.5)


def test_the_frequent_jobs_log_status_queue_and_disk_alerts(server):
    """zmstatuslog (every 2 minutes), zmqueuelog and zmdisklog (every 10): asked for
    through data/job-requests (as zmtrainsa asks), each runs the scheduled code and
    writes its line; the disk alert uses the zmdisklog thresholds of the local config."""
    server.stop()
    server.run("zmlocalconfig", "-e", "zmdisklog_warn_threshold=0",
               "zmdisklog_critical_threshold=100")
    try:
        server.start()
        requests = server.home / "data" / "job-requests"
        requests.mkdir(parents=True, exist_ok=True)
        for job in ("zmstatuslog", "zmqueuelog", "zmdisklog"):
            (requests / job).write_text("")
        log = server.home / "log" / "mailbox.log"
        wanted = ["requested job ran job=zmstatuslog ms=", "requested job ran job=zmqueuelog ms=",
                  "requested job ran job=zmdisklog ms=", "mailbox Running", "Disk warning: ",
                  "kbytes="]
        deadline = time.time() + 20
        while True:
            text = log.read_text(errors="replace")
            missing = [w for w in wanted if w not in text]
            if not missing:
                break
            assert time.time() < deadline, f"frequent jobs left no trace: {missing}"
            time.sleep(0.3)
        assert not any(requests.iterdir()), "requests are consumed"
    finally:
        server.run("zmlocalconfig", "-e", "zmdisklog_warn_threshold=85",
                   "zmdisklog_critical_threshold=95")
