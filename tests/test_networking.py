"""Networking over HTTP, consent first: the directory, contact cards, contacts, requests,
blocks, what is shared, the vCard export and the pushes of requests and acceptances."""

import io
import json
import time
from urllib.parse import urlsplit

import pytest
import vobject
import zxingcpp
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image
from sqlalchemy import select

from companion.extensions import db
from companion.networking import cards
from companion.people.models import Attendee
from companion.schedule.models import Event
from notifications.models import OutboxMessage

SHAPE = {"code", "status", "message", "errors"}
API = "/api/v1"
DIRECTORY = f"{API}/events/alliance-2020/directory"
CONTACTS = f"{API}/me/contacts"
REQUESTS = f"{API}/me/contact-requests"
CARD = f"{API}/me/contact-card"


def assert_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert set(response.json) == SHAPE
    assert response.json["code"] == code


@pytest.fixture
def person(make_attendee):
    """``person(name, listed=True, **profile)``: an attendee with a networking profile."""
    def make(name: str, listed: bool = True, **fields):
        slug = name.lower().replace(" ", ".")
        return make_attendee(name=name, email=f"{slug}@example.org",
                             directory_visible=listed, **fields)

    return make


@pytest.fixture
def api(client, bearer):
    """``api(who).get(path)``: requests signed in as ``who``."""
    class As:
        def __init__(self, attendee):
            self.headers = bearer(attendee)

        def __getattr__(self, method):
            def call(path, **kwargs):
                headers = {**self.headers, **kwargs.pop("headers", {})}
                return getattr(client, method)(path, headers=headers, **kwargs)
            return call

    return As


