"""POST /auth/firebase: real signature checks by firebase_admin, offline.

Google's public certificates are served by a local HTTP server from a self-made key pair,
and the SDK's certificate URL points there. The emulator variable is never set: it would
skip the signature check this is about.
"""

import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import firebase_admin._token_gen
import firebase_admin
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt
from sqlalchemy import func, select

from companion.extensions import db
from companion.people.models import AccessToken
from notifications.senders import close_app

PROJECT = "alliance-companion-test"
SHAPE = {"code", "status", "message", "errors"}


def private_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def self_signed_certificate(key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def google_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def impostor_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def cert_server(google_key, monkeypatch):
    """Serves {"kid": certificate} as Google does, at the URL the SDK fetches."""
    body = json.dumps({"key-1": self_signed_certificate(google_key)}).encode()

    class Certificates(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Certificates)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/robot/v1/metadata/x509/securetoken"
    monkeypatch.setattr(firebase_admin._token_gen, "ID_TOKEN_CERT_URI", url)
    assert "FIREBASE_AUTH_EMULATOR_HOST" not in os.environ
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def firebase_on(app, tmp_path, cert_server, impostor_key):
    """A service-account file of the test project in FIREBASE_CREDENTIALS."""
    account_key = impostor_key  # any key: the account never signs anything here
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "sa-1",
        "private_key": private_pem(account_key).decode(),
        "client_email": f"companion@{PROJECT}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    app.config["FIREBASE_CREDENTIALS"] = str(path)
    yield app
    if "companion" in firebase_admin._apps:  # made on first use: one per process
        close_app(firebase_admin.get_app("companion"))


def id_token(key, kid="key-1", **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{PROJECT}", "aud": PROJECT,
        "sub": "firebase-uid-1", "iat": now - 5, "exp": now + 3600, "auth_time": now - 5,
        "email": "ada@example.org", "email_verified": True, **claims,
    }
    signer = crypt.RSASigner.from_string(private_pem(key), key_id=kid)
    return jwt.encode(signer, payload).decode()


def firebase_login(client, token, **extra):
    return client.post("/api/v1/auth/firebase", json={"id_token": token, **extra})


def tokens_issued() -> int:
    return db.session.scalar(select(func.count(AccessToken.id)))


def test_a_verified_email_signs_its_attendee_in(firebase_on, client, make_attendee, google_key):
    ada = make_attendee(email="Ada@example.org")
    response = firebase_login(client, id_token(google_key))
    assert response.status_code == 200, response.json
    assert response.json["attendee"]["id"] == ada.id
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert me.json["id"] == ada.id


@pytest.mark.parametrize("forge", [
    "impostor", "expired", "audience", "issuer", "unverified", "no-email", "unknown-kid",
    "garbage",
])
def test_forged_or_unfit_tokens_get_401(firebase_on, client, make_attendee, google_key,
                                        impostor_key, forge):
    make_attendee(email="ada@example.org")
    now = int(time.time())
    token = {
        "impostor": lambda: id_token(impostor_key),
        "expired": lambda: id_token(google_key, iat=now - 7200, exp=now - 3600),
        "audience": lambda: id_token(google_key, aud="someone-else"),
        "issuer": lambda: id_token(google_key, iss="https://securetoken.google.com/other"),
        "unverified": lambda: id_token(google_key, email_verified=False),
        "no-email": lambda: id_token(google_key, email=None),
        "unknown-kid": lambda: id_token(google_key, kid="key-2"),
        "garbage": lambda: "not.a.jwt",
    }[forge]()
    response = firebase_login(client, token)
    assert response.status_code == 401, response.json
    assert set(response.json) == SHAPE
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert tokens_issued() == 0


def test_an_email_nobody_registered_gets_401(firebase_on, client, make_attendee, google_key):
    make_attendee(email="bob@example.org")
    response = firebase_login(client, id_token(google_key))
    assert response.status_code == 401
    assert response.json["message"] == "No attendee is registered with this email"


def test_unreachable_certificates_are_503(firebase_on, client, make_attendee, google_key,
                                          cert_server):
    make_attendee(email="ada@example.org")
    cert_server.shutdown()
    cert_server.server_close()
    response = firebase_login(client, id_token(google_key))
    assert response.status_code == 503
    assert set(response.json) == SHAPE


def test_without_credentials_firebase_sign_in_is_off(client, make_attendee, google_key):
    make_attendee(email="ada@example.org")
    response = firebase_login(client, id_token(google_key))
    assert response.status_code == 404
    assert set(response.json) == SHAPE


@pytest.mark.parametrize("body", [{}, {"id_token": ""}, {"id_token": 42},
                                  {"id_token": "x" * 10_000}])
def test_malformed_requests_are_422(firebase_on, client, body):
    response = client.post("/api/v1/auth/firebase", json=body)
    assert response.status_code == 422
    assert set(response.json) == SHAPE
