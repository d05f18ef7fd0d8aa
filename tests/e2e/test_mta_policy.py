"""MTA policy on the real server: list send rights refused at RCPT, duplicate
Message-IDs delivered once, archive copies and legal intercept notices, settings
re-read after `zmmtactl reload` (the connection cap of zimbraMtaDefaultProcessLimit too),
and SPF/DMARC checks and block lists through a DNS
server the test runs on 127.0.0.1 (`zcs_dns_servers`)."""

import smtplib

import pytest

from mta_util import (PASSWORD, SmtpSink, TinyDns, fetch_folder, start_mta_home,
                      tls_context, user, wait_folder, wait_for)

ACCOUNTS = ("alice", "bob", "carol", "dan", "arch", "cop")


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    home = start_mta_home(tmp_path_factory, "mta-policy", sink, accounts=ACCOUNTS)
    yield home
    home.stop()


def smtp(z, rcpts, data, sender="someone@remote.test", helo="client.remote.test"):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        s.ehlo(helo)
        return s.sendmail(sender, rcpts, data)


def msg(subject, msgid, sender="someone@remote.test", size=0):
    pad = ("x" * 70 + "\r\n") * (size // 72)
    return (f"From: {sender}\r\nTo: {user('bob')}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{msgid}>\r\n\r\nBody of {subject}.\r\n{pad}").encode()


def test_list_send_rights_refused_at_rcpt(z):
    z.zmprov("cdl", user("vip"))
    z.zmprov("adlm", user("vip"), user("carol"))
    z.zmprov("grr", "dl", user("vip"), "usr", user("alice"), "sendToDistList")
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        s.ehlo("client.remote.test")
        assert s.mail("stranger@remote.test")[0] == 250
        code, text = s.rcpt(user("vip"))
        assert code == 550 and b"5.7.1" in text and b"not allowed" in text, (code, text)
        # Refused before any data: the transaction holds no recipient.
        assert s.docmd("DATA")[0] == 554


def test_duplicate_message_id_delivered_once(z):
    smtp(z, [user("bob")], msg("dup one", "same-1@remote.test"))
    smtp(z, [user("bob")], msg("dup one", "same-1@remote.test"))
    wait_folder(z, user("bob"), 1)
    assert wait_for(lambda: False, 2) is False
    got = [raw for _, raw in fetch_folder(z, user("bob")) if b"dup one" in raw]
    assert len(got) == 1
    # A cache of size 0 turns deduping off.
    z.zmprov("mcf", "zimbraMessageIdDedupeCacheSize", "0")
    smtp(z, [user("bob")], msg("dup two", "same-2@remote.test"))
    smtp(z, [user("bob")], msg("dup two", "same-2@remote.test"))
    assert wait_for(lambda: len([r for _, r in fetch_folder(z, user("bob"))
                                 if b"dup two" in r]) == 2, 30, 0.5)
    z.zmprov("mcf", "zimbraMessageIdDedupeCacheSize", "3000")


def test_archive_copy_with_envelope_headers(z):
    z.zmprov("ma", user("carol"), "zimbraArchiveEnabled", "TRUE",
             "zimbraArchiveAccount", user("arch"))
    smtp(z, [user("carol")], msg("archive me", "arch-1@remote.test"))
    got = wait_folder(z, user("arch"), 1)
    copy = [raw for _, raw in got if b"archive me" in raw]
    assert copy, got
    assert b"X-Envelope-From: <someone@remote.test>" in copy[0]
    assert b"X-Envelope-To: <" + user("carol").encode() + b">" in copy[0]
    live = [raw for _, raw in fetch_folder(z, user("carol")) if b"archive me" in raw]
    assert live and b"X-Envelope-To" not in live[0]


def test_legal_intercept_notice(z):
    z.zmprov("ma", user("dan"), "zimbraInterceptAddress", user("cop"),
             "zimbraInterceptSendHeadersOnly", "TRUE")
    smtp(z, [user("dan")], msg("secret plans", "icpt-1@remote.test"))
    got = wait_folder(z, user("cop"), 1)
    cover = [raw for _, raw in got if b"Intercepted message for" in raw]
    assert cover, got
    c = cover[0]
    assert b"Subject: Intercepted message for " + user("dan").encode() + b": secret plans" in c
    assert b"Auto-Submitted: auto-replied (zimbra; intercept)" in c
    assert b"Operation=add message, folder=Inbox, folder ID=2." in c
    assert b"message/rfc822" in c
    assert b"Subject: secret plans" in c and b"Body of secret plans" not in c


def test_sent_mail_is_archived_and_intercepted(z, sink):
    z.zmprov("ma", user("alice"), "zimbraArchiveEnabled", "TRUE",
             "zimbraArchiveAccount", user("arch"), "zimbraInterceptAddress", user("cop"))
    before = len(sink.messages)
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.starttls(context=tls_context(z))
        s.login(user("alice"), PASSWORD)
        s.sendmail(user("alice"), ["friend@remote.test"],
                   msg("outgoing note", "out-1@mta.test", sender=user("alice")))
    assert sink.wait_messages(before + 1)
    assert wait_for(lambda: any(b"outgoing note" in r for _, r in fetch_folder(z, user("arch"))),
                    30, 0.5)
    copy = [r for _, r in fetch_folder(z, user("arch")) if b"outgoing note" in r][0]
    assert b"X-Envelope-From: <" + user("alice").encode() + b">" in copy
    assert b"X-Envelope-To: <friend@remote.test>" in copy
    assert wait_for(lambda: any(b"Operation=send message, folder=none" in r
                                for _, r in fetch_folder(z, user("cop"))), 30, 0.5)


def test_settings_reloaded_without_restart(z):
    smtp(z, [user("bob")], msg("big before", "big-1@remote.test", size=6000))
    z.zmprov("mcf", "zimbraMtaMaxMessageSize", "3000")
    z.run("zmmtactl", "reload")
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=60) as s:
        s.ehlo("client.remote.test")
        assert s.esmtp_features.get("size") == "3000", s.esmtp_features
    with pytest.raises(smtplib.SMTPException) as e:
        smtp(z, [user("bob")], msg("big after", "big-2@remote.test", size=6000))
    assert "552" in str(e.value)
    z.zmprov("mcf", "zimbraMtaMaxMessageSize", "10240000")
    z.run("zmmtactl", "reload")
    smtp(z, [user("bob")], msg("big again", "big-3@remote.test", size=6000))



