from __future__ import annotations

from django.urls import path

from studio.catalog import api

urlpatterns = [
    path("files/", api.FileListView.as_view()),
    path("files/schema/", api.FileSchemaView.as_view()),
    path("catalog/datasets/", api.DatasetListView.as_view()),
    path("catalog/datasets/<int:pk>/", api.DatasetDetailView.as_view()),
    path("catalog/datasets/<int:pk>/rows/", api.DatasetRowsView.as_view()),
    path("catalog/datasets/<int:pk>/refresh/", api.DatasetRefreshView.as_view()),
    path("catalog/datasets/<int:pk>/quality/", api.DatasetQualityView.as_view()),
]
