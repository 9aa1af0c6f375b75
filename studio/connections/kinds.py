"""The kinds of connection, their fields (which are secret), and how a job sees them.

A job gets each connection its pipeline uses as one environment variable,
`STUDIO_CONNECTION_<NAME>` (the name in capitals), holding a JSON object: `{"kind": ..., <field>: value}`
with every setting and secret. Generated code names the variable, never a value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "NAME_PATTERN", "Field", "Kind", "clean", "environment_variable"]

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
ENV_PREFIX = "STUDIO_CONNECTION_"


def environment_variable(name: str) -> str:
    """The variable a job reads the connection from (names are lower-case identifiers, so this is 1:1)."""
    return ENV_PREFIX + name.upper()


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool = False
    required: bool = False
    type: str = "string"  # "string", "integer" or "url"
    choices: tuple[str, ...] = ()
    default: Any = None
    help: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "secret": self.secret, "required": self.required,
                "type": self.type, "choices": list(self.choices), "default": self.default, "help": self.help}


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    description: str
    fields: tuple[Field, ...]
    # Fields needed together: (when setting == one of values, these fields are required).
    requires: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = field(default=())

    @property
    def settings(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields if not f.secret}

    @property
    def secrets(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields if f.secret}

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "label": self.label, "description": self.description,
                "fields": [f.describe() for f in self.fields]}


_SASL = ("SASL_PLAINTEXT", "SASL_SSL")
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("kafka", "Kafka", "A Kafka cluster, optionally with SASL authentication and TLS.", (
        Field("bootstrap_servers", "Bootstrap servers", required=True, help="host:port[,host:port...]"),
        Field("security_protocol", "Security protocol", choices=("PLAINTEXT", "SSL", *_SASL), default="PLAINTEXT"),
        Field("sasl_mechanism", "SASL mechanism", choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")),
        Field("sasl_username", "SASL username"),
        Field("sasl_password", "SASL password", secret=True),
        Field("ssl_ca_location", "CA certificate file", help="A path on the workers; the system's CAs when empty."),
        Field("ssl_key_password", "TLS key password", secret=True),
    ), requires=(("security_protocol", _SASL, ("sasl_mechanism", "sasl_username", "sasl_password")),)),
    Kind("s3", "S3 / object storage", "An S3 bucket or an S3-compatible store (MinIO).", (
        Field("endpoint_url", "Endpoint URL", type="url", help="Empty for AWS; e.g. http://minio:9000"),
        Field("region", "Region"),
        Field("bucket", "Bucket"),
        Field("access_key_id", "Access key id", secret=True, required=True),
        Field("secret_access_key", "Secret access key", secret=True, required=True),
        Field("session_token", "Session token", secret=True),
    )),
    Kind("postgres", "PostgreSQL", "A PostgreSQL database.", (
        Field("host", "Host", required=True),
        Field("port", "Port", type="integer", default=5432),
        Field("database", "Database", required=True),
        Field("user", "User", required=True),
        Field("sslmode", "SSL mode", choices=("disable", "prefer", "require", "verify-ca", "verify-full"),
              default="prefer"),
        Field("password", "Password", secret=True),
    )),
    Kind("jdbc", "JDBC database", "Any database reachable by a JDBC URL.", (
        Field("url", "JDBC URL", required=True, help="jdbc:<driver>://host:port/database"),
        Field("user", "User"),
        Field("password", "Password", secret=True),
    )),
    Kind("webhook", "Webhook", "An HTTP endpoint that receives alerts as JSON.", (
        Field("url", "URL", type="url", required=True),
        Field("token", "Bearer token", secret=True, help="Sent as `Authorization: Bearer <token>`."),
    )),
)}

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _check_value(kind: Kind, spec: Field, value: Any) -> tuple[Any, str | None]:
    """The value to store, or an error sentence. Errors never quote a secret's value."""
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"{spec.label} must be a whole number."
        return value, None
    if not isinstance(value, str):
        return None, f"{spec.label} must be text."
    value = value if spec.secret else value.strip()
    if not value:
        return None, f"{spec.label} must not be empty; leave it out instead."
    if len(value) > 4096:
        return None, f"{spec.label} is longer than 4096 characters."
    if spec.choices and value not in spec.choices:
        return None, f"{spec.label} must be one of: {', '.join(spec.choices)}."
    if spec.type == "url" and not _URL.match(value):
        return None, f"{spec.label} must be an http:// or https:// URL."
    if kind.name == "jdbc" and spec.name == "url" and not value.startswith("jdbc:"):
        return None, "JDBC URL must start with 'jdbc:'."
    return value, None


def clean(
    kind_name: str,
    *,
    settings: dict[str, Any],
    secrets: dict[str, Any],
    current_settings: dict[str, Any] | None = None,
    current_secrets: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]:
    """Apply `settings` and `secrets` (a value sets a field, null clears it) over the current ones.

    Returns the new settings, the new secrets and errors as `{"settings.<field>": [sentence]}`.
    """
    kind = KINDS[kind_name]
    errors: dict[str, list[str]] = {}
    result: dict[str, dict[str, Any]] = {"settings": dict(current_settings or {}),
                                         "secrets": dict(current_secrets or {})}
    for group, given, allowed, other in (("settings", settings, kind.settings, kind.secrets),
                                         ("secrets", secrets, kind.secrets, kind.settings)):
        for name, value in given.items():
            key = f"{group}.{name}"
            if name not in allowed:
                if name in other:
                    where = "secrets" if group == "settings" else "settings"
                    errors[key] = [f"'{name}' belongs in `{where}`, not `{group}`."]
                else:
                    known = ", ".join(allowed) or "none"
                    errors[key] = [f"{kind.label} connections have no {group[:-1]} '{name}' (known: {known})."]
                continue
            if value is None:
                result[group].pop(name, None)
                continue
            cleaned, problem = _check_value(kind, allowed[name], value)
            if problem:
                errors[key] = [problem]
            else:
                result[group][name] = cleaned
    for spec in kind.fields:
        group = "secrets" if spec.secret else "settings"
        if spec.required and spec.name not in result[group] and f"{group}.{spec.name}" not in errors:
            errors[f"{group}.{spec.name}"] = [f"{kind.label} connections need {spec.label}."]
    for setting, values, needed in kind.requires:
        if result["settings"].get(setting) in values:
            for name in needed:
                group = "secrets" if kind.secrets.get(name) else "settings"
                if name not in result[group] and f"{group}.{name}" not in errors:
                    label = (kind.secrets.get(name) or kind.settings[name]).label
                    errors[f"{group}.{name}"] = [f"{label} is needed with {setting} {result['settings'][setting]}."]
    return result["settings"], result["secrets"], errors
