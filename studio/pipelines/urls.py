from __future__ import annotations

from django.urls import path

from studio.pipelines import api

urlpatterns = [
    path("pipelines/", api.PipelineListView.as_view()),
    path("pipelines/<int:pk>/", api.PipelineDetailView.as_view()),
    path("pipelines/<int:pk>/versions/", api.VersionListView.as_view()),
    path("pipelines/<int:pk>/versions/<int:number>/", api.VersionDetailView.as_view()),
    path("validate/", api.ValidateView.as_view()),
    path("compile/", api.CompileView.as_view()),
]
