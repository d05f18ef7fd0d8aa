"""zmmailbox's filter, right, appointment, contact and admin command families against a
running server, each through the real binary: filter rules added, placed, modified,
listed in Zimbra's one-line form and deleted (incoming and outgoing, stored as Sieve);
user rights granted, listed, checked from the grantee's side and revoked; appointment
summaries over a date range; contacts tagged, dumped and auto-completed; and a rule
added with afrl filing mail delivered over LMTP."""

import datetime
import json
import smtplib

import pytest

from soap_util import json_request
from zcs import Zcs

DOMAIN = "fam.test"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
PASSWORD = "fam-secret-1"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zmmailbox_families"))
    z.init()
    z.start()
    z.zmprov("cd", DOMAIN)
    for u in (ALICE, BOB):
        z.zmprov("ca", u, PASSWORD, "displayName", u.split("@")[0].title())
    yield z
    if z.status().returncode == 0:
        z.stop()


def admin(z, *args, check=True):
    return z.run("zmmailbox", "-z", "-m", ALICE, *args, check=check)


def user(z, who, *args, check=True):
    return z.run("zmmailbox", "-m", who, "-p", PASSWORD, *args, check=check)


def rules(z, cmd="gfrl"):
    return [l for l in admin(z, cmd).stdout.splitlines() if l.strip()]


def test_filter_rules_are_added_placed_modified_and_deleted(z):
    admin(z, "afrl", "rule1", "active", "any", "address", "from", "all", "is",
          f"bob@{DOMAIN}", "fileinto", "/Inbox")
    assert rules(z) == [
        f'"rule1" active any address "from" all is "bob@{DOMAIN}" fileinto "/Inbox"']
    # Zimbra's placing options: first, after, before, and the end by default.
    admin(z, "afrl", "-f", "top", "header", "subject", "contains", "urgent",
          "tag", "Hot", "stop")
    admin(z, "afrl", "-a", "rule1", "mid", "all", "body", "not_contains", "case_sensitive",
          "Unsubscribe", "size", "over", "1M", "mark", "read")
    admin(z, "afrl", "-b", "top", "zero", "inactive", "header", "X-Spam", "exists",
          "discard")
    admin(z, "afrl", "end", "attachment", "exists", "date", "after", "20240131",
          "redirect", "x@y.test")
    names = [l.split('"')[1] for l in rules(z)]
    assert names == ["zero", "top", "rule1", "mid", "end"], rules(z)
    listed = rules(z)
    assert listed[0] == '"zero" inactive all header "X-Spam" exists discard', listed
    assert listed[1] == '"top" active all header "subject" contains "urgent" tag "Hot" stop'
    assert listed[3] == ('"mid" active all body not_contains case_sensitive "Unsubscribe" '
                         'size over "1M" mark read'), listed
    assert listed[4] == ('"end" active all attachment exists date after "20240131" '
                         'redirect "x@y.test"'), listed
    # Kept as the Sieve script Zimbra keeps.
    script = z.zmprov("ga", ALICE, "zimbraMailSieveScript").stdout
    assert "# rule1" in script and 'fileinto "/Inbox"' in script, script
    assert "disabled_if" in script, script

    admin(z, "mfrl", "RULE1", "inactive", "all", "header", "to", "matches", "*@lists.test",
          "fileinto", "/Lists")
    assert '"RULE1" inactive all header "to" matches "*@lists.test" fileinto "/Lists"' in \
        rules(z)
    admin(z, "dfrl", "zero")
    assert [l.split('"')[1] for l in rules(z)] == ["top", "RULE1", "mid", "end"]

    for bad, why in [(["mfrl", "nosuch", "true", "keep"], "can't find rule"),
                     (["dfrl", "nosuch"], "can't find rule"),
                     (["afrl", "-a", "nosuch", "x", "true", "keep"], "can't find rule"),
                     (["afrl", "top", "true", "keep"], "already exists"),
                     (["afrl", "r", "body", "has", "x", "keep"], "invalid op"),
                     (["afrl", "r", "keep"], "at least one condition")]:
        out = admin(z, *bad, check=False)
        assert out.returncode == 1 and why in out.stderr, (bad, out.stderr)
    assert len(rules(z)) == 4


def test_a_user_keeps_its_own_filters_and_outgoing_ones_apart(z):
    user(z, BOB, "afrl", "mine", "importance", "is", "high", "flag", "flagged")
    assert user(z, BOB, "gfrl").stdout.strip() == \
        '"mine" active all importance is high mark flagged'
    user(z, BOB, "aofrl", "sent-copy", "header", "to", "contains", "boss", "fileinto",
         "/Sent/Boss")
    user(z, BOB, "aofrl", "-l", "log", "true", "keep")
    out = user(z, BOB, "gofrl").stdout.strip().splitlines()
    assert out == ['"sent-copy" active all header "to" contains "boss" fileinto "/Sent/Boss"',
                   '"log" active all true keep'], out
    assert "zimbraMailOutgoingSieveScript" in z.zmprov("ga", BOB,
                                                       "zimbraMailOutgoingSieveScript").stdout
    user(z, BOB, "mofrl", "log", "any", "list", "not", "keep")
    assert '"log" active any list not keep' in user(z, BOB, "gofrl").stdout
    user(z, BOB, "dofrl", "sent-copy")
    user(z, BOB, "dofrl", "log")
    assert user(z, BOB, "gofrl").stdout.strip() == ""
    # The incoming rule is untouched by all of it.
    assert "mine" in user(z, BOB, "gfrl").stdout
    # Another account's rules are out of reach.
    other = z.run("zmmailbox", "-a", BOB, "-p", PASSWORD, "-m", ALICE, "gfrl", check=False)
    assert other.returncode == 1 and "PERM_DENIED" in other.stderr, other.stderr


