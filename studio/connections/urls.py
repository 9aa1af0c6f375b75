from __future__ import annotations

from django.urls import path

from studio.connections import api

urlpatterns = [
    path("connections/", api.ConnectionListView.as_view()),
    path("connections/kinds/", api.ConnectionKindsView.as_view()),
    path("connections/<int:pk>/", api.ConnectionDetailView.as_view()),
]
