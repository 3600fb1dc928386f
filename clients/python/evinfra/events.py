"""The event envelope, its validation and its wire format (fields of a stream entry).

The rules are the contract's: ``envelope.schema.json``, ``events/<family>.schema.json`` and
``wire.json``, generated from the Node side's zod schemas; the order of the checks and the
rejection reasons are those of ``packages/shared/src/events`` (``validate.ts``, ``wire.ts``).
The golden fixtures in ``contract/fixtures`` hold both sides to the same answers.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .errors import InvalidEventError, Issue
from .schema import compile_fast, compile_schema, load_contract_file

WIRE = load_contract_file("wire.json")
SPEC_VERSION: str = WIRE["specversion"]
FAMILIES: tuple = tuple(WIRE["families"])
MAX_JSON_DEPTH: int = WIRE["maxJsonDepth"]
_OPTIONAL_ATTRIBUTES = ("subject", "correlationid", "causationid", "dlqentryid", "traceparent", "tracestate")

_ENVELOPE_SCHEMA = load_contract_file("envelope.schema.json")
_check_envelope = compile_schema(_ENVELOPE_SCHEMA)
# For a publisher's own new events: the id is a fresh uuid4 and the time its own clock's,
# checked once per batch (as the Node publisher's encodeNewEvent); the rest as usual.
_check_time = compile_schema(_ENVELOPE_SCHEMA["properties"]["time"])
_OWN_ENVELOPE_SCHEMA = {
    **_ENVELOPE_SCHEMA,
    "properties": {**_ENVELOPE_SCHEMA["properties"], "id": {"type": "string"}, "time": {"type": "string"}},
}
_check_own_envelope = compile_schema(_OWN_ENVELOPE_SCHEMA)
_fast_envelope = compile_fast(_ENVELOPE_SCHEMA)
_fast_own_envelope = compile_fast(_OWN_ENVELOPE_SCHEMA)
_DATA_SCHEMAS = {
    event_type: schema
    for family in FAMILIES
    for event_type, schema in load_contract_file(f"events/{family}.schema.json")["$defs"].items()
}
# Per type: the full validator (issues with paths) and the yes/no hot path of the same rules.
_DATA_CHECKS = {event_type: compile_schema(schema) for event_type, schema in _DATA_SCHEMAS.items()}
_FAST_DATA = {event_type: compile_fast(schema) for event_type, schema in _DATA_SCHEMAS.items()}
EVENT_TYPES: tuple = tuple(_DATA_CHECKS)


@dataclass(frozen=True)
class Event:
    """A complete, valid event (CloudEvents 1.0 attribute names). ``dlqretries`` and
    ``dlqentryid`` are set by the stack's DLQ processor only; a client reads them, never sets them."""

    id: str
    type: str
    source: str
    time: str
    data: Dict[str, Any]
    specversion: str = SPEC_VERSION
    subject: Optional[str] = None
    correlationid: Optional[str] = None
    causationid: Optional[str] = None
    dlqretries: Optional[int] = None
    dlqentryid: Optional[str] = None
    #: W3C trace context (CloudEvents distributed-tracing extension), version 00.
    traceparent: Optional[str] = None
    tracestate: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """The envelope as JSON would carry it: absent optional attributes are left out."""
        out: Dict[str, Any] = {
            "id": self.id, "type": self.type, "source": self.source, "time": self.time,
            "specversion": self.specversion, "data": self.data,
        }
        for name in ("subject", "correlationid", "causationid", "dlqretries", "dlqentryid", "traceparent", "tracestate"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class NewEvent:
    """What a caller publishes. ``id`` (a UUID), ``time`` (now) and ``source`` (the
    publisher's) are filled in when left ``None``; ``data`` must be JSON-serialisable."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    subject: Optional[str] = None
    correlationid: Optional[str] = None
    causationid: Optional[str] = None
    source: Optional[str] = None
    id: Optional[str] = None
    time: Optional[str] = None
    #: W3C trace context of the producer (sent as headers by the HTTP client).
    traceparent: Optional[str] = None
    tracestate: Optional[str] = None


def family_of(event_type: str) -> str:
    dot = event_type.find(".")
    return event_type if dot < 0 else event_type[:dot]


def exceeds_json_depth(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True when objects/arrays nest deeper than ``max_depth`` (iterative, as the Node side)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node if isinstance(node, list) else node.values()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_JS_PREFIXED = {"0x": 16, "0o": 8, "0b": 2}


def js_number(value: Any) -> float:
    """JavaScript's ``Number(value)`` for what a stream field or JSON can hold (zod's coerce)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return math.nan
    text = value.strip()
    if text == "":
        return 0.0
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if text[0] == "-" else math.inf
    base = _JS_PREFIXED.get(text[:2].lower())
    if base is not None:
        try:
            return float(int(text[2:], base)) if text[2:].isalnum() else math.nan
        except ValueError:
            return math.nan
    return float(text) if _JS_DECIMAL.fullmatch(text) else math.nan


def _coerce_retries(value: Any) -> Any:
    number = js_number(value)
    if math.isfinite(number) and number.is_integer():
        return int(number)
    return number


def _parse_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def is_valid_time(time: str) -> bool:
    """True when ``time`` is an event time the envelope accepts."""
    issues: List[Issue] = []
    _check_time(time, "time", issues)
    return not issues