def test_connection_cap_follows_zimbra_default_process_limit(z):
    import socket

    def greeting(sock):
        sock.settimeout(30)
        return sock.recv(512)

    z.zmprov("mcf", "zimbraMtaDefaultProcessLimit", "2")
    z.run("zmmtactl", "reload")
    held = []
    try:
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", z.smtp_port), timeout=30)
            held.append(s)
            assert greeting(s).startswith(b"220"), "a session under the cap is served"
        with socket.create_connection(("127.0.0.1", z.smtp_port), timeout=30) as third:
            assert greeting(third).startswith(b"421 4.7.0")
    finally:
        for s in held:
            s.close()
    z.zmprov("mcf", "zimbraMtaDefaultProcessLimit", "100")
    z.run("zmmtactl", "reload")
    # The held sessions may take a moment to end on the server side.
    assert wait_for(lambda: smtp_ok(z), 30, 0.5)


def smtp_ok(z):
    try:
        smtp(z, [user("bob")], msg("after cap", "cap-1@remote.test"))
        return True
    except (smtplib.SMTPException, OSError):
        return False

@pytest.fixture(scope="module")
def dns():
    d = TinyDns()
    d.add("spoof.test", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    d.add("_dmarc.spoof.test", "TXT", "v=DMARC1; p=reject")
    d.add("mon.test", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    d.add("_dmarc.mon.test", "TXT", "v=DMARC1; p=none")
    d.add("1.0.0.127.zen.test", "A", "127.0.0.2")
    yield d
    d.stop()


@pytest.fixture(scope="module")
def zd(tmp_path_factory, sink, dns):
    def pin_dns(h):
        h.run("zmlocalconfig", "-e", f"zcs_dns_servers=127.0.0.1:{dns.port}")
    home = start_mta_home(tmp_path_factory, "mta-dns", sink, accounts=("bob",),
                          before_start=pin_dns)
    yield home
    home.stop()


def test_spf_dmarc_checks_through_the_configured_dns(zd, dns):
    with pytest.raises(smtplib.SMTPDataError) as e:
        smtp(zd, [user("bob")], msg("spoofed", "sp-1@spoof.test", sender="joe@spoof.test")
             .replace(b"From: joe@spoof.test", b"From: joe@spoof.test"),
             sender="joe@spoof.test", helo="mail.spoof.test")
    assert e.value.smtp_code == 550 and b"DMARC" in e.value.smtp_error
    assert any(q.startswith("spoof.test TXT") for q in dns.asked), dns.asked
    smtp(zd, [user("bob")], msg("monitored", "mon-1@mon.test", sender="joe@mon.test"),
         sender="joe@mon.test", helo="mail.mon.test")
    got = wait_folder(zd, user("bob"), 1)
    raw = [r for _, r in got if b"monitored" in r][0]
    assert b"Authentication-Results: " in raw
    assert b"spf=fail" in raw and b"dmarc=fail" in raw


def test_rbl_restriction_through_the_configured_dns(zd):
    zd.zmprov("mcf", "+zimbraMtaRestriction", "reject_rbl_client zen.test")
    zd.run("zmmtactl", "reload")
    with smtplib.SMTP("127.0.0.1", zd.smtp_port, timeout=60) as s:
        s.ehlo("client.remote.test")
        s.mail("someone@remote.test")
        code, text = s.rcpt(user("bob"))
    assert code == 554 and b"blocked using zen.test" in text, (code, text)
