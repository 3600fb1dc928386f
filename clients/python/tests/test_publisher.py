"""StreamPublisher and RedisConnection against a real redis-server."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from evinfra import (
    InvalidEventError, NewEvent, PublishError, RedisConnection, RedisReplyError, StreamPublisher,
    TimeoutError, UnavailableError, decode_event,
)
from evinfra.publisher import MAX_BATCH

FIXTURES = Path(__file__).resolve().parents[3] / "contract" / "fixtures"


def stream_name() -> str:
    return f"py-test-{secrets.token_hex(6)}"


def entries(redis: RedisConnection, stream: str):
    return redis.execute("XRANGE", stream, "-", "+")


def workspace(index: int) -> NewEvent:
    return NewEvent(type="workspace.created", data={"workspaceId": f"w{index}", "name": f"Acme {index}", "ownerId": "u1"}, correlationid=f"c-{index}")


def test_publish_writes_the_documented_wire_fields(redis_server, redis):
    stream = stream_name()
    with StreamPublisher(redis_server.url, source="py-service", stream=stream) as publisher:
        published = publisher.publish(NewEvent(type="user.created", data={"userId": "u1", "email": "ada@example.com"}, subject="users/u1"))
    [(stream_id, fields)] = entries(redis, stream)
    assert stream_id.decode() == published.stream_id
    names = [field.decode() for field in fields[0::2]]
    assert names == ["id", "type", "source", "specversion", "time", "subject", "data"]
    event = decode_event(fields)
    assert (event.id, event.type, event.source, event.subject) == (published.id, "user.created", "py-service", "users/u1")
    assert event.data == {"userId": "u1", "email": "ada@example.com"}
    assert json.loads(fields[-1]) == event.data


def test_batch_of_100_is_one_pipeline_in_order(redis_server, redis):
    stream = stream_name()
    with StreamPublisher(redis_server.url, source="py-service", stream=stream) as publisher:
        published = publisher.publish_batch([workspace(index) for index in range(100)])
    stored = entries(redis, stream)
    assert [entry_id.decode() for entry_id, _ in stored] == [event.stream_id for event in published]
    assert [decode_event(fields).data["workspaceId"] for _, fields in stored] == [f"w{index}" for index in range(100)]
    # One timestamp per batch, as the Node publisher.
    assert len({decode_event(fields).time for _, fields in stored}) == 1


def test_maxlen_caps_the_stream_approximately(redis_server, redis):
    stream = stream_name()
    with StreamPublisher(redis_server.url, source="py-service", stream=stream, max_len_approx=100) as publisher:
        for start in range(0, 1000, 100):
            publisher.publish_batch([workspace(index) for index in range(start, start + 100)])
    length = redis.execute("XLEN", stream)
    assert 100 <= length < 1000


def test_one_invalid_event_sends_nothing_and_names_the_field(redis_server, redis):
    stream = stream_name()
    batch = [workspace(0), NewEvent(type="workspace.created", data={"workspaceId": "w", "name": "", "ownerId": "u"}), workspace(2)]
    with StreamPublisher(redis_server.url, source="py-service", stream=stream) as publisher:
        with pytest.raises(InvalidEventError) as raised:
            publisher.publish_batch(batch)
    assert (raised.value.reason, raised.value.field, raised.value.index) == ("invalid_data", "data.name", 1)
    assert redis.execute("EXISTS", stream) == 0


def _publishable_fixture_cases():
    """Fixture envelopes whose type and data a client chooses: the reasons a publisher must give."""
    cases = json.loads((FIXTURES / "envelopes.json").read_text())["cases"]
    wire = json.loads((FIXTURES / "wire-entries.json").read_text())["cases"]
    out = []
    for case in cases:
        if case["expect"].get("reason") in ("unknown_family", "unknown_type", "invalid_data"):
            out.append(pytest.param(case["candidate"]["type"], case["candidate"]["data"], case["expect"], id=case["name"]))
    for case in wire:
        if case["expect"].get("reason") in ("unknown_family", "unknown_type") or (case["expect"].get("reason") == "invalid_data" and case["expect"]["paths"]):
            fields = dict(zip(case["fields"][0::2], case["fields"][1::2]))
            out.append(pytest.param(fields["type"], json.loads(fields["data"]), case["expect"], id=case["name"]))
    assert len(out) >= 10
    return out


@pytest.mark.parametrize("event_type,data,expect", _publishable_fixture_cases())
def test_invalid_events_are_refused_before_redis_with_the_node_reasons(redis_server, redis, event_type, data, expect):
    stream = stream_name()
    with StreamPublisher(redis_server.url, source="py-service", stream=stream) as publisher:
        with pytest.raises(InvalidEventError) as raised:
            publisher.publish(NewEvent(type=event_type, data=data))
    assert raised.value.reason == expect["reason"]
    assert sorted({issue.path for issue in raised.value.issues}) == expect["paths"]
    assert redis.execute("EXISTS", stream) == 0


def test_stack_only_fields_and_unserialisable_data_are_refused(redis_server):
    with StreamPublisher(redis_server.url, source="py-service", stream=stream_name()) as publisher:
        with pytest.raises(InvalidEventError) as raised:
            publisher.publish({"type": "user.deleted", "data": {"userId": "u"}, "dlqretries": 0, "dlqentryid": "x"})
        assert sorted(issue.path for issue in raised.value.issues) == ["dlqentryid", "dlqretries"]
        with pytest.raises(InvalidEventError) as raised:
            publisher.publish(NewEvent(type="user.deleted", data={"userId": "u", "at": object()}))
        assert raised.value.reason == "invalid_data"
        with pytest.raises(InvalidEventError) as raised:
            publisher.publish(NewEvent(type="user.updated", data={"userId": "u", "changes": {"x": float("nan")}}))
        assert raised.value.reason == "invalid_data"
        with pytest.raises(ValueError, match="at most"):
            publisher.publish_batch([workspace(0)] * (MAX_BATCH + 1))


def test_a_callers_id_and_time_are_checked_like_any_attribute(redis_server, redis):
    stream = stream_name()
    with StreamPublisher(redis_server.url, source="py-service", stream=stream) as publisher:
        for event, field in (
            (NewEvent(type="user.deleted", data={"userId": "u"}, id="not-a-uuid"), "id"),
            (NewEvent(type="user.deleted", data={"userId": "u"}, time="2026-02-30T00:00:00Z"), "time"),
            (NewEvent(type="user.deleted", data={"userId": "u"}, time="yesterday"), "time"),
        ):
            with pytest.raises(InvalidEventError) as raised:
                publisher.publish(event)
            assert (raised.value.reason, raised.value.field) == ("invalid_envelope", field)
        given = publisher.publish(NewEvent(type="user.deleted", data={"userId": "u"}, id="6f1c2f8e-3b8a-4c1e-9d7a-1b2c3d4e5f60", time="2026-03-01T12:00:00+01:00"))
    [(_, fields)] = entries(redis, stream)
    assert (given.id, decode_event(fields).time) == ("6f1c2f8e-3b8a-4c1e-9d7a-1b2c3d4e5f60", "2026-03-01T12:00:00+01:00")


def test_invalid_source_is_refused_at_construction(redis_server):
    with pytest.raises(InvalidEventError) as raised:
        StreamPublisher(redis_server.url, source="", stream=stream_name())
    assert raised.value.field == "source"


def test_redis_refusing_an_entry_is_a_publish_error(redis_server, redis):
    stream = stream_name()
    redis.execute("SET", stream, "not a stream")
    with StreamPublisher(redis_server.url, source="py-service", stream=stream) as publisher:
        with pytest.raises(PublishError) as raised:
            publisher.publish_batch([workspace(0), workspace(1)])
    assert [index for index, _, _ in raised.value.failed] == [0, 1]
    assert "WRONGTYPE" in str(raised.value.failed[0][2])


def test_wrong_password_and_refused_connection(redis_server):
    with pytest.raises(RedisReplyError, match="WRONGPASS|invalid password"):
        RedisConnection(f"redis://:wrong@127.0.0.1:{redis_server.port}").execute("PING")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(UnavailableError) as raised:
        RedisConnection(f"redis://127.0.0.1:{closed_port}", timeout_sec=1).execute("PING")
    assert raised.value.sent is False
    assert "wrong" not in repr(RedisConnection(f"redis://:wrong@127.0.0.1:{redis_server.port}"))


def test_a_silent_server_times_out_within_the_bound():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError) as raised:
            RedisConnection(f"redis://127.0.0.1:{listener.getsockname()[1]}", timeout_sec=0.5).execute("PING")
        assert time.monotonic() - started < 5
        assert raised.value.sent is True
    finally:
        for connection, _ in accepted:
            connection.close()
        listener.close()


def test_the_connection_comes_back_after_redis_closed_it(redis_server, redis):
    stream = stream_name()
    connection = redis_server.connect()
    publisher = StreamPublisher(connection, source="py-service", stream=stream)
    publisher.publish(workspace(0))
    redis.execute("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    with pytest.raises(UnavailableError):
        publisher.publish(workspace(1))
    publisher.publish(workspace(2))
    assert redis.execute("XLEN", stream) == 2
    connection.close()


class RedisPyShaped:
    """The two calls of redis-py's API the publisher uses (``pipeline(transaction=False)``,
    ``execute_command``, ``execute(raise_on_error=False)``), over a real connection: redis-py
    itself is not installed on this machine."""

    def __init__(self, connection: RedisConnection) -> None:
        self.connection = connection

    def execute_command(self, *args):
        return self.connection.execute(*args)

    def pipeline(self, transaction: bool = True):
        assert transaction is False
        outer = self

        class Pipeline:
            def __init__(self):
                self.commands = []

            def execute_command(self, *args):
                self.commands.append(args)

            def execute(self, raise_on_error: bool = True):
                assert raise_on_error is False
                replies = outer.connection.pipeline(self.commands)
                return [Exception(str(reply)) if isinstance(reply, RedisReplyError) else reply.decode() for reply in replies]

        return Pipeline()


def test_a_redis_py_client_is_used_as_given(redis_server, redis):
    stream = stream_name()
    connection = redis_server.connect()
    publisher = StreamPublisher(RedisPyShaped(connection), source="py-service", stream=stream)
    published = publisher.publish_batch([workspace(0), workspace(1)])
    publisher.close()
    assert connection.execute("PING") == b"PONG", "the caller's client stays open"
    assert [entry_id.decode() for entry_id, _ in entries(redis, stream)] == [event.stream_id for event in published]
    connection.close()
