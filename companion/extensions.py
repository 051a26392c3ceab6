"""Bare extension instances, bound to the app in create_app()."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations reproducible on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# Ids are 32-bit integers: a larger one in a URL cannot exist (and would overflow a query).
# Routes spell their id parts `<int(max=MAX_ID):...>`.
MAX_ID = 2**31 - 1
migrate = Migrate()
# Storage from RATELIMIT_STORAGE_URI: by default a SQLite file in instance/ that every
# worker shares (companion/ratelimit.py); redis:// when several machines serve the API.
# Only routes that ask for a limit have one.
limiter = Limiter(key_func=get_remote_address)
