from __future__ import annotations

from django.urls import path

from studio.lineage import api

urlpatterns = [
    path("lineage/datasets/<int:pk>/", api.DatasetLineageView.as_view()),
    path("lineage/datasets/<int:pk>/impact/", api.DatasetImpactView.as_view()),
    path("pipelines/<int:pk>/versions/<int:number>/lineage/", api.VersionLineageView.as_view()),
    path("runs/<int:pk>/lineage/", api.RunLineageView.as_view()),
    path("runs/<int:pk>/quality/", api.RunQualityView.as_view()),
    path("runs/<int:pk>/openlineage/", api.RunOpenLineageView.as_view()),
]
