"""Channels layer: pushes run events from the worker to the browsers connected to the web server.

The default is the studio's database-backed layer (a SQLite file shared by every process on the
machine); CHANNEL_LAYER_URL=redis://... selects channels-redis for a production deployment.
"""
from __future__ import annotations

from studio.settings.env import VAR_DIR, env_str

__all__ = ["CHANNEL_LAYERS"]

_url = env_str("CHANNEL_LAYER_URL", f"sqlite:///{VAR_DIR / 'channels.sqlite3'}")
if _url.startswith(("redis://", "rediss://")):
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_url]}}
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "studio.realtime.layers.SQLiteChannelLayer",
            "CONFIG": {"path": _url.removeprefix("sqlite:///")},
        }
    }
