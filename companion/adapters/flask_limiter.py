"""flask-limiter's hooks, and Flask's lists of hooks, as companion/ratelimit.py trims them.

flask-limiter registers a before-request check, an after-request hook (headers,
conditional deductions) and a teardown on every request, with no setting to leave them
off where no limit applies; Flask has no public way to remove or wrap a hook.
"""

from collections.abc import Callable

from flask import Flask
from flask_limiter import Limiter

Hook = Callable


def is_limiters(limiter: Limiter, hook: Hook) -> bool:
    """Whether ``hook`` is one ``limiter`` registered (a bound method or a partial)."""
    return limiter in (getattr(hook, "__self__", None), *getattr(hook, "args", ()))


def drop_request_check(app: Flask, limiter: Limiter) -> None:
    """Remove the limiter's before-request check of default and application limits
    (the decorated views check their own limits)."""
    app.before_request_funcs[None].remove(limiter._check_request_limit)


def wrap_hooks(app: Flask, limiter: Limiter, after: Callable[[Hook], Hook],
               teardown: Callable[[Hook], Hook]) -> None:
    """Replace the limiter's app-wide after-request and teardown hooks by
    ``after(hook)`` and ``teardown(hook)``; other hooks stay as they are, in order."""
    for hooks, wrap in ((app.after_request_funcs[None], after),
                        (app.teardown_request_funcs[None], teardown)):
        hooks[:] = [wrap(hook) if is_limiters(limiter, hook) else hook for hook in hooks]