def test_user_rights_are_granted_listed_checked_and_revoked(z):
    out = user(z, ALICE, "grr", "account", BOB, "sendAs").stdout
    assert out.splitlines() == ["  granted: ", f"    account {BOB} sendAs"], out
    user(z, ALICE, "grr", "all", "-viewFreeBusy")
    table = user(z, ALICE, "gr").stdout.splitlines()
    assert table[0].split() == ["Right", "Type", "Display"], table
    rows = [l.split() for l in table[2:] if l.strip()]
    assert ["sendAs", "account", BOB] in rows, table
    assert ["-viewFreeBusy", "all"] in rows, table
    only = user(z, ALICE, "gr", "sendAs").stdout
    assert "sendAs" in only and "viewFreeBusy" not in only, only
    verbose = json.loads(user(z, ALICE, "gr", "-v", "sendAs").stdout)
    assert verbose[0]["name"] == BOB and verbose[0]["deny"] is False, verbose
    # Bob, from his side, holds sendAs on Alice; Alice holds none on Bob.
    assert user(z, BOB, "ckr", ALICE, "sendAs").stdout.strip() == "allowed"
    assert user(z, ALICE, "ckr", BOB, "sendAs").stdout.strip() == "not allowed"
    out = user(z, ALICE, "rvr", "account", BOB, "sendAs").stdout
    assert out.splitlines()[0] == "  revoked: " and "sendAs" in out, out
    assert user(z, BOB, "ckr", ALICE, "sendAs").stdout.strip() == "not allowed"
    user(z, ALICE, "rvr", "all", "-viewFreeBusy")
    assert "viewFreeBusy" not in user(z, ALICE, "gr").stdout
    missing = user(z, ALICE, "rvr", "account", BOB, "sendAs", check=False)
    assert missing.returncode == 1 and "no such grant" in missing.stderr, missing.stderr
    bad = user(z, ALICE, "grr", "account", BOB, check=False)
    assert bad.returncode == 1 and "wrong number of args" in bad.stderr, bad.stderr
    catalogue = user(z, ALICE, "lr").stdout
    assert "  sendAs: " in catalogue and "  viewFreeBusy: " in catalogue, catalogue


def _token(z, who):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": who},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return url, (t["_content"] if isinstance(t, dict) else t)


def test_appointment_summaries_cover_the_range_asked(z):
    url, token = _token(z, ALICE)
    start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)) \
        .replace(hour=9, minute=0, second=0, microsecond=0)
    comp = {"name": "Standup", "loc": "Room 1",
            "s": {"d": start.strftime("%Y%m%dT%H%M%SZ")},
            "e": {"d": (start + datetime.timedelta(minutes=30)).strftime("%Y%m%dT%H%M%SZ")}}
    status, js = json_request(url, "CreateAppointmentRequest", "urn:zimbraMail",
                              {"m": {"l": "10", "inv": {"comp": [comp]}}}, token)
    assert status == 200, js
    appt = js["Body"]["CreateAppointmentResponse"]["calItemId"]

    found = json.loads(admin(z, "gaps", "-1day", "+7day", "/Calendar").stdout)
    assert len(found) == 1, found
    hit = found[0]
    assert hit["id"] == str(appt) and hit["name"] == "Standup", hit
    assert hit["location"] == "Room 1" and hit["duration"] == "1800000", hit
    assert int(hit["startTime"]) == int(start.timestamp() * 1000), hit
    # Milliseconds and absolute days work too; a range before it finds nothing.
    ms = int(start.timestamp() * 1000)
    assert len(json.loads(admin(z, "gaps", ms - 1000, ms + 1000).stdout)) == 1
    past = datetime.date.today() - datetime.timedelta(days=30)
    assert admin(z, "gaps", past.strftime("%m/%d/%Y"),
                 (past + datetime.timedelta(days=7)).strftime("%Y/%m/%d")).stdout.strip() == "[]"
    bad = admin(z, "gaps", "yesterday", "+1day", check=False)
    assert bad.returncode == 1 and "invalid date spec" in bad.stderr, bad.stderr


