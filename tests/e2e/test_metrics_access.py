"""Who may read /metrics on the admin port (docs/decisions/2026-12-05-metrics-access.md):
addresses in zcs_metrics_allowed_addresses (loopback by default, re-read on each request)
or a client with a global admin's auth token; a user's token or none gets 401."""

import ssl
import urllib.error
import urllib.request

import pytest

from soap_util import json_request, ssl_context
from zcs import Zcs

prom = pytest.importorskip("prometheus_client.parser")

USER = "watcher@metrics-access.test"
PASSWORD = "watcher-pass-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    zcs = Zcs(tmp_path_factory.mktemp("metrics-access"))
    zcs.init()
    zcs.zmprov("cd", "metrics-access.test")
    zcs.zmprov("ca", USER, PASSWORD)
    zcs.start()
    yield zcs
    zcs.stop()


def scrape(zcs, headers=None):
    """(status, headers, body) of GET /metrics on the admin port."""
    ctx = ssl.create_default_context(cafile=str(zcs.ca_file()))
    req = urllib.request.Request(f"https://localhost:{zcs.admin_port}/metrics",
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def token(zcs, url, ns, name, password):
    status, js = json_request(url, "AuthRequest", ns, {"name": name, "password": password},
                              ctx=ssl_context(zcs.ca_file()))
    assert status == 200, js
    t = js["Body"]["AuthResponse"]["authToken"]
    t = t[0] if isinstance(t, list) else t
    return t["_content"] if isinstance(t, dict) else t


def test_loopback_scrapes_by_default_and_others_need_an_admin_token(server):
    status, _, text = scrape(server)
    assert status == 200
    names = {f.name for f in prom.text_string_to_metric_families(text)}
    assert "zcs_mta_queue_requests" in names

    # Loopback is no longer in the list: this client now counts as remote.
    server.run("zmlocalconfig", "-e", "zcs_metrics_allowed_addresses=192.0.2.0/24")
    try:
        status, headers, _ = scrape(server)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Bearer")

        host = server.run("zmlocalconfig", "-m", "nokey", "zimbra_server_hostname").stdout.strip()
        admin = token(server, f"https://127.0.0.1:{server.admin_port}/service/admin/soap",
                      "urn:zimbraAdmin", f"admin@{host}", server.admin_password)
        status, _, text = scrape(server, {"Authorization": f"Bearer {admin}"})
        assert status == 200, text
        families = {f.name for f in prom.text_string_to_metric_families(text)}
        assert "zcs_process_resident_memory_bytes" in families
        status, _, _ = scrape(server, {"Cookie": f"ZM_ADMIN_AUTH_TOKEN={admin}"})
        assert status == 200

        user = token(server, f"https://127.0.0.1:{server.https_port}/service/soap",
                     "urn:zimbraAccount", USER, PASSWORD)
        assert scrape(server, {"Authorization": f"Bearer {user}"})[0] == 401
        assert scrape(server, {"Authorization": "Bearer forged"})[0] == 401
        assert scrape(server, {"Authorization": f"Bearer {admin[:-2]}xx"})[0] == 401
    finally:
        server.run("zmlocalconfig", "-e", "zcs_metrics_allowed_addresses=127.0.0.0/8 ::1/128")
    assert scrape(server)[0] == 200
    log = (server.home / "log" / "mailbox.log").read_text(errors="replace")
    assert "/metrics refused" in log
