"""Cross-cutting API pieces: the JSON-only exception handler and small view helpers."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

__all__ = ["Conflict", "exception_handler"]

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """409: the request is based on a state that has changed since (e.g. a stale version)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object changed since you loaded it."
    default_code = "conflict"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.extra = extra


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every error is JSON with a sentence; unexpected ones are logged and answer a reference."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(exc, Conflict):
            response.data = {"detail": str(exc.detail), **exc.extra}
        return response
    reference = uuid.uuid4().hex[:12]
    logger.exception("Unhandled error in %s (reference %s)", context.get("view"), reference)
    return Response(
        {"detail": f"The studio hit an internal error; it has been logged with reference {reference}."},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
