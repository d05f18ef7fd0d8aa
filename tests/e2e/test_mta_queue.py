"""The durable queue behind the real server: authenticated mail (and mail from
zimbraMtaMyNetworks) to other domains is
relayed to zimbraMtaRelayHost (a loopback sink); when the sink answers 4xx the message
waits in the deferred queue (zmqueue lists it) and `zmqueue flush` delivers it once the
sink recovers; a 5xx bounces at once with a DSN to the sender's mailbox."""

import smtplib

import pytest

from mta_util import (PASSWORD, SmtpSink, message, start_mta_home, tls_context, user,
                      wait_folder, wait_for)


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    home = start_mta_home(tmp_path_factory, "mta-queue", sink,
                          config=("zimbraMtaMyNetworks", "127.0.0.0/8"))
    yield home
    home.stop()


def submit(z, rcpts, subject):
    with smtplib.SMTP("127.0.0.1", z.submission_port, timeout=30) as s:
        s.starttls(context=tls_context(z))
        s.login(user("alice"), PASSWORD)
        s.sendmail(user("alice"), rcpts, message(subject, sender=user("alice")))


def test_relay_to_the_relay_host(z, sink):
    sink.mode = "ok"
    before = len(sink.messages)
    submit(z, ["friend@remote.test"], "relayed out")
    assert sink.wait_messages(before + 1), "the relay host never got the message"
    mail_from, rcpts, data = sink.messages[-1]
    assert mail_from == user("alice")
    assert rcpts == ["friend@remote.test"]
    assert b"relayed out" in data
    assert b"Received: " in data


def test_tempfail_defers_then_flush_delivers(z, sink):
    sink.mode = "tempfail"
    before = len(sink.messages)
    submit(z, ["later@remote.test"], "deferred then flushed")

    def listed():
        out = z.run("zmqueue", "list").stdout
        return "later@remote.test" in out and "4.2.0" in out

    assert wait_for(listed, 30), z.run("zmqueue", "list").stdout
    assert len(sink.messages) == before
    sink.mode = "ok"
    z.run("zmqueue", "flush")
    assert sink.wait_messages(before + 1), "flush did not deliver the deferred message"
    assert b"deferred then flushed" in sink.messages[-1][2]
    assert wait_for(lambda: "later@remote.test" not in z.run("zmqueue", "list").stdout, 30)


def test_permfail_bounces_to_the_sender(z, sink):
    sink.mode = "permfail"
    submit(z, ["nobody@remote.test"], "will bounce")
    got = wait_folder(z, user("alice"), 1, timeout=40)
    sink.mode = "ok"
    assert got, "no DSN in the sender's inbox"
    dsn = got[-1][1]
    assert b"multipart/report" in dsn and b"nobody@remote.test" in dsn, dsn[:2000]
    assert b"5.1.1" in dsn


def test_trusted_network_relays_without_auth(z, sink):
    sink.mode = "ok"
    before = len(sink.messages)
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("client.remote.test")
        s.sendmail("app@remote.test", ["trusted.out@remote.test"], message("from mynetworks"))
    assert sink.wait_messages(before + 1)
    assert sink.messages[-1][1] == ["trusted.out@remote.test"]


def test_soap_sendmsg_to_another_domain_goes_out_through_the_queue(z, sink):
    from soap_util import json_request
    sink.mode = "ok"
    before = len(sink.messages)
    url = f"http://127.0.0.1:{z.http_port}/service/soap"
    status, js = json_request(url, "AuthRequest", "urn:zimbraAccount",
                              {"account": {"by": "name", "_content": user("alice")},
                               "password": {"_content": PASSWORD}})
    assert status == 200, js
    token = js["Body"]["AuthResponse"]["authToken"]
    token = (token[0] if isinstance(token, list) else token)
    token = token["_content"] if isinstance(token, dict) else token
    status, js = json_request(url, "SendMsgRequest", "urn:zimbraMail", {"m": {
        "e": [{"t": "t", "a": "far@remote.test"}, {"t": "c", "a": user("bob")}],
        "su": "sent over soap", "mp": {"ct": "text/plain", "content": "hello far away"}}},
        token)
    assert status == 200, js
    assert sink.wait_messages(before + 1), "the relay host never got the SOAP message"
    mail_from, rcpts, data = sink.messages[-1]
    assert mail_from == user("alice") and rcpts == ["far@remote.test"]
    assert b"sent over soap" in data
    assert wait_folder(z, user("bob"), 1), "the local Cc was not delivered"
