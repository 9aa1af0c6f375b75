"""Where the connectors find Kafka, the Iceberg catalog and the warehouse: options, then environment.

Nothing here imports Django or the studio: generated jobs, Spark's Python workers and the runner-side
bridge all call these functions in processes of their own, configured only by environment variables
that the runner exports (and, for a few things, data source options).
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "CONNECTION_OPTION",
    "ConfigError",
    "catalog_properties",
    "check_location_in_bucket",
    "connection_settings",
    "kafka_bootstrap_servers",
    "kafka_config",
    "load_catalog",
    "option_flag",
    "option_list",
    "s3_connection_bucket",
    "s3_connection_properties",
    "s3_environment_properties",
]

# librdkafka settings that hold secrets or connection details beyond the bootstrap address
# (security.protocol, sasl.*, ssl.*) come from this variable as a JSON object, so they never appear
# in generated code, options or logs.
KAFKA_CONFIG_VARIABLE = "STUDIO_KAFKA_CONFIG"
DEFAULT_CATALOG_NAME = "studio"


class ConfigError(RuntimeError):
    """A connector was asked to reach a service that is not configured."""


def option_flag(value: Any, default: bool) -> bool:
    """A data source's boolean option: `true`/`1`/`yes`/`on` (any case); unset or empty -> default."""
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def option_list(value: Any) -> list[str]:
    """A data source's list option: a JSON array or a comma-separated list; unset or empty -> []."""
    if value is None or value == "":
        return []
    text = str(value).strip()
    if text.startswith("["):
        return [str(v) for v in json.loads(text)]
    return [part.strip() for part in text.split(",") if part.strip()]


def _option(options: Mapping[str, Any] | None, name: str) -> str | None:
    if not options:
        return None
    value = options.get(name)
    if value is None:
        # Spark hands data sources a case-insensitive dict; plain dicts from the bridge are not.
        lowered = name.lower()
        for key, candidate in options.items():
            if key.lower() == lowered:
                value = candidate
                break
    return None if value is None or value == "" else str(value)


# A stored connection reaches a job as one environment variable holding a JSON object (the runner
# exports it; studio/connections/kinds.py). Generated code names the variable in this option.
CONNECTION_OPTION = "connectionVariable"
_KAFKA_CONNECTION_KEYS = {
    "bootstrap_servers": "bootstrap.servers", "security_protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism", "sasl_username": "sasl.username", "sasl_password": "sasl.password",
    "ssl_ca_location": "ssl.ca.location", "ssl_key_password": "ssl.key.password",
}