def names(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [entry["name"] for entry in response.json]


def pagination(response) -> dict:
    return json.loads(response.headers["X-Pagination"])


# --- the directory ---------------------------------------------------------------

def test_only_those_who_chose_it_are_listed(api, person):
    me = person("Ada Lovelace", listed=False)
    person("Bruno Keller", organisation="UNODC", country="Austria")
    person("Hidden Person", listed=False, organisation="UNODC", country="Austria")
    person("Chiara Rossi", organisation="La Strada", country="Italy")

    response = api(me).get(DIRECTORY)

    assert names(response) == ["Bruno Keller", "Chiara Rossi"]
    assert pagination(response)["total"] == 2
    entry = response.json[0]
    assert set(entry) == {"id", "name", "title", "organisation", "country", "bio", "topics",
                          "languages_spoken"}


def test_directory_is_off_by_default(client, bearer, make_attendee):
    make_attendee(name="Never Asked")
    assert client.get(DIRECTORY, headers=bearer(make_attendee())).json == []


@pytest.mark.parametrize("q,found", [
    ("bruno", ["Bruno Keller"]),
    ("KELL", ["Bruno Keller"]),                       # a word's start, any case
    ("unodc", ["Bruno Keller", "Dana Novak"]),        # organisation
    ("osterreich", ["Dana Novak"]),                   # country, accents folded
    ("Österr", ["Dana Novak"]),
    ("labour", ["Chiara Rossi"]),                     # topics
    ("unodc austria", ["Bruno Keller"]),              # every word must match
    ("rossi, (la strada)", ["Chiara Rossi"]),         # punctuation is no word
    ("eller", []),                                    # not a word's start
    ("hidden", []),                                   # never found when hidden
    ("  ,;  ", ["Bruno Keller", "Chiara Rossi", "Dana Novak"]),  # no words: everyone
])
def test_search_by_name_organisation_country_and_topics(api, person, q, found):
    me = person("Searcher", listed=False)
    person("Bruno Keller", organisation="UNODC", country="Austria")
    person("Chiara Rossi", organisation="La Strada", country="Italy",
           topics=["Labour exploitation"])
    person("Dana Novak", organisation="UNODC", country="Österreich")
    person("Hidden Keller", listed=False, organisation="UNODC", country="Austria")
    response = api(me).get(DIRECTORY, query_string={"q": q})
    assert names(response) == found
    assert pagination(response)["total"] == len(found)


def test_search_follows_profile_changes(api, person):
    me, bruno = person("Searcher", listed=False), person("Bruno Keller")
    assert names(api(me).get(DIRECTORY, query_string={"q": "asylum"})) == []
    response = api(bruno).patch(f"{API}/me", json={"topics": ["Asylum and migration"],
                                                   "organisation": "IOM"})
    assert response.status_code == 200
    assert response.json["topics"] == ["Asylum and migration"]
    assert names(api(me).get(DIRECTORY, query_string={"q": "asylum iom"})) == ["Bruno Keller"]
    api(bruno).patch(f"{API}/me", json={"directory_visible": False})
    assert names(api(me).get(DIRECTORY, query_string={"q": "asylum"})) == []


def test_directory_is_paginated(api, person):
    me = person("Reader", listed=False)
    for n in range(5):
        person(f"Listed {n}")
    response = api(me).get(DIRECTORY, query_string={"page": 2, "page_size": 2})
    assert names(response) == ["Listed 2", "Listed 3"]
    assert pagination(response)["total"] == 5


def test_directory_of_another_event_or_without_token(client, api, person, conference):
    other = Event(slug="alliance-2021", name="21st", starts_on=conference.starts_on,
                  ends_on=conference.ends_on, timezone="Europe/Vienna")
    db.session.add(other)
    db.session.commit()
    stranger = person("Elsewhere")
    stranger.event = other
    db.session.commit()
    me = person("Reader", listed=False)
    assert_error(api(me).get(f"{API}/events/alliance-2021/directory"), 404)
    assert_error(client.get(DIRECTORY), 401)
    assert_error(api(me).get(DIRECTORY, query_string={"q": "x" * 201}), 422)


# --- hidden is as unknown ----------------------------------------------------------

def test_a_request_to_a_hidden_attendee_answers_as_for_an_unknown_id(api, person, statements):
    me = person("Asker")
    hidden_id = person("Hidden Person", listed=False).id
    unknown_id = hidden_id + 1000

    asker = api(me)
    asker.post(CONTACTS, json={"attendee_id": unknown_id})  # each call starts alike

    statements.clear()
    to_hidden = asker.post(CONTACTS, json={"attendee_id": hidden_id})
    work_for_hidden = list(statements)
    statements.clear()
    to_unknown = asker.post(CONTACTS, json={"attendee_id": unknown_id})
    work_for_unknown = list(statements)

    assert_error(to_hidden, 404)
    assert to_hidden.get_data() == to_unknown.get_data()  # byte for byte
    assert to_hidden.status_code == to_unknown.status_code
    def headers(response) -> dict:  # each answer has its own request id, by design
        return {name: value for name, value in response.headers.items()
                if name != "X-Request-ID"}

    assert headers(to_hidden) == headers(to_unknown)
    # The same work: the same statements, so the same time, whoever the id is.
    assert work_for_hidden == work_for_unknown
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_a_hidden_attendee_is_in_no_listing(api, person):
    me = person("Asker")
    hidden = person("Zoe Hidden", listed=False, organisation="Secret Unit")
    for path in (DIRECTORY, CONTACTS, REQUESTS,
                 f"{DIRECTORY}?q=zoe", f"{DIRECTORY}?q=secret"):
        response = api(me).get(path)
        assert response.status_code == 200
        assert "Zoe" not in response.get_data(as_text=True), path
        assert hidden.id not in [entry.get("id") for entry in response.json]


# --- contact card ------------------------------------------------------------------

def decode(png: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_card_has_a_code_and_its_qr_image(api, person):
    me = person("Card Holder", listed=False)
    card = api(me).get(CARD)
    assert card.status_code == 200
    code = card.json["code"]
    assert len(code) >= 22 and api(me).get(CARD).json["code"] == code  # stable until rotated
    assert urlsplit(card.json["png_url"]).path.startswith("/api/v1/contact-cards/")

    png = api(me).get(CARD, query_string={"format": "png"})
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode(png.data) == [code]

    by_accept = api(me).get(CARD, headers={"Accept": "image/png"})
    assert by_accept.mimetype == "image/png" and decode(by_accept.data) == [code]

    svg = api(me).get(CARD, headers={"Accept": "image/svg+xml"})
    assert svg.mimetype == "image/svg+xml"
    assert svg.get_data(as_text=True).lstrip().startswith("<svg")
    assert api(me).get(CARD, query_string={"format": "svg"}).data == svg.data

    assert_error(api(me).get(CARD, query_string={"format": "gif"}), 422)


def image_path(url: str) -> str:
    return urlsplit(url).path


class SixMinutesAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 6 * 60


def test_the_cards_image_url_needs_no_token_and_soon_expires(app, client, api, person):
    me = person("Card Holder", listed=False)
    card = api(me).get(CARD).json
    png = client.get(image_path(card["png_url"]))  # as an image loader: no Authorization
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode(png.data) == [card["code"]]
    svg = client.get(image_path(card["svg_url"]))
    assert svg.mimetype == "image/svg+xml" and svg.get_data(as_text=True).startswith("<svg")

    token = image_path(card["png_url"]).rsplit("/", 1)[1].removesuffix(".png")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_error(client.get(f"{API}/contact-cards/{tampered}.png"), 404)
    forged = URLSafeTimedSerializer("not our key", salt=cards.image_signer().salt)
    payload = cards.image_signer().loads(token)
    assert_error(client.get(f"{API}/contact-cards/{forged.dumps(payload)}.png"), 404)
    expired = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=cards.image_signer().salt,
                                     signer=SixMinutesAgo).dumps(payload)
    response = client.get(f"{API}/contact-cards/{expired}.png")
    assert_error(response, 404)
    assert "expired" in response.json["message"]
    assert_error(client.get(f"{API}/contact-cards/{token}.gif"), 404)

    rotated = api(me).post(f"{CARD}/rotate").json
    assert_error(client.get(image_path(card["png_url"])), 404)  # the old code's image is void
    assert decode(client.get(image_path(rotated["png_url"])).data) == [rotated["code"]]


def test_codes_are_unguessable_and_distinct(api, person):
    codes = {api(person(f"Holder {n}", listed=False)).get(CARD).json["code"]
             for n in range(20)}
    assert len(codes) == 20
    assert all(len(code) >= 22 for code in codes)  # 128+ random bits each


def test_a_rotated_code_no_longer_works(api, person):
    holder, scanner = person("Card Holder", listed=False), person("Scanner", listed=False)
    old = api(holder).get(CARD).json["code"]
    rotated = api(holder).post(f"{CARD}/rotate")
    assert rotated.status_code == 200
    new = rotated.json["code"]
    assert new != old and api(holder).get(CARD).json["code"] == new
    assert decode(api(holder).get(CARD, query_string={"format": "png"}).data) == [new]

    stale = api(scanner).post(CONTACTS, json={"code": old})
    assert_error(stale, 404)
    assert stale.json["message"] == "No such contact card (it may have been replaced)"
    assert names(api(scanner).get(CONTACTS)) == []

    assert api(scanner).post(CONTACTS, json={"code": new}).status_code == 201


# --- contacts ----------------------------------------------------------------------

def test_scanning_a_card_connects_both_ways_at_once(api, person):
    # Neither is listed: showing the card is the consent.
    holder = person("Card Holder", listed=False)
    scanner = person("Scanner", listed=False)
    code = api(holder).get(CARD).json["code"]

    response = api(scanner).post(CONTACTS, json={"code": code})

    assert response.status_code == 201
    assert response.json["status"] == "connected"
    assert response.json["contact"]["name"] == "Card Holder"
    assert response.json["contact"]["via"] == "card"
    assert names(api(scanner).get(CONTACTS)) == ["Card Holder"]
    assert names(api(holder).get(CONTACTS)) == ["Scanner"]
    # again: nothing changes
    assert api(scanner).post(CONTACTS, json={"code": code}).status_code == 201
    assert len(api(holder).get(CONTACTS).json) == 1
    own = api(holder).post(CONTACTS, json={"code": code})
    assert_error(own, 422)
    assert "code" in own.json["errors"]


def test_a_request_waits_until_accepted(api, person, dispatch):
    asker, listed = person("Ada Asker", listed=False), person("Bruno Listed")

    sent = api(asker).post(CONTACTS, json={"attendee_id": listed.id})

    assert sent.status_code == 202
    assert sent.json == {"status": "requested", "contact": None}
    assert names(api(asker).get(CONTACTS)) == []
    assert names(api(listed).get(CONTACTS)) == []
    waiting = api(listed).get(REQUESTS)
    assert [r["requester"]["name"] for r in waiting.json] == ["Ada Asker"]
    assert "email" not in waiting.json[0]["requester"]

    accepted = api(listed).post(f"{REQUESTS}/{waiting.json[0]['id']}/accept")

    assert accepted.status_code == 200
    assert accepted.json["name"] == "Ada Asker"
    assert names(api(asker).get(CONTACTS)) == ["Bruno Listed"]
    assert names(api(listed).get(CONTACTS)) == ["Ada Asker"]
    assert api(listed).get(REQUESTS).json == []
    assert_error(api(listed).post(f"{REQUESTS}/{waiting.json[0]['id']}/accept"), 404)
    # asking a contact again: already connected
    again = api(asker).post(CONTACTS, json={"attendee_id": listed.id})
    assert again.status_code == 201 and again.json["status"] == "connected"


def test_asking_someone_who_asked_you_connects_you(api, person):
    ada, bruno = person("Ada"), person("Bruno")
    assert api(ada).post(CONTACTS, json={"attendee_id": bruno.id}).status_code == 202
    back = api(bruno).post(CONTACTS, json={"attendee_id": ada.id})
    assert back.status_code == 201 and back.json["contact"]["name"] == "Ada"
    assert names(api(ada).get(CONTACTS)) == ["Bruno"]


def test_only_the_recipient_answers_a_request(api, person):
    ada, bruno, carla = person("Ada"), person("Bruno"), person("Carla")
    api(ada).post(CONTACTS, json={"attendee_id": bruno.id})
    request_id = api(bruno).get(REQUESTS).json[0]["id"]
    for who in (ada, carla):
        assert_error(api(who).post(f"{REQUESTS}/{request_id}/accept"), 404)
        assert_error(api(who).post(f"{REQUESTS}/{request_id}/decline"), 404)
    assert names(api(ada).get(CONTACTS)) == []


def test_decline_is_silent_to_the_requester(api, person, dispatch):
    asker, listed = person("Ada Asker", listed=False), person("Bruno Listed")
    first = api(asker).post(CONTACTS, json={"attendee_id": listed.id})
    request_id = api(listed).get(REQUESTS).json[0]["id"]

    declined = api(listed).post(f"{REQUESTS}/{request_id}/decline")

    assert declined.status_code == 204
    assert api(listed).get(REQUESTS).json == []
    # The requester hears nothing, and asking again looks exactly as the first time...
    again = api(asker).post(CONTACTS, json={"attendee_id": listed.id})
    assert (again.status_code, again.get_data()) == (first.status_code, first.get_data())
    dispatch()
    assert api(asker).get(f"{API}/me/notifications").json == []
    # ...but nothing reaches the one who declined: one push, from the first request only.
    pushes = db.session.scalars(select(OutboxMessage)).all()
    assert [(p.kind, p.attendee_id) for p in pushes] == [("contact_request", listed.id)]
    assert api(listed).get(REQUESTS).json == []


@pytest.mark.parametrize("body", [
    {}, {"code": "x", "attendee_id": 1}, {"code": ""}, {"code": "x" * 65},
    {"attendee_id": "1"}, {"attendee_id": 0}, {"attendee_id": 2**31}, {"attendee_id": 1.5},
    {"attendee_id": 1, "extra": True},
])
def test_bad_contact_bodies_are_422(api, person, body):
    assert_error(api(person("Ada")).post(CONTACTS, json=body), 422)


def test_asking_yourself_is_422(api, person):
    ada = person("Ada")
    response = api(ada).post(CONTACTS, json={"attendee_id": ada.id})
    assert_error(response, 422)
    assert "attendee_id" in response.json["errors"]


def test_requests_are_rate_limited_per_attendee(make_app, conference, person, bearer):
    app = make_app(CONTACT_REQUEST_LIMIT="3 per hour")
    client = app.test_client()
    ada, bruno = person("Ada"), person("Bruno")
    others = [person(f"Listed {n}") for n in range(4)]
    headers = bearer(ada)
    for other in others[:3]:
        assert client.post(CONTACTS, json={"attendee_id": other.id},
                           headers=headers).status_code == 202
    limited = client.post(CONTACTS, json={"attendee_id": others[3].id}, headers=headers)
    assert_error(limited, 429)
    assert limited.json["message"] == "Too many contact requests; try again later"
    # scans count too, and someone else still may
    assert_error(client.post(CONTACTS, json={"code": "whatever"}, headers=headers), 429)
    assert client.post(CONTACTS, json={"attendee_id": others[3].id},
                       headers=bearer(bruno)).status_code == 202


# --- blocks ------------------------------------------------------------------------

def test_blocking_works_both_ways(api, person):
    ada, bruno, carla = person("Ada"), person("Bruno"), person("Carla")
    ada_code = api(ada).get(CARD).json["code"]
    bruno_code = api(bruno).get(CARD).json["code"]
    api(bruno).post(CONTACTS, json={"code": ada_code})  # contacts
    api(bruno).post(CONTACTS, json={"attendee_id": carla.id})  # unrelated
    api(carla).post(CONTACTS, json={"attendee_id": ada.id})
    assert names(api(ada).get(CONTACTS)) == ["Bruno"]

    assert api(ada).post(f"{API}/me/blocks", json={"attendee_id": bruno.id}).status_code == 204

    # the contact is gone both ways, and each is hidden from the other
    assert names(api(ada).get(CONTACTS)) == []
    assert names(api(bruno).get(CONTACTS)) == []
    assert names(api(ada).get(DIRECTORY)) == ["Carla"]
    assert names(api(bruno).get(DIRECTORY)) == ["Carla"]
    assert names(api(ada).get(DIRECTORY, query_string={"q": "bruno"})) == []
    assert names(api(bruno).get(DIRECTORY, query_string={"q": "ada"})) == []
    # no requests either way, answered as for an unknown id; no scans either way
    unknown = api(bruno).post(CONTACTS, json={"attendee_id": 10**6})
    for who, other in ((bruno, ada), (ada, bruno)):
        refused = api(who).post(CONTACTS, json={"attendee_id": other.id})
        assert (refused.status_code, refused.get_data()) == (404, unknown.get_data())
    bad_code = api(bruno).post(CONTACTS, json={"code": "no-such-code"})
    for who, code in ((bruno, ada_code), (ada, bruno_code)):
        refused = api(who).post(CONTACTS, json={"code": code})
        assert (refused.status_code, refused.get_data()) == (404, bad_code.get_data())
    # others are untouched
    assert [r["requester"]["name"] for r in api(ada).get(REQUESTS).json] == ["Carla"]
    assert [r["requester"]["name"] for r in api(carla).get(REQUESTS).json] == ["Bruno"]


def test_a_block_removes_pending_requests_and_lifting_it_restores_nothing(api, person):
    ada, bruno = person("Ada"), person("Bruno")
    api(bruno).post(CONTACTS, json={"attendee_id": ada.id})
    api(ada).post(f"{API}/me/blocks", json={"attendee_id": bruno.id})
    assert api(ada).get(REQUESTS).json == []
    assert api(ada).delete(f"{API}/me/blocks/{bruno.id}").status_code == 204
    assert api(ada).get(REQUESTS).json == []
    assert names(api(ada).get(DIRECTORY)) == ["Bruno"]
    assert api(bruno).post(CONTACTS, json={"attendee_id": ada.id}).status_code == 202


def test_blocking_says_nothing_about_who_exists(api, person):
    ada, hidden = person("Ada"), person("Hidden", listed=False)
    for other_id in (hidden.id, hidden.id + 1000):
        assert api(ada).post(f"{API}/me/blocks", json={"attendee_id": other_id}).status_code == 204
    assert_error(api(ada).post(f"{API}/me/blocks", json={"attendee_id": ada.id}), 422)
    assert_error(api(ada).post(f"{API}/me/blocks", json={}), 422)


# --- what is shared ----------------------------------------------------------------

SECRETS = {"email": "zelda.private@example.org", "phone": "+43 660 1234567",
           "links": ["https://example.org/zelda"]}


def test_details_never_reach_non_contacts(api, person, dispatch, add_device):
    zelda = person("Zelda Sharer", title="Prosecutor", phone=SECRETS["phone"],
                   links=SECRETS["links"], share_email=True, share_phone=True,
                   share_links=True)
    zelda.email = SECRETS["email"]
    db.session.commit()
    stranger, asker, contact = person("Stranger"), person("Asker"), person("Contact")
    add_device(zelda)
    api(asker).post(CONTACTS, json={"attendee_id": zelda.id})  # pending
    api(zelda).post(CONTACTS, json={"attendee_id": contact.id})
    request_id = api(contact).get(REQUESTS).json[0]["id"]
    api(contact).post(f"{REQUESTS}/{request_id}/accept")
    dispatch()

    def leaks(who) -> list[str]:
        texts = [api(who).get(path).get_data(as_text=True) for path in (
            DIRECTORY, f"{DIRECTORY}?q=zelda", CONTACTS, REQUESTS, f"{CONTACTS}.vcf",
            f"{API}/me/notifications",
        )]
        return [secret for secret in (SECRETS["email"], SECRETS["phone"], SECRETS["links"][0])
                if any(secret in text for text in texts)]

    assert leaks(stranger) == []
    assert leaks(asker) == []  # a request is no contact
    assert sorted(leaks(contact)) == sorted([SECRETS["email"], SECRETS["phone"],
                                             SECRETS["links"][0]])
    seen = api(contact).get(CONTACTS).json[0]
    assert (seen["email"], seen["phone"], seen["links"]) == (
        SECRETS["email"], SECRETS["phone"], SECRETS["links"])


def test_each_detail_only_if_ticked(api, person):
    zelda = person("Zelda Sharer", phone="+43 1 234", links=["https://example.org/z"],
                   share_email=False, share_phone=True, share_links=False)
    other = person("Other")
    api(other).post(CONTACTS, json={"code": api(zelda).get(CARD).json["code"]})
    seen = api(other).get(CONTACTS).json[0]
    assert (seen["email"], seen["phone"], seen["links"]) == (None, "+43 1 234", None)
    api(zelda).patch(f"{API}/me", json={"share_phone": False, "share_email": True})
    seen = api(other).get(CONTACTS).json[0]
    assert (seen["email"], seen["phone"], seen["links"]) == (zelda.email, None, None)


def test_the_vcf_parses_back_with_the_right_names_and_only_shared_fields(api, person):
    me = person("Vera Exporter")
    ada = person("Ada King Lovelace", organisation="OSCE ODIHR", title="Adviser",
                 phone="+43 1 514 36", links=["https://example.org/ada"], share_email=True)
    bruno = person("Bruno Keller", organisation="UNODC", phone="+43 1 260 60",
                   links=["https://example.org/bruno", "https://example.org/b2"],
                   share_phone=True, share_links=True)
    person("Not A Contact", share_email=True)
    for other in (ada, bruno):
        api(me).post(CONTACTS, json={"code": api(other).get(CARD).json["code"]})

    response = api(me).get(f"{CONTACTS}.vcf")

    assert response.status_code == 200 and response.mimetype == "text/vcard"
    cards = {card.fn.value: card
             for card in vobject.readComponents(response.get_data(as_text=True))}
    assert set(cards) == {"Ada King Lovelace", "Bruno Keller"}
    ada_card, bruno_card = cards["Ada King Lovelace"], cards["Bruno Keller"]
    assert (ada_card.n.value.given, ada_card.n.value.family) == ("Ada King", "Lovelace")
    assert ada_card.org.value == ["OSCE ODIHR"] and ada_card.title.value == "Adviser"
    assert [e.value for e in ada_card.contents["email"]] == [ada.email]
    assert "tel" not in ada_card.contents and "url" not in ada_card.contents
    assert "email" not in bruno_card.contents
    assert [t.value for t in bruno_card.contents["tel"]] == ["+43 1 260 60"]
    assert [u.value for u in bruno_card.contents["url"]] == [
        "https://example.org/bruno", "https://example.org/b2"]


@pytest.mark.parametrize("changes", [
    {"links": ["javascript:alert(1)"]}, {"links": ["https://a.org"] * 6},
    {"topics": ["x" * 81]}, {"languages_spoken": ["English"]}, {"bio": "x" * 1001},
    {"share_email": "yes"}, {"phone": "1" * 41}, {"title": 7},
])
def test_bad_profiles_are_422(api, person, changes):
    response = api(person("Ada")).patch(f"{API}/me", json=changes)
    assert_error(response, 422)
    assert set(response.json["errors"]["json"]) == set(changes)


# --- pushes ------------------------------------------------------------------------

def test_a_request_and_an_acceptance_each_push_with_no_name_on_the_lock_screen(
        api, person, dispatch, fcm, add_device):
    asker = person("Ada Lovelace", language="fr")
    listed = person("Bruno Keller")
    add_device(asker)
    add_device(listed)

    api(asker).post(CONTACTS, json={"attendee_id": listed.id})
    dispatch()
    request_id = api(listed).get(REQUESTS).json[0]["id"]
    api(listed).post(f"{REQUESTS}/{request_id}/accept")
    dispatch()

    pushed = [(received.target, received.message["notification"]) for received in fcm.received]
    assert len(pushed) == 2
    for _, notification in pushed:  # the lock screen names nobody
        assert "Ada" not in json.dumps(notification) and "Bruno" not in json.dumps(notification)
    assert pushed[0][1]["title"] == "New contact request"
    assert pushed[1][1]["title"] == "Demande de contact acceptée"  # the requester's language
    bruno_inbox = api(listed).get(f"{API}/me/notifications").json
    assert [(n["kind"], n["body"]) for n in bruno_inbox] == [
        ("contact_request", "Ada Lovelace would like to exchange contacts with you.")]
    assert bruno_inbox[0]["data"]["attendee_id"] == str(asker.id)
    ada_inbox = api(asker).get(f"{API}/me/notifications").json
    assert [(n["kind"], n["body"]) for n in ada_inbox] == [
        ("contact_accepted", "Bruno Keller a accepté votre demande de contact.")]


def test_pushes_respect_the_networking_preference(api, person):
    asker, listed = person("Ada"), person("Bruno", notify={"networking": False})
    api(asker).post(CONTACTS, json={"attendee_id": listed.id})
    assert db.session.scalar(select(OutboxMessage.id)) is None  # muted: nothing at all
    assert len(api(listed).get(REQUESTS).json) == 1  # the request itself still waits


def test_a_scan_pushes_nothing(api, person):
    holder, scanner = person("Holder"), person("Scanner")
    api(scanner).post(CONTACTS, json={"code": api(holder).get(CARD).json["code"]})
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_directory_visible_is_default_off_in_the_database(app, conference):
    attendee = Attendee(event=conference, email="x@example.org", name="X")
    db.session.add(attendee)
    db.session.commit()
    assert attendee.directory_visible is False and attendee.share_email is False
