"""firebase-admin's messaging internals, for notifications/senders.py.

The SDK has no option for the FCM URL and no handle on its HTTP session: the messaging
service posts every message to ``_fcm_url`` through ``_client.session``. Setting both is
how FCM_ENDPOINT (the fake FCM of the tests and benches) and our own retry policy work.
"""

from collections.abc import Callable

import firebase_admin
import requests
from firebase_admin import messaging

PINNED_SDK = "7.7.0"


def messaging_service(app: firebase_admin.App):
    """The SDK's messaging service of an app (created on first use)."""
    return messaging._get_messaging_service(app)


def send_to(app: firebase_admin.App, base: str, send_path: str,
            make_adapter: Callable[[], requests.adapters.HTTPAdapter]) -> str:
    """Make the app's messaging post to ``base + send_path`` (``{project}`` filled in)
    through an adapter ``make_adapter`` makes, once per base. Returns the URL."""
    service = messaging_service(app)
    if not (hasattr(service, "_fcm_url") and hasattr(service, "_client")):
        raise RuntimeError(
            f"firebase-admin {firebase_admin.__version__} no longer has the messaging "
            f"internals FCM_ENDPOINT relies on (written for {PINNED_SDK})"
        )
    service._fcm_url = base + send_path.format(project=service._project_id)
    if getattr(service, "_companion_base", None) != base:
        service._client.session.mount(base + "/", make_adapter())
        service._companion_base = base
    return service._fcm_url


def close_messaging(app: firebase_admin.App) -> None:
    """Close the messaging service's HTTP connections, if it was ever used."""
    service = app._services.get("_messaging")
    if service is not None and service._client.session is not None:
        service._client.close()
