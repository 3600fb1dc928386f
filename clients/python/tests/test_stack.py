"""The client against a real local-mode stack (scripts/stack.sh on free ports): events from
Python are handled by the event processor, jobs submitted from Python complete, errors map."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request

import pytest

from evinfra import (
    AuthError, ForbiddenError, InvalidEventError, JobSpec, NewEvent, NoHandlerError, NotFoundError,
    RedisConnection, StackClient, StreamPublisher, TimeoutError, UnavailableError, ValidationError,
)

from conftest import free_port, wait_until

CHANNEL_PREFIX = "evinfra:events:"


def fanned_out(master: RedisConnection, event_ids, stack, timeout_sec: float = 60):
    """Reads the subscription until the event processor republished every id (in any order:
    the events of a batch are handled concurrently); returns id -> envelope."""
    wanted = set(event_ids)
    found = {}
    deadline = time.monotonic() + timeout_sec
    while wanted - set(found) and time.monotonic() < deadline:
        try:
            message = master.read_push()
        except TimeoutError:
            continue
        if message[0] == b"message":
            envelope = json.loads(message[2])
            if envelope.get("id") in wanted:
                found[envelope["id"]] = envelope
    missing = wanted - set(found)
    assert not missing, f"events {sorted(missing)} were not fanned out within {timeout_sec} s; {diagnose(stack)}"
    return found


def diagnose(stack) -> str:
    """The stream's groups and the processor's counters, for a failure message."""
    if stack is None:
        return ""
    try:
        with RedisConnection(stack.streams.url, timeout_sec=5) as streams:
            groups = streams.execute("XINFO", "GROUPS", stack.stream)
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.env['EVENT_PROCESSOR_PORT']}/stats", timeout=5) as response:
            stats = json.loads(response.read()).get("counters")
        return f"groups {groups}; event processor counters {stats}"
    except Exception as caught:  # noqa: BLE001 - diagnostics only
        return f"(no diagnostics: {caught})"


@pytest.fixture
def client(stack) -> StackClient:
    return StackClient(stack.api_url, api_key=stack.api_key, timeout_sec=10)


def subscribe(stack, event_type: str) -> RedisConnection:
    master = RedisConnection(stack.master.url, timeout_sec=1)
    assert master.execute("SUBSCRIBE", CHANNEL_PREFIX + event_type)[0] == b"subscribe"
    return master


def test_events_published_from_python_are_handled_by_the_event_processor(stack):
    master = subscribe(stack, "workspace.updated")
    try:
        with StreamPublisher(stack.streams.url, source="py-service", stream=stack.stream) as publisher:
            published = publisher.publish_batch([
                NewEvent(type="workspace.updated", data={"workspaceId": f"w{index}", "changes": {"name": "x"}}, correlationid=f"py-{index}")
                for index in range(3)
            ])
        handled = fanned_out(master, [event.id for event in published], stack)
        for index, event in enumerate(published):
            envelope = handled[event.id]
            assert (envelope["type"], envelope["source"], envelope["correlationid"]) == ("workspace.updated", "py-service", f"py-{index}")
    finally:
        master.close()


def test_an_event_posted_over_http_is_handled(stack, client):
    master = subscribe(stack, "workspace.updated")
    try:
        event_id = client.publish_event(NewEvent(type="workspace.updated", data={"workspaceId": "w-http", "changes": {}}))
        assert fanned_out(master, [event_id], stack)[event_id]["data"]["workspaceId"] == "w-http"
    finally:
        master.close()


def test_invalid_events_are_refused_before_anything_is_sent(stack):
    unreachable = StackClient(f"http://127.0.0.1:{free_port()}", timeout_sec=2)
    with pytest.raises(InvalidEventError) as raised:
        unreachable.publish_event(NewEvent(type="user.created", data={"userId": "u", "email": "nope"}))
    assert (raised.value.reason, raised.value.field) == ("invalid_data", "data.email")
    for event, field in (
        (NewEvent(type="user.deleted", data={"userId": "u"}, id="6f1c2f8e-3b8a-4c1e-9d7a-1b2c3d4e5f60"), "id"),
        (NewEvent(type="user.deleted", data={"userId": "u"}, source="billing-service"), "source"),
        (NewEvent(type="job.completed", data={"queue": "q", "jobId": "j", "name": "n", "durationMs": 1, "attempts": 1}), "type"),
    ):
        with pytest.raises(ValidationError) as refused:
            unreachable.publish_event(event)
        assert refused.value.field == field


def test_a_job_submitted_from_python_completes(client):
    ref = client.submit_job("async-processing", "demo.sleep", {"durationMs": 50, "steps": 2}, attempts=2)
    assert (ref.queue, ref.name, ref.existing) == ("async-processing", "demo.sleep", False)
    job = wait_until(lambda: (lambda j: j if j.state in ("completed", "failed") else None)(client.get_job("async-processing", ref.id)), 60, f"job {ref.id} to finish")
    assert job.state == "completed", job.failed_reason
    assert job.attempts_made >= 1 and job.data == {"durationMs": 50, "steps": 2}


def test_job_ids_bulk_and_cancel(client):
    job_id = f"py-{secrets.token_hex(6)}"
    first = client.submit_job("async-processing", JobSpec(name="demo.sleep", data={"durationMs": 10}, job_id=job_id, delay_ms=3_600_000))
    again = client.submit_job("async-processing", JobSpec(name="demo.sleep", data={"durationMs": 10}, job_id=job_id, delay_ms=3_600_000))
    assert (first.id, again.id, again.existing) == (job_id, job_id, True)
    assert client.get_job("async-processing", job_id).state == "delayed"
    assert client.cancel_job("async-processing", job_id)["id"] == job_id
    with pytest.raises(NotFoundError):
        client.get_job("async-processing", job_id)
    refs = client.submit_jobs("async-processing", [JobSpec(name="demo.sleep", data={"durationMs": 1}) for _ in range(3)])
    assert len({ref.id for ref in refs}) == 3
    with pytest.raises(ValueError):
        client.submit_jobs("async-processing", [])


def test_http_errors_are_typed(stack, client):
    with pytest.raises(NotFoundError):
        client.submit_job("no-such-queue", "demo.sleep")
    with pytest.raises(ForbiddenError):
        client.submit_job("dead-letter-queue", "demo.sleep")
    with pytest.raises(NoHandlerError):
        client.submit_job("async-processing", "no.such.handler")
    unreachable = StackClient(f"http://127.0.0.1:{free_port()}", timeout_sec=2)
    with pytest.raises(ValidationError) as raised:  # refused before sending: the port is closed
        unreachable.submit_job("async-processing", "demo.sleep", attempts=0)
    assert raised.value.field == "opts.attempts"
    with pytest.raises(ValidationError) as raised:  # a rule only the server knows: its 400
        client.submit_job("async-processing", "demo.sleep", job_id="42")
    assert (raised.value.reason, raised.value.field) == ("validation_failed", "opts.jobId")
    with pytest.raises(AuthError) as denied:
        StackClient(stack.api_url, api_key="wrong-key").get_job("async-processing", "x")
    assert "wrong-key" not in str(denied.value)
    with pytest.raises(AuthError):
        StackClient(stack.api_url).submit_job("async-processing", "demo.sleep")
    assert client.health()["status"] == "ok"


def test_a_closed_port_is_unavailable_and_nothing_was_sent():
    with pytest.raises(UnavailableError) as raised:
        StackClient(f"http://127.0.0.1:{free_port()}", timeout_sec=2).get_job("async-processing", "x")
    assert raised.value.sent is False


def test_the_readme_quick_start_runs_against_the_stack(stack, capsys):
    """The README's Python block, with this stack's URLs and API key put in."""
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Python client")
    block = readme[readme.index("```python\n", start) + len("```python\n") : readme.index("```\n", readme.index("```python\n", start) + 10)]
    code = (
        block.replace("redis://:change-me-streams@127.0.0.1:6380", stack.streams.url)
        .replace("http://127.0.0.1:8009", stack.api_url)
        .replace("api_key=None", f"api_key={stack.api_key!r}")
    )
    assert code != block
    exec(compile(code, "README.md (Python quick start)", "exec"), {})  # noqa: S102 - our own README
    printed = capsys.readouterr().out.split("\n")
    assert printed[0] == "invalid_data data.email"
    assert printed[1] in ("waiting", "active", "completed", "delayed")
