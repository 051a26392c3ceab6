"""Every collection pages the same way: ?page=&page_size=, totals in X-Pagination."""

from functools import cached_property

from flask_smorest import Page
from marshmallow import Schema, fields
from sqlalchemy import Select, func, select

from .adapters import flask_smorest
from .extensions import db

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class SelectPage(Page):
    """Pages a SQLAlchemy ``select()`` in the database rather than in Python."""

    @cached_property
    def item_count(self):
        statement: Select = self.collection
        return db.session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())
        )

    @property
    def items(self):
        statement: Select = self.collection
        if self.page_params.first_item >= self.item_count:
            return []  # past the end, however far: no OFFSET overflow in the database
        return db.session.scalars(
            statement.offset(self.page_params.first_item).limit(self.page_params.page_size)
        ).all()


class PaginationSchema(Schema):
    """X-Pagination: the same keys on every page, an empty list's and one past the end too
    (flask-smorest leaves out what a page lacks, so an empty list had no ``page``)."""

    total = fields.Integer(required=True, metadata={"description": "Items in the collection"})
    total_pages = fields.Integer(required=True, metadata={
        "description": "Pages of page_size items; an empty collection is one empty page"})
    first_page = fields.Integer(required=True, metadata={"description": "Always 1"})
    last_page = fields.Integer(required=True, metadata={"description": "The same as total_pages"})
    page = fields.Integer(required=True, metadata={"description": "This page's number"})
    previous_page = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The page before this one (the last page, past the end); null on the first"})
    next_page = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The page after this one; null from the last page on"})


def pagination_metadata(page: int, page_size: int, item_count: int) -> dict:
    """What X-Pagination says of ``page``."""
    last_page = max(1, -(-item_count // page_size))
    return {
        "total": item_count, "total_pages": last_page, "first_page": 1,
        "last_page": last_page, "page": page,
        "previous_page": min(page - 1, last_page) if page > 1 else None,
        "next_page": page + 1 if page < last_page else None,
    }


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, writing X-Pagination as ``pagination_metadata`` does."""

    pagination_metadata = staticmethod(pagination_metadata)


def paginate(blp):
    return blp.paginate(SelectPage, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting X-Pagination as the JSON it really is."""

    pagination_header = {
        "description": "Pagination metadata, as JSON",
        "content": {"application/json": {"schema": PaginationSchema}},
    }
