"""/metrics on the admin port, read with Prometheus's own text-format parser, and the
HTTP flood filter (zimbraHttpDosFilterMaxRequestsPerSec) refusing a burst."""

import imaplib
import ssl
import urllib.error
import urllib.request

import pytest

from zcs import Zcs

prom = pytest.importorskip("prometheus_client.parser")

USER = "metrics@metrics.test"
PASSWORD = "metrics-pass-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("metrics"))
    zcs.init()
    zcs.zmprov("mcf", "zimbraImapCleartextLoginEnabled", "TRUE",
               "zimbraHttpDosFilterMaxRequestsPerSec", "5")
    zcs.run("zmlocalconfig", "-e", "zcs_http_dos_exempt_loopback=false")
    zcs.zmprov("cd", "metrics.test")
    zcs.zmprov("ca", USER, PASSWORD)
    zcs.start()
    yield zcs
    zcs.stop()


def fetch(zcs, url, data=None):
    ctx = ssl.create_default_context(cafile=str(zcs.ca_file()))
    return urllib.request.urlopen(url, data=data, context=ctx, timeout=10)


def test_metrics_parse_as_prometheus_text_and_count_logins(server):
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
        imap.login(USER, PASSWORD)
    with pytest.raises(imaplib.IMAP4.error):
        with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
            imap.login(USER, "wrong-password")
    with fetch(server, f"https://localhost:{server.admin_port}/metrics") as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode()
    families = {f.name: f for f in prom.text_string_to_metric_families(text)}
    logins = {tuple(sorted(s.labels.items())): s.value for s in families["zcs_logins"].samples}
    assert logins[(("protocol", "imap"), ("result", "success"))] >= 1
    assert logins[(("protocol", "imap"), ("result", "failure"))] >= 1
    assert families["zcs_process_resident_memory_bytes"].samples[0].value > 0
    assert "zcs_mta_queue_requests" in families


def test_a_burst_of_http_requests_is_refused_by_the_flood_filter(server):
    codes = []
    for _ in range(15):
        try:
            with fetch(server, f"https://localhost:{server.https_port}/service/soap",
                       data=b"<x/>") as resp:
                codes.append(resp.status)
        except urllib.error.HTTPError as e:
            codes.append(e.code)
    assert 503 in codes, codes
    assert codes.count(503) >= 5, codes
