from __future__ import annotations

from django.urls import path

from studio.catalog import api

urlpatterns = [
    path("files/", api.FileListView.as_view()),
    path("files/schema/", api.FileSchemaView.as_view()),
]