def connection_settings(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The connection named by option `connectionVariable` ({} without one)."""
    variable = _option(options, CONNECTION_OPTION)
    if variable is None:
        return {}
    value = os.environ.get(variable, "")
    if not value:
        raise ConfigError(f"The connection variable {variable} is not set: runs get it from the studio's runner.")
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ConfigError(f"The connection variable {variable} does not hold a JSON object.")
    return parsed


def _kafka_connection(options: Mapping[str, Any] | None) -> dict[str, Any]:
    connection = connection_settings(options)
    if connection and connection.get("kind") != "kafka":
        raise ConfigError(f"The connection in {_option(options, CONNECTION_OPTION)} is not a Kafka connection.")
    return {key: connection[name] for name, key in _KAFKA_CONNECTION_KEYS.items() if connection.get(name)}


def kafka_bootstrap_servers(options: Mapping[str, Any] | None = None) -> str:
    """The bootstrap address: option `bootstrapServers`, the connection, `KAFKA_BOOTSTRAP_SERVERS`, or the
    dev-broker file.

    The dev broker (runners/devbroker.py) writes its address to a file; `STUDIO_KAFKA_BOOTSTRAP_FILE`
    names it.
    """
    explicit = (_option(options, "bootstrapServers") or _kafka_connection(options).get("bootstrap.servers")
                or os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip())
    if explicit:
        return explicit
    address_file = os.environ.get("STUDIO_KAFKA_BOOTSTRAP_FILE", "").strip()
    if address_file:
        path = Path(address_file)
        try:
            address = path.read_text().strip()
        except FileNotFoundError:
            raise ConfigError(
                f"The dev Kafka broker's address file {path} does not exist: is the dev broker running?"
            ) from None
        if address:
            return address
    raise ConfigError(
        "No Kafka broker is configured: set KAFKA_BOOTSTRAP_SERVERS, or STUDIO_KAFKA_BOOTSTRAP_FILE to the "
        "dev broker's address file."
    )


def kafka_config(options: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """librdkafka settings: bootstrap address, `STUDIO_KAFKA_CONFIG` (JSON), `kafka.*` options, overrides."""
    config: dict[str, Any] = {"bootstrap.servers": kafka_bootstrap_servers(options)}
    extra = os.environ.get(KAFKA_CONFIG_VARIABLE, "").strip()
    if extra:
        try:
            parsed = json.loads(extra)
        except ValueError as error:
            raise ConfigError(f"{KAFKA_CONFIG_VARIABLE} is not a JSON object: {error}") from None
        if not isinstance(parsed, dict):
            raise ConfigError(f"{KAFKA_CONFIG_VARIABLE} must be a JSON object of librdkafka settings.")
        config.update({str(k): v for k, v in parsed.items()})
    config.update(_kafka_connection(options))
    for key, value in (options or {}).items():
        if key.lower().startswith("kafka."):
            config[key[len("kafka.") :]] = value
    config.update(overrides)
    return config


# An S3 connection's fields as pyiceberg FileIO properties. `bucket` has no property: where a table's
# files live is the catalog's business (its warehouse, the table's location); `s3_connection_bucket`
# lets a reader or writer check that the table is in the connection's bucket.
_S3_CONNECTION_KEYS = {
    "access_key_id": "s3.access-key-id", "secret_access_key": "s3.secret-access-key",
    "session_token": "s3.session-token", "endpoint_url": "s3.endpoint", "region": "s3.region",
}


def _s3_connection(options: Mapping[str, Any] | None) -> dict[str, Any]:
    connection = connection_settings(options)
    if connection and connection.get("kind") != "s3":
        raise ConfigError(
            f"The connection in {_option(options, CONNECTION_OPTION)} is a {connection.get('kind')} connection, "
            "not an S3 connection: Iceberg nodes need an S3 connection."
        )
    return connection


def s3_connection_properties(options: Mapping[str, Any] | None) -> dict[str, str]:
    """pyiceberg S3 properties of the S3 connection named by option `connectionVariable` ({} without one)."""
    connection = _s3_connection(options)
    properties = {key: str(connection[name]) for name, key in _S3_CONNECTION_KEYS.items() if connection.get(name)}
    if "s3.endpoint" in properties:
        # MinIO and other S3-compatible stores address buckets by path, not by virtual host.
        properties["s3.force-virtual-addressing"] = "false"
    return properties


def s3_connection_bucket(options: Mapping[str, Any] | None) -> str | None:
    """The bucket an S3 connection is restricted to (its `bucket` setting), if any."""
    bucket = _s3_connection(options).get("bucket")
    return str(bucket) if bucket else None


def check_location_in_bucket(location: str, options: Mapping[str, Any] | None, what: str) -> None:
    """Refuse a table outside the bucket of the S3 connection used for it, with a sentence saying so."""
    bucket = s3_connection_bucket(options)
    if bucket is None:
        return
    scheme, _, rest = location.partition("://")
    if scheme not in ("s3", "s3a", "s3n") or rest.split("/", 1)[0] != bucket:
        raise ConfigError(
            f"{what} is at {location}, outside bucket '{bucket}' of the connection in "
            f"{_option(options, CONNECTION_OPTION)}: point ICEBERG_WAREHOUSE at that bucket, or use another connection."
        )


def catalog_properties(options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """pyiceberg SQL-catalog properties from `ICEBERG_CATALOG_URI`, `ICEBERG_WAREHOUSE` and `AWS_*`.

    With option `connectionVariable` naming an S3 connection, that connection's keys, endpoint and
    region replace the `AWS_*` settings (all of them: the two are never mixed)."""
    uri = os.environ.get("ICEBERG_CATALOG_URI", "").strip()
    warehouse = os.environ.get("ICEBERG_WAREHOUSE", "").strip()
    var_dir = os.environ.get("STUDIO_VAR_DIR", "").strip()
    if not uri:
        if not var_dir:
            raise ConfigError("No Iceberg catalog is configured: set ICEBERG_CATALOG_URI (or STUDIO_VAR_DIR).")
        uri = f"sqlite:///{Path(var_dir).resolve() / 'iceberg' / 'catalog.sqlite3'}"
    if not warehouse:
        if not var_dir:
            raise ConfigError("No Iceberg warehouse is configured: set ICEBERG_WAREHOUSE (or STUDIO_VAR_DIR).")
        warehouse = f"file://{Path(var_dir).resolve() / 'warehouse'}"
    if "://" not in warehouse:
        warehouse = f"file://{Path(warehouse).resolve()}"
    properties = {"uri": uri, "warehouse": warehouse}
    properties.update(s3_connection_properties(options) if _option(options, CONNECTION_OPTION) else s3_environment_properties())
    return properties


def s3_environment_properties() -> dict[str, str]:
    mapping = {
        "AWS_ACCESS_KEY_ID": "s3.access-key-id",
        "AWS_SECRET_ACCESS_KEY": "s3.secret-access-key",
        "AWS_SESSION_TOKEN": "s3.session-token",
        "AWS_ENDPOINT_URL": "s3.endpoint",
        "AWS_ENDPOINT_URL_S3": "s3.endpoint",
        "AWS_REGION": "s3.region",
        "AWS_DEFAULT_REGION": "s3.region",
    }
    properties: dict[str, str] = {}
    for variable, key in mapping.items():
        value = os.environ.get(variable, "").strip()
        if value and key not in properties:
            properties[key] = value
    if "s3.endpoint" in properties:
        # MinIO and other S3-compatible stores address buckets by path, not by virtual host.
        properties.setdefault("s3.force-virtual-addressing", "false")
    return properties


_catalogs: dict[tuple[tuple[str, str], ...], Any] = {}
_catalogs_lock = threading.Lock()


def load_catalog(name: str = DEFAULT_CATALOG_NAME, options: Mapping[str, Any] | None = None) -> Any:
    """The studio's pyiceberg SQL catalog (SQLite file by default, PostgreSQL in production), cached.

    A SQLite catalog's folder is created on first use; local warehouse folders are created too.
    `options` may name an S3 connection (`connectionVariable`) whose credentials the catalog's FileIO uses.
    """
    properties = catalog_properties(options)
    key = tuple(sorted(properties.items())) + (("name", name),)
    with _catalogs_lock:
        catalog = _catalogs.get(key)
        if catalog is None:
            catalog = _open_catalog(name, properties)
            _catalogs[key] = catalog
        return catalog


def _open_catalog(name: str, properties: dict[str, str]) -> Any:
    from pyiceberg.catalog.sql import SqlCatalog

    uri = properties["uri"]
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    warehouse = properties["warehouse"]
    if warehouse.startswith("file://"):
        Path(warehouse[len("file://") :]).mkdir(parents=True, exist_ok=True)
    from runners.connectors.retry import retry_transient

    # Several processes may create the catalog's tables at the same moment; one of them wins.
    return retry_transient(lambda: SqlCatalog(name, **properties), what="open the Iceberg catalog")
