"""Runs Zimbra's SOAP QA harness against a fresh server from the command line (the same
setup as test_soap_harness.py): python tests/e2e/soap_harness_run.py AREAS [OUT], AREAS a
comma-separated list of directories (or files) under data/soapvalidator, e.g.
"Auth,Admin/Accounts,Folders,Tags". Prints pass/fail/skip per area and writes every case
with its reason to OUT (default target/soap-harness-report.txt). Uses ZCS_BIN_DIR,
ZCS_CORPUS and ZCS_SOAP_HARNESS like the other e2e suites.

--types smoke,sanity runs only the cases of those levels, plus the "always" cases (the
setup the others build on), as Zimbra's harness runs a level; without it every case runs.
The per-area smoke+sanity lines count only smoke and sanity cases either way."""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soap_util  # noqa: E402
from zcs import Zcs  # noqa: E402

HARNESS = Path(os.environ.get("ZCS_SOAP_HARNESS", "/work/shared/conformance/zimbra-soap-harness"))
CORPUS = Path(os.environ.get("ZCS_CORPUS", "/work/shared/corpus"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("areas")
    ap.add_argument("out", nargs="?", default="target/soap-harness-report.txt")
    ap.add_argument("--types", default="",
                    help="comma-separated case levels (smoke,sanity,...); always cases run too")
    a = ap.parse_args()
    areas = a.areas.split(",")
    out = a.out
    types = set(filter(None, a.types.split(",")))
    if types:
        types.add("always")
    z = Zcs(Path(tempfile.mkdtemp(prefix="zcs-harness-")))
    z.init()
    # The harness's globals: domain zimbra.com, admin@zimbra.com / test123.
    z.zmprov("mcf", "zimbraPasswordMinLength", "6", check=False)
    z.zmprov("mc", "default", "zimbraPasswordMinLength", "6", check=False)
    z.zmprov("cd", "zimbra.com", check=False)
    z.zmprov("mcf", "zimbraDefaultDomainName", "zimbra.com", check=False)
    z.zmprov("ca", "admin@zimbra.com", "test123", "zimbraIsAdminAccount", "TRUE")
    # The harness makes many deliberate failed logins from 127.0.0.1.
    z.zmprov("mcf", "zimbraHttpThrottleSafeIPs", "127.0.0.1", check=False)
    # Mail SendMsg sends to other domains (example.com) waits in the queue, as in
    # Zimbra's QA lab, instead of bouncing at once into the test mailboxes and pushing
    # the injected messages off the first page of results: the relay is a closed port.
    z.zmprov("mcf", "zimbraMtaRelayHost", "[127.0.0.1]:1", check=False)
    # Cases that inject over SMTP, or manage the mail queues, first read the MTA host
    # from the server entry (${zimbraServer.name}): as on a single-node Zimbra, the
    # server is its own MTA (the injection itself goes to the test SMTP port).
    servers = z.zmprov("gas", check=False).stdout.split()
    for server in servers[:1]:
        z.zmprov("ms", server, "zimbraSmtpHostname", server, check=False)
    z.start()
    try:
        report = soap_util.run(
            HARNESS / "data" / "soapvalidator", areas,
            {"user": f"http://127.0.0.1:{z.http_port}/service/soap/",
             "admin": f"https://127.0.0.1:{z.admin_port}/service/admin/soap/",
             "upload": f"http://127.0.0.1:{z.http_port}/service/upload",
             "lmtp": f"127.0.0.1:{z.lmtp_port}",
             "smtp": f"127.0.0.1:{z.smtp_port}"},
            cafile=z.ca_file(), out=out, types=types or None,
            overrides={"zimbraServer.name": servers[0] if servers else "localhost",
                       "testMailRaw.root": str(CORPUS / "zimbra-qa")})
        for area, c in list(report["counts"].items()) + list(report["by_type"].items()):
            print(f"{area}: pass {c['pass']} fail {c['fail']} skip {c['skip']}")
    finally:
        z.stop()


if __name__ == "__main__":
    main()
