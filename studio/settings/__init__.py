"""Settings: one base module plus one small module per concern, all driven by environment variables.

Every variable has an embedded default so the studio runs with no external service; README.md lists
them all.
"""
from __future__ import annotations

from studio.settings.base import *  # noqa: F401,F403
from studio.settings.database import *  # noqa: F401,F403
from studio.settings.celery import *  # noqa: F401,F403
from studio.settings.channels import *  # noqa: F401,F403
from studio.settings.engines import *  # noqa: F401,F403
from studio.settings.lineage import *  # noqa: F401,F403
