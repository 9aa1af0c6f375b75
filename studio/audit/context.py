"""Who is acting: the request's user (set by the middleware), or someone named for a block of code.

The audit trail reads it when it records an event. Outside a request (Celery workers, the scheduler,
management commands) nobody is acting unless `acting_as` says so: the event's actor is the studio.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse

__all__ = ["AuditContextMiddleware", "acting_as", "current_actor"]

# A request (whose `user` DRF sets once it has authenticated it) or a user.
_acting: contextvars.ContextVar[Any] = contextvars.ContextVar("studio_audit_actor", default=None)


def current_actor() -> Any:
    """The authenticated user acting now, or None for the studio itself."""
    holder = _acting.get()
    user = getattr(holder, "user", None) if isinstance(holder, HttpRequest) else holder
    return user if user is not None and getattr(user, "is_authenticated", False) else None


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    token = _acting.set(user)
    try:
        yield
    finally:
        _acting.reset(token)


class AuditContextMiddleware:
    """Makes the request's user the actor of whatever the request changes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _acting.set(request)
        try:
            return self.get_response(request)
        finally:
            _acting.reset(token)
