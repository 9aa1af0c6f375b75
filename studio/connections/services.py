"""Writes for connections, and handing a run the connections its pipeline uses."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from compiler.nodes import CONNECTION_KINDS
from runners.output import LogLine, Output
from studio.access.models import Workspace
from studio.connections import crypto
from studio.connections.kinds import KINDS, clean, environment_variable
from studio.connections.models import Connection
from studio.connections.selectors import connection_usages, referenced_connections
from studio.core.api import Conflict

__all__ = [
    "ConnectionUnavailable", "RunConnections", "connection_create", "connection_delete", "connection_update",
    "connections_rotate", "run_connections",
]

# Secrets shorter than this are not masked in run output (masking "ab" would garble the log).
MIN_MASKED_LENGTH = 4
MASK = "********"


class ConnectionUnavailable(RuntimeError):
    """A run's pipeline names a connection its workspace does not have (or cannot decrypt)."""


def _check_name_free(workspace: Workspace, name: str, exclude: int | None = None) -> None:
    if Connection.objects.filter(workspace=workspace, name=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": [f"Workspace '{workspace.slug}' already has a connection named '{name}'."]})


def _check_unused(connection: Connection, doing: str) -> None:
    """Pipelines name connections in their documents; other objects (alert webhooks) point at them."""
    users = [f"pipeline {name}" for name in
             connection_usages(workspace_ids=[connection.workspace_id]).get((connection.workspace_id, connection.name), [])]
    for relation in Connection._meta.related_objects:
        count = relation.related_model._base_manager.filter(**{relation.field.name: connection}).count()
        if count:
            users.append(f"{count} {relation.related_model._meta.verbose_name}(s)")
    if users:
        raise Conflict(
            f"Connection '{connection.name}' is used by {', '.join(users)}; "
            f"change them to use another connection before you {doing} it.",
        )


def _store_secrets(connection: Connection, secrets: dict[str, str]) -> None:
    connection.secrets_ciphertext = crypto.encrypt(secrets)
    connection.secret_names = sorted(secrets)
    connection.secrets_updated_at = timezone.now()


@transaction.atomic
def connection_create(
    *, workspace: Workspace, name: str, kind: str, user: Any, description: str = "",
    settings: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
) -> Connection:
    if kind not in KINDS:
        raise ValidationError({"kind": [f"Unknown kind '{kind}'; one of: {', '.join(KINDS)}."]})
    _check_name_free(workspace, name)
    clean_settings, clean_secrets, errors = clean(kind, settings=settings or {}, secrets=secrets or {})
    if errors:
        raise ValidationError(errors)
    connection = Connection(workspace=workspace, name=name, kind=kind, description=description,
                            settings=clean_settings, created_by=user)
    _store_secrets(connection, clean_secrets)
    connection.full_clean()
    connection.save()
    return connection


@transaction.atomic
def connection_update(
    *, connection: Connection, name: str | None = None, description: str | None = None,
    settings: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
) -> Connection:
    """Change a connection: given settings and secrets replace the stored ones (null clears one)."""
    connection = Connection.objects.select_for_update().select_related("workspace").get(pk=connection.pk)
    if name is not None and name != connection.name:
        _check_name_free(connection.workspace, name, exclude=connection.pk)
        _check_unused(connection, "rename")
        connection.name = name
    if description is not None:
        connection.description = description
    if settings is not None or secrets is not None:
        # Secrets are decrypted only to change them; otherwise their names are all the check needs.
        current = (crypto.decrypt(connection.secrets_ciphertext, what=f"connection '{connection.name}'")
                   if secrets else dict.fromkeys(connection.secret_names, ""))
        new_settings, new_secrets, errors = clean(
            connection.kind, settings=settings or {}, secrets=secrets or {},
            current_settings=connection.settings, current_secrets=current,
        )
        if errors:
            raise ValidationError(errors)
        connection.settings = new_settings
        if secrets:
            _store_secrets(connection, new_secrets)
    connection.full_clean()
    connection.save()
    return connection


@transaction.atomic
def connection_delete(*, connection: Connection) -> None:
    _check_unused(connection, "delete")
    connection.delete()


def connections_rotate() -> int:
    """Re-encrypt every connection's secrets with the first configured key; returns how many."""
    count = 0
    for connection in Connection.objects.exclude(secrets_ciphertext=""):
        with transaction.atomic():
            Connection.objects.filter(pk=connection.pk).update(
                secrets_ciphertext=crypto.rotate(connection.secrets_ciphertext),
            )
        count += 1
    return count


@dataclass(frozen=True)
class RunConnections:
    """What a run's job gets: one environment variable per connection it uses, and the secret values
    to mask in anything the job prints. Neither is ever in a repr."""

    env: dict[str, str] = field(default_factory=dict, repr=False)
    secret_values: tuple[str, ...] = field(default=(), repr=False)

    def mask(self, text: str) -> str:
        for value in self.secret_values:
            text = text.replace(value, MASK)
        return text

    def mask_output(self, output: Sequence[Output]) -> list[Output]:
        if not self.secret_values:
            return list(output)
        return [replace(item, text=self.mask(item.text)) if isinstance(item, LogLine) else item for item in output]


def _a(label: str) -> str:
    """The label with its article as spoken ('an S3 ...', 'a Kafka')."""
    return f"{'an' if label[:1].upper() in 'AEFHILMNORSX' else 'a'} {label}"


def run_connections(*, workspace: Workspace, document: Any) -> RunConnections:
    """Decrypt the connections the document's nodes name, for one run of it in the workspace."""
    wanted = referenced_connections(document)
    if not wanted:
        return RunConnections()
    types = {str(n.get("id")): n.get("type") for n in document.get("nodes", []) if isinstance(n, dict)}
    found = {c.name: c for c in Connection.objects.filter(workspace=workspace, name__in=set(wanted.values()))}
    env: dict[str, str] = {}
    values: set[str] = set()
    for node, name in wanted.items():
        connection = found.get(name)
        if connection is None:
            raise ConnectionUnavailable(
                f"Node '{node}' uses connection '{name}', which workspace '{workspace.slug}' does not have; "
                "an admin can add it under Connections."
            )
        variable = environment_variable(name)
        if variable in env:
            continue
        try:
            secrets = crypto.decrypt(connection.secrets_ciphertext, what=f"connection '{name}'")
        except crypto.SecretsUnreadable as error:
            raise ConnectionUnavailable(str(error)) from None
        kind = KINDS[connection.kind]
        defaults = {f.name: f.default for f in kind.fields if f.default is not None}
        env[variable] = json.dumps({"kind": connection.kind, **defaults, **connection.settings, **secrets})
        for value in secrets.values():
            if len(value) >= MIN_MASKED_LENGTH:
                # Also as it reads inside JSON text (quotes and backslashes escaped).
                values.update({value, json.dumps(value)[1:-1]})
    for node, name in wanted.items():
        # Each node's type decides which kinds it can use (the studio checks this when it validates; a
        # document written before a connection was replaced by one of another kind is refused here).
        accepted = CONNECTION_KINDS.get(str(types.get(node)), ())
        kind_name = found[name].kind
        if accepted and kind_name not in accepted:
            needed = " or ".join(KINDS[k].label for k in accepted)
            raise ConnectionUnavailable(
                f"Node '{node}' uses connection '{name}', which is {_a(KINDS[kind_name].label)} connection; "
                f"a {types.get(node)} node needs {_a(needed)} connection."
            )
    # Longest first, so a secret containing another is masked whole.
    return RunConnections(env=env, secret_values=tuple(sorted(values, key=len, reverse=True)))
