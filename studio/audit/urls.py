from __future__ import annotations

from django.urls import path

from studio.audit import api

urlpatterns = [path("audit/", api.AuditEventListView.as_view())]
