"""A moto server (real HTTP S3/STS/IAM endpoint) on loopback, shared by the AWS connector tests."""

import socket
from contextlib import contextmanager

import boto3
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server():
    """Yields the endpoint URL of a fresh moto server; boto3 talks HTTP to it."""
    from moto.server import ThreadedMotoServer
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(endpoint: str, service: str = "s3", **creds):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", **creds)


@pytest.fixture(scope="module")
def moto_s3():
    """An S3 client on a moto server (module-scoped: one server per test module)."""
    with moto_server() as endpoint:
        yield client(endpoint)
