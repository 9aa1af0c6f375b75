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

__all__ = ["Conflict", "InvalidDocument", "exception_handler"]

logger = logging.getLogger(__name__)


class _BodyError(exceptions.APIException):
    """An API error answered with a JSON body of its own shape (DRF would turn values into strings)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail", self.default_detail))
        self.body = body


class Conflict(_BodyError):
    """409: the request is based on a state that has changed since (e.g. a stale version)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object changed since you loaded it."
    default_code = "conflict"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__({"detail": detail, **extra})


class InvalidDocument(_BodyError):
    """400 with a validation result: `{"valid": false, "errors": [...], "warnings": [...], ...}`."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The pipeline document is not valid."
    default_code = "invalid_document"


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
        if isinstance(exc, _BodyError):
            response.data = exc.body
        return response
    reference = uuid.uuid4().hex[:12]
    logger.exception("Unhandled error in %s (reference %s)", context.get("view"), reference)
    return Response(
        {"detail": f"The studio hit an internal error; it has been logged with reference {reference}."},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
