from __future__ import annotations

from django.urls import path

from studio.access import api

urlpatterns = [
    path("auth/csrf/", api.CsrfView.as_view()),
    path("auth/login/", api.LoginView.as_view()),
    path("auth/logout/", api.LogoutView.as_view()),
    path("auth/token/", api.TokenView.as_view()),
    path("auth/me/", api.MeView.as_view()),
    path("workspaces/", api.WorkspaceListView.as_view()),
    path("workspaces/<int:pk>/", api.WorkspaceDetailView.as_view()),
    path("workspaces/<int:pk>/members/", api.MemberListView.as_view()),
    path("workspaces/<int:pk>/members/<int:user_id>/", api.MemberDetailView.as_view()),
    path("users/", api.UserListView.as_view()),
]
