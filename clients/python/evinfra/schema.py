"""A validator for the JSON Schema subset that ``z.toJSONSchema`` emits for this contract.

The schemas are the generated files in ``evinfra/contract`` (copies of the repository's
``contract/`` folder), so the rules come from the zod source, not from this file. A keyword
this module does not know makes loading fail: a new kind of rule on the Node side cannot be
silently ignored here. JavaScript semantics are kept where they differ from Python's: string
lengths count code points (as zod 4 does), ``\\d`` is ASCII, ``$`` is the very end, ``True`` is no number.
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from typing import Any, Callable, Dict, List, Optional

from .errors import Issue

Validator = Callable[[Any, str, List[Issue]], None]

_ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "format"}
_KNOWN = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "propertyNames", "minLength",
    "maxLength", "pattern", "const", "enum", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "anyOf", "items", "minItems", "maxItems", "$defs",
}


def load_contract_file(name: str) -> Any:
    """One file of the bundled contract, parsed (``envelope.schema.json``, ``events/user.schema.json``)."""
    path = resources.files("evinfra").joinpath("contract", *name.split("/"))
    return json.loads(path.read_text(encoding="utf-8"))


def js_length(text: str) -> int:
    """zod 4 string length: Unicode code points (an emoji counts 1), as Python's ``len``."""
    return len(text)


def _js_pattern(pattern: str) -> "re.Pattern[str]":
    """A JavaScript (non-unicode, no flags) regex as Python's: ``$`` outside a class is ``\\Z``."""
    out: List[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return re.compile("".join(out), re.ASCII)


def _type_check(kind: str) -> Callable[[Any], bool]:
    if kind == "object":
        return lambda value: isinstance(value, dict)
    if kind == "array":
        return lambda value: isinstance(value, list)
    if kind == "string":
        return lambda value: isinstance(value, str)
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind == "null":
        return lambda value: value is None
    if kind == "number":
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "integer":
        return lambda value: (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and float(value).is_integer()
        )
    raise ValueError(f"schema type {kind!r} is not supported")


def _expected(kind: str) -> str:
    return f"expected {kind}"


def compile_schema(schema: Dict[str, Any]) -> Validator:
    """A function ``(value, path, issues)`` that appends one ``Issue`` per violation."""
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"schema keyword(s) not supported by the Python client: {sorted(unknown)}")
    fast = _compile_plain_string(schema)
    if fast is not None:
        return fast
    checks: List[Validator] = []
    if "anyOf" in schema:
        options = [compile_schema(option) for option in schema["anyOf"]]

        def any_of(value: Any, path: str, issues: List[Issue]) -> None:
            for option in options:
                trial: List[Issue] = []
                option(value, path, trial)
                if not trial:
                    return
            issues.append(Issue(path, "matches none of the allowed forms"))

        checks.append(any_of)
    kind = schema.get("type")
    is_type = _type_check(kind) if isinstance(kind, str) else None
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda value, path, issues: None if value == const and type(value) is type(const) else issues.append(Issue(path, f"expected {json.dumps(const)}")))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda value, path, issues: None if any(value == option and type(value) is type(option) for option in allowed) else issues.append(Issue(path, f"expected one of {allowed}")))
    if kind == "string":
        checks.extend(_string_checks(schema))
    elif kind in ("number", "integer"):
        checks.extend(_number_checks(schema))
    elif kind == "object":
        checks.extend(_object_checks(schema))
    elif kind == "array":
        checks.extend(_array_checks(schema))

    def validate(value: Any, path: str, issues: List[Issue]) -> None:
        if is_type is not None and not is_type(value):
            issues.append(Issue(path, _expected(kind)))
            return
        for check in checks:
            check(value, path, issues)

    return validate


def _compile_plain_string(schema: Dict[str, Any]) -> Optional[Validator]:
    """The most common leaf (a string with lengths and a pattern) as one closure: the same
    checks and messages as the general path, a fraction of its calls."""
    if schema.get("type") != "string" or set(schema) - _ANNOTATIONS - {"type", "minLength", "maxLength", "pattern"}:
        return None
    low: Optional[int] = schema.get("minLength")
    high: Optional[int] = schema.get("maxLength")
    regex = _js_pattern(schema["pattern"]) if "pattern" in schema else None
    what = schema.get("format", "the pattern")

    def validate(value: Any, path: str, issues: List[Issue]) -> None:
        if not isinstance(value, str):
            issues.append(Issue(path, "expected string"))
            return
        if low is not None or high is not None:
            length = js_length(value)
            if low is not None and length < low:
                issues.append(Issue(path, f"at least {low} characters"))
            if high is not None and length > high:
                issues.append(Issue(path, f"at most {high} characters"))
        if regex is not None and not regex.search(value):
            issues.append(Issue(path, f"must match {what}"))

    return validate


def _string_checks(schema: Dict[str, Any]) -> List[Validator]:
    checks: List[Validator] = []
    low: Optional[int] = schema.get("minLength")
    high: Optional[int] = schema.get("maxLength")
    if low is not None:
        checks.append(lambda value, path, issues: None if js_length(value) >= low else issues.append(Issue(path, f"at least {low} characters")))
    if high is not None:
        checks.append(lambda value, path, issues: None if js_length(value) <= high else issues.append(Issue(path, f"at most {high} characters")))
    if "pattern" in schema:
        regex = _js_pattern(schema["pattern"])
        what = schema.get("format", "the pattern")
        checks.append(lambda value, path, issues: None if regex.search(value) else issues.append(Issue(path, f"must match {what}")))
    return checks


