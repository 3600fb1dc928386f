"""Publishing events straight to the stream with ``XADD`` (the Node publisher's wire format)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields as dataclass_fields, replace
from datetime import datetime, timezone
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import EvinfraError, InvalidEventError, Issue, RedisReplyError, UnavailableError
from .events import SPEC_VERSION, Event, NewEvent, _parse_json, encode_data, encode_event, is_valid_time, validate_event
from .resp import Arg, RedisConnection, encode_command

#: ``STREAM_NAME``'s default.
DEFAULT_STREAM = "pyairtable-events"
#: The Node publisher's default safety cap (``XADD ... MAXLEN ~``).
DEFAULT_MAX_LEN_APPROX = 1_000_000
#: Most events one ``publish_batch`` call takes (one pipeline, held in memory at once).
MAX_BATCH = 10_000
_MAX_LEN_LIMIT = 10**12


@dataclass(frozen=True)
class PublishedEvent:
    id: str
    stream_id: str
    type: str


class PublishError(EvinfraError):
    """Redis did not acknowledge some events of a batch; ``published`` lists those it did,
    ``failed`` holds ``(index, event id, error)`` for the others."""

    def __init__(self, published: List[PublishedEvent], failed: List[Tuple[int, str, Exception]]) -> None:
        self.published = published
        self.failed = failed
        super().__init__(f"{len(failed)} of {len(published) + len(failed)} events were not published: {failed[0][2] if failed else ''}")


def iso_now() -> str:
    """The current time as ``Date.prototype.toISOString`` writes it (ms, ``Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_NEW_EVENT_FIELDS = frozenset(field.name for field in dataclass_fields(NewEvent))


def as_new_event(event: Union[NewEvent, Mapping[str, Any]]) -> NewEvent:
    """A ``NewEvent`` from itself or a mapping; stack-only fields (``dlqretries``, ...) are refused."""
    if isinstance(event, NewEvent):
        return event
    if not isinstance(event, Mapping):
        raise InvalidEventError("invalid_envelope", "an event is a NewEvent or a mapping", [Issue("", "expected object")])
    unknown = sorted(set(event) - _NEW_EVENT_FIELDS)
    if unknown:
        raise InvalidEventError(
            "invalid_envelope",
            "fields a client may not set (stack-only or unknown)",
            [Issue(name, "not settable by a client") for name in unknown],
        )
    return NewEvent(**event)


def prepare_event(event: Union[NewEvent, Mapping[str, Any]], default_source: str, now: str) -> Tuple[Event, str]:
    """Completes and validates one event; returns it with its data's JSON text. ``now`` must be
    a valid event time (``iso_now``, or checked with ``is_valid_time``). What passes here passes
    the event processor: data that fails as given is judged again as JSON will carry it."""
    new = as_new_event(event)
    data_json = encode_data(new.data)
    own = new.id is None and new.time is None
    candidate: dict = {
        "id": new.id if new.id is not None else str(uuid.uuid4()),
        "type": new.type,
        "source": new.source if new.source is not None else default_source,
        "time": new.time if new.time is not None else now,
        "specversion": SPEC_VERSION,
        "data": new.data,
    }
    for name in ("subject", "correlationid", "causationid", "traceparent", "tracestate"):
        value = getattr(new, name)
        if value is not None:
            candidate[name] = value
    complete = validate_event(candidate, own_id_and_time=own, data_json=data_json)
    if complete.data is new.data and not type(new.data) is dict:
        # A Mapping that is not a dict: keep what the consumer will read.
        complete = replace(complete, data=_parse_json(data_json))
    return complete, data_json


class _RedisPyAdapter:
    """A redis-py client (``redis.Redis``) seen through the ``pipeline`` call of ``RedisConnection``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def pipeline_commands(self, head: List[Arg], commands: Sequence[Sequence[Arg]]) -> List[Any]:
        try:
            pipe = self._client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*head, *command)
            replies = pipe.execute(raise_on_error=False)
        except Exception as caught:  # noqa: BLE001 - redis-py's connection errors, whatever their class
            raise UnavailableError(f"redis-py pipeline failed: {caught}", sent=None) from caught
        return [RedisReplyError(str(reply)) if isinstance(reply, Exception) else reply for reply in replies]

    def close(self) -> None:
        """The caller's client: the caller closes it."""


class StreamPublisher:
    """Validates, then ``XADD``s to the stream (one event, or a batch in one pipeline).

    ``redis``: a URL (``redis://:password@host:port``; the publisher owns that connection), a
    ``RedisConnection``, or a redis-py client (the caller keeps owning it). ``source`` is the
    ``source`` of events that name none (1-256 characters). ``max_len_approx``: ``MAXLEN ~``
    cap per ``XADD`` (default 1,000,000 as the Node publisher; 0 or ``None`` disables it).
    """

    def __init__(
        self,
        redis: Union[str, RedisConnection, Any],
        *,
        source: str,
        stream: str = DEFAULT_STREAM,
        max_len_approx: Optional[int] = DEFAULT_MAX_LEN_APPROX,
        timeout_sec: float = 5.0,
    ) -> None:
        if not isinstance(stream, str) or not 1 <= len(stream) <= 256:
            raise ValueError("stream must be a name of 1-256 characters")
        if max_len_approx is not None and (not isinstance(max_len_approx, int) or not 0 <= max_len_approx <= _MAX_LEN_LIMIT):
            raise ValueError(f"max_len_approx must be an integer in [0, {_MAX_LEN_LIMIT}] or None")
        self._owned = isinstance(redis, str)
        if isinstance(redis, str):
            self._redis: Any = RedisConnection(redis, timeout_sec=timeout_sec)
        elif isinstance(redis, RedisConnection):
            self._redis = redis
        elif hasattr(redis, "pipeline") and hasattr(redis, "execute_command"):
            self._redis = _RedisPyAdapter(redis)
        else:
            raise TypeError("redis must be a URL, a RedisConnection or a redis-py client")
        # The source is checked once here with the envelope's own rule, not per event.
        prepare_event(NewEvent(type="user.deleted", data={"userId": "check"}), source, iso_now())
        self._source = source
        cap = max_len_approx or 0
        self._head: List[Arg] = ["XADD", stream, "MAXLEN", "~", cap, "*"] if cap > 0 else ["XADD", stream, "*"]
        # The head is the same for every entry: encoded once (RESP's part of the hot path).
        self._head_resp = encode_command(self._head)[len(b"*%d\r\n" % len(self._head)) :]

    def _send(self, commands: List[List[Arg]]) -> List[Any]:
        if isinstance(self._redis, RedisConnection):
            count = len(self._head)
            return self._redis.pipeline_encoded([encode_command(fields, self._head_resp, count) for fields in commands])
        return self._redis.pipeline_commands(self._head, commands)

    def __enter__(self) -> "StreamPublisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection when the publisher made it; idempotent."""
        if self._owned:
            self._redis.close()

    def publish(self, event: Union[NewEvent, Mapping[str, Any]]) -> PublishedEvent:
        """Validates (``InvalidEventError``, nothing sent), then ``XADD``s one event."""
        return self.publish_batch([event])[0]

    def publish_batch(self, events: Sequence[Union[NewEvent, Mapping[str, Any]]]) -> List[PublishedEvent]:
        """Validates every event first (one invalid: nothing is sent; the error's ``index`` says
        which), then sends all ``XADD``s in one pipeline. ``PublishError`` when Redis refused any."""
        if len(events) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} events per batch (got {len(events)})")
        now = iso_now()
        if not is_valid_time(now):
            raise RuntimeError(f"the clock gave an invalid event time {now!r}")
        prepared: List[Event] = []
        commands: List[List[Arg]] = []
        for index, event in enumerate(events):
            try:
                complete, data_json = prepare_event(event, self._source, now)
            except InvalidEventError as caught:
                caught.index = index
                caught.args = (f"event {index}: {caught.args[0]}",)
                raise
            prepared.append(complete)
            commands.append(encode_event(complete, data_json))
        if not commands:
            return []
        replies = self._send(commands)
        published: List[PublishedEvent] = []
        failed: List[Tuple[int, str, Exception]] = []
        for index, (event, reply) in enumerate(zip(prepared, replies)):
            if isinstance(reply, (bytes, str)) and reply:
                stream_id = reply.decode("ascii") if isinstance(reply, bytes) else reply
                published.append(PublishedEvent(event.id, stream_id, event.type))
            else:
                error = reply if isinstance(reply, Exception) else RedisReplyError("XADD returned no entry id")
                failed.append((index, event.id, error))
        if failed:
            raise PublishError(published, failed)
        return published
