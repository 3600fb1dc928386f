"""A small Redis client over RESP2: one connection, commands and pipelines, AUTH, SELECT,
timeouts. Enough for publishing; a caller with redis-py may pass that client instead."""

from __future__ import annotations

import select
import socket
import ssl
from typing import Any, Iterable, List, Optional, Sequence, Union
from urllib.parse import unquote, urlparse

from .errors import RedisReplyError, TimeoutError, UnavailableError

Arg = Union[str, bytes, int, float]
Reply = Any

#: Largest bulk string or array a reply may announce; anything bigger is a broken stream.
MAX_REPLY_BYTES = 512 * 1024 * 1024


def _encode_arg(arg: Arg) -> bytes:
    if arg.__class__ is str:
        return arg.encode("utf-8")  # type: ignore[union-attr]
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode("utf-8")
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return str(arg).encode("ascii")
    raise TypeError(f"Redis arguments are str, bytes or numbers, not {type(arg).__name__}")


def encode_command(args: Sequence[Arg], prefix: bytes = b"", prefix_count: int = 0) -> bytes:
    """One command in RESP; ``prefix`` is ``prefix_count`` arguments already encoded (a
    publisher's fixed ``XADD <stream> MAXLEN ~ <n> *`` head, encoded once)."""
    parts = [b"*%d\r\n" % (len(args) + prefix_count), prefix]
    append = parts.append
    for arg in args:
        data = arg.encode("utf-8") if arg.__class__ is str else _encode_arg(arg)  # type: ignore[union-attr]
        append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Reader:
    """Buffered reads from a socket; ``has_buffered`` tells whether a reply may be waiting."""

    __slots__ = ("_sock", "_buffer", "_start")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._start = 0

    def has_buffered(self) -> bool:
        return self._start < len(self._buffer)

    def _fill(self) -> None:
        if self._start > 65536:
            del self._buffer[: self._start]
            self._start = 0
        chunk = self._sock.recv(262144)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self._buffer += chunk

    def readline(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n", self._start)
            if end >= 0:
                line = bytes(self._buffer[self._start : end])
                self._start = end + 2
                return line
            if len(self._buffer) - self._start > 65536:
                raise ConnectionError("reply line too long")
            self._fill()

    def read(self, size: int) -> bytes:
        while len(self._buffer) - self._start < size + 2:
            self._fill()
        data = bytes(self._buffer[self._start : self._start + size])
        self._start += size + 2
        return data


class RedisConnection:
    """One connection to one Redis. ``url``: ``redis://[user:password@]host:port[/db]`` or
    ``rediss://`` for TLS; ``password`` overrides the URL's. ``timeout_sec`` (default 5)
    bounds connecting and each read. Not thread-safe: one per thread. Reconnects on the
    next call after a connection error."""

    def __init__(self, url: str, *, password: Optional[str] = None, timeout_sec: float = 5.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise ValueError("Redis URL must start with redis:// or rediss://")
        if not 0 < timeout_sec <= 300:
            raise ValueError("timeout_sec must be in (0, 300]")
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 6379
        self._tls = parsed.scheme == "rediss"
        self._username = unquote(parsed.username) if parsed.username else None
        self._password = password if password is not None else (unquote(parsed.password) if parsed.password else None)
        path = parsed.path.strip("/")
        self._db = int(path) if path else 0
        self._timeout_sec = timeout_sec
        self._sock: Optional[socket.socket] = None
        self._reader: Any = None

    def __repr__(self) -> str:  # never the password
        return f"RedisConnection({'rediss' if self._tls else 'redis'}://{self._host}:{self._port}/{self._db})"

    def __enter__(self) -> "RedisConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the socket; idempotent."""
        sock, self._sock, self._reader = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass  # already gone: nothing left to release

    def _connect(self) -> None:
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout_sec)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._host)
        except socket.timeout:
            raise TimeoutError(f"connecting to {self!r} timed out", sent=False) from None
        except OSError as caught:
            raise UnavailableError(f"cannot connect to {self!r}: {caught.strerror or caught}", sent=False) from None
        self._sock, self._reader = sock, _Reader(sock)
        handshake: List[List[Arg]] = []
        if self._password is not None:
            handshake.append(["AUTH", self._username, self._password] if self._username else ["AUTH", self._password])
        if self._db:
            handshake.append(["SELECT", self._db])
        for reply in self._roundtrip(handshake):
            if isinstance(reply, RedisReplyError):
                self.close()
                raise reply

    def execute(self, *args: Arg) -> Reply:
        """Sends one command; returns its reply, raises ``RedisReplyError`` on an error reply."""
        reply = self.pipeline([args])[0]
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    def pipeline(self, commands: Iterable[Sequence[Arg]]) -> List[Reply]:
        """Sends every command in one write, then reads one reply each. Error replies are
        returned in place as ``RedisReplyError`` (not raised): the others still count.
        A connection failure raises ``UnavailableError`` (``sent=False`` when nothing was written)."""
        return self.pipeline_encoded([encode_command(command) for command in commands])

    def pipeline_encoded(self, commands: Sequence[bytes]) -> List[Reply]:
        """As ``pipeline`` for commands already in RESP (``encode_command``)."""
        if self._sock is None:
            self._connect()
        return self._roundtrip_encoded(commands)

    def read_push(self) -> Reply:
        """The next reply the server pushes unasked (after ``SUBSCRIBE``), within ``timeout_sec``:
        ``TimeoutError`` when none came (the connection stays usable)."""
        if self._reader is None or self._sock is None:
            raise UnavailableError(f"{self!r} is not connected", sent=False)
        # Wait for the first byte without consuming anything: a timeout leaves no half-read reply.
        if not self._reader.has_buffered() and not select.select([self._sock], [], [], self._timeout_sec)[0]:
            raise TimeoutError(f"{self!r} pushed nothing within {self._timeout_sec} s", sent=True)
        try:
            return self._read()
        except socket.timeout:
            self.close()
            raise TimeoutError(f"{self!r} stopped mid-reply", sent=True) from None
        except (OSError, ConnectionError) as caught:
            self.close()
            raise UnavailableError(f"reading from {self!r} failed: {caught}", sent=True) from None

    def _roundtrip(self, commands: List[Sequence[Arg]]) -> List[Reply]:
        return self._roundtrip_encoded([encode_command(command) for command in commands])

    def _roundtrip_encoded(self, commands: Sequence[bytes]) -> List[Reply]:
        if not commands:
            return []
        payload = b"".join(commands)
        assert self._sock is not None
        try:
            self._sock.sendall(payload)
        except OSError as caught:
            self.close()
            raise UnavailableError(f"writing to {self!r} failed: {caught}", sent=None) from None
        try:
            return [self._read() for _ in commands]
        except socket.timeout:
            self.close()
            raise TimeoutError(f"{self!r} did not answer within {self._timeout_sec} s", sent=True) from None
        except (OSError, ConnectionError) as caught:
            self.close()
            raise UnavailableError(f"reading from {self!r} failed: {caught}", sent=True) from None

    def _read(self) -> Reply:
        line = self._reader.readline()
        kind, body = line[:1], line[1:]
        if kind == b"+":
            return body
        if kind == b"-":
            return RedisReplyError(body.decode("utf-8", "replace"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            size = int(body)
            if size < 0:
                return None
            if size > MAX_REPLY_BYTES:
                raise ConnectionError("bulk reply too large")
            return self._reader.read(size)
        if kind == b"*":
            count = int(body)
            if count < 0:
                return None
            if count > MAX_REPLY_BYTES:
                raise ConnectionError("array reply too large")
            return [self._read() for _ in range(count)]
        raise ConnectionError(f"unexpected reply type {kind!r}")
