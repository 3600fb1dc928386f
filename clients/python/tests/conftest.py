"""Real components for the tests: a redis-server on a free port (never 6379), and a local-mode
stack (scripts/stack.sh) with every port moved to a free one and its data in a temp dir.
Both are stopped after the session; every start and wait is bounded in time."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator

import pytest

from evinfra import RedisConnection

REPO = Path(__file__).resolve().parents[3]
STACK_START_TIMEOUT_SEC = int(os.environ.get("PY_TEST_STACK_TIMEOUT_SEC", "180"))


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # SIGTERM (CI's timeout) becomes an interrupt, so the fixtures below still stop the stack
    # and the redis-server they started instead of leaving them running.
    signal.signal(signal.SIGTERM, _interrupt)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port != 6379
    return port


def free_ports(count: int) -> list:
    """``count`` different free ports: the kernel may hand the port just closed to the next probe."""
    ports: list = []
    for _ in range(count * 10):
        port = free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise AssertionError(f"no {count} distinct free ports found")


def wait_until(condition, timeout_sec: float, what: str, interval_sec: float = 0.05):
    """Polls ``condition`` until it returns a truthy value; fails naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_sec
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_sec} s waiting for {what}")
        time.sleep(interval_sec)


@dataclass(frozen=True)
class RedisServer:
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}"

    def connect(self) -> RedisConnection:
        return RedisConnection(self.url, timeout_sec=5)


def _answers(url: str) -> bool:
    try:
        with RedisConnection(url, timeout_sec=1) as probe:
            return probe.execute("PING") == b"PONG"
    except Exception:  # noqa: BLE001 - not up yet: keep waiting
        return False


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
    server = RedisServer(port=free_port(), password=secrets.token_hex(12))
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        ["redis-server", "--port", str(server.port), "--bind", "127.0.0.1", "--requirepass", server.password,
         "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: process.poll() is not None or _answers(server.url), 10, "redis-server to answer")
        assert process.poll() is None, "redis-server exited at start"
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def redis(redis_server) -> Iterator[RedisConnection]:
    connection = redis_server.connect()
    try:
        yield connection
    finally:
        connection.close()


@dataclass(frozen=True)
class Stack:
    env: Dict[str, str]
    api_key: str

    def _redis(self, url_var: str, password_var: str) -> RedisServer:
        return RedisServer(port=int(self.env[url_var].rsplit(":", 1)[1]), password=self.env[password_var])

    @property
    def streams(self) -> RedisServer:
        return self._redis("REDIS_STREAMS_URL", "REDIS_STREAMS_PASSWORD")

    @property
    def master(self) -> RedisServer:
        return self._redis("REDIS_URL", "REDIS_PASSWORD")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['QUEUE_PROCESSOR_PORT']}"

    @property
    def stream(self) -> str:
        return self.env.get("STREAM_NAME", "pyairtable-events")


def _stack(env: Dict[str, str], command: str, timeout_sec: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(REPO / "scripts" / "stack.sh"), command], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout_sec)


def _stack_env(workdir: Path, api_key: str) -> Dict[str, str]:
    suffix = secrets.token_hex(6)
    ports = free_ports(6)
    return {
        **os.environ,
        "ENV_FILE": str(REPO / "env-example-event-infrastructure"),
        "STACK_DATA_DIR": str(workdir / "data"),
        "STACK_LOG_DIR": str(workdir / "logs"),
        "REDIS_URL": f"redis://127.0.0.1:{ports[0]}",
        "REDIS_PASSWORD": f"master-{suffix}",
        "REDIS_STREAMS_URL": f"redis://127.0.0.1:{ports[1]}",
        "REDIS_STREAMS_PASSWORD": f"streams-{suffix}",
        "REDIS_QUEUE_URL": f"redis://127.0.0.1:{ports[2]}",
        "REDIS_QUEUE_PASSWORD": f"queue-{suffix}",
        "QUEUE_PROCESSOR_PORT": str(ports[3]),
        "EVENT_PROCESSOR_PORT": str(ports[4]),
        "DLQ_PROCESSOR_PORT": str(ports[5]),
        "EVENT_PROCESSOR_REPLICAS": "1",
        "API_KEY": api_key,
        "NODE_ENV": "test",
        "LOG_LEVEL": "warn",
        "STACK_START_TIMEOUT_SEC": str(STACK_START_TIMEOUT_SEC - 10),
    }


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """As test/support/stack-runner.ts's stackEnv: fresh ports, passwords and dirs; an API key on.
    A port another process took between choosing and binding it gets one more try with new ports."""
    api_key = f"key-{secrets.token_hex(16)}"
    env: Dict[str, str] = {}
    try:
        for attempt in (1, 2):
            env = _stack_env(tmp_path_factory.mktemp("stack"), api_key)
            started = _stack(env, "up", STACK_START_TIMEOUT_SEC)
            if started.returncode == 0:
                break
            if attempt == 1 and "already in use" in started.stderr:
                continue  # nothing was started: stack.sh checks every port first
            pytest.fail(f"stack did not start ({started.returncode}): {started.stderr[-2000:]}{started.stdout[-1000:]}")
        yield Stack(env=env, api_key=api_key)
    finally:
        if env:
            stopped = _stack(env, "down", 120)
            if stopped.returncode != 0:
                print(f"stack down failed: {stopped.stderr[-2000:]}")  # noqa: T201 - test output only
