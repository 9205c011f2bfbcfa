"""Pydantic models of the API's answers; they document the responses in OpenAPI."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """One field of an event that is missing or wrong."""

    field: str = Field(
        description="Dotted path of the field in the event; `body` for the event "
        "as a whole."
    )
    message: str = Field(description="What is wrong with it.")


class ErrorResponse(BaseModel):
    """An error: what is wrong, the value at fault and what to do."""

    error: str = Field(description="What is wrong and what to do about it.")
    field: str | None = Field(
        description="Where the problem lies: `body`, `Authorization`, "
        "`Content-Type`, an event field, `kafka` when the broker did not "
        "acknowledge, or null for an internal error."
    )
    problems: list[Problem] | None = Field(
        None, description="Each field of an invalid event that is missing or wrong."
    )


class AcceptedResponse(BaseModel):
    """An event that Kafka acknowledged."""

    event_id: uuid.UUID = Field(description="The event_id of the accepted event.")


class AcceptedItem(BaseModel):
    """An item of a bulk request that Kafka acknowledged."""

    index: int = Field(description="Position of the item in the request's list.")
    status: Literal["accepted"]
    event_id: uuid.UUID = Field(description="The event_id of the item.")


class RejectedItem(BaseModel):
    """An item of a bulk request that does not satisfy its contract."""

    index: int = Field(description="Position of the item in the request's list.")
    status: Literal["rejected"]
    errors: list[Problem] = Field(description="Each field that is missing or wrong.")


class UnacknowledgedItem(BaseModel):
    """A valid item of a bulk request that Kafka did not acknowledge in time."""

    index: int = Field(description="Position of the item in the request's list.")
    status: Literal["unacknowledged"]
    event_id: uuid.UUID = Field(description="The event_id of the item.")
    error: str = Field(description="Why it is not accepted; send it again.")


BulkItem = Annotated[
    AcceptedItem | RejectedItem | UnacknowledgedItem, Field(discriminator="status")
]


class BulkResponse(BaseModel):
    """The answer to a bulk request, item by item."""

    accepted: int = Field(description="Items that Kafka acknowledged.")
    rejected: int = Field(description="Items that do not satisfy their contract.")
    unacknowledged: int = Field(
        description="Valid items that Kafka did not acknowledge in time."
    )
    results: list[BulkItem] = Field(description="One result per item, in order.")
    error: str | None = Field(
        None, description="What went wrong, on a 400 or 503 answer."
    )
    field: str | None = Field(
        None,
        description="On a 400 answer `body`, on a 503 answer `kafka`: where the "
        "problem lies.",
    )


class HealthResponse(BaseModel):
    """Whether the API reaches its Kafka broker."""

    status: Literal["ok", "unavailable"]
    kafka_servers: str = Field(description="Bootstrap servers the API produces to.")
    brokers: int = Field(description="Brokers in the cluster's metadata answer.")
    error: str | None = Field(None, description="Why Kafka is unavailable.")
    field: str | None = Field(None, description="`kafka` when it is unavailable.")
