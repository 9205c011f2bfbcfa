"""The API fuzzed by schemathesis from its own OpenAPI document, on gunicorn and Kafka.

Every operation gets a bounded, reproducible run of schema-valid and
schema-violating requests; the API must never answer 5xx, must answer as its
document says, must accept no event its document forbids, and every 4xx must be
a JSON error naming what is wrong. Its broker is its own, so the events it
accepts reach no topic that other tests read.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema_rs import Draft202012Validator
from schemathesis import Case, CheckContext, Response

from api import MAX_CONTENT_LENGTH
from api.events import MAX_BULK_ITEMS
from api.openapi import build_document

pytestmark = pytest.mark.slow

DOCUMENT = build_document(MAX_BULK_ITEMS, MAX_CONTENT_LENGTH)

# NOTE: schema-valid events may still break a contract rule that JSON Schema
# cannot state (a vote's candidate_id must belong to its election_id; district
# is required in ME and NE only), so a 400 for them is right and the
# positive_data_acceptance check is off. A bulk of more than maxItems events is
# refused with 413, and a bulk with one invalid item among valid ones gets 207;
# accepted_events_follow_the_document checks that the accepted items are valid.
REFUSED = [400, 401, 413, 415]
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"expected-statuses": REFUSED},
        },
        "operations": [
            {
                "include-path-regex": "/bulk$",
                "checks": {
                    "negative_data_rejection": {"expected-statuses": [207, *REFUSED]}
                },
            }
        ],
    }
)

# NOTE: the document is loaded here, not from the running API, because
# `schemathesis.pytest.from_fixture` fails on pytest 9 (it reads the removed
# `Function._nodeid`); test_served_document_is_the_fuzzed_one ties the two.
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def error_names_the_problem(ctx: CheckContext, response: Response, case: Case) -> None:
    """A 4xx answer is a JSON object with a non-empty `error` and `field`."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == "application/json", (
        f"{response.status_code} answer of type {content_type!r}, not JSON"
    )
    body = response.json()
    assert isinstance(body, dict), f"{response.status_code} body is not an object"
    for member in ("error", "field"):
        value = body.get(member)
        assert isinstance(value, str) and value, (
            f"{response.status_code} body has no {member!r}: {body}"
        )


def _event_validator(name: str) -> Draft202012Validator:
    """A validator of the document's schema of event `name`, by ECMA-262 regexes.

    NOTE: formats are not checked: the contracts read a timestamp a little more
    widely than RFC 3339 does (a space for the `T`, no seconds), which loses
    nothing since the event is written back in the one canonical form.
    """
    root = {"$ref": f"#/components/schemas/{name}", **DOCUMENT}
    return Draft202012Validator(root, validate_formats=False)


EVENT_SCHEMAS = {
    "/register": _event_validator("RegistrationEvent"),
    "/vote": _event_validator("VoteEvent"),
}


def accepted_events_follow_the_document(
    ctx: CheckContext, response: Response, case: Case
) -> None:
    """Every event the API accepted is valid by the document's event schema."""
    route = case.path.removesuffix("/bulk")
    if route not in EVENT_SCHEMAS or response.status_code not in (202, 207):
        return
    accepted: list[object] = [case.body]
    if case.path.endswith("/bulk"):
        results = response.json()["results"]
        accepted = [case.body[r["index"]] for r in results if r["status"] == "accepted"]
    for event in accepted:
        errors = [error.message for error in EVENT_SCHEMAS[route].iter_errors(event)]
        assert not errors, f"accepted an event against the document: {errors}"


def test_served_document_is_the_fuzzed_one(isolated_api: str) -> None:
    response = requests.get(f"{isolated_api}/openapi.json", timeout=10)

    assert response.status_code == 200
    assert response.json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_any_request_gets_a_documented_answer_and_never_5xx(
    case: Case, isolated_api: str, auth: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=isolated_api,
        headers=auth,
        timeout=30,
        additional_checks=[
            error_names_the_problem,
            accepted_events_follow_the_document,
        ],
    )
