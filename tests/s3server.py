"""A local S3-compatible server for tests: moto's server on 127.0.0.1 (a free port), with one bucket
and one IAM user whose keys are the only ones it accepts (authentication on, as a real store has it).

    with S3Server() as s3:
        s3.endpoint, s3.access_key_id, s3.secret_access_key, s3.bucket
"""
from __future__ import annotations

import json
import socket
import urllib.request
import uuid
from typing import Any

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Server:
    def __init__(self, bucket: str = "lake") -> None:
        self.bucket = bucket
        self.region = REGION
        self.access_key_id = ""
        self.secret_access_key = ""
        self.endpoint = ""
        self._server: Any = None

    def __enter__(self) -> S3Server:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        # Set up without authentication (moto's default), then require it for everything after.
        iam = self.client("iam", "setup", "setup")
        user = unique_name("studio")  # moto keeps its state per process: one user per server
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        iam.put_user_policy(UserName=user, PolicyName="lake", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }))  # fmt: skip
        s3 = self.client("s3", "setup", "setup")
        if self.bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=self.bucket)
        self.access_key_id, self.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        return self

    def __exit__(self, *exc_info: object) -> None:
        # moto keeps its state per process: let authentication off again for other tests' mocks.
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"inf", method="POST",
                                         headers={"Content-Type": "text/plain"})  # fmt: skip
        try:
            urllib.request.urlopen(request, timeout=10).close()
        finally:
            self._server.stop()

    def client(self, service: str = "s3", key: str | None = None, secret: str | None = None) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=key or self.access_key_id,
                            aws_secret_access_key=secret or self.secret_access_key)  # fmt: skip

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def connection(self, **overrides: Any) -> dict[str, Any]:
        """The JSON a job gets in STUDIO_CONNECTION_<NAME> for an S3 connection to this server."""
        return {"kind": "s3", "endpoint_url": self.endpoint, "region": self.region, "bucket": self.bucket,
                "access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key, **overrides}


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
