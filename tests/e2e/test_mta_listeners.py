"""The MTA listeners of the real server, driven with smtplib: SMTP on port 25 (STARTTLS,
relay refused to strangers, local delivery), submission (AUTH required, only after
STARTTLS by zimbraMtaTlsAuthOnly, sender must be the user's own address) and SMTPS
(implicit TLS), AUTH through the directory login (bad passwords refused, lockout)."""

import smtplib

import pytest

from mta_util import (PASSWORD, SmtpSink, message, start_mta_home, tls_context, user,
                      wait_folder)


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    home = start_mta_home(tmp_path_factory, "mta-listeners", sink,
                          config=("zimbraMtaMaxMessageSize", "200000"))
    home.zmprov("aaa", user("alice"), user("ally"))
    yield home
    home.stop()


def test_port_25_delivers_locally_and_refuses_relay(z):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("starttls")
        s.sendmail("someone@remote.test", [user("bob")], message("port 25 local"))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("someone@remote.test", ["victim@elsewhere.test"], message("relay"))
        code = list(e.value.recipients.values())[0][0]
        assert 500 <= code < 600, e.value.recipients
    got = wait_folder(z, user("bob"), 1)
    assert any(b"port 25 local" in raw for _, raw in got)


def test_port_25_starttls_then_auth_offered(z):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        assert not s.has_extn("auth"), "AUTH must wait for TLS (zimbraMtaTlsAuthOnly)"
        s.starttls(context=tls_context(z))
        s.ehlo("client.remote.test")
        assert s.has_extn("auth")
        s.login(user("alice"), PASSWORD)


def test_submission_requires_auth(z):
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(user("alice"), [user("bob")], message("no auth"))
        assert e.value.smtp_code == 530


def test_submission_bad_password_refused(z):
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.starttls(context=tls_context(z))
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(user("alice"), "wrong-password")
        assert e.value.smtp_code == 535


def test_submission_sends_as_self_and_alias_not_as_others(z):
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.starttls(context=tls_context(z))
        s.login(user("alice"), PASSWORD)
        s.sendmail(user("alice"), [user("bob")], message("from alice via 587"))
        s.sendmail(user("ally"), [user("bob")], message("from alias via 587"))
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(user("bob"), [user("bob")], message("forged"))
        assert 500 <= e.value.smtp_code < 600
    got = wait_folder(z, user("bob"), 3)
    subjects = b"".join(raw for _, raw in got)
    assert b"from alice via 587" in subjects and b"from alias via 587" in subjects
    assert b"forged" not in subjects


def test_smtps_implicit_tls(z):
    with smtplib.SMTP_SSL("127.0.0.1", z.smtps_port, timeout=30, context=tls_context(z)) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("auth")
        s.login(user("alice"), PASSWORD)
        s.sendmail(user("alice"), [user("bob")], message("over smtps"))
    got = wait_folder(z, user("bob"), 4)
    assert any(b"over smtps" in raw for _, raw in got)


def test_size_limit_from_zimbraMtaMaxMessageSize(z):
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        assert s.esmtp_features.get("size") == "200000"
        big = message("too big", extra="X-Pad: " + "y" * 250000 + "\r\n")
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as e:
            s.sendmail("someone@remote.test", [user("bob")], big)
        assert e.value.smtp_code == 552


def test_restriction_non_fqdn_sender_refused(z):
    # zimbraMtaRestriction's default includes reject_non_fqdn_sender.
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("someone@nodot", [user("bob")], message("non fqdn"))
        assert list(e.value.recipients.values())[0][0] // 100 == 5


def test_auth_failures_lock_the_account_out(z):
    locky = user("locky")
    z.zmprov("ca", locky, PASSWORD, "zimbraPasswordLockoutEnabled", "TRUE",
             "zimbraPasswordLockoutMaxFailures", "2")
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
            s.starttls(context=tls_context(z))
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login(locky, "wrong-password")
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.starttls(context=tls_context(z))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(locky, PASSWORD)
