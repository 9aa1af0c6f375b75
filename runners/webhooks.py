"""Alert delivery: POST one alert to one webhook connection, record the attempt; the service retries
with backoff.

The body is a small versioned JSON document. Each delivery carries its id in `X-Studio-Delivery`
(the same on every attempt, so a receiver can drop duplicates) and, when the connection has a
token, `Authorization: Bearer <token>`; the token is decrypted for the request and never logged.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from studio.connections import crypto
from studio.runs import services
from studio.runs.models import AlertDelivery

__all__ = ["PAYLOAD_FORMAT", "deliver", "payload"]

logger = logging.getLogger(__name__)

PAYLOAD_FORMAT = "studio.alert/v1"
_ERROR_BODY = 300  # characters of an error answer kept in the delivery's history


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to fix (urllib would resend a POST as a GET without its body)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def payload(delivery: AlertDelivery) -> dict[str, Any]:
    alert = delivery.alert
    run = alert.run
    return {
        "format": PAYLOAD_FORMAT,
        "alert": {"run_seq": alert.seq, "node": alert.node, "severity": alert.severity, "message": alert.message,
                  "at": alert.at.isoformat()},
        "run": {"id": run.id, "pipeline": run.pipeline_id, "pipeline_name": run.pipeline.name,
                "workspace": run.pipeline.workspace.slug, "version": run.version.number, "engine": run.engine},
        "delivery": {"id": delivery.id, "attempt": delivery.attempts},
    }


def _post(delivery: AlertDelivery) -> tuple[int | None, str]:
    """(HTTP status or None when there was no answer, error text or "")."""
    body = json.dumps(payload(delivery)).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "pipeline-studio-webhooks/1",
               "X-Studio-Delivery": str(delivery.id)}
    if delivery.webhook is not None:
        connection = delivery.webhook.connection
        try:
            token = crypto.decrypt(connection.secrets_ciphertext, what=f"connection '{connection.name}'").get("token")
        except crypto.SecretsUnreadable as error:
            return None, str(error)
        if token:
            headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(delivery.url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=settings.STUDIO_WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        answer = error.read().decode(errors="replace")[:_ERROR_BODY].strip()
        return error.code, f"The webhook answered {error.code} {error.reason}" + (f": {answer}" if answer else ".")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return None, f"No answer from the webhook: {reason}."


def deliver(delivery_id: int) -> str | None:
    """Make the next attempt of a delivery if it is due; its status afterwards (None: not due)."""
    lease = settings.STUDIO_WEBHOOK_TIMEOUT_SECONDS + 30
    delivery = services.delivery_claim(delivery_id=delivery_id, lease_seconds=lease)
    if delivery is None:
        return None
    started = time.monotonic()
    status_code, error = _post(delivery)
    if error:
        logger.warning("Alert delivery %s to %s, attempt %s: %s", delivery.id, delivery.url, delivery.attempts, error)
    recorded = services.delivery_record_attempt(
        delivery_id=delivery.id, status_code=status_code, error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return recorded.status