def validate_event(candidate: Mapping[str, Any], *, own_id_and_time: bool = False, data_json: Optional[str] = None) -> Event:
    """Checks the envelope, then the family and type, then ``data`` against the type's schema
    (the Node side's ``validateEvent``). Raises ``InvalidEventError`` with the same ``reason``.

    ``own_id_and_time``: the caller generated ``id`` (uuid4) and ``time`` (checked with
    ``is_valid_time``), so their patterns are skipped. ``data_json``: the wire text of
    ``data``; when ``data`` itself fails, the parsed text is judged instead (a tuple or an
    integer key is what JSON makes of it), so the answer is the consumer's."""
    envelope = dict(candidate) if isinstance(candidate, Mapping) else candidate
    if isinstance(envelope, dict) and "dlqretries" in envelope:
        envelope["dlqretries"] = _coerce_retries(envelope["dlqretries"])
    # The hot path: the same rules as a yes/no; anything else is judged and explained below.
    if (_fast_own_envelope if own_id_and_time else _fast_envelope)(envelope):
        fast = _FAST_DATA.get(envelope["type"])
        if fast is not None and fast(envelope["data"]):
            return _event_of(envelope)
    issues: List[Issue] = []
    (_check_own_envelope if own_id_and_time else _check_envelope)(envelope, "", issues)
    if issues and data_json is not None and any(issue.path == "data" or issue.path.startswith("data.") for issue in issues):
        envelope["data"] = _parse_json(data_json)
        issues = []
        (_check_own_envelope if own_id_and_time else _check_envelope)(envelope, "", issues)
    if issues:
        raise InvalidEventError("invalid_envelope", "event envelope is invalid", issues)
    event_type: str = envelope["type"]
    check = _DATA_CHECKS.get(event_type)
    if check is None:
        family = family_of(event_type)
        if family not in FAMILIES:
            raise InvalidEventError("unknown_family", f'unknown event family "{family}" (known: {", ".join(FAMILIES)})')
        raise InvalidEventError("unknown_type", f'unknown event type "{event_type}"')
    check(envelope["data"], "data", issues)
    if issues and data_json is not None:
        envelope["data"] = _parse_json(data_json)
        issues = []
        check(envelope["data"], "data", issues)
    if issues:
        raise InvalidEventError("invalid_data", f"data is invalid for {event_type}", issues)
    return _event_of(envelope)


def _event_of(envelope: Dict[str, Any]) -> Event:
    return Event(
        id=envelope["id"], type=envelope["type"], source=envelope["source"], time=envelope["time"],
        specversion=envelope["specversion"], data=envelope["data"],
        subject=envelope.get("subject"), correlationid=envelope.get("correlationid"),
        causationid=envelope.get("causationid"), dlqretries=envelope.get("dlqretries"),
        dlqentryid=envelope.get("dlqentryid"), traceparent=envelope.get("traceparent"),
        tracestate=envelope.get("tracestate"),
    )


WireFields = Sequence[Union[str, bytes]]


def decode_event(fields: WireFields) -> Event:
    """Parses and validates a stream entry (flat ``[name, value, ...]``, str or UTF-8 bytes),
    as the event processor does: a field given twice or another content type is
    ``invalid_envelope``, data that is not JSON is ``bad_json``, nesting past the limit is
    ``invalid_data``; unknown fields are ignored."""
    record: Dict[str, str] = {}
    for index in range(0, len(fields) - 1, 2):
        name, value = fields[index], fields[index + 1]
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        if name in record:
            raise InvalidEventError("invalid_envelope", f'field "{name[:64]}" appears more than once')
        record[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    content_type = record.get("datacontenttype")
    if content_type is not None and content_type != WIRE["datacontenttype"]:
        raise InvalidEventError("invalid_envelope", f'unsupported datacontenttype "{content_type}"')
    candidate: Dict[str, Any] = {"specversion": record.get("specversion", SPEC_VERSION)}
    if "data" in record:
        try:
            candidate["data"] = _parse_json(record["data"])
        except ValueError as caught:
            raise InvalidEventError("bad_json", f"data is not valid JSON: {caught}") from None
        if exceeds_json_depth(candidate["data"]):
            raise InvalidEventError("invalid_data", f"data is nested deeper than {MAX_JSON_DEPTH} levels")
    for name in ("id", "type", "source", "time", *_OPTIONAL_ATTRIBUTES, "dlqretries"):
        if name in record:
            candidate[name] = record[name]
    return validate_event(candidate)


def encode_data(data: Any) -> str:
    """``data`` as the wire's JSON text (compact, like ``JSON.stringify``); ``InvalidEventError``
    (``invalid_data``) when it is not JSON-serialisable."""
    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as caught:
        raise InvalidEventError("invalid_data", f"data is not JSON-serialisable: {caught}", [Issue("data", str(caught))]) from None


def encode_event(event: Event, data_json: Optional[str] = None) -> List[str]:
    """The flat field/value list for ``XADD`` (the order the Node publisher writes)."""
    fields = ["id", event.id, "type", event.type, "source", event.source, "specversion", event.specversion, "time", event.time]
    for name in _OPTIONAL_ATTRIBUTES:
        value = getattr(event, name)
        if value is not None:
            fields += (name, value)
    if event.dlqretries is not None:
        fields += ("dlqretries", str(event.dlqretries))
    fields += ("data", data_json if data_json is not None else encode_data(event.data))
    return fields


