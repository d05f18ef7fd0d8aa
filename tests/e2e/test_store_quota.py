"""The quota counts contacts and appointments, not mail alone (spec 02 §1.14), on the
real server: GetInfo's `used` grows with each contact and appointment created over SOAP,
and once the mailbox is full a new contact is refused with mail.QUOTA_EXCEEDED (spec 02
§6 idea 44) while deleting one is not; a new appointment is refused likewise."""

import pytest

from soap_util import envelope, fault_code, post, soap_body
from zcs import Zcs

USER = "quota@quota.test"
PASSWORD = "quota-pass-1"
ACCT = "urn:zimbraAccount"
MAIL = "urn:zimbraMail"
QUOTA = 4000


@pytest.fixture(scope="module")
def zcs(tmp_path_factory):
    z = Zcs(tmp_path_factory.mktemp("zcs-store-quota"))
    z.init()
    z.zmprov("cd", "quota.test")
    z.zmprov("ca", USER, PASSWORD, "zimbraMailQuota", str(QUOTA))
    z.start()
    yield z
    z.stop()


def call(z, xml, token=None):
    status, _, text = post(f"http://127.0.0.1:{z.http_port}/service/soap",
                           envelope(xml, token))
    return status, text


def token(z):
    status, text = call(z, f'<AuthRequest xmlns="{ACCT}"><account by="name">{USER}'
                           f"</account><password>{PASSWORD}</password></AuthRequest>")
    assert status == 200, text
    return soap_body(text)[1].find(f"{{{ACCT}}}authToken").text


def used(z, tok):
    status, text = call(z, f'<GetInfoRequest xmlns="{ACCT}" sections="mbox"/>', tok)
    assert status == 200, text
    return int(soap_body(text)[1].find(f"{{{ACCT}}}used").text)


def create_contact(z, tok, n, notes):
    return call(z, f'<CreateContactRequest xmlns="{MAIL}"><cn l="7">'
                   f'<a n="email">c{n}@example.com</a><a n="notes">{notes}</a>'
                   f"</cn></CreateContactRequest>", tok)


def create_appointment(z, tok, name):
    return call(z, f'<CreateAppointmentRequest xmlns="{MAIL}"><m l="10"><inv>'
                   f'<comp name="{name}"><s d="20261210T100000Z"/><e d="20261210T110000Z"/>'
                   f"</comp></inv><su>{name}</su></m></CreateAppointmentRequest>", tok)


def test_contacts_and_appointments_count_and_are_refused_over_quota(zcs):
    tok = token(zcs)
    assert used(zcs, tok) == 0
    status, text = create_contact(zcs, tok, 0, "n" * 1000)
    assert status == 200, text
    after_contact = used(zcs, tok)
    assert after_contact >= 1000, after_contact
    first = soap_body(text)[1].find(f"{{{MAIL}}}cn").get("id")

    status, text = create_appointment(zcs, tok, "standup")
    assert status == 200, text
    assert used(zcs, tok) > after_contact

    # Fill up with contacts until one is refused: each counted, the last refused.
    refused = None
    for n in range(1, 10):
        status, text = create_contact(zcs, tok, n, "n" * 1000)
        if status != 200:
            refused = text
            break
        assert used(zcs, tok) <= QUOTA
    assert refused is not None, "contacts were never refused"
    assert fault_code(refused) == "mail.QUOTA_EXCEEDED", refused
    status, text = create_appointment(zcs, tok, "x" * 1500)
    assert status != 200 and fault_code(text) == "mail.QUOTA_EXCEEDED", text

    # Deleting frees the space and is never refused.
    before = used(zcs, tok)
    status, text = call(zcs, f'<ContactActionRequest xmlns="{MAIL}">'
                             f'<action op="delete" id="{first}"/></ContactActionRequest>', tok)
    assert status == 200, text
    assert used(zcs, tok) < before