def test_contacts_are_tagged_dumped_and_completed(z):
    cid = admin(z, "cct", "firstName", "Ann", "lastName", "Lee", "email",
                "ann@x.test").stdout.strip()
    assert cid.isdigit(), cid
    admin(z, "ct", "Friends")
    admin(z, "tct", cid, "Friends")
    dump = admin(z, "gct", cid).stdout
    lines = dump.splitlines()
    assert lines[0] == f"Id: {cid}" and lines[1] == "Folder: /Contacts", dump
    assert "Tags: Friends" in lines, dump
    assert any(l.startswith("Revision: ") for l in lines), dump
    assert "  email: ann@x.test" in lines and "Attrs:" in lines, dump
    admin(z, "tct", cid, "Friends", "0")
    assert "Tags:" not in admin(z, "gct", cid).stdout
    bad = admin(z, "tct", cid, "NoSuchTag", check=False)
    assert bad.returncode == 1 and "unknown tag" in bad.stderr, bad.stderr
    assert admin(z, "mcta", cid, "company", "Acme").stdout.strip() == cid
    assert "  company: Acme" in admin(z, "gact", "company").stdout

    table = admin(z, "ac", "ann").stdout.splitlines()
    assert table[0].split() == ["Ranking", "type", "email"], table
    assert any("ann@x.test" in l for l in table[2:]), table
    assert admin(z, "ac", "zzzz").stdout.strip() == "no matches"
    gal = user(z, ALICE, "acg", "bob").stdout
    assert f"  email: {BOB}" in gal, gal


def test_help_lists_the_families(z):
    out = admin(z, "help", "filter").stdout
    assert "addFilterRule(afrl)" in out and "getOutgoingFilterRules(gofrl)" in out, out
    assert "grantRight(grr)" in admin(z, "help", "right").stdout
    assert "getAppointmentSummaries(gaps)" in admin(z, "help", "appointment").stdout


def test_aa_turns_a_user_session_into_an_admin_one(z):
    adm = f"mbadmin@{DOMAIN}"
    z.zmprov("ca", adm, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    _deliver(z, BOB, "for bob only")
    # Alice alone cannot open Bob's mailbox; after aa the same session can.
    script = f"aa {adm} {PASSWORD}\nsm {BOB}\ns -t message \"for bob only\"\n"
    out = z.run("zmmailbox", "-m", ALICE, "-p", PASSWORD, input=script)
    assert "for bob only" in out.stdout, out.stdout + out.stderr
    bad = z.run("zmmailbox", "-m", ALICE, "-p", PASSWORD, check=False,
                input=f"aa {ALICE} {PASSWORD}\nsm {BOB}\ngms\n")
    assert bad.returncode != 0 and "PERM_DENIED" in bad.stderr, bad.stdout + bad.stderr
    usage = admin(z, "aa", "onlyone", check=False)
    assert usage.returncode == 1 and "usage" in usage.stderr, usage.stderr


def _deliver(z, to, subject):
    msg = (f"From: news@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '-')}@remote.test>\r\n\r\nbody\r\n")
    with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=60) as s:
        s.sendmail("news@remote.test", [to], msg)


def _search(z, who, query, want):
    out = ""
    for _ in range(100):  # the index catches up just after delivery
        out = z.run("zmmailbox", "-z", "-m", who, "s", "-t", "message", query).stdout
        if want in out:
            break
    return out


def test_a_rule_added_with_afrl_files_delivered_mail(z):
    carol = f"carol@{DOMAIN}"
    z.zmprov("ca", carol, PASSWORD)
    z.run("zmmailbox", "-z", "-m", carol, "cf", "/Digest")
    z.run("zmmailbox", "-z", "-m", carol, "afrl", "digest", "header", "subject", "contains",
          "weekly digest", "fileinto", "/Digest", "stop")
    z.run("zmmailbox", "-z", "-m", carol, "afrl", "off", "inactive", "header", "subject",
          "contains", "monthly", "discard")
    _deliver(z, carol, "Weekly Digest 12")
    _deliver(z, carol, "Monthly report")
    assert "Weekly Digest 12" in _search(z, carol, "in:/Digest", "Weekly Digest 12")
    inbox = _search(z, carol, "in:inbox", "Monthly report")
    assert "Monthly report" in inbox and "Weekly Digest" not in inbox, inbox


def test_folder_grants_take_zimbras_grantee_words(z):
    admin(z, "cf", "/Team")
    admin(z, "mfg", "/Team", "account", BOB, "rwi")
    admin(z, "mfg", "/Team", "public", "r")
    rows = [l.split() for l in admin(z, "gfg", "/Team").stdout.splitlines()[2:]]
    assert any(r[1:] == ["account", BOB] and r[0].startswith("rwi") for r in rows), rows
    assert ["r", "public"] in rows, rows
    grants = json.loads(admin(z, "gfg", "-v", "/Team").stdout)
    assert sorted(g["gt"] for g in grants) == ["pub", "usr"], grants
    admin(z, "mfg", "/Team", "public", "none")
    admin(z, "mfg", "/Team", "account", BOB, "none")
    assert len(admin(z, "gfg", "/Team").stdout.strip().splitlines()) == 2
    bad = admin(z, "mfg", "/Team", "robot", "r", check=False)
    assert bad.returncode == 1 and "unknown grantee type" in bad.stderr, bad.stderr
