"""SyncGalAccountRequest fills the GAL sync account's address book from the GAL, as
Zimbra's GAL sync does: one contact per account of the domain (keyed by its zimbraId),
changed entries replaced, deleted ones removed, and the source's last sync time set."""

from soap_util import envelope, post, soap_body, ssl_context
from zcs import Zcs

ADMIN = "boss@gal.test"
PASSWORD = "admin-pass-1"
NS = "urn:zimbraAdmin"
MAIL = "urn:zimbraMail"


def test_sync_fills_updates_and_prunes_the_folder(tmp_path):
    z = Zcs(tmp_path / "zcs")
    z.init()
    z.zmprov("cd", "gal.test")
    z.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.zmprov("ca", "ann@gal.test", "secret-pw-1", "displayName", "Ann Able")
    z.zmprov("ca", "bob@gal.test", "secret-pw-1", "displayName", "Bob Baker")
    z.start()
    try:
        ctx = ssl_context(z.ca_file())
        admin_url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
        status, _, text = post(admin_url, envelope(
            f'<AuthRequest xmlns="{NS}"><name>{ADMIN}</name>'
            f"<password>{PASSWORD}</password></AuthRequest>"), ctx)
        assert status == 200, text
        token = soap_body(text)[1].find(f"{{{NS}}}authToken").text

        def admin(xml):
            status, _, text = post(admin_url, envelope(xml, token), ctx)
            assert status == 200, text
            return soap_body(text)[1]

        gal = admin(f'<CreateGalSyncAccountRequest xmlns="{NS}" name="gal1" type="zimbra" '
                    f'domain="gal.test" folder="Global"><account by="name">'
                    f"galsync@gal.test</account></CreateGalSyncAccountRequest>")
        gal_id = gal.find(f"{{{NS}}}account").get("id")
        delegated = admin(f'<DelegateAuthRequest xmlns="{NS}"><account by="id">{gal_id}'
                          f"</account></DelegateAuthRequest>")
        user_token = delegated.find(f"{{{NS}}}authToken").text
        user_url = f"https://127.0.0.1:{z.https_port}/service/soap"

        def sync():
            admin(f'<SyncGalAccountRequest xmlns="{NS}"><account id="{gal_id}">'
                  f'<datasource by="name">gal1</datasource></account>'
                  f"</SyncGalAccountRequest>")

        def contacts():
            status, _, text = post(user_url, envelope(
                f'<SearchRequest xmlns="{MAIL}" types="contact" limit="100">'
                f"<query>in:Global</query></SearchRequest>", user_token), ctx)
            assert status == 200, text
            out = {}
            for cn in soap_body(text)[1].findall(f"{{{MAIL}}}cn"):
                fields = {a.get("n"): a.text for a in cn.findall(f"{{{MAIL}}}a")}
                out[fields.get("email")] = fields
            return out

        sync()
        first = contacts()
        assert {"ann@gal.test", "bob@gal.test", ADMIN} <= set(first), first
        assert "galsync@gal.test" not in first, first
        assert first["ann@gal.test"].get("fullName") == "Ann Able", first
        assert first["ann@gal.test"].get("zimbraId"), first

        # A second sync with nothing changed keeps the same contacts.
        sync()
        assert contacts().keys() == first.keys()

        z.zmprov("ma", "ann@gal.test", "displayName", "Ann Changed")
        z.zmprov("da", "bob@gal.test")
        z.zmprov("fc", "all", check=False)
        sync()
        after = contacts()
        assert "bob@gal.test" not in after, after
        assert after["ann@gal.test"].get("fullName") == "Ann Changed", after

        ds = admin(f'<GetDataSourcesRequest xmlns="{NS}"><id>{gal_id}</id>'
                   f"</GetDataSourcesRequest>")
        attrs = [a.get("n") for a in ds.iter(f"{{{NS}}}a")]
        assert "zimbraGalLastSuccessfulSyncTimestamp" in attrs, attrs
    finally:
        z.stop()


def test_polling_interval_syncs_without_a_request(tmp_path):
    """A GAL data source created with zimbraDataSourcePollingInterval is synced by the
    server on that interval, with no SyncGalAccountRequest."""
    import time

    z = Zcs(tmp_path / "zcs")
    z.init()
    z.zmprov("cd", "gal.test")
    z.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.zmprov("ca", "ann@gal.test", "secret-pw-1", "displayName", "Ann Able")
    # Intervals below a minute need a lower floor (default 1m), as in Zimbra.
    z.zmprov("mc", "default", "zimbraDataSourceMinPollingInterval", "1s")
    z.start()
    try:
        ctx = ssl_context(z.ca_file())
        admin_url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
        status, _, text = post(admin_url, envelope(
            f'<AuthRequest xmlns="{NS}"><name>{ADMIN}</name>'
            f"<password>{PASSWORD}</password></AuthRequest>"), ctx)
        assert status == 200, text
        token = soap_body(text)[1].find(f"{{{NS}}}authToken").text

        def admin(xml):
            status, _, text = post(admin_url, envelope(xml, token), ctx)
            assert status == 200, text
            return soap_body(text)[1]

        gal = admin(f'<CreateGalSyncAccountRequest xmlns="{NS}" name="gal1" type="zimbra" '
                    f'domain="gal.test" folder="Global"><account by="name">'
                    f"galsync@gal.test</account>"
                    f'<a n="zimbraDataSourcePollingInterval">2s</a>'
                    f"</CreateGalSyncAccountRequest>")
        gal_id = gal.find(f"{{{NS}}}account").get("id")
        ds = admin(f'<GetDataSourcesRequest xmlns="{NS}"><id>{gal_id}</id>'
                   f"</GetDataSourcesRequest>")
        attrs = {a.get("n"): a.text for a in ds.iter(f"{{{NS}}}a")}
        assert attrs.get("zimbraDataSourcePollingInterval") == "2s", attrs
        delegated = admin(f'<DelegateAuthRequest xmlns="{NS}"><account by="id">{gal_id}'
                          f"</account></DelegateAuthRequest>")
        user_token = delegated.find(f"{{{NS}}}authToken").text
        user_url = f"https://127.0.0.1:{z.https_port}/service/soap"

        def emails():
            status, _, text = post(user_url, envelope(
                f'<SearchRequest xmlns="{MAIL}" types="contact" limit="100">'
                f"<query>in:Global</query></SearchRequest>", user_token), ctx)
            if status != 200:
                return set()
            out = set()
            for cn in soap_body(text)[1].findall(f"{{{MAIL}}}cn"):
                for a in cn.findall(f"{{{MAIL}}}a"):
                    if a.get("n") == "email":
                        out.add(a.text)
            return out

        # The poller looks every 10 s; allow a few rounds.
        deadline = time.time() + 45
        found = set()
        while time.time() < deadline:
            found = emails()
            if "ann@gal.test" in found:
                break
            time.sleep(1)
        assert "ann@gal.test" in found, found
    finally:
        z.stop()
