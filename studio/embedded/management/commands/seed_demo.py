"""Seed the demo workspace, its admin login, sample data and the demo pipelines. Safe to run again: a
demo pipeline is created only when the workspace has none of its name, so new ones reach old studios."""
from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from studio.access.models import Role, Workspace
from studio.access.services import membership_set, workspace_create
from studio.embedded.demo import DEMO_PIPELINES, write_sample_data
from studio.pipelines.models import Pipeline
from studio.pipelines.services import pipeline_create

DEMO_WORKSPACE = "demo"


def admin_credentials() -> tuple[str, str]:
    return os.environ.get("STUDIO_ADMIN_USER", "admin"), os.environ.get("STUDIO_ADMIN_PASSWORD", "admin")


class Command(BaseCommand):
    help = "Create the demo workspace, the admin login, sample landing-zone data and demo pipelines."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        username, password = admin_credentials()
        users = get_user_model().objects
        admin = users.filter(username=username).first()
        if admin is None:
            admin = users.create_superuser(username=username, password=password, email="")
            self.stdout.write(f"Created the admin login '{username}'.")
        workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE).first() or workspace_create(
            slug=DEMO_WORKSPACE, name="Demo workspace"
        )
        membership_set(workspace=workspace, user=admin, role=Role.ADMIN)
        for path in write_sample_data(settings.STUDIO_DATA_DIR):
            self.stdout.write(f"Wrote sample data {path}.")
        for document in DEMO_PIPELINES:
            if not Pipeline.objects.filter(workspace=workspace, name=document["name"]).exists():
                pipeline_create(
                    workspace=workspace, name=document["name"], description=document["description"],
                    document=document, user=admin,
                )
                self.stdout.write(f"Created the demo pipeline '{document['name']}'.")
