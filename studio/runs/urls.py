from __future__ import annotations

from django.urls import path

from studio.runs import api

urlpatterns = [
    path("pipelines/<int:pk>/runs/", api.PipelineRunsView.as_view()),
    path("pipelines/<int:pk>/schedules/", api.PipelineSchedulesView.as_view()),
    path("pipelines/<int:pk>/deployments/", api.PipelineDeploymentsView.as_view()),
    path("runs/", api.RunListView.as_view()),
    path("runs/<int:pk>/", api.RunDetailView.as_view()),
    path("runs/<int:pk>/nodes/", api.RunNodesView.as_view()),
    path("runs/<int:pk>/metrics/", api.RunMetricsView.as_view()),
    path("runs/<int:pk>/progress/", api.RunProgressView.as_view()),
    path("runs/<int:pk>/alerts/", api.RunAlertsView.as_view()),
    path("runs/<int:pk>/log/", api.RunLogView.as_view()),
    path("runs/<int:pk>/cancel/", api.RunCancelView.as_view()),
    path("schedules/<int:pk>/", api.ScheduleDetailView.as_view()),
    path("deployments/", api.DeploymentListView.as_view()),
    path("deployments/<int:pk>/", api.DeploymentDetailView.as_view()),
    path("deployments/<int:pk>/stop/", api.DeploymentStopView.as_view()),
    path("deployments/<int:pk>/start/", api.DeploymentStartView.as_view()),
    path("deployments/<int:pk>/upgrade/", api.DeploymentUpgradeView.as_view()),
    path("deployments/<int:pk>/progress/", api.DeploymentProgressView.as_view()),
    path("webhooks/", api.WebhookListView.as_view()),
    path("webhooks/<int:pk>/", api.WebhookDetailView.as_view()),
]
