"""The process's one firebase-admin app: pushes are sent and ID tokens checked with it.

Made once from FIREBASE_CREDENTIALS (a service-account file) under the name
FIREBASE_APP_NAME (default ``companion``), or taken as it is when the host already made
an app of that name (tests, benchmarks).
"""

import firebase_admin
from firebase_admin import credentials

APP_NAME = "companion"
HTTP_TIMEOUT = 10  # seconds; the SDK's default is 120


def firebase_app(config) -> firebase_admin.App | None:
    """The Firebase app the configuration names; None when Firebase is not configured."""
    name = config.get("FIREBASE_APP_NAME")
    path = config.get("FIREBASE_CREDENTIALS")
    if not (name or path):
        return None
    name = name or APP_NAME
    try:
        return firebase_admin.get_app(name)
    except ValueError:
        if not path:
            raise RuntimeError(f"no Firebase app {name!r}: set FIREBASE_CREDENTIALS "
                               "(the path of a service-account JSON file)") from None
    return firebase_admin.initialize_app(
        credentials.Certificate(path), {"httpTimeout": HTTP_TIMEOUT}, name=name
    )
