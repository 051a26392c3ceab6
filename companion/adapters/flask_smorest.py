"""flask-smorest's pagination and ETag internals, for companion/pagination.py and the
personal agenda's fast path (companion/people/views.py).

flask-smorest documents the name of the pagination header only; what it holds, how it
is documented, and the hash of ``set_etag`` are private methods.
"""

from collections.abc import Callable

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    """A Blueprint whose X-Pagination holds ``pagination_metadata(page, page_size,
    item_count)``, set by a subclass."""

    pagination_metadata: Callable[[int, int, int], dict]

    def _make_pagination_metadata(self, page, page_size, item_count):
        return self.pagination_metadata(page, page_size, item_count)

    def metadata_of(self, page: int, page_size: int, item_count: int) -> dict:
        """X-Pagination of a page, as ``paginate`` writes it."""
        return self._make_pagination_metadata(page, page_size, item_count)

    def etag_of(self, etag_data) -> str:
        """The ETag ``set_etag(etag_data)`` sets (without a schema)."""
        return self._generate_etag(etag_data)


class Api(flask_smorest.Api):
    """An Api that documents the PAGINATION header as ``pagination_header`` says (an
    OpenAPI header object), set by a subclass."""

    pagination_header: dict

    def _register_pagination_header(self):
        self.spec.components.header("PAGINATION", self.pagination_header, lazy=True)
