"""Python publish throughput, for bench/suites/python.ts (``npm run bench -- python``).

    python3 bench/publish_throughput.py <redis-url> <stream> <count> <batch> [raw]
    python3 bench/publish_throughput.py dump <count>     (the events as JSON, for the Node side)

Publishes ``count`` events in batches of ``batch`` through ``StreamPublisher.publish_batch``
(validate, complete, encode, one pipeline per batch) and prints one JSON line
``{"eventsPerSec", "seconds", "count"}``. With ``raw``: the same events pre-encoded before the
clock starts, sent as bare pipelined XADDs over the same RESP connection (the client's floor).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evinfra import NewEvent, RedisConnection, StreamPublisher  # noqa: E402
from evinfra.publisher import DEFAULT_MAX_LEN_APPROX, iso_now, prepare_event  # noqa: E402
from evinfra.events import encode_event  # noqa: E402

KINDS = ("workspace.created", "job.progress", "user.updated", "airtable.record.updated")


def make_events(count: int):
    """Several families and varied payloads, as bench/suites/publisher.ts does."""
    events = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        if kind == "workspace.created":
            data = {"workspaceId": f"ws-{index}", "name": "Bench workspace", "ownerId": "user-1"}
        elif kind == "job.progress":
            data = {"queue": "async-processing", "jobId": f"job-{index}", "name": "demo.sleep", "progress": index % 101}
        elif kind == "user.updated":
            data = {"userId": f"user-{index}", "changes": {"name": "Ada", "plan": "pro"}}
        else:
            data = {"baseId": "app1", "tableId": "tbl1", "recordId": f"rec{index}", "fields": {"Name": "x", "Count": index}}
        data["seq"] = index
        events.append(NewEvent(type=kind, data=data, correlationid=f"corr-{index}"))
    return events


def main() -> None:
    if sys.argv[1] == "dump":
        events = make_events(int(sys.argv[2]))
        print(json.dumps([{"type": e.type, "data": e.data, "correlationid": e.correlationid} for e in events]))
        return
    url, stream, count, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    raw = len(sys.argv) > 5 and sys.argv[5] == "raw"
    events = make_events(count)
    connection = RedisConnection(url, timeout_sec=30)
    if raw:
        now = iso_now()
        head = ["XADD", stream, "MAXLEN", "~", DEFAULT_MAX_LEN_APPROX, "*"]
        commands = [head + encode_event(*prepare_event(event, "bench", now)) for event in events]
        started = time.perf_counter()
        for offset in range(0, count, batch):
            replies = connection.pipeline(commands[offset : offset + batch])
            if any(not isinstance(reply, bytes) for reply in replies):
                raise SystemExit("raw XADD failed")
    else:
        publisher = StreamPublisher(connection, source="bench", stream=stream)
        started = time.perf_counter()
        for offset in range(0, count, batch):
            publisher.publish_batch(events[offset : offset + batch])
    seconds = time.perf_counter() - started
    connection.close()
    print(json.dumps({"eventsPerSec": count / seconds, "seconds": seconds, "count": count}))


if __name__ == "__main__":
    main()
