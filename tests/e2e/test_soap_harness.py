"""Runs Zimbra's SOAP QA harness files (Auth, Admin/Accounts, Folders, Tags) against a
live server with the runner in soap_util.py. Failing cases are reported, not failed:
the test asserts that the runner ran and records the counts in
target/soap-harness-report.txt."""

import os
from pathlib import Path

import pytest

import soap_util
from zcs import Zcs

HARNESS = Path(os.environ.get("ZCS_SOAP_HARNESS",
                              "/work/shared/conformance/zimbra-soap-harness"))
ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("ZCS_CORPUS", "/work/shared/corpus"))


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-soap-harness"))
    z.init()
    # The harness's globals: domain zimbra.com, admin@zimbra.com / test123.
    z.zmprov("mcf", "zimbraPasswordMinLength", "6", check=False)
    # The harness logs in with wrong passwords on purpose, all from 127.0.0.1: keep the
    # per-address failed-login limit for everyone else.
    z.zmprov("mcf", "zimbraHttpThrottleSafeIPs", "127.0.0.1/32", check=False)
    z.zmprov("mc", "default", "zimbraPasswordMinLength", "6", check=False)
    z.zmprov("cd", "zimbra.com", check=False)
    z.zmprov("mcf", "zimbraDefaultDomainName", "zimbra.com", check=False)
    z.zmprov("ca", "admin@zimbra.com", "test123", "zimbraIsAdminAccount", "TRUE")
    # The harness makes many deliberate failed logins from 127.0.0.1; exempt it from the
    # per-address failed-login throttle as a Zimbra QA host would be.
    z.zmprov("mcf", "zimbraHttpThrottleSafeIPs", "127.0.0.1", check=False)
    # Mail SendMsg sends to other domains (example.com) waits in the queue, as in
    # Zimbra's QA lab, instead of bouncing at once into the test mailboxes and pushing
    # the injected messages off the first page of results: the relay is a closed port.
    z.zmprov("mcf", "zimbraMtaRelayHost", "[127.0.0.1]:1", check=False)
    z.start()
    yield z
    z.stop()


def test_harness_runs_and_reports(zcs):
    data = HARNESS / "data" / "soapvalidator"
    if not data.exists():
        pytest.skip(f"no harness at {data}")
    out = ROOT / "target" / "soap-harness-report.txt"
    # The loop files create thousands of folders and accounts: a scale run, not a check.
    soap_util.MAX_LOOP = soap_util.MAX_LOOP or 20
    report = soap_util.run(
        data, ["Auth", "Admin/Accounts", "Folders", "Tags"],
        {"user": f"http://127.0.0.1:{zcs.http_port}/service/soap/",
         "admin": f"https://127.0.0.1:{zcs.admin_port}/service/admin/soap/",
         "upload": f"http://127.0.0.1:{zcs.http_port}/service/upload",
         "lmtp": f"127.0.0.1:{zcs.lmtp_port}"},
        cafile=zcs.ca_file(), out=out,
        overrides={"zimbraServer.name": "localhost",
                   "testMailRaw.root": str(CORPUS / "zimbra-qa")})
    total = report["counts"]["TOTAL"]
    print({area: dict(c) for area, c in report["counts"].items()})
    assert sum(total.values()) > 0
    assert out.exists()
