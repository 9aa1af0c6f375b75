"""Encryption of connection secrets at rest (Fernet: AES-128-CBC with HMAC-SHA256).

The key comes from the environment: `STUDIO_ENCRYPTION_KEY`, one or more Fernet keys separated by
commas (the first encrypts, every one decrypts, so keys can be rotated), or else a key derived from
the Django secret key with HKDF. The derived key always decrypts too, so a studio that starts out on
it can move to an explicit key and then `manage.py rotate_connection_secrets`.
"""
from __future__ import annotations

import base64
import json
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["KEY_VARIABLE", "SecretsUnreadable", "decrypt", "encrypt", "rotate"]

KEY_VARIABLE = "STUDIO_ENCRYPTION_KEY"
_GENERATE = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class SecretsUnreadable(RuntimeError):
    """Stored secrets that no configured key decrypts (the key was changed or lost)."""


def _derived_key() -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"studio.connections", info=b"connection secrets v1")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


def _fernet() -> MultiFernet:
    configured = [k.strip() for k in os.environ.get(KEY_VARIABLE, "").split(",") if k.strip()]
    keys = []
    for position, key in enumerate(configured, start=1):
        try:
            keys.append(Fernet(key))
        except ValueError:
            raise ImproperlyConfigured(
                f"{KEY_VARIABLE}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes). "
                f"Generate one with: {_GENERATE}"
            ) from None
    keys.append(Fernet(_derived_key()))
    return MultiFernet(keys)


def encrypt(values: dict[str, str]) -> str:
    """The secrets as one token ("" for none)."""
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(token: str, *, what: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretsUnreadable(
            f"The secrets of {what} cannot be decrypted with the configured key ({KEY_VARIABLE}, or the key "
            "derived from DJANGO_SECRET_KEY): was the key changed? Set the old key again (keys can be listed "
            "comma-separated), or enter the secrets again."
        ) from None


def rotate(token: str) -> str:
    """The same secrets encrypted with the first key."""
    return _fernet().rotate(token.encode()).decode() if token else ""
