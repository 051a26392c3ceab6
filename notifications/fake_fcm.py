"""A local Firebase Cloud Messaging for tests and benchmarks, over real HTTP.

One threaded HTTP server plays both Google endpoints firebase-admin talks to:
- ``POST /token``: the OAuth token endpoint. It checks the service account's signed JWT
  assertion against the public half of the key it generated, and hands out a bearer token.
- ``POST /v1/projects/<project>/messages:send``: FCM HTTP v1. It checks the bearer token,
  records each message, and answers FCM's own error bodies for targets told to fail.

It ships beside the real senders, as procrastinate ships its in-memory connector: the
tests (fixtures in tests/conftest.py) and bench/ start it in-process or, with
``python -m notifications.fake_fcm``, as a process of its own.
"""

import itertools
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


# FCM errorCode: (HTTP status, canonical status, message), as FCM answers them.
FCM_ERRORS = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT",
                         "The registration token is not a valid FCM registration token"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for the message target."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "APNs certificate is not valid."),
}
SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs its assertion for Google's token endpoint, wherever token_uri points.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
SEND_SCOPES = {"https://www.googleapis.com/auth/cloud-platform",
               "https://www.googleapis.com/auth/firebase.messaging"}


@dataclass(frozen=True)
class Received:
    at: float  # time.time() when it arrived
    message: dict

    @property
    def target(self) -> str:
        return self.message.get("fid") or self.message.get("token")


class FakeFCM:
    def __init__(self, project_id: str = "alliance-companion-test"):
        self.project_id = project_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_email = f"push@{project_id}.iam.gserviceaccount.com"
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.reset()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def start(self) -> "FakeFCM":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.received: list[Received] = []    # accepted messages
            self.attempts: Counter = Counter()     # send requests per target, failed or not
            self.errors: dict[str, dict] = {}      # target -> what to answer, how often
            self.tokens: set[str] = set()          # bearer tokens handed out
            self.token_requests = 0
            self.delivered: set = set()            # (target, notification_id) accepted
            self.duplicates = 0                    # accepted again: the same to the same
            self.delay = 0.0  # seconds each send request takes (a slow FCM)

    def fail(self, target: str, code: str, times: int | None = None,
             retry_after: str | None = None) -> None:
        """Answer ``code`` for ``target``: the next ``times`` requests, or from now on."""
        assert code in FCM_ERRORS, code
        with self._lock:
            self.errors[target] = {"code": code, "retry_after": retry_after, "times": times}

    def service_account(self) -> dict:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account", "project_id": self.project_id,
            "private_key_id": "fake-key-1", "private_key": pem,
            "client_email": self.client_email, "client_id": "1",
            "token_uri": self.token_uri,
        }

    def write_service_account(self, path) -> str:
        path.write_text(json.dumps(self.service_account()))
        return str(path)

    def stats(self) -> dict:
        """How much arrived, and when the first and last message did (time.time());
        ``duplicates``: messages accepted again for a device that already had them."""
        with self._lock:
            arrivals = [r.at for r in self.received]
            duplicates = self.duplicates
        return {"received": len(arrivals), "first_at": min(arrivals, default=None),
                "last_at": max(arrivals, default=None), "duplicates": duplicates}

    def targets(self) -> list[str]:
        with self._lock:
            return [r.target for r in self.received]

    # --- the server's side ---

    def issue_token(self, form: dict) -> tuple[int, dict]:
        if form.get("grant_type") != [JWT_BEARER] or not form.get("assertion"):
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = jwt.decode(
                form["assertion"][0], self.key.public_key(), algorithms=["RS256"],
                audience=TOKEN_AUDIENCE, issuer=self.client_email,
            )
        except jwt.PyJWTError as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}
        scopes = set(claims.get("scope", "").split())
        if not scopes & SEND_SCOPES:
            return 400, {"error": "invalid_scope", "error_description": "cannot send FCM"}
        token = f"fake-access-{uuid.uuid4().hex}"
        with self._lock:
            self.tokens.add(token)
            self.token_requests += 1
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def send(self, project: str, authorization: str | None, body: dict):
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            if authorization not in {f"Bearer {t}" for t in self.tokens}:
                return 401, _error(401, "UNAUTHENTICATED", "Request had invalid credentials."), {}
            if project != self.project_id:
                return 404, _error(404, "NOT_FOUND", f"Project {project} not found."), {}
            message = body["message"]
            target = message.get("fid") or message.get("token")
            self.attempts[target] += 1
            failure = self._failure_for(target)
            if failure is not None:
                code, retry_after = failure
                status, canonical, text = FCM_ERRORS[code]
                headers = {"Retry-After": retry_after} if retry_after else {}
                return status, _error(status, canonical, text, code), headers
            self.received.append(Received(time.time(), message))
            delivery = (target, (message.get("data") or {}).get("notification_id"))
            self.duplicates += delivery in self.delivered
            self.delivered.add(delivery)
            name = f"projects/{project}/messages/{next(self._ids)}"
        return 200, {"name": name}, {}

    def _failure_for(self, target):
        planned = self.errors.get(target)
        if planned is None or planned["times"] == 0:
            return None
        if planned["times"] is not None:
            planned["times"] -= 1
        return planned["code"], planned["retry_after"]


def _error(status: int, canonical: str, message: str, fcm_code: str | None = None) -> dict:
    error = {"code": status, "message": message, "status": canonical}
    if fcm_code:
        error["details"] = [{
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": fcm_code,
        }]
    return {"error": error}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold up shutdown
    request_queue_size = 1024  # send_each opens up to 500 connections at once

    def handle_error(self, request, client_address):
        pass  # a client that went away (a killed worker): nothing to report


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {}
        if self.path == "/token":
            status, body = fake.issue_token(parse_qs(raw.decode()))
        elif match := SEND_PATH.match(self.path):
            status, body, headers = fake.send(
                match["project"], self.headers.get("Authorization"), json.loads(raw)
            )
        elif self.path == "/reset":
            fake.reset()
            status, body = 200, {}
        else:
            status, body = 404, _error(404, "NOT_FOUND", f"No such path {self.path}")
        self._answer(status, body, headers)

    def do_GET(self):
        """``/stats`` for a benchmark that runs the fake in another process."""
        if self.path == "/stats":
            self._answer(200, self.server.fake.stats())
        else:
            self._answer(404, _error(404, "NOT_FOUND", f"No such path {self.path}"))

    def _answer(self, status: int, body: dict, headers: dict | None = None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


def main():
    """Run the fake on its own (a benchmark's other process): prints its URL, serves."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--service-account", type=Path, required=True,
                        help="where to write the service-account JSON that signs in here")
    args = parser.parse_args()
    fake = FakeFCM()
    fake.write_service_account(args.service_account)
    print(fake.url, flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
