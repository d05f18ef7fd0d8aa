"""SyncGalAccountRequest on an external (ldap) GAL data source, against the customer
slapd that .ci/setup.d/21-slapd-customer.sh starts (ZCS_TEST_EXT_LDAP_*): the source is
created with its zimbraGalSyncLdap* settings as <a n=> children, as zmgsautil does; a sync
fills its folder with one contact per entry of the customer directory (more than one
page), keyed by the entry's DN; a renamed entry is brought by the next (trickle) sync, a
deleted one leaves the folder at the next full sync; refused credentials answer a fault
naming them and keep the contacts. Skipped when the customer
slapd or ldap-utils are missing."""

import os
import shutil
import subprocess
import uuid

import pytest

from soap_util import envelope, post, soap_body, ssl_context
from zcs import SECRETS, Zcs

ADMIN = "boss@gal.test"
PASSWORD = "admin-pass-1"
NS = "urn:zimbraAdmin"
MAIL = "urn:zimbraMail"
PEOPLE = 120

CUSTOMER = {k: os.environ.get(f"ZCS_TEST_EXT_LDAP_{k}", "")
            for k in ("URL", "BASE", "BIND_DN", "BIND_PASSWORD")}

# The bind passwords must show in no log (test_zz_logs_hold_no_secrets).
SECRETS.update(v for v in (CUSTOMER["BIND_PASSWORD"], "wrong-password-7") if v)

pytestmark = pytest.mark.skipif(
    not all(CUSTOMER.values()) or shutil.which("ldapmodify") is None,
    reason="ZCS_TEST_EXT_LDAP_* not set or ldapmodify missing "
           "(.ci/setup.d/21-slapd-customer.sh)")


def ldapmodify(ldif):
    """Applies LDIF change records to the customer directory as its administrator."""
    subprocess.run(
        ["ldapmodify", "-x", "-c", "-H", CUSTOMER["URL"], "-D", CUSTOMER["BIND_DN"],
         "-w", CUSTOMER["BIND_PASSWORD"]],
        input=ldif.encode(), check=True, stdout=subprocess.DEVNULL)


def person(branch, i):
    return (f"dn: uid=e{i:03},{branch}\nchangetype: add\nobjectClass: inetOrgPerson\n"
            f"uid: e{i:03}\ncn: Ext {i:03}\nsn: Ext\nmail: e{i:03}@corp.test\n\n")


