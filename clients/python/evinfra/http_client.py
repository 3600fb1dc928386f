"""The stack's HTTP API (queue-processor, port 8009): events and jobs, with typed errors."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union
from urllib.parse import quote

from .errors import (
    AuthError, ConflictError, ForbiddenError, HttpError, Issue, NoHandlerError, NotFoundError,
    PayloadTooLargeError, TimeoutError, UnavailableError, ValidationError,
)
from .events import NewEvent
from .publisher import as_new_event, iso_now, prepare_event
from .schema import compile_schema, load_contract_file

_check_job = compile_schema(load_contract_file("job-submission.schema.json"))


def check_job_body(body: Dict[str, Any], path: str = "") -> None:
    """The job body against the contract's schema (``ValidationError`` naming the fields);
    the job id's two refinements (no ``:``, not a bare integer) are left to the server."""
    issues: List[Issue] = []
    _check_job(body, path, issues)
    if issues:
        raise ValidationError("validation_failed", "job submission is invalid", issues)

#: Largest response body read; a bigger one is refused rather than held in memory.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: Event types only the stack publishes (job lifecycle): ``POST /events`` refuses them.
RESERVED_EVENT_TYPE_PREFIX = "job."
#: ``POST /jobs/:queue/bulk`` takes at most this many jobs (the server's bound).
MAX_BULK_JOBS = 1000
_STATUS_ERRORS = {401: AuthError, 403: ForbiddenError, 404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError, 422: NoHandlerError}


@dataclass(frozen=True)
class JobRef:
    """What a submission returns: ``existing`` is true when the ``job_id`` was already taken."""

    id: str
    queue: str
    name: str
    existing: bool = False


