"""URL map: the REST API under /api/, the OpenAPI schema, and the editor everywhere else."""
from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from studio.core.views import api_not_found, spa_index

api_patterns = [
    path("", include("studio.access.urls")),
    path("", include("studio.pipelines.urls")),
    path("", include("studio.runs.urls")),
    path("", include("studio.catalog.urls")),
    path("", include("studio.lineage.urls")),
    path("", include("studio.connections.urls")),
    path("", include("studio.audit.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema")),
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    re_path(r"^(?!api/|static/|ws/).*$", spa_index),
]
