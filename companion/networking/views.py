"""Networking routes: the directory, contact cards, contacts, requests, blocks.

Every /me route acts on the caller only. Ids in a body or a path that name someone the
caller may not reach answer as an unknown id would.
"""

from flask import Response, request, url_for
from flask.views import MethodView

from ..auth import current_attendee, login_required
from ..config import public_url
from ..extensions import MAX_ID
from ..idempotency import idempotent
from ..pagination import Blueprint, paginate
from ..people.operations import own_event
from . import cards, operations
from .schemas import (
    BlockSchema,
    CardQuerySchema,
    CardSchema,
    ConnectedSchema,
    ConnectSchema,
    ContactRequestSchema,
    ContactSchema,
    DirectoryQuerySchema,
    PublicProfileSchema,
)

blp = Blueprint(
    "networking", __name__, url_prefix="/api/v1",
    description="Networking, consent first: the directory of those who chose to be listed, "
    "contact cards, contacts, requests and blocks",
)

IMAGE_RESPONSES = {200: {"content": {
    "image/svg+xml": {"schema": {"type": "string"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}},
}}}


@blp.route("/events/<slug>/directory")
class Directory(MethodView):
    @login_required
    @blp.arguments(DirectoryQuerySchema, location="query")
    @blp.response(200, PublicProfileSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    @paginate(blp)
    def get(self, query, slug):
        """Attendees of my event who chose to be listed, by name; ?q= searches"""
        attendee = current_attendee()
        return operations.directory_query(attendee, own_event(attendee, slug), query.get("q"))


def card_format(query: dict) -> str:
    if "format" in query:
        return query["format"]
    best = request.accept_mimetypes.best_match(
        ["application/json", *cards.MIMETYPES.values()], default="application/json"
    )
    return {mimetype: kind for kind, mimetype in cards.MIMETYPES.items()}.get(best, "json")


def card(attendee, code: str, query: dict):
    kind = card_format(query)
    if kind == "json":
        token = cards.image_token(attendee.id, code)
        return {"code": code, **{
            f"{image}_url": public_url() + url_for("networking.ContactCardImage",
                                                   token=token, kind=image)
            for image in cards.MIMETYPES}}
    return Response(cards.qr_image(code, kind), mimetype=cards.MIMETYPES[kind],
                    headers={"Cache-Control": "private, no-store", "Vary": "Accept"})


@blp.route("/me/contact-card")
class ContactCard(MethodView):
    @login_required
    @blp.arguments(CardQuerySchema, location="query")
    @blp.response(200, CardSchema)
    @blp.doc(responses=IMAGE_RESPONSES)
    def get(self, query):
        """My card's code, or its QR image (?format=svg|png, or by Accept)"""
        attendee = current_attendee()
        return card(attendee, operations.card_code(attendee), query)


@blp.route("/contact-cards/<string(maxlength=300):token>.<any(png, svg):kind>")
class ContactCardImage(MethodView):
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/png")
    @blp.doc(responses=IMAGE_RESPONSES)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, token, kind):
        """A card's QR image at a signed URL from /me/contact-card (no token)

        Image loaders can't send a token: the URL is signed instead, and stops working after
        5 minutes or when the code is rotated (404).
        """
        return Response(cards.qr_image(operations.card_code_for_image(token), kind),
                        mimetype=cards.MIMETYPES[kind],
                        headers={"Cache-Control": f"private, max-age={cards.IMAGE_URL_SECONDS}"})


@blp.route("/me/contact-card/rotate")
class RotateCard(MethodView):
    @login_required
    @blp.arguments(CardQuerySchema, location="query")
    @blp.response(200, CardSchema)
    @blp.doc(responses=IMAGE_RESPONSES)
    def post(self, query):
        """A new code for my card; the old one stops working"""
        attendee = current_attendee()
        return card(attendee, operations.rotate_card(attendee), query)


@blp.route("/me/contacts")
class MyContacts(MethodView):
    @login_required
    @blp.response(200, ContactSchema(many=True))
    @paginate(blp)
    def get(self):
        """My contacts, by name, with what each chose to share"""
        return operations.contacts_query(current_attendee())

    @login_required
    @idempotent
    @blp.arguments(ConnectSchema)
    @blp.response(201, ConnectedSchema)
    @blp.alt_response(202, schema=ConnectedSchema, success=True,
                      description="A request, waiting for the other's answer")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, body):
        """Scan a card (code: connected at once) or ask someone (attendee_id: a request)"""
        attendee = current_attendee()
        if "code" in body:
            return operations.connect_by_code(attendee, body["code"]), 201
        outcome = operations.request_contact(attendee, body["attendee_id"])
        return outcome, 201 if outcome.status == "connected" else 202


@blp.route("/me/contacts.vcf")
class MyContactsVcard(MethodView):
    @login_required
    @blp.response(200, {"type": "string"}, content_type="text/vcard")
    def get(self):
        """All my contacts as vCard 3.0, with only what each chose to share"""
        attendee = current_attendee()
        text = cards.vcards(operations.all_contacts(attendee), attendee.event.slug)
        return Response(text, mimetype="text/vcard", headers={
            "Content-Disposition": 'attachment; filename="contacts.vcf"',
            "Cache-Control": "private, no-store",
        })


@blp.route("/me/contact-requests")
class MyContactRequests(MethodView):
    @login_required
    @blp.response(200, ContactRequestSchema(many=True))
    @paginate(blp)
    def get(self):
        """Requests waiting for my answer, oldest first"""
        return operations.requests_query(current_attendee())


@blp.route(f"/me/contact-requests/<int(max={MAX_ID}):request_id>/accept")
class AcceptRequest(MethodView):
    @login_required
    @blp.response(200, ContactSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, request_id):
        """Accept: we are contacts, and the requester is told"""
        return operations.answer_request(current_attendee(), request_id, accepted=True)


@blp.route(f"/me/contact-requests/<int(max={MAX_ID}):request_id>/decline")
class DeclineRequest(MethodView):
    @login_required
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, request_id):
        """Decline: the requester is not told, and asking again changes nothing"""
        operations.answer_request(current_attendee(), request_id, accepted=False)


@blp.route("/me/blocks")
class MyBlocks(MethodView):
    @login_required
    @blp.arguments(BlockSchema)
    @blp.response(204)
    def post(self, body):
        """Block someone: our contact and requests go, and neither finds the other"""
        operations.block(current_attendee(), body["attendee_id"])


@blp.route(f"/me/blocks/<int(max={MAX_ID}):attendee_id>")
class MyBlock(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, attendee_id):
        """Lift a block (what it removed stays removed)"""
        operations.unblock(current_attendee(), attendee_id)
