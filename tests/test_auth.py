"""Bearer tokens, access codes and the checks in front of protected views."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from companion import auth
from companion.extensions import db
from companion.people.models import AccessToken
from companion.timeutil import utcnow

SHAPE = {"code", "status", "message", "errors"}


@pytest.fixture
def guarded(app):
    """Two protected routes on the test app: one for anyone signed in, one for organisers."""

    @app.get("/test/whoami")
    @auth.login_required
    def whoami():
        return {"id": auth.current_attendee().id}

    @app.get("/test/organisers")
    @auth.role_required("organiser")
    def organisers():
        return {"id": auth.current_attendee().id}

    return app.test_client()


def assert_401(response):
    assert response.status_code == 401
    assert set(response.json) == SHAPE
    assert response.json["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_identifies_its_attendee(guarded, make_attendee, bearer):
    ada, bob = make_attendee(), make_attendee()
    assert guarded.get("/test/whoami", headers=bearer(ada)).json == {"id": ada.id}
    assert guarded.get("/test/whoami", headers=bearer(bob)).json == {"id": bob.id}


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "Token abc",
])
def test_missing_or_unknown_tokens_get_401(guarded, make_attendee, header):
    make_attendee()
    headers = {} if header is None else {"Authorization": header}
    assert_401(guarded.get("/test/whoami", headers=headers))


def test_an_expired_token_gets_401(guarded, make_attendee, bearer):
    headers = bearer(make_attendee())
    access = db.session.scalar(select(AccessToken))
    access.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = guarded.get("/test/whoami", headers=headers)
    assert_401(response)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_revoked_token_gets_401_and_others_still_work(guarded, make_attendee, bearer):
    ada = make_attendee()
    first, second = bearer(ada), bearer(ada)
    token = first["Authorization"].split()[1]
    auth.revoke_token(auth.find_live_token(token))
    db.session.commit()
    assert_401(guarded.get("/test/whoami", headers=first))
    assert guarded.get("/test/whoami", headers=second).status_code == 200
    assert auth.revoke_all_tokens(ada) == 1
    db.session.commit()
    assert_401(guarded.get("/test/whoami", headers=second))


def test_tokens_expire_after_the_configured_hours(app, make_attendee):
    app.config["TOKEN_TTL_HOURS"] = 2
    token, access = auth.issue_token(make_attendee())
    db.session.commit()
    lifetime = access.expires_at - access.created_at
    assert timedelta(hours=2) - timedelta(seconds=5) < lifetime <= timedelta(hours=2)
    assert auth.find_live_token(token) is access


def test_only_the_hash_of_a_token_is_stored(make_attendee):
    token, access = auth.issue_token(make_attendee())
    db.session.commit()
    assert access.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(db.session.execute(select(AccessToken.__table__)).all())


def test_a_wrong_role_gets_403_and_the_right_one_passes(guarded, make_attendee, bearer):
    speaker = make_attendee(roles=["attendee", "speaker"])
    organiser = make_attendee(roles=["attendee", "organiser"])
    response = guarded.get("/test/organisers", headers=bearer(speaker))
    assert response.status_code == 403
    assert set(response.json) == SHAPE
    assert guarded.get("/test/organisers", headers=bearer(organiser)).json == {"id": organiser.id}
    assert_401(guarded.get("/test/organisers"))


def test_access_codes_are_random_readable_and_stored_keyed_and_salted(app, make_attendee):
    codes = {auth.new_access_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 14 and code.count("-") == 2
        assert set(code.replace("-", "")) <= set(auth.CODE_ALPHABET)
    code = codes.pop()
    ada = make_attendee(code=code)
    assert code not in ada.access_code_hash
    assert ada.access_code_hash.startswith("hmac-sha256$")
    assert app.config["ACCESS_CODE_KEY"] not in ada.access_code_hash
    assert auth.hash_access_code(code) != ada.access_code_hash  # salted
    assert auth.check_access_code(ada, code)
    assert auth.check_access_code(ada, " " + code.lower().replace("-", " ") + " ")
    assert not auth.check_access_code(ada, codes.pop())
    assert not auth.check_access_code(None, code)
    assert not auth.check_access_code(make_attendee(), code)  # no code set at all


def test_codes_hashed_with_scrypt_earlier_still_sign_in_and_are_rehashed(client, make_attendee):
    from werkzeug.security import generate_password_hash

    ada = make_attendee(email="ada@example.org")
    ada.access_code_hash = generate_password_hash("7KQ4MX2P9DHT", method="scrypt:16384:8:1")
    db.session.commit()
    response = client.post("/api/v1/auth/login",
                           json={"email": "ada@example.org", "access_code": "7kq4-mx2p-9dht"})
    assert response.status_code == 200
    db.session.refresh(ada)
    assert ada.access_code_hash.startswith("hmac-sha256$")
    assert auth.check_access_code(ada, "7KQ4-MX2P-9DHT")


def test_a_code_hash_is_useless_under_another_key(app, make_attendee):
    ada = make_attendee(code="7KQ4-MX2P-9DHT")
    app.config["ACCESS_CODE_KEY"] = "another-key-" + "x" * 40
    assert not auth.check_access_code(ada, "7KQ4-MX2P-9DHT")
