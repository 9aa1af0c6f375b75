"""Fixtures for the Django side: users with roles in workspaces, and logged-in API clients."""
from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from studio.access.models import Role
from studio.access.services import membership_set, workspace_create


@pytest.fixture
def workspace(db: Any) -> Any:
    return workspace_create(slug="team", name="Team")


@pytest.fixture
def other_workspace(db: Any) -> Any:
    return workspace_create(slug="elsewhere", name="Elsewhere")


def make_user(username: str, workspace: Any = None, role: str = Role.EDITOR) -> Any:
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if workspace is not None:
        membership_set(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def editor(workspace: Any) -> Any:
    return make_user("edith", workspace, Role.EDITOR)


@pytest.fixture
def operator(workspace: Any) -> Any:
    return make_user("otto", workspace, Role.OPERATOR)


@pytest.fixture
def viewer(workspace: Any) -> Any:
    return make_user("vera", workspace, Role.VIEWER)


@pytest.fixture
def outsider(other_workspace: Any) -> Any:
    return make_user("olga", other_workspace, Role.ADMIN)


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(operator: Any) -> APIClient:
    """A client logged in as an operator of the `team` workspace (may edit and run)."""
    return client_for(operator)
