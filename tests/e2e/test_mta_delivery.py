"""Delivery of the real server as a user sees it (smtplib over LMTP and SMTP, IMAP to
look): aliases, alias domains, catch-all, distribution lists (each member once, remote
members relayed, members-only lists), account statuses, forwarding (and its loop
stop), Sieve (fileinto with flags and tags, discard, reject), vacation replies once per
sender, spam-flagged mail to Junk (unless a third-party whitelist header says otherwise),
quota warnings, address extensions (zimbraMtaRecipientDelimiter) and dynamic lists."""

import email
import smtplib

import pytest

from mta_util import (DOMAIN, SmtpSink, fetch_folder, message, start_mta_home, user,
                      wait_folder, wait_for)

ACCOUNTS = ("alice", "bob", "carol", "erin", "frank", "gina", "hank", "ivan", "kim", "leo",
            "mia", "nora", "otto", "pat")


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    home = start_mta_home(tmp_path_factory, "mta-delivery", sink, accounts=ACCOUNTS)
    yield home
    home.stop()


def lmtp(z, rcpts, data, sender="someone@remote.test"):
    with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=60) as s:
        return s.sendmail(sender, rcpts, data)


def smtp(z, rcpts, data, sender="someone@remote.test"):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        s.ehlo("client.remote.test")
        return s.sendmail(sender, rcpts, data)


def test_alias_alias_domain_and_catch_all(z):
    z.zmprov("aaa", user("bob"), user("robert"))
    z.zmprov("cad", "alias-of-mta.test", DOMAIN)
    z.zmprov("cd", "catch.test")
    z.zmprov("ca", "dave@catch.test", "mta-secret-1",
             "zimbraMailCatchAllAddress", "@catch.test")
    lmtp(z, [user("robert")], message("to the alias"))
    lmtp(z, ["bob@alias-of-mta.test"], message("to the alias domain"))
    lmtp(z, ["whoever@catch.test"], message("to the catch-all"))
    got = wait_folder(z, user("bob"), 2)
    assert any(b"to the alias\r\n" in raw for _, raw in got)
    assert any(b"to the alias domain" in raw for _, raw in got)
    got = wait_folder(z, "dave@catch.test", 1)
    assert any(b"to the catch-all" in raw for _, raw in got)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        lmtp(z, ["nobody@" + DOMAIN], message("unknown"))
    assert list(e.value.recipients.values())[0][0] == 550


def test_list_members_each_once_and_remote_members_relayed(z, sink):
    z.zmprov("cdl", user("team"))
    z.zmprov("cdl", user("inner"))
    z.zmprov("adlm", user("inner"), user("kim"), user("leo"))
    z.zmprov("adlm", user("team"), user("kim"), user("inner"), "outside@remote.test")
    before = len(sink.messages)
    smtp(z, [user("team")], message("list mail", to=user("team")))
    kim = wait_folder(z, user("kim"), 1)
    leo = wait_folder(z, user("leo"), 1)
    assert sink.wait_messages(before + 1)
    assert wait_for(lambda: False, 3) is False  # let duplicates, if any, arrive
    kim = [raw for _, raw in fetch_folder(z, user("kim")) if b"list mail" in raw]
    leo = [raw for _, raw in fetch_folder(z, user("leo")) if b"list mail" in raw]
    assert len(kim) == 1 and len(leo) == 1, (len(kim), len(leo))
    assert b"X-Zimbra-DL: " + user("team").encode() in kim[0]
    # Spec 03 §6 idea 29: the To: header still shows only the list's address.
    for raw in (kim[0], leo[0]):
        assert email.message_from_bytes(raw).get_all("To") == [user("team")], raw[:400]
    remote = [m for m in sink.messages[before:] if b"list mail" in m[2]]
    assert len(remote) == 1 and remote[0][1] == ["outside@remote.test"]


def test_one_copy_through_two_lists_and_directly(z):
    # MessageId-DL (harness): a member of two lists a message is sent to, and a
    # recipient also named directly, each get one copy.
    z.zmprov("cdl", user("red"))
    z.zmprov("cdl", user("blue"))
    z.zmprov("adlm", user("red"), user("kim"), user("leo"))
    z.zmprov("adlm", user("blue"), user("kim"), user("leo"), user("alice"))
    smtp(z, [user("red"), user("blue"), user("leo")], message("two lists"))
    wait_folder(z, user("alice"), 1)
    assert wait_for(lambda: False, 3) is False  # let duplicates, if any, arrive
    for who in ["kim", "leo", "alice"]:
        got = [raw for _, raw in fetch_folder(z, user(who)) if b"two lists" in raw]
        assert len(got) == 1, (who, len(got))