def test_external_source_is_filled_from_the_customer_directory(tmp_path):
    ou = f"e2e{uuid.uuid4().hex}"
    branch = f"ou={ou},ou=people,{CUSTOMER['BASE']}"
    ldapmodify(f"dn: {branch}\nchangetype: add\nobjectClass: organizationalUnit\n"
               f"ou: {ou}\n\n" + "".join(person(branch, i) for i in range(PEOPLE)))
    z = Zcs(tmp_path / "zcs")
    z.init()
    z.zmprov("cd", "gal.test")
    z.zmprov("ca", ADMIN, PASSWORD, "zimbraIsAdminAccount", "TRUE")
    z.start()
    try:
        ctx = ssl_context(z.ca_file())
        admin_url = f"https://127.0.0.1:{z.admin_port}/service/admin/soap"
        status, _, text = post(admin_url, envelope(
            f'<AuthRequest xmlns="{NS}"><name>{ADMIN}</name>'
            f"<password>{PASSWORD}</password></AuthRequest>"), ctx)
        assert status == 200, text
        token = soap_body(text)[1].find(f"{{{NS}}}authToken").text

        def admin(xml, ok=True):
            status, _, text = post(admin_url, envelope(xml, token), ctx)
            if ok:
                assert status == 200, text
                return soap_body(text)[1]
            return status, text

        settings = {
            "zimbraGalSyncLdapURL": CUSTOMER["URL"],
            "zimbraGalSyncLdapSearchBase": branch,
            "zimbraGalSyncLdapBindDn": CUSTOMER["BIND_DN"],
            "zimbraGalSyncLdapBindPassword": CUSTOMER["BIND_PASSWORD"],
            "zimbraGalSyncLdapPageSize": "50",
            "zimbraGalSyncLdapFilter": "(objectClass=inetOrgPerson)",
        }
        children = "".join(f'<a n="{n}">{v}</a>' for n, v in settings.items())
        gal = admin(f'<CreateGalSyncAccountRequest xmlns="{NS}" name="ext" type="ldap" '
                    f'domain="gal.test" folder="External"><account by="name">'
                    f"galsync@gal.test</account>{children}</CreateGalSyncAccountRequest>")
        gal_id = gal.find(f"{{{NS}}}account").get("id")
        delegated = admin(f'<DelegateAuthRequest xmlns="{NS}"><account by="id">{gal_id}'
                          f"</account></DelegateAuthRequest>")
        user_token = delegated.find(f"{{{NS}}}authToken").text
        user_url = f"https://127.0.0.1:{z.https_port}/service/soap"
        sync_xml = (f'<SyncGalAccountRequest xmlns="{NS}"><account id="{gal_id}">'
                    f'<datasource by="name">ext</datasource></account>'
                    f"</SyncGalAccountRequest>")

        def contacts():
            status, _, text = post(user_url, envelope(
                f'<SearchRequest xmlns="{MAIL}" types="contact" limit="500">'
                f"<query>in:External</query></SearchRequest>", user_token), ctx)
            assert status == 200, text
            out = {}
            for cn in soap_body(text)[1].findall(f"{{{MAIL}}}cn"):
                fields = {a.get("n"): a.text for a in cn.findall(f"{{{MAIL}}}a")}
                out[fields.get("email")] = fields
            return out

        admin(sync_xml)
        first = contacts()
        assert len(first) == PEOPLE, sorted(first)
        e7 = first["e007@corp.test"]
        assert e7.get("fullName") == "Ext 007", e7
        assert e7.get("dn", "").lower() == f"uid=e007,{branch}".lower(), e7

        # A plain request is a trickle sync (entries changed since the last one): a
        # renamed entry is brought, a deleted one stays until a full sync, as Zimbra.
        ldapmodify(f"dn: uid=e005,{branch}\nchangetype: delete\n\n"
                   f"dn: uid=e006,{branch}\nchangetype: modify\nreplace: cn\n"
                   f"cn: Renamed 006\n\n")
        admin(sync_xml)
        after = contacts()
        renamed = after["e006@corp.test"]
        assert renamed.get("fullName") == "Renamed 006", renamed
        assert "e005@corp.test" in after and len(after) == PEOPLE, sorted(after)
        admin(sync_xml.replace('<datasource by="name">',
                               '<datasource by="name" fullSync="1">'))
        after = contacts()
        assert "e005@corp.test" not in after and len(after) == PEOPLE - 1, sorted(after)

        z.zmprov("mds", "galsync@gal.test", "ext", "zimbraGalSyncLdapBindPassword",
                 "wrong-password-7")
        z.zmprov("fc", "all", check=False)
        status, text = admin(sync_xml, ok=False)
        assert status == 500, text
        assert "invalid credentials" in text, text
        assert len(contacts()) == PEOPLE - 1
        ds = admin(f'<GetDataSourcesRequest xmlns="{NS}"><id>{gal_id}</id>'
                   f"</GetDataSourcesRequest>")
        attrs = [a.get("n") for a in ds.iter(f"{{{NS}}}a")]
        assert "zimbraGalLastFailedSyncTimestamp" in attrs, attrs
    finally:
        z.stop()
        ldapmodify("".join(f"dn: uid=e{i:03},{branch}\nchangetype: delete\n\n"
                           for i in range(PEOPLE) if i != 5)
                   + f"dn: {branch}\nchangetype: delete\n\n")
