"""The domain aggregate quota on the receiving side (spec 02 §1.14): once a domain's
recorded usage reaches zimbraDomainAggregateQuota, BLOCKSENDRECEIVE refuses mail to its
accounts with a temporary failure (4.2.2, the sender retries); BLOCKSEND and
ALLOWSENDRECEIVE still take it in."""

import smtplib
import time

import pytest

from zcs import Zcs

DOMAIN = "aggq.test"
USER = f"q1@{DOMAIN}"


@pytest.fixture(scope="module")
def z(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("domain_quota"))
    z.init()
    z.zmprov("cd", DOMAIN)
    z.zmprov("ca", USER, "aggq-pass-1")
    # Usage as ComputeAggregateQuotaUsage records it, over a 1 KB quota.
    z.zmprov("md", DOMAIN, "zimbraDomainAggregateQuota", "1024",
             "zimbraAggregateQuotaLastUsage", "4096")
    z.start()
    yield z
    z.run("zmcontrol", "stop", check=False)


def lmtp_reply(z, subject):
    deadline = time.time() + 60
    while True:
        try:
            with smtplib.LMTP("127.0.0.1", z.lmtp_port, timeout=30) as s:
                s.ehlo("test")
                s.mail("a@remote.test")
                s.rcpt(USER)
                code, msg = s.data(f"Subject: {subject}\r\n\r\nbody\r\n".encode())
                return code, msg
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error
        except ConnectionRefusedError:
            assert time.time() < deadline, "LMTP never came up"
            time.sleep(0.2)


def test_blocksendreceive_refuses_delivery_and_blocksend_does_not(z):
    z.zmprov("md", DOMAIN, "zimbraDomainAggregateQuotaPolicy", "BLOCKSENDRECEIVE")
    z.zmprov("fc", "domain", DOMAIN)
    code, msg = lmtp_reply(z, "refused")
    assert 400 <= code < 500 and b"4.2.2" in msg, (code, msg)
    z.zmprov("md", DOMAIN, "zimbraDomainAggregateQuotaPolicy", "BLOCKSEND")
    z.zmprov("fc", "domain", DOMAIN)
    code, msg = lmtp_reply(z, "taken")
    assert code == 250, (code, msg)
