"""TLS, mutual TLS and API keys through the Python SDK (docs/SECURITY.md).

Each test starts its own Sundial with security flags (the session server
has none). Certificates are made by `openssl` in a temporary directory,
never checked in.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.client import Client, TLSConfig
from temporalio.service import RPCError, RPCStatusCode

from helpers import event_names, new_worker

LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+), ([^,]+, [^,]+),")


@activity.defn
async def secure_greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class SecureHello:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(secure_greet, name, start_to_close_timeout=timedelta(seconds=10))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Sundial process started with extra flags."""

    def __init__(self, tmp: Path, *flags: str) -> None:
        # (Not at module level: the workflow sandbox re-imports this module
        # and refuses Path.resolve.)
        binary = os.environ.get("SUNDIAL_BIN") or str(Path(__file__).resolve().parent.parent.parent / "bin" / "sundial")
        self.port = _free_port()
        self.out = tmp / f"stdout-{self.port}.log"
        self.proc = subprocess.Popen(
            [binary, "start", "--ip", "127.0.0.1", "--port", str(self.port), "--memory", "--headless", *flags],
            stdout=open(self.out, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = LISTENING_RE.search(self.out.read_text(errors="replace"))
            if m:
                self.security = m.group(2)
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"sundial exited: {self.out.read_text()}")
            time.sleep(0.05)
        raise RuntimeError(f"sundial did not start: {self.out.read_text()}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)


@pytest.fixture
def servers():
    # Checked here, not at module level: the workflow sandbox re-imports
    # this module and refuses shutil.which.
    if os.environ.get("SUNDIAL_ADDRESS"):
        pytest.skip("starts its own server with security flags")
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "1", "-subj", f"/CN={name}", cwd=d)


def _leaf(d: Path, ca: str, name: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=d)


async def _run_hello(client: Client) -> None:
    tq = f"sec-{uuid.uuid4().hex[:8]}"
    async with new_worker(client, tq, workflows=[SecureHello], activities=[secure_greet]):
        handle = await client.start_workflow(SecureHello.run, "py", id=f"sec-{uuid.uuid4().hex[:8]}", task_queue=tq)
        assert await asyncio.wait_for(handle.result(), 30) == "Hello, py!"
        names = await event_names(handle)
        assert names[0] == "WorkflowExecutionStarted"
        assert "ActivityTaskCompleted" in names
        assert names[-1] == "WorkflowExecutionCompleted"


async def test_mutual_tls(tmp_path: Path, servers) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make certificates")
    _ca(tmp_path, "server-ca")
    _ca(tmp_path, "client-ca")
    _ca(tmp_path, "rogue-ca")
    _leaf(tmp_path, "server-ca", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _leaf(tmp_path, "client-ca", "client", "extendedKeyUsage=clientAuth\n")
    _leaf(tmp_path, "rogue-ca", "rogue", "extendedKeyUsage=clientAuth\n")
    srv = Server(tmp_path, "--tls-cert", str(tmp_path / "server.pem"), "--tls-key", str(tmp_path / "server.key"),
                 "--tls-client-ca", str(tmp_path / "client-ca.pem"))
    servers.append(srv)
    assert srv.security == "mutual TLS, no authentication"
    read = lambda n: (tmp_path / n).read_bytes()  # noqa: E731

    client = await Client.connect(srv.address, tls=TLSConfig(
        server_root_ca_cert=read("server-ca.pem"), client_cert=read("client.pem"), client_private_key=read("client.key")))
    await _run_hello(client)

    for tls in (
        TLSConfig(server_root_ca_cert=read("server-ca.pem")),  # no client certificate
        TLSConfig(server_root_ca_cert=read("server-ca.pem"), client_cert=read("rogue.pem"), client_private_key=read("rogue.key")),
    ):
        with pytest.raises(Exception):
            c = await asyncio.wait_for(Client.connect(srv.address, tls=tls), 20)
            await c.count_workflows()
    with pytest.raises(Exception):
        c = await asyncio.wait_for(Client.connect(srv.address, tls=False), 20)
        await c.count_workflows()


async def test_api_keys(tmp_path: Path, servers) -> None:
    writer, reader = f"sk-w-{uuid.uuid4()}", f"sk-r-{uuid.uuid4()}"
    keys = tmp_path / "keys"
    keys.write_text(
        f"{hashlib.sha256(writer.encode()).hexdigest()} default:write\n"
        f"{hashlib.sha256(reader.encode()).hexdigest()} default:read\n"
    )
    srv = Server(tmp_path, "--auth-api-keys", str(keys))
    servers.append(srv)
    assert srv.security.startswith("plain text (no TLS), authorization by API keys")

    client = await Client.connect(srv.address, api_key=writer, tls=False)
    await _run_hello(client)

    ro = await Client.connect(srv.address, api_key=reader, tls=False)
    assert await ro.count_workflows() is not None
    with pytest.raises(RPCError) as err:
        await ro.start_workflow(SecureHello.run, "x", id="denied", task_queue="tq")
    assert err.value.status == RPCStatusCode.PERMISSION_DENIED
    assert "default:write" in err.value.message and reader not in err.value.message

    anon = await Client.connect(srv.address, tls=False)
    with pytest.raises(RPCError) as err:
        await anon.count_workflows()
    assert err.value.status == RPCStatusCode.UNAUTHENTICATED

    bad = await Client.connect(srv.address, api_key="sk-wrong", tls=False)
    with pytest.raises(RPCError) as err:
        await bad.count_workflows()
    assert err.value.status == RPCStatusCode.UNAUTHENTICATED
    assert "sk-wrong" not in err.value.message

    # Rotation: the key file is re-read (at most once a second) without a restart.
    keys.write_text(f"{hashlib.sha256(reader.encode()).hexdigest()} default:write\n")
    deadline = time.monotonic() + 10
    while True:
        try:
            await ro.start_workflow(SecureHello.run, "x", id=f"now-{uuid.uuid4().hex[:6]}", task_queue="tq-none")
            break
        except RPCError as e:
            assert e.status == RPCStatusCode.PERMISSION_DENIED
            assert time.monotonic() < deadline, "the rewritten key file was not reloaded"
            await asyncio.sleep(0.2)
    with pytest.raises(RPCError) as err:
        await client.count_workflows()
    assert err.value.status == RPCStatusCode.UNAUTHENTICATED
