"""The single-page editor: every non-API path answers the built index.html."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

__all__ = ["api_not_found", "spa_index"]


def spa_index(request: HttpRequest) -> HttpResponse:
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(
            "The editor is not built yet: run scripts/start (or `npm run build` in frontend/).",
            status=503, content_type="text/plain",
        )
    return HttpResponse(index.read_bytes(), content_type="text/html")


def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse({"detail": f"No API endpoint at {request.path}."}, status=404)
