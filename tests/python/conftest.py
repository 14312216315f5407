"""Session fixtures: start one Sundial server, hand tests a connected Client.

The server is started as
    bin/sundial start --ip 127.0.0.1 --port <free port> --data-dir <tmp>
and is considered up once it printed `listening on 127.0.0.1:N` and
`Client.connect` succeeds. Its stdout/stderr go to files that are dumped in
the terminal summary whenever a test failed (and copied next to this file as
sundial-server.stdout.log / sundial-server.stderr.log).

Set SUNDIAL_ADDRESS=host:port to run the suite against a server that is
already running instead (nothing is started or stopped then).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Optional

import pytest
import pytest_asyncio
from temporalio.client import Client

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NAMESPACE = "default"
STARTUP_TIMEOUT = float(os.environ.get("SUNDIAL_STARTUP_TIMEOUT", "60"))
LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SundialProcess:
    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.port = _free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="sundial-pytest-"))
        self.data_dir = self.tmp / "data"
        self.data_dir.mkdir()
        self.stdout_path = self.tmp / "stdout.log"
        self.stderr_path = self.tmp / "stderr.log"
        self.proc: Optional[subprocess.Popen] = None
        self.exit_note = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [
            str(self.binary), "start",
            "--ip", "127.0.0.1",
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
            "--headless",
        ]
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            cwd=str(ROOT), start_new_session=True,
        )

    def output(self) -> str:
        parts = []
        for name, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            try:
                text = path.read_text(errors="replace")
            except FileNotFoundError:
                text = ""
            parts.append(f"----- sundial {name} -----\n{text}")
        return "\n".join(parts)

    def wait_listening(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sundial exited with code {self.proc.returncode} before "
                    f"listening\n{self.output()}"
                )
            m = LISTENING_RE.search(self.output())
            if m:
                if int(m.group(1)) != self.port:
                    raise RuntimeError(
                        f"sundial listens on {m.group(1)}, asked for {self.port}"
                    )
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"sundial printed no 'listening on 127.0.0.1:{self.port}' within "
            f"{STARTUP_TIMEOUT}s\n{self.output()}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.exit_note = "did not exit 15s after SIGTERM; killed"
                self.proc.kill()
                self.proc.wait(timeout=10)
        else:
            self.exit_note = f"had already exited with code {self.proc.returncode}"
        self._out.close()
        self._err.close()
        for name, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            try:
                shutil.copy(path, HERE / f"sundial-server.{name}.log")
            except OSError:
                pass


_server: Optional[SundialProcess] = None


@pytest.fixture(scope="session")
def server_address() -> str:
    global _server
    external = os.environ.get("SUNDIAL_ADDRESS")
    if external:
        yield external
        return
    binary = Path(os.environ.get("SUNDIAL_BIN", ROOT / "bin" / "sundial"))
    if not binary.exists():
        pytest.fail(
            f"{binary} does not exist: build it with "
            "`go build -o bin/sundial ./cmd/sundial` (run.sh does)"
        )
    _server = SundialProcess(binary)
    _server.start()
    try:
        _server.wait_listening(time.monotonic() + STARTUP_TIMEOUT)
        yield _server.address
    finally:
        _server.stop()
        if _server.exit_note:
            print(f"\nsundial {_server.exit_note}")
        shutil.rmtree(_server.tmp / "data", ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(server_address: str) -> Client:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        if _server is not None and _server.proc.poll() is not None:
            pytest.fail(
                f"sundial exited with code {_server.proc.returncode}\n"
                f"{_server.output()}"
            )
        try:
            c = await Client.connect(server_address, namespace=NAMESPACE)
            yield c
            return
        except Exception as err:  # not up yet
            last = err
            await asyncio.sleep(0.2)
    msg = f"Client.connect({server_address!r}) kept failing: {last!r}"
    if _server is not None:
        msg += "\n" + _server.output()
    pytest.fail(msg)


@pytest.fixture
def tq(request) -> str:
    """A task queue nobody else uses."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[:60]
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def wid(request):
    """Makes workflow ids unique to this test: wid('greeting') -> str."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[:60]
    suffix = uuid.uuid4().hex[:8]
    return lambda label="wf": f"{base}-{label}-{suffix}"


@pytest.fixture(autouse=True)
def _server_still_alive():
    yield
    if _server is not None and _server.proc is not None and _server.proc.poll() is not None:
        pytest.fail(
            f"sundial exited with code {_server.proc.returncode} during this test"
        )


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _server is None:
        return
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if not failed and exitstatus == 0:
        return
    terminalreporter.write_sep("=", "sundial server output (tests failed)")
    text = _server.output()
    # Keep the summary readable: the head (startup) and the tail (latest).
    lines = text.splitlines()
    if len(lines) > 400:
        lines = lines[:100] + [f"... {len(lines) - 400} lines cut, see "
                               f"{HERE}/sundial-server.*.log ..."] + lines[-300:]
    terminalreporter.write_line("\n".join(lines))


# The SDK's Rust core runs background threads that can panic or abort while
# the interpreter finalizes (after every test has finished and been
# reported). That is no part of what this suite checks and must not change
# pytest's verdict, so the process ends with pytest's own exit status.
_exit_status: Optional[int] = None


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _exit_status is not None and os.environ.get("SUNDIAL_PYTEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
