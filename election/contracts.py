"""Versioned event contracts shared by the producers, the API and the consumers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

SCHEMA_VERSION = 1

REGISTRATION_TOPIC = "registration"
VOTE_TOPIC = "vote"
TOPICS = (REGISTRATION_TOPIC, VOTE_TOPIC)


def dead_letter_topic(topic: str) -> str:
    """Name of the dead-letter topic that parks undeliverable messages of `topic`."""
    return f"{topic}.dead-letter"


STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
    "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
DISTRICTS = {"ME": (1, 2), "NE": (1, 2, 3)}
"""States that give electoral votes by congressional district, and their districts."""

PARTIES = ("DEM", "REP", "OTH")

StateCode = Literal[tuple(STATE_CODES)]  # type: ignore[valid-type]
Party = Literal["DEM", "REP", "OTH"]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
ElectionId = Annotated[str, StringConstraints(pattern=r"^us\d{4}-r\d+$", max_length=32)]

# NOTE: the namespace is fixed forever: ids made from it must stay the same across
# releases so that a rerun of a scenario produces the same events.
ID_NAMESPACE = uuid.UUID("5f1d3c9e-8b0a-4e57-9a61-2f3c0f6d7e21")


def stable_id(*parts: object) -> uuid.UUID:
    """A UUID determined by `parts`, the same on every run and machine."""
    return uuid.uuid5(ID_NAMESPACE, "|".join(str(part) for part in parts))


def election_id(year: int, ratio: int) -> str:
    """Id of the simulated election of `year` at one voter for `ratio` people."""
    return f"us{year}-r{ratio}"


def candidate_id(election: str, party: str) -> str:
    """Id of the candidate (or the bucket of all others) of `party` in `election`."""
    return f"{election}-{party.lower()}"


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(
        SCHEMA_VERSION, description="Version of this contract."
    )
    event_id: uuid.UUID = Field(description="Producer-made id; the same on a retry.")
    voter_id: uuid.UUID = Field(description="Pseudonymous id of the voter.")
    election_id: ElectionId = Field(
        description="The simulated election, us2020-r10000."
    )
    state: StateCode = Field(description="Two-letter code of the state, or DC.")
    district: int | None = Field(
        None,
        description="Congressional district; required in ME and NE, absent elsewhere.",
    )

    @field_validator("district", mode="after")
    @classmethod
    def _check_district(cls, district: int | None, info: ValidationInfo) -> int | None:
        state = info.data.get("state")
        if state is None:
            return district
        allowed = DISTRICTS.get(state)
        if allowed is None and district is not None:
            raise ValueError(
                f"district must be absent for {state}: only ME and NE vote "
                f"by district, got {district!r}"
            )
        if allowed is not None and district not in allowed:
            raise ValueError(
                f"district must be one of {list(allowed)} for {state}, got {district!r}"
            )
        return district


class RegistrationEvent(_Event):
    """A voter registered, changed their registration, or was removed from the roll.

    `action` says which: a `register` brings the whole identity, an `update`
    brings the newer details of a voter already registered, and a `remove`
    purges the registration (the voter stays as a tombstone with `removed_at`).
    """

    action: Literal["register", "update", "remove"] = Field(
        "register", description="register, update (newer details) or remove."
    )
    occurred_at: AwareDatetime = Field(
        description="When the registration office recorded the change."
    )
    first_name: Name
    last_name: Name
    email: Annotated[
        str, StringConstraints(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    phone: Annotated[str, StringConstraints(max_length=40)] = ""
    gender: Literal["female", "male", "other"]
    birth_date: date = Field(description="Date of birth; 18 or older on election day.")
    registered_at: AwareDatetime = Field(description="When the voter first registered.")


class VoteEvent(_Event):
    """A ballot cast in a presidential election."""

    candidate_id: Annotated[str, StringConstraints(max_length=40)] = Field(
        description="The candidate voted for, us2020-r10000-dem."
    )
    cast_at: AwareDatetime = Field(description="When the ballot was cast.")

    @field_validator("candidate_id", mode="after")
    @classmethod
    def _check_candidate(cls, candidate: str, info: ValidationInfo) -> str:
        election = info.data.get("election_id")
        if election is None:
            return candidate
        valid = [candidate_id(election, party) for party in PARTIES]
        if candidate not in valid:
            raise ValueError(
                f"{candidate!r} is not a candidate of {election}: use one of {valid}"
            )
        return candidate


Event = RegistrationEvent | VoteEvent

EVENT_TYPES: dict[str, type[RegistrationEvent] | type[VoteEvent]] = {
    REGISTRATION_TOPIC: RegistrationEvent,
    VOTE_TOPIC: VoteEvent,
}


class ContractError(ValueError):
    """A message that does not satisfy its event contract."""

    def __init__(self, topic: str, problems: list[dict[str, str]]) -> None:
        self.topic = topic
        self.problems = problems
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        super().__init__(f"invalid {topic} event: {summary}")


def describe_errors(error: ValidationError) -> list[dict[str, str]]:
    """Turn a pydantic error into a list of {field, message} pairs a person can read."""
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append({"field": field, "message": item["msg"]})
    return problems


def parse_event(topic: str, payload: bytes | str | dict) -> Event:
    """Validate `payload` against the contract of `topic`.

    Raises:
        ContractError: naming each field that is missing or wrong.
    """
    model = EVENT_TYPES[topic]
    try:
        if isinstance(payload, dict):
            event = model.model_validate(payload)
        else:
            event = model.model_validate_json(payload)
    except ValidationError as error:
        raise ContractError(topic, describe_errors(error)) from error
    # PostgreSQL cannot store NUL in text: such an event would poison its batch.
    # JSON writes NUL as an escape, so only a payload holding one is looked at.
    if isinstance(payload, dict) or _NUL_ESCAPE in _as_bytes(payload):
        _refuse_nul(topic, event)
    return event


_NUL_ESCAPE = b"\\u0000"


def _as_bytes(payload: bytes | str) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode()


def _refuse_nul(topic: str, event: Event) -> None:
    problems = [
        {"field": name, "message": "must not contain a NUL character"}
        for name, value in event
        if isinstance(value, str) and "\x00" in value
    ]
    if problems:
        raise ContractError(topic, problems)


def encode_event(event: Event) -> bytes:
    """The JSON bytes of `event` as they travel through Kafka."""
    return event.model_dump_json().encode()
