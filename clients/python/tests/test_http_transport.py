"""StackClient's transport against small real HTTP servers on 127.0.0.1: 503/429 with
Retry-After, timeouts, oversized answers. (The stack itself: test_stack.py.)"""

from __future__ import annotations

import http.server
import threading
import time
from contextlib import contextmanager

import pytest

from evinfra import NewEvent, StackClient, TimeoutError, UnavailableError
from evinfra.http_client import MAX_RESPONSE_BYTES


@contextmanager
def server(handler_body):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            handler_body(self)

        def do_POST(self):  # noqa: N802 - http.server's naming
            handler_body(self)

        def log_message(self, *args):
            pass  # quiet test output

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def answer(status, body=b"", headers=()):
    def handle(request):
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


@pytest.mark.parametrize("status", [503, 429])
def test_unavailable_carries_retry_after(status):
    body = b'{"error":"unavailable","message":"redis-queue is unavailable"}'
    with server(answer(status, body, [("Retry-After", "3")])) as url:
        with pytest.raises(UnavailableError) as raised:
            StackClient(url).get_job("q", "1")
    assert raised.value.retry_after_sec == 3.0
    assert "redis-queue is unavailable" in str(raised.value)


def test_no_answer_within_the_timeout():
    release = threading.Event()

    def stall(request):
        release.wait(10)

    with server(stall) as url:
        started = time.monotonic()
        try:
            with pytest.raises(TimeoutError):
                StackClient(url, timeout_sec=0.5).get_job("q", "1")
        finally:
            release.set()
        assert time.monotonic() - started < 5


def test_an_oversized_answer_is_refused():
    with server(answer(200, b"[" + b"0," * (MAX_RESPONSE_BYTES // 2) + b"0]")) as url:
        with pytest.raises(Exception, match="response over"):
            StackClient(url).health()


def test_publish_event_sends_trace_context_as_w3c_headers():
    seen = {}
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    def handle(request):
        seen["traceparent"] = request.headers.get("traceparent")
        seen["tracestate"] = request.headers.get("tracestate")
        seen["body"] = request.rfile.read(int(request.headers["Content-Length"]))
        answer(202, b'{"id":"6f1c2f8e-3b8a-4c1e-9d7a-1b2c3d4e5f60"}', [("Content-Type", "application/json")])(request)

    with server(handle) as url:
        event = NewEvent(type="user.deleted", data={"userId": "u"}, traceparent=traceparent, tracestate="rojo=1")
        assert StackClient(url).publish_event(event) == "6f1c2f8e-3b8a-4c1e-9d7a-1b2c3d4e5f60"
    assert seen["traceparent"] == traceparent
    assert seen["tracestate"] == "rojo=1"
    assert b"traceparent" not in seen["body"]
