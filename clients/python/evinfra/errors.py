"""Exceptions of the client. Every one derives from ``EvinfraError``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class Issue:
    """One problem with one field: ``path`` is dotted (``data.email``; ``""`` for the whole)."""

    path: str
    message: str


class EvinfraError(Exception):
    """Base class of every error this client raises."""


class ValidationError(EvinfraError):
    """Input refused, by this client before anything was sent, or by the server (HTTP 400).

    ``reason`` is the stack's rejection reason for events (``invalid_envelope``,
    ``unknown_family``, ``unknown_type``, ``invalid_data``, ``bad_json``) or the server's
    error code; ``field`` names the first offending field; ``issues`` lists them all.
    """

    def __init__(self, reason: str, message: str, issues: Sequence[Issue] = ()) -> None:
        self.reason = reason
        self.issues = tuple(issues)
        self.field: Optional[str] = self.issues[0].path if self.issues else None
        named = "; ".join(f"{issue.path or '(root)'}: {issue.message}" for issue in self.issues[:5])
        super().__init__(f"{message} ({named})" if named else message)


class InvalidEventError(ValidationError):
    """An event the stack would refuse; same ``reason`` as the Node side gives. ``index`` is
    the event's position when it came from a batch, else ``None``."""

    index: Optional[int] = None


class HttpError(EvinfraError):
    """An HTTP answer the client does not turn into a result: status, error code, message."""

    def __init__(self, status: int, code: str, message: str, details: object = None) -> None:
        self.status = status
        self.code = code
        self.details = details
        super().__init__(f"HTTP {status} {code}: {message}")


class AuthError(HttpError):
    """401: no API key, or a wrong one."""


class ForbiddenError(HttpError):
    """403: e.g. submitting to the dead-letter queue."""


class NotFoundError(HttpError):
    """404: unknown queue or job."""


class ConflictError(HttpError):
    """409: a concurrent change won."""


class PayloadTooLargeError(HttpError):
    """413: the body is over the server's limit."""


class NoHandlerError(HttpError):
    """422: the queue has no handler for that job name."""


class UnavailableError(EvinfraError):
    """The stack or its Redis cannot serve now: connection refused or reset, HTTP 503/429.

    ``retry_after_sec`` is the server's ``Retry-After`` when it sent one, else ``None``.
    Safe to retry for reads; a publish or submit may or may not have taken effect unless
    the error says it was never sent (``sent is False``).
    """

    def __init__(self, message: str, retry_after_sec: Optional[float] = None, sent: Optional[bool] = None) -> None:
        self.retry_after_sec = retry_after_sec
        self.sent = sent
        super().__init__(message)


class TimeoutError(UnavailableError):  # noqa: A001 - the client's own, subclass of UnavailableError
    """No answer within the configured timeout."""


class RedisReplyError(EvinfraError):
    """Redis answered a command with an error reply (``-ERR ...``, ``-NOAUTH ...``)."""
