"""Sign-in with a Firebase ID token, when FIREBASE_CREDENTIALS names a service account.

The token is verified by ``firebase_admin.auth.verify_id_token`` (Google's signature,
this project as audience, not expired) and must carry a verified email: the attendee
with that email is signed in. An unverified email proves nothing about who holds it.
"""

from firebase_admin import auth as firebase_auth
from flask import current_app
from flask_smorest import abort

from .. import auth
from ..firebase import firebase_app


def verified_email(id_token: str) -> str:
    """The verified email of a Firebase ID token, or 401 (404 when Firebase is off)."""
    app = firebase_app(current_app.config)
    if app is None:
        abort(404, message="Firebase sign-in is not configured")
    try:
        claims = firebase_auth.verify_id_token(id_token, app=app)
    except firebase_auth.CertificateFetchError:
        abort(503, message="Firebase's keys are out of reach; try again shortly")
    except (firebase_auth.InvalidIdTokenError, ValueError) as error:
        current_app.logger.info("Firebase token refused: %s", error)
        auth.unauthorised("The Firebase token is not valid", error="invalid_token")
    if claims.get("email_verified") is not True or not claims.get("email"):
        auth.unauthorised("The Firebase account has no verified email")
    return claims["email"]
