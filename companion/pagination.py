"""Every collection pages the same way: ?page=&page_size=, totals in X-Pagination."""

from flask_smorest import Page
from sqlalchemy import Select, func, select

from .extensions import db

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class SelectPage(Page):
    """Pages a SQLAlchemy ``select()`` in the database rather than in Python."""

    @property
    def item_count(self):
        statement: Select = self.collection
        return db.session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())
        )

    @property
    def items(self):
        statement: Select = self.collection
        return db.session.scalars(
            statement.offset(self.page_params.first_item).limit(self.page_params.page_size)
        ).all()


def paginate(blp):
    return blp.paginate(SelectPage, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
