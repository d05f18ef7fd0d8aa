"""With zimbraMtaMyNetworks unset the MTA trusts loopback (127.0.0.0/8 and [::1]/128, the
value Zimbra's installer writes), so a local application relays through localhost:25
without authenticating."""

import smtplib

import pytest

from mta_util import SmtpSink, message, start_mta_home


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def z(tmp_path_factory, sink):
    # start_mta_home trusts 192.0.2.0/24; clear it so the default applies.
    home = start_mta_home(tmp_path_factory, "mta-loopback-relay", sink,
                          before_start=lambda z: z.zmprov("mcf", "zimbraMtaMyNetworks", ""))
    yield home
    home.stop()


def test_unset_mynetworks_lets_localhost_relay(z, sink):
    assert z.zmprov("gcf", "zimbraMtaMyNetworks").stdout.strip() in ("", "zimbraMtaMyNetworks:")
    sink.mode = "ok"
    before = len(sink.messages)
    with smtplib.SMTP("127.0.0.1", z.smtp_port, timeout=30) as s:
        s.ehlo("app.local.test")
        s.sendmail("app@remote.test", ["out@elsewhere.test"], message("from a local app"))
    assert sink.wait_messages(before + 1), "the relay host never got the message"
    assert sink.messages[-1][1] == ["out@elsewhere.test"]
