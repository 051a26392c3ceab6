"""Secret keys: from the environment in production, else made once and kept in instance/.

``SECRET_KEY`` signs the personal calendar URLs and ``ACCESS_CODE_KEY`` keys the hash of
the access codes. Neither is ever in the database or in this repository. Without one in
the configuration, a development setup makes a random key once and keeps it in the
instance folder (mode 0600), so every process of it agrees; production refuses to start.
"""

import os
import secrets
from pathlib import Path

# The old built-in value, and anything this short, is no key at all.
KNOWN_WEAK = {"dev-only-not-secret", "changeme", "secret"}
MIN_LENGTH = 32
KEYS = ("SECRET_KEY", "ACCESS_CODE_KEY")


class MissingSecret(RuntimeError):
    pass


def is_production(config) -> bool:
    """COMPANION_ENV=production; its default is production with a PostgreSQL DATABASE_URL."""
    return config.get("COMPANION_ENV") == "production"


def weak(value) -> bool:
    return not value or value in KNOWN_WEAK or len(str(value)) < MIN_LENGTH


def kept_key(path: Path) -> str:
    """The key in ``path``; made (random, mode 0600) by the first process that needs it."""
    if path.exists():
        return path.read_text("ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(fresh, path)  # atomic: the first process to get here wins, whole
    except FileExistsError:
        pass
    finally:
        os.unlink(fresh)
    return path.read_text("ascii").strip()


def init_app(app):
    production = is_production(app.config)
    for name in KEYS:
        value = app.config.get(name)
        if production:
            if weak(value):
                raise MissingSecret(
                    f"{name} is missing or weak: production (COMPANION_ENV=production or a "
                    f"PostgreSQL DATABASE_URL) needs a random value of at least {MIN_LENGTH} "
                    f"characters in the environment, e.g. "
                    f"`export {name}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')`"
                )
        elif not value:
            folder = Path(app.config.get("KEYS_FOLDER") or app.instance_path)
            app.config[name] = kept_key(folder / name.lower())
