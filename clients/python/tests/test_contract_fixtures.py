"""The golden wire fixtures (contract/fixtures), run against the Python client; the Node side
runs the same files in packages/shared/test/wire-contract.test.ts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evinfra import InvalidEventError, decode_event, encode_event, validate_event
from evinfra.schema import compile_schema, load_contract_file

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "contract" / "fixtures"


def cases(name: str):
    loaded = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["cases"]
    assert len(loaded) >= 10, f"{name} lost its cases"
    return [pytest.param(case, id=case["name"]) for case in loaded]


def answer(run):
    try:
        return {"event": run().to_dict()}
    except InvalidEventError as caught:
        return {"reason": caught.reason, "paths": sorted({issue.path for issue in caught.issues})}


@pytest.mark.parametrize("case", cases("wire-entries.json"))
def test_wire_entry_decodes_as_the_fixture_says(case):
    assert answer(lambda: decode_event(case["fields"])) == case["expect"]


@pytest.mark.parametrize("case", cases("wire-entries.json"))
def test_wire_entry_as_utf8_bytes_gives_the_same_answer(case):
    as_bytes = [field.encode("utf-8") for field in case["fields"]]
    assert answer(lambda: decode_event(as_bytes)) == case["expect"]


@pytest.mark.parametrize("case", cases("envelopes.json"))
def test_envelope_validates_as_the_fixture_says(case):
    assert answer(lambda: validate_event(case["candidate"])) == case["expect"]


@pytest.mark.parametrize("case", [case for case in cases("wire-entries.json") if "event" in case.values[0]["expect"]])
def test_encoding_a_decoded_event_round_trips(case):
    event = decode_event(case["fields"])
    assert decode_event(encode_event(event)) == event


def test_bundled_contract_is_the_repository_contract():
    """The package ships a copy of contract/ (npm run contract writes both)."""
    bundled = REPO / "clients" / "python" / "evinfra" / "contract"
    for path in (REPO / "contract").rglob("*.json"):
        if "fixtures" in path.parts:
            continue
        assert (bundled / path.relative_to(REPO / "contract")).read_bytes() == path.read_bytes(), path.name


def test_a_schema_keyword_the_client_does_not_know_fails_loudly():
    with pytest.raises(ValueError, match="not supported"):
        compile_schema({"type": "string", "contentEncoding": "base64"})


def test_job_submission_schema_compiles():
    check = compile_schema(load_contract_file("job-submission.schema.json"))
    issues = []
    check({"name": "demo.sleep", "opts": {"attempts": 0, "extra": 1}}, "", issues)
    assert sorted(issue.path for issue in issues) == ["opts", "opts.attempts"]


@pytest.mark.parametrize("case", cases("job-submissions.json"))
def test_job_body_is_judged_as_the_fixture_says(case):
    from evinfra import ValidationError
    from evinfra.http_client import check_job_body

    try:
        check_job_body(case["body"])
        answer = {"valid": True}
    except ValidationError as caught:
        answer = {"valid": False, "paths": sorted({issue.path for issue in caught.issues})}
    # A refinement JSON Schema cannot carry is the server's alone: the client lets it through.
    assert answer == ({"valid": True} if case.get("serverOnly") else case["expect"])


def _all_candidates():
    """Every envelope the fixtures hold, as objects (wire entries decoded by hand)."""
    import evinfra.events as events

    out = [case["candidate"] for case in json.loads((FIXTURES / "envelopes.json").read_text())["cases"]]
    for case in json.loads((FIXTURES / "wire-entries.json").read_text())["cases"]:
        fields = dict(zip(case["fields"][0::2], case["fields"][1::2]))
        try:
            fields["data"] = events._parse_json(fields["data"])
        except (KeyError, ValueError):
            pass
        fields.pop("datacontenttype", None)
        if "dlqretries" in fields:
            fields["dlqretries"] = events._coerce_retries(fields["dlqretries"])
        out.append(fields)
    return out


def test_the_fast_checks_agree_with_the_full_validators_and_do_run():
    """The yes/no hot path and the issue-collecting validators answer alike on every fixture."""
    import evinfra.events as events

    accepted_fast = 0
    for candidate in _all_candidates():
        issues = []
        events._check_envelope(candidate, "", issues)
        assert events._fast_envelope(candidate) == (not issues), candidate
        if issues or candidate.get("type") not in events._DATA_CHECKS:
            continue
        data_issues = []
        events._DATA_CHECKS[candidate["type"]](candidate["data"], "data", data_issues)
        fast = events._FAST_DATA[candidate["type"]](candidate["data"])
        assert fast == (not data_issues), candidate
        accepted_fast += fast
    assert accepted_fast >= 10


def _mutations(rng, value, depth=0):
    """A few random variants of a JSON value: each field dropped, retyped, stretched or emptied."""
    replacements = [None, True, 0, -1, 1.5, 2**53, "", "x" * 300, "\U0001F600" * 257, [], {}, "2026-02-29T00:00:00Z", "a@b.co\n"]
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        dropped = {k: v for k, v in value.items() if k != key}
        changed = dict(value, **{key: rng.choice(replacements)})
        yield dropped
        yield changed
        if depth < 2:
            for inner in _mutations(rng, value[key], depth + 1):
                yield dict(value, **{key: inner})
    else:
        yield rng.choice(replacements)


def test_fast_and_full_validators_agree_on_random_variants_of_the_fixtures():
    """Property test (seeded, no third-party library): thousands of variants, same verdicts."""
    import random

    import evinfra.events as events

    rng = random.Random(18)
    checked = fast_accepted = 0
    for _ in range(30):
        for candidate in _all_candidates():
            for variant in _mutations(rng, candidate):
                issues = []
                events._check_envelope(variant, "", issues)
                assert events._fast_envelope(variant) == (not issues), variant
                if isinstance(variant, dict) and isinstance(variant.get("type"), str) and variant["type"] in events._DATA_CHECKS and isinstance(variant.get("data"), dict):
                    for data in _mutations(rng, variant["data"]):
                        data_issues = []
                        events._DATA_CHECKS[variant["type"]](data, "data", data_issues)
                        fast = events._FAST_DATA[variant["type"]](data)
                        assert fast == (not data_issues), (variant["type"], data)
                        fast_accepted += fast
                checked += 1
    assert checked > 2000 and fast_accepted > 100
