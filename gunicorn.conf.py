"""gunicorn's settings for the companion API: ``gunicorn -c gunicorn.conf.py``.

The Procfile (and so ``make run``) starts it this way. Every number can be changed from
the environment without editing this file:

- ``HOST`` (127.0.0.1) and ``PORT`` (8000): where to listen; ``0.0.0.0`` behind a proxy.
- ``WEB_CONCURRENCY``: worker processes, default 2 per core plus one.
- ``WEB_THREADS`` (4): threads per worker (gthread). A phone keeps its connection open
  between calls (keep-alive), which a sync worker cannot do without blocking the others.
- ``WEB_TIMEOUT`` (30 s): a worker silent for longer is killed and replaced.
- ``WEB_GRACEFUL_TIMEOUT`` (30 s): on SIGTERM (a deploy, honcho's Ctrl-C) the workers
  stop accepting, finish the requests in hand for up to this long, then exit.
- ``WEB_KEEPALIVE`` (5 s): how long an idle keep-alive connection is kept. Behind a load
  balancer, make it longer than the balancer's own idle timeout.
- ``FORWARDED_ALLOW_IPS`` (127.0.0.1): proxies whose X-Forwarded-* headers are believed.
- ``WEB_MAX_REQUESTS`` (100,000): requests after which a worker is replaced (0: never).
- ``LOG_LEVEL`` (INFO): the level of gunicorn's own lines and of the app's.

An answer the app marks ``Connection: close`` (a 413, whose body is left unread) closes
the connection (``post_worker_init`` below).

Logs: one JSON object a line on standard error (companion/logs.py), gunicorn's own lines
and the app's alike; the access log is one JSON line per request with the request's id
(the ``X-Request-ID`` the app answers with), so it joins the app's lines of that request,
and its query string without the values that may be personal (``loggable_query``).
"""

import multiprocessing
import os
import sys
from datetime import datetime, timezone

import orjson
from gunicorn.glogging import Logger

from companion.adapters.gunicorn import closer_of
from companion.logs import loggable_query

wsgi_app = "wsgi:app"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", 4))
timeout = int(os.environ.get("WEB_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("WEB_KEEPALIVE", 5))
# Each worker is replaced after about this many requests (spread so that they do not
# restart together): whatever a long run leaks is given back. Not much more often: a
# worker's boot costs ~1.25 s of CPU (the app, firebase-admin, the API's document), and
# its first answers rebuild what it kept; every 10,000 requests that was ~125 µs a
# request, as much as a kept answer itself (bench/reads.py).
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 100000))
max_requests_jitter = max_requests // 10
# The workers' heartbeat files in memory: a slow disk cannot make a worker look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "companion"
# No control socket: its default path is one per user, and two servers on one machine
# (a bench beside a test run) would take it from each other.
control_socket_disable = True

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
loglevel = LOG_LEVEL.lower()


class JsonAccessLogger(Logger):
    """gunicorn's logger, with one JSON line per request instead of Apache's format.

    The line has the fields of the app's lines (companion/logs.py) and is written to
    standard error in one ``write``, built from the request and the response directly:
    through gunicorn's atoms (a dict of every header and environ variable) and logging's
    record, formatter and handler lock it cost a third as much as the app's own answer
    (py-spy of the workers during bench/herd.py).
    """

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        try:
            status = resp.status
            if isinstance(status, str):
                status = status.split(None, 1)[0]
                status = int(status) if status.isdigit() else status
            method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            line = {
                "time": datetime.now(timezone.utc).isoformat(), "level": "INFO",
                "logger": "gunicorn.access", "message": f"{method} {path} {status}",
                "method": method, "path": path,
                "query": loggable_query(environ.get("QUERY_STRING")),
                "status": status, "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "remote_addr": environ.get("REMOTE_ADDR", "-"),
                "user_agent": environ.get("HTTP_USER_AGENT", "-"),
                "request_id": next((value for name, value in resp.headers
                                    if name.lower() == "x-request-id"), None),
            }
            os.write(sys.stderr.fileno(), orjson.dumps(line) + b"\n")
        except Exception:
            self.exception("access log failed")


logger_class = JsonAccessLogger


def closing_when_asked(app):
    """The app as WSGI, where an answer with ``Connection: close`` closes the connection.

    gunicorn drops an application's hop-by-hop headers and says keep-alive; after a 413
    it then fails to drain the body left unread and closes anyway, so the client's next
    request on that connection got nothing. gunicorn closes it when told through its
    response (``companion/adapters/gunicorn.py``).
    """
    def wsgi(environ, start_response):
        close = closer_of(start_response)

        def start(status, headers, exc_info=None):
            if close is not None and any(
                    name.lower() == "connection" and value.lower() == "close"
                    for name, value in headers):
                close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wsgi


def post_worker_init(worker):
    worker.wsgi = closing_when_asked(worker.wsgi)
# Everything goes to the root logger's one JSON handler (companion/logs.py).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "companion.logs.StderrHandler"}},
    "root": {"level": LOG_LEVEL, "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": LOG_LEVEL, "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}
