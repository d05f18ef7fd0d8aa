"""Services per server: zimbraServiceEnabled decides which listeners a server starts,
and zmcontrol status reports only the services it runs; zmlocalconfig's xml format."""

import imaplib
import smtplib
import socket

import pytest

from zcs import Zcs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("services"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE")
    host = zcs.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
    zcs.zmprov("ms", host, "zimbraServiceEnabled", "mailbox")
    zcs.zmprov("cd", "svc.test")
    zcs.zmprov("ca", "svc@svc.test", "svc-pass-1")
    zcs.start()
    yield zcs
    zcs.stop()


def test_a_service_left_out_of_zimbraServiceEnabled_is_not_started(server):
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.smtp_port), timeout=2).close()
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login("svc@svc.test", "svc-pass-1")
    status = server.status()
    assert status.returncode == 0, status.stdout
    assert "mailbox" in status.stdout and "mta" not in status.stdout, status.stdout


def test_zmlocalconfig_xml_format(server):
    out = server.run("zmlocalconfig", "-m", "xml", "zcs_bind_address").stdout
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<localconfig>\n')
    assert '  <key name="zcs_bind_address">\n    <value>127.0.0.1</value>\n  </key>' in out
    assert out.rstrip().endswith("</localconfig>")


def test_zmlocalconfig_masks_secrets_unless_s_and_edits_with_e(server):
    from zcs import SECRETS
    secret = "lc-secret-value-42"
    SECRETS.add(secret)
    server.run("zmlocalconfig", "-e", f"zimbra_ldap_password={secret}",
               "zcs_test_setting=plain value")
    masked = server.run("zmlocalconfig", "zimbra_ldap_password").stdout
    assert masked.strip() == "zimbra_ldap_password = ********", masked
    assert secret not in server.run("zmlocalconfig").stdout
    shown = server.run("zmlocalconfig", "-s", "-m", "nokey", "zimbra_ldap_password").stdout
    assert shown.strip() == secret
    plain = server.run("zmlocalconfig", "zcs_test_setting").stdout
    assert plain.strip() == "zcs_test_setting = plain value", plain
    default = server.run("zmlocalconfig", "-d", "-m", "nokey", "zmdisklog_warn_threshold")
    assert default.stdout.strip() == "85", default.stdout
    server.run("zmlocalconfig", "-u", "zimbra_ldap_password", "zcs_test_setting")
    gone = server.run("zmlocalconfig", "-n").stdout
    assert "zcs_test_setting" not in gone and "zimbra_ldap_password" not in gone, gone
