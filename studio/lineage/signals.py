"""Run hooks: lineage, catalog and OpenLineage follow every run's state machine.

`run_transition` records each status change as a `RunEvent` row, whoever makes it (the worker, the
reaper, a cancel). When a run starts running its lineage is recorded and START is sent; when it
finishes the catalog learns from it and its end event is sent. The work runs after the transition
commits, in the process that made it, and never fails the transition (see services' hooks).
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from studio.lineage import services
from studio.runs.models import FINISHED, RunEvent, RunStatus

__all__ = ["on_run_event"]


@receiver(post_save, sender=RunEvent, dispatch_uid="studio.lineage.on_run_event")
def on_run_event(sender: Any, instance: RunEvent, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    run_id = instance.run_id
    if instance.to_status == RunStatus.RUNNING:
        transaction.on_commit(lambda: services.run_started(run_id=run_id))
    elif instance.to_status in FINISHED:
        transaction.on_commit(lambda: services.run_finished(run_id=run_id))
