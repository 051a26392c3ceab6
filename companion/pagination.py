"""Every collection pages the same way: ?page=&page_size=, totals in X-Pagination."""

from functools import cached_property

import flask_smorest
from flask_smorest import Page
from flask_smorest.pagination import PaginationMetadataSchema
from sqlalchemy import Select, func, select

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


def paginate(blp):
    return blp.paginate(SelectPage, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting X-Pagination as the JSON it really is."""

    def _register_pagination_header(self):
        self.spec.components.header("PAGINATION", {
            "description": "Pagination metadata, as JSON",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }, lazy=True)