def test_members_only_list(z):
    z.zmprov("cdl", user("staff"))
    z.zmprov("adlm", user("staff"), user("alice"))
    z.zmprov("grr", "dl", user("staff"), "grp", user("staff"), "sendToDistList")
    with pytest.raises(smtplib.SMTPDataError) as e:
        lmtp(z, [user("staff")], message("stranger to staff"))
    assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error
    lmtp(z, [user("staff")], message("member to staff"), sender=user("alice"))
    # alice may hold earlier tests' mail: wait for this one (list copies go through
    # the queue).
    assert wait_for(lambda: any(b"member to staff" in raw
                                for _, raw in fetch_folder(z, user("alice"))), 30)


def test_statuses_maintenance_defers_closed_refuses(z):
    z.zmprov("ma", user("carol"), "zimbraAccountStatus", "maintenance")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        lmtp(z, [user("carol")], message("to maintenance"))
    code, text = list(e.value.recipients.values())[0]
    assert 400 <= code < 500 and b"4.2.1" in text
    z.zmprov("ma", user("carol"), "zimbraAccountStatus", "closed")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        lmtp(z, [user("carol")], message("to closed"))
    assert 500 <= list(e.value.recipients.values())[0][0] < 600


def test_forwarding_and_loop_stop(z, sink):
    z.zmprov("ma", user("erin"), "zimbraPrefMailForwardingAddress", "away@remote.test",
             "zimbraPrefMailLocalDeliveryDisabled", "TRUE")
    before = len(sink.messages)
    lmtp(z, [user("erin")], message("forward me"))
    assert sink.wait_messages(before + 1)
    fwd = sink.messages[-1]
    assert fwd[1] == ["away@remote.test"] and b"forward me" in fwd[2]
    assert b"Delivered-To: " + user("erin").encode() in fwd[2]
    assert not any(b"forward me" in raw for _, raw in fetch_folder(z, user("erin")))

    # frank forwards (hidden, admin-set) to hank and keeps a copy; hank forwards back.
    z.zmprov("ma", user("frank"), "zimbraMailForwardingAddress", user("hank"))
    z.zmprov("ma", user("hank"), "zimbraPrefMailForwardingAddress", user("frank"))
    lmtp(z, [user("frank")], message("loop around"))
    assert wait_folder(z, user("hank"), 1)
    wait_for(lambda: False, 4)
    frank = [r for _, r in fetch_folder(z, user("frank")) if b"loop around" in r]
    hank = [r for _, r in fetch_folder(z, user("hank")) if b"loop around" in r]
    assert len(hank) == 1 and 1 <= len(frank) <= 2, (len(frank), len(hank))
    z.zmprov("ma", user("hank"), "zimbraPrefMailForwardingAddress", "")


SCRIPT = r'''require ["fileinto", "imap4flags", "reject"];
if header :contains "subject" "report" {
  addflag "\\Flagged";
  tag "Important";
  fileinto :create "Work/Reports";
} elsif header :contains "subject" "junkme" {
  discard;
} elsif header :contains "subject" "unwanted" {
  reject "not wanted here";
}
'''


def test_sieve_fileinto_flags_tags_discard_reject(z):
    z.zmprov("ma", user("gina"), "zimbraMailSieveScript", SCRIPT)
    lmtp(z, [user("gina")], message("quarterly report"))
    lmtp(z, [user("gina")], message("please junkme"))
    with pytest.raises(smtplib.SMTPDataError) as e:
        lmtp(z, [user("gina")], message("unwanted offer"))
    assert e.value.smtp_code == 550
    lmtp(z, [user("gina")], message("plain hello"))
    got = wait_folder(z, user("gina"), 1, folder="Work/Reports")
    assert len(got) == 1 and b"quarterly report" in got[0][1]
    assert b"\\Flagged" in got[0][0] and b"Important" in got[0][0], got[0][0]
    inbox = fetch_folder(z, user("gina"))
    assert [b"plain hello" in raw for _, raw in inbox] == [True]


def test_vacation_once_per_sender(z, sink):
    z.zmprov("ma", user("hank"), "zimbraPrefOutOfOfficeReplyEnabled", "TRUE",
             "zimbraPrefOutOfOfficeReply", "I am away until Monday.")
    before = len(sink.messages)
    for i in range(2):
        lmtp(z, [user("hank")], message(f"are you there {i}", to=user("hank")),
             sender="asker@remote.test")
    assert sink.wait_messages(before + 1)
    wait_for(lambda: False, 3)
    replies = [m for m in sink.messages[before:] if m[1] == ["asker@remote.test"]]
    assert len(replies) == 1, replies
    assert replies[0][0] == "" and b"I am away until Monday." in replies[0][2]