def _number_checks(schema: Dict[str, Any]) -> List[Validator]:
    bounds = [
        ("minimum", lambda value, bound: value >= bound, "at least"),
        ("maximum", lambda value, bound: value <= bound, "at most"),
        ("exclusiveMinimum", lambda value, bound: value > bound, "more than"),
        ("exclusiveMaximum", lambda value, bound: value < bound, "less than"),
    ]
    checks: List[Validator] = []
    for key, holds, words in bounds:
        if key in schema:
            bound = schema[key]
            checks.append(lambda value, path, issues, bound=bound, holds=holds, words=words: None if holds(value, bound) else issues.append(Issue(path, f"{words} {bound}")))
    return checks


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _object_checks(schema: Dict[str, Any]) -> List[Validator]:
    properties = {name: compile_schema(sub) for name, sub in schema.get("properties", {}).items()}
    required = list(schema.get("required", []))
    extra = schema.get("additionalProperties")
    extra_check = compile_schema(extra) if isinstance(extra, dict) else None
    names_check = compile_schema(schema["propertyNames"]) if "propertyNames" in schema else None
    # `propertyNames: {type: string}` (every zod record) holds for every str key: skip the call.
    plain_names = schema.get("propertyNames") == {"type": "string"}

    def check(value: Dict[str, Any], path: str, issues: List[Issue]) -> None:
        prefix = f"{path}." if path else ""
        for name in required:
            if name not in value:
                issues.append(Issue(prefix + name, "required"))
        unexpected = []
        for name, item in value.items():
            if names_check is not None and not (plain_names and name.__class__ is str):
                names_check(name, prefix + str(name), issues)
            prop = properties.get(name)
            if prop is not None:
                prop(item, prefix + name, issues)
            elif extra is False:
                unexpected.append(name)
            elif extra_check is not None:
                extra_check(item, _join(path, name), issues)
        if unexpected:
            # zod reports unknown keys of a strict object as one issue on the object itself.
            issues.append(Issue(path, f"unrecognized key(s): {', '.join(unexpected[:10])}"))

    return [check]


def _array_checks(schema: Dict[str, Any]) -> List[Validator]:
    checks: List[Validator] = []
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None:
        checks.append(lambda value, path, issues: None if len(value) >= low else issues.append(Issue(path, f"at least {low} items")))
    if high is not None:
        checks.append(lambda value, path, issues: None if len(value) <= high else issues.append(Issue(path, f"at most {high} items")))
    if "items" in schema:
        item_check = compile_schema(schema["items"])

        def items(value: List[Any], path: str, issues: List[Issue]) -> None:
            for index, item in enumerate(value):
                item_check(item, _join(path, str(index)), issues)

        checks.append(items)
    return checks


Check = Callable[[Any], bool]


def compile_fast(schema: Dict[str, Any]) -> Check:
    """The same rules as ``compile_schema`` as a yes/no answer, without paths or issues: the
    hot path. A ``False`` is explained by the full validator; a test holds the two equal."""
    if "anyOf" in schema:
        options = [compile_fast(option) for option in schema["anyOf"]]
        rest = compile_fast({key: value for key, value in schema.items() if key != "anyOf"})
        return lambda value: any(option(value) for option in options) and rest(value)
    kind = schema.get("type")
    if kind == "string" and not set(schema) - _ANNOTATIONS - {"type", "minLength", "maxLength", "pattern"}:
        return _fast_string(schema)
    if kind == "object" and "const" not in schema and "enum" not in schema:
        return _fast_object(schema)
    tests: List[Check] = []
    if isinstance(kind, str):
        tests.append(_type_check(kind))
    if "const" in schema:
        const = schema["const"]
        tests.append(lambda value: value == const and type(value) is type(const))
    if "enum" in schema:
        allowed = list(schema["enum"])
        tests.append(lambda value: any(value == option and type(value) is type(option) for option in allowed))
    if kind == "string":
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None:
            tests.append(lambda value: js_length(value) >= low)
        if high is not None:
            tests.append(lambda value: js_length(value) <= high)
        if "pattern" in schema:
            search = _js_pattern(schema["pattern"]).search
            tests.append(lambda value: search(value) is not None)
    elif kind in ("number", "integer"):
        for key, holds in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
                           ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b)):
            if key in schema:
                tests.append(lambda value, bound=schema[key], holds=holds: holds(value, bound))
    elif kind == "array":
        low, high = schema.get("minItems"), schema.get("maxItems")
        item = compile_fast(schema["items"]) if "items" in schema else None
        tests.append(lambda value: (low is None or len(value) >= low) and (high is None or len(value) <= high)
                     and (item is None or all(item(entry) for entry in value)))
    if len(tests) == 0:
        return lambda value: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda value: first(value) and second(value)

    def every(value: Any) -> bool:
        for test in tests:
            if not test(value):
                return False
        return True

    return every


def _fast_string(schema: Dict[str, Any]) -> Check:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    search = _js_pattern(schema["pattern"]).search if "pattern" in schema else None

    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        length = js_length(value)
        if length < low or (high is not None and length > high):
            return False
        return search is None or search(value) is not None

    return check


def _fast_object(schema: Dict[str, Any]) -> Check:
    properties = {name: compile_fast(sub) for name, sub in schema.get("properties", {}).items()}
    required = frozenset(schema.get("required", []))
    extra = schema.get("additionalProperties")
    extra_check = compile_fast(extra) if isinstance(extra, dict) else None
    names = schema.get("propertyNames")
    names_check = None if names is None or names == {"type": "string"} else compile_fast(names)

    def check(value: Any) -> bool:
        if not isinstance(value, dict) or not required <= value.keys():
            return False
        for name, item in value.items():
            if name.__class__ is not str or (names_check is not None and not names_check(name)):
                return False
            prop = properties.get(name)
            if prop is not None:
                if not prop(item):
                    return False
            elif extra is False or (extra_check is not None and not extra_check(item)):
                return False
        return True

    return check
