"""OpenLineage: where the studio sends a run event when a run starts and when it ends."""
from __future__ import annotations

from studio.settings.env import VAR_DIR, env_str

__all__ = [
    "OPENLINEAGE_API_KEY", "OPENLINEAGE_ENDPOINT", "OPENLINEAGE_FILE", "OPENLINEAGE_NAMESPACE", "OPENLINEAGE_PRODUCER",
    "OPENLINEAGE_TRANSPORT", "OPENLINEAGE_URL",
]

# An OpenLineage consumer (Marquez, ...): events are POSTed to OPENLINEAGE_URL + OPENLINEAGE_ENDPOINT.
OPENLINEAGE_URL = env_str("OPENLINEAGE_URL", "")
OPENLINEAGE_ENDPOINT = env_str("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
# Sent as a bearer token to the consumer; never logged or stored with the events.
OPENLINEAGE_API_KEY = env_str("OPENLINEAGE_API_KEY", "")
# http (the default when OPENLINEAGE_URL is set), file (one JSON event per line), console (the log), off.
OPENLINEAGE_TRANSPORT = env_str("OPENLINEAGE_TRANSPORT", "http" if OPENLINEAGE_URL else "file")
OPENLINEAGE_FILE = env_str("OPENLINEAGE_FILE", str(VAR_DIR / "openlineage" / "events.jsonl"))
# The namespace of the studio's jobs in OpenLineage, and the producer URI every event carries.
OPENLINEAGE_NAMESPACE = env_str("OPENLINEAGE_NAMESPACE", "studio")
OPENLINEAGE_PRODUCER = env_str("OPENLINEAGE_PRODUCER", "https://github.com/pipeline-studio/studio")