def test_spam_flag_goes_to_junk(z):
    lmtp(z, [user("leo")], message("cheap pills", extra="X-Spam-Flag: YES\r\n"))
    got = wait_folder(z, user("leo"), 1, folder="Junk")
    assert any(b"cheap pills" in raw for _, raw in got)


def test_quota_warning_once(z):
    z.zmprov("ma", user("ivan"), "zimbraMailQuota", "4000", "zimbraQuotaWarnPercent", "10")
    lmtp(z, [user("ivan")], message("fills the mailbox", extra="X-Pad: " + "x" * 600 + "\r\n"))
    lmtp(z, [user("ivan")], message("and more"))
    got = wait_folder(z, user("ivan"), 3)
    warnings = [raw for _, raw in got if b"Subject: Quota warning" in raw]
    assert len(warnings) == 1, [raw[:200] for _, raw in got]
    assert user("ivan").encode() in warnings[0]


def test_recipient_delimiter(z):
    # Unset (Zimbra's default), an address extension is an unknown recipient.
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        lmtp(z, [user("mia+news")], message("before the delimiter"))
    assert list(e.value.recipients.values())[0][0] == 550
    z.zmprov("mcf", "zimbraMtaRecipientDelimiter", "+")
    z.run("zmmtactl", "reload")
    try:
        lmtp(z, [user("mia+news")], message("with an extension"))
        smtp(z, [user("mia+other")], message("with an extension over smtp"))
        got = wait_folder(z, user("mia"), 2)
        assert any(b"with an extension\r\n" in raw for _, raw in got)
        assert any(b"with an extension over smtp" in raw for _, raw in got)
        # Still unknown when the base address is unknown.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            lmtp(z, [user("nobody+news")], message("unknown base"))
    finally:
        z.zmprov("mcf", "zimbraMtaRecipientDelimiter", "")
        z.run("zmmtactl", "reload")


def test_whitelist_header_keeps_spam_in_inbox(z):
    # Spec 02 §6 idea 26: whitelisted spam stays out of Junk; the user's filter still runs.
    z.zmprov("mcf", "zimbraSpamWhitelistHeader", "X-Whitelist-Flag",
             "zimbraSpamWhitelistHeaderValue", "YES")
    z.run("zmmtactl", "reload")
    z.zmprov("ma", user("nora"), "zimbraMailSieveScript",
             r'require ["imap4flags"]; addflag "\\Flagged";')
    try:
        lmtp(z, [user("nora")], message(
            "whitelisted offer", extra="X-Spam-Flag: YES\r\nX-Whitelist-Flag: yes\r\n"))
        lmtp(z, [user("nora")], message(
            "plain spam", extra="X-Spam-Flag: YES\r\nX-Whitelist-Flag: NO\r\n"))
        inbox = wait_folder(z, user("nora"), 1)
        junk = wait_folder(z, user("nora"), 1, folder="Junk")
        assert [b"whitelisted offer" in raw for _, raw in inbox] == [True], inbox
        assert b"\\Flagged" in inbox[0][0], inbox[0][0]
        assert [b"plain spam" in raw for _, raw in junk] == [True], junk
    finally:
        z.zmprov("mcf", "zimbraSpamWhitelistHeader", "", "zimbraSpamWhitelistHeaderValue", "")
        z.run("zmmtactl", "reload")


def test_dynamic_list_follows_its_filter(z):
    # Spec 03 §6 ideas 37-39: a dynamic list's members are whoever its filter matches
    # at delivery time; the members' copies carry X-Zimbra-DL and the list's Reply-To.
    z.zmprov("ma", user("otto"), "title", "Manager")
    z.zmprov("cddl", user("managers"), "memberURL", "ldap:///??sub?(title=Manager)",
             "zimbraIsACLGroup", "FALSE", "zimbraPrefReplyToEnabled", "TRUE",
             "zimbraPrefReplyToAddress", user("managers-replies"))
    smtp(z, [user("managers")], message("to the managers", to=user("managers")))
    got = [raw for _, raw in wait_folder(z, user("otto"), 1) if b"to the managers" in raw]
    assert len(got) == 1
    parsed = email.message_from_bytes(got[0])
    assert parsed["X-Zimbra-DL"] == user("managers"), got[0][:400]
    assert parsed["Reply-To"] == user("managers-replies"), got[0][:400]
    # A new match receives the next mail with no membership edit.
    z.zmprov("ma", user("pat"), "title", "Manager")
    smtp(z, [user("managers")], message("managers again", to=user("managers")))
    got = [raw for _, raw in wait_folder(z, user("pat"), 1) if b"managers again" in raw]
    assert len(got) == 1
