"""Sieve notify at delivery on the real server: an RFC 5435 `notify` with a mailto:
method (RFC 5436) sends its notification through the queue (From the recipient,
:message as the subject, Auto-Submitted: auto-notified), never about an auto-submitted
message, and Zimbra's own filter rule <actionNotify> saved with ModifyFilterRules
notifies with its subject and body templates."""

import re
import smtplib

import pytest

from mta_util import PASSWORD, SmtpSink, start_mta_home, user, wait_folder, wait_for, fetch_folder
from soap_util import envelope, post

ACCOUNTS = ("alice", "bob", "pager")


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    home = start_mta_home(tmp_path_factory, "sieve-notify", sink, accounts=ACCOUNTS)
    yield home
    home.stop()


def smtp(z, rcpt, subject, extra=""):
    data = (f"From: boss@remote.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n{extra}"
            f"Message-ID: <{abs(hash(subject))}@remote.test>\r\n\r\nBody of {subject}.\r\n")
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        s.ehlo("client.remote.test")
        s.sendmail("boss@remote.test", [rcpt], data.encode())


def pager_has(z, needle):
    return [raw for _, raw in fetch_folder(z, user("pager")) if needle in raw]


def test_rfc_notify_sends_a_mail_notification(z):
    script = ('require ["enotify"];\r\n'
              'if header :contains "subject" "urgent" {\r\n'
              f'  notify :message "Urgent: server down" "mailto:{user("pager")}?subject=ignored";\r\n'
              '}\r\n')
    z.zmprov("ma", user("bob"), "zimbraMailSieveScript", script)
    smtp(z, user("bob"), "urgent server down")
    assert wait_for(lambda: pager_has(z, b"Urgent: server down"), 30, 0.5)
    note = pager_has(z, b"Urgent: server down")[0]
    assert b"Subject: Urgent: server down\r\n" in note
    assert b"Auto-Submitted: auto-notified" in note
    assert re.search(rb"(?m)^From: [^\r\n]*" + re.escape(user("bob").encode()), note), note
    # bob still got the message itself (notify does not cancel the implicit keep).
    assert wait_for(lambda: [r for _, r in fetch_folder(z, user("bob"))
                             if b"urgent server down" in r], 30, 0.5)
    # An auto-submitted message notifies nobody (RFC 5436 §2.7).
    smtp(z, user("bob"), "urgent auto reply", "Auto-Submitted: auto-replied\r\n")
    assert wait_for(lambda: [r for _, r in fetch_folder(z, user("bob"))
                             if b"urgent auto reply" in r], 30, 0.5)
    assert not wait_for(lambda: pager_has(z, b"urgent auto reply"), 4, 0.5)


def login(z, account):
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    body = (f'<AuthRequest xmlns="urn:zimbraAccount"><account by="name">{account}'
            f"</account><password>{PASSWORD}</password></AuthRequest>")
    status, _, text = post(url, envelope(body))
    assert status == 200, text
    return url, re.search(r"<authToken>([^<]+)</authToken>", text).group(1)


def test_zimbra_action_notify_rule(z):
    url, token = login(z, user("alice"))
    rules = (
        '<ModifyFilterRulesRequest xmlns="urn:zimbraMail"><filterRules>'
        '<filterRule name="pager" active="1">'
        '<filterTests condition="anyof">'
        '<headerTest header="subject" stringComparison="contains" value="invoice"/>'
        '</filterTests><filterActions>'
        f'<actionNotify a="{user("pager")}" su="Invoice: ${{SUBJECT}}" maxBodySize="200">'
        '<content>Sent by ${FROM}</content></actionNotify>'
        '<actionKeep/></filterActions></filterRule></filterRules>'
        '</ModifyFilterRulesRequest>')
    status, _, text = post(url, envelope(rules, token))
    assert status == 200, text
    status, _, text = post(url, envelope(
        '<GetFilterRulesRequest xmlns="urn:zimbraMail"/>', token))
    assert status == 200 and "actionNotify" in text, text
    smtp(z, user("alice"), "invoice 42")
    assert wait_for(lambda: pager_has(z, b"Invoice: invoice 42"), 30, 0.5)
    note = pager_has(z, b"Invoice: invoice 42")[0]
    assert b"Sent by boss@remote.test" in note, note
    assert b"Auto-Submitted: auto-notified" in note
    # The rule's other action still ran: alice keeps the message.
    got = wait_folder(z, user("alice"), 1)
    assert [r for _, r in got if b"invoice 42" in r]