@dataclass(frozen=True)
class JobSpec:
    """One job to submit. Durations in ms; ``backoff`` is a delay in ms or
    ``{"type": "fixed"|"exponential", "delay": ms}``."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    job_id: Optional[str] = None
    priority: Optional[int] = None
    delay_ms: Optional[int] = None
    attempts: Optional[int] = None
    backoff: Union[int, Mapping[str, Any], None] = None
    timeout_ms: Optional[int] = None

    def to_body(self) -> Dict[str, Any]:
        opts = {
            key: value
            for key, value in (
                ("jobId", self.job_id), ("priority", self.priority), ("delay", self.delay_ms),
                ("attempts", self.attempts), ("backoff", self.backoff), ("timeoutMs", self.timeout_ms),
            )
            if value is not None
        }
        body: Dict[str, Any] = {"name": self.name, "data": dict(self.data)}
        if opts:
            body["opts"] = opts
        return body


@dataclass(frozen=True)
class Job:
    """``GET /jobs/:queue/:id``. ``state``: waiting, active, delayed, completed, failed, ...;
    ``raw`` keeps the whole answer (timestamps, opts, stacktrace)."""

    id: str
    name: str
    queue: str
    state: str
    progress: Any
    progress_message: Optional[str]
    attempts_made: int
    data: Dict[str, Any]
    return_value: Any
    failed_reason: Optional[str]
    raw: Dict[str, Any]

    @classmethod
    def from_json(cls, body: Dict[str, Any]) -> "Job":
        return cls(
            id=str(body["id"]), name=body["name"], queue=body["queue"], state=body["state"],
            progress=body.get("progress"), progress_message=body.get("progressMessage"),
            attempts_made=body.get("attemptsMade", 0), data=body.get("data") or {},
            return_value=body.get("returnValue"), failed_reason=body.get("failedReason"), raw=body,
        )


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: not worth parsing; the caller backs off on its own


class StackClient:
    """Client of the queue-processor's HTTP API. ``base_url`` like ``http://127.0.0.1:8009``;
    ``api_key`` is sent as ``Authorization: Bearer`` (never logged or put in errors);
    ``timeout_sec`` (default 10) bounds each request."""

    def __init__(self, base_url: str, *, api_key: Optional[str] = None, timeout_sec: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if not 0 < timeout_sec <= 600:
            raise ValueError("timeout_sec must be in (0, 600]")
        self._base = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout_sec = timeout_sec

    def __repr__(self) -> str:
        return f"StackClient({self._base!r})"

    # --- events -------------------------------------------------------------------------

    def publish_event(self, event: Union[NewEvent, Mapping[str, Any]]) -> str:
        """``POST /events``; returns the event id the server assigned. The event is checked
        here first with the stream's rules (``InvalidEventError``, nothing sent). ``id``,
        ``time`` and ``source`` are the server's to set, and ``job.*`` events the stack's own
        (``ValidationError`` naming the field, nothing sent)."""
        new = as_new_event(event)
        for name in ("id", "time", "source"):
            if getattr(new, name) is not None:
                raise ValidationError("validation_failed", f"{name} is assigned by the server", [Issue(name, "must not be set")])
        if isinstance(new.type, str) and new.type.lower().startswith(RESERVED_EVENT_TYPE_PREFIX):
            raise ValidationError("validation_failed", "job.* events are published by the stack only", [Issue("type", "reserved for the stack")])
        checked, _ = prepare_event(new, "http-client", iso_now())
        body: Dict[str, Any] = {"type": checked.type, "data": checked.data}
        for name in ("subject", "correlationid", "causationid"):
            value = getattr(new, name)
            if value is not None:
                body[name] = value
        # Trace context travels in the W3C headers; the server refuses it in the body.
        trace = {name: value for name in ("traceparent", "tracestate") if (value := getattr(new, name)) is not None}
        return str(self._request("POST", "/events", body, trace)["id"])

    # --- jobs ---------------------------------------------------------------------------

    def submit_job(self, queue: str, job: Union[JobSpec, str], data: Optional[Mapping[str, Any]] = None, **opts: Any) -> JobRef:
        """``POST /jobs/:queue``: ``submit_job("async-processing", "demo.sleep", {"durationMs": 10})``
        or with a ``JobSpec``; keyword options as in ``JobSpec`` (``job_id``, ``attempts``, ...).
        The body is checked against the contract first (``ValidationError``, nothing sent)."""
        spec = job if isinstance(job, JobSpec) else JobSpec(name=job, data=data or {}, **opts)
        payload = spec.to_body()
        check_job_body(payload)
        body = self._request("POST", f"/jobs/{quote(queue, safe='')}", payload)
        return JobRef(id=str(body["id"]), queue=body["queue"], name=body["name"], existing=bool(body.get("existing", False)))

    def submit_jobs(self, queue: str, jobs: Sequence[JobSpec]) -> List[JobRef]:
        """``POST /jobs/:queue/bulk``: all or nothing, at most ``MAX_BULK_JOBS``."""
        if not 1 <= len(jobs) <= MAX_BULK_JOBS:
            raise ValueError(f"1 to {MAX_BULK_JOBS} jobs per bulk submission (got {len(jobs)})")
        payloads = [job.to_body() for job in jobs]
        for index, payload in enumerate(payloads):
            check_job_body(payload, f"jobs.{index}")
        body = self._request("POST", f"/jobs/{quote(queue, safe='')}/bulk", {"jobs": payloads})
        return [JobRef(id=str(item["id"]), queue=item["queue"], name=item["name"]) for item in body["jobs"]]

    def get_job(self, queue: str, job_id: str) -> Job:
        """``GET /jobs/:queue/:id``; ``NotFoundError`` when there is no such job."""
        return Job.from_json(self._request("GET", f"/jobs/{quote(queue, safe='')}/{quote(job_id, safe='')}"))

    def cancel_job(self, queue: str, job_id: str) -> Dict[str, Any]:
        """``DELETE /jobs/:queue/:id``: removes a waiting/delayed job, aborts an active one."""
        return self._request("DELETE", f"/jobs/{quote(queue, safe='')}/{quote(job_id, safe='')}")

    def health(self) -> Dict[str, Any]:
        """``GET /health`` (200 only; a 503 raises ``UnavailableError``)."""
        return self._request("GET", "/health")

    # --- transport ----------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, extra_headers: Optional[Mapping[str, str]] = None) -> Any:
        headers = {"Accept": "application/json", **(extra_headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self._base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_sec) as response:
                return self._json(response.read(MAX_RESPONSE_BYTES + 1), response.status)
        except urllib.error.HTTPError as caught:
            with caught:
                raise self._error(caught.code, caught.read(MAX_RESPONSE_BYTES + 1), caught.headers.get("Retry-After")) from None
        except socket.timeout:  # the builtin TimeoutError: no answer in time
            raise TimeoutError(f"{method} {path}: no answer within {self._timeout_sec} s", sent=True) from None
        except urllib.error.URLError as caught:
            reason = caught.reason
            if isinstance(reason, socket.timeout):
                raise TimeoutError(f"{method} {path}: no answer within {self._timeout_sec} s", sent=True) from None
            # Refused: the request never left; anything else (reset, DNS, TLS): unknown.
            raise UnavailableError(f"{method} {path}: {reason}", sent=False if isinstance(reason, ConnectionRefusedError) else None) from None
        except (ConnectionError, OSError) as caught:
            raise UnavailableError(f"{method} {path}: {caught}") from None

    @staticmethod
    def _json(raw: bytes, status: int) -> Any:
        if len(raw) > MAX_RESPONSE_BYTES:
            raise HttpError(status, "response_too_large", f"response over {MAX_RESPONSE_BYTES} bytes")
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise HttpError(status, "bad_response", "response is not JSON") from None

    @classmethod
    def _error(cls, status: int, raw: bytes, retry_after: Optional[str]) -> Exception:
        try:
            body = json.loads(raw[:MAX_RESPONSE_BYTES]) if raw else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code, message = str(body.get("error", f"http_{status}")), str(body.get("message", "")).strip() or f"HTTP {status}"
        details = body.get("details")
        if status in (429, 503):
            return UnavailableError(f"HTTP {status} {code}: {message}", retry_after_sec=_retry_after(retry_after), sent=True)
        if status == 400:
            issues = [Issue(str(item.get("path", "")), str(item.get("message", ""))) for item in details if isinstance(item, dict)] if isinstance(details, list) else []
            return ValidationError(code, message, issues)
        return _STATUS_ERRORS.get(status, HttpError)(status, code, message, details)
