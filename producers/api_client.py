"""Posting of events to the election API, in batches or one by one."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import requests
from tqdm import tqdm

from election.contracts import Event
from producers.exceptions import ApiError
from producers.retries import RetryPolicy, TransientError, send, snippet

logger = logging.getLogger(__name__)

ACCEPTED_STATUSES = (200, 201, 202, 207)
"""Answers that carry per-event outcomes (bulk) or accept the event (single)."""
REJECTED_STATUSES = (400, 422)
"""Answers of a single post that reject the event for its content."""

ErrorList = tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Rejection:
    """An event the API rejected, and why.

    Attributes:
        index: Position of the event in the posted stream, from 0.
        event_id: The event's id.
        errors: The API's {field, message} pairs.
    """

    index: int
    event_id: str
    errors: ErrorList


@dataclass(frozen=True)
class PostSummary:
    """Counts of a posting: events produced, accepted and rejected by the API."""

    produced: int
    accepted: int
    rejected: int
    rejections: tuple[Rejection, ...]


def post_events(
    events: Iterable[Event],
    endpoint: str,
    api_url: str,
    token: str | None = None,
    batch_size: int = 500,
    *,
    single: bool = False,
    total: int | None = None,
    progress: bool = False,
    policy: RetryPolicy | None = None,
    timeout: tuple[float, float] = (5.0, 60.0),
    session: requests.Session | None = None,
) -> PostSummary:
    """Post `events` to the API and count what it accepted and rejected.

    Bulk mode posts JSON lists of `batch_size` events to `{api_url}/{endpoint}/bulk`
    and reads the per-event outcome of the answer (202 all accepted, 207 some
    rejected); single mode posts each event to `{api_url}/{endpoint}`. A 429, a
    5xx or a lost connection resends the same batch with backoff: events carry
    stable ids, so a resent event is recorded once downstream.

    Args:
        events: The events, for instance from `iter_registration_events`.
        endpoint: `register` or `vote`.
        api_url: Base address of the API, `http://127.0.0.1:8000`.
        token: Bearer token of the API, if it needs one.
        batch_size: Events per bulk request.
        single: Post one event per request instead of in bulk.
        total: Number of events, for the progress bar.
        progress: Show a progress bar on stderr.
        policy: Retries of a failed request; default 5 tries from 1 s.
        timeout: Seconds to connect and to read an answer.
        session: HTTP session to use; default a new one.

    Returns:
        The counts, with every rejected event and its errors.

    Raises:
        ApiError: when the API cannot be reached after all tries, or refuses a
            request as a whole (bad token, unknown endpoint, batch too large).
    """
    if batch_size < 1:
        raise ApiError(f"batch_size must be 1 or more, got {batch_size!r}")
    poster = _Poster(
        url=f"{api_url.rstrip('/')}/{endpoint.strip('/')}"
        + ("" if single else "/bulk"),
        headers={"Authorization": f"Bearer {token}"} if token else {},
        policy=policy or RetryPolicy(),
        timeout=timeout,
        session=session or requests.Session(),
    )
    produced = accepted = 0
    rejections: list[Rejection] = []
    stream = iter(events)
    with tqdm(total=total, unit="event", desc=endpoint, disable=not progress) as bar:
        while batch := list(islice(stream, 1 if single else batch_size)):
            payloads = [event.model_dump(mode="json") for event in batch]
            outcomes = poster.post_one(payloads[0]) if single else poster.post(payloads)
            for offset, errors in enumerate(outcomes):
                if errors is None:
                    accepted += 1
                    continue
                event_id = str(payloads[offset].get("event_id"))
                rejections.append(Rejection(produced + offset, event_id, errors))
            produced += len(batch)
            bar.update(len(batch))

    logger.info(
        "posted %s events to %s: %s accepted, %s rejected",
        f"{produced:,}",
        poster.url,
        f"{accepted:,}",
        f"{len(rejections):,}",
    )
    return PostSummary(produced, accepted, len(rejections), tuple(rejections))


@dataclass(frozen=True)
class _Poster:
    """Sends one request of events and reads its outcome per event."""

    url: str
    headers: dict[str, str]
    policy: RetryPolicy
    timeout: tuple[float, float]
    session: requests.Session

    def post(self, payloads: list[dict[str, Any]]) -> list[ErrorList | None]:
        """Post a bulk batch; None for each accepted event, else its errors."""
        response = self._send(payloads, f"post of {len(payloads)} events")
        if response.status_code not in ACCEPTED_STATUSES:
            raise self._refusal(response, len(payloads))
        results = _json(response, self.url).get("results")
        if not isinstance(results, list) or len(results) != len(payloads):
            raise ApiError(
                f"API at {self.url} answered a batch of {len(payloads)} events "
                f"without one result per event: {snippet(response)!r}; check that "
                f"the API and the producers are of the same release"
            )
        outcomes: list[ErrorList | None] = [None] * len(payloads)
        for position, item in enumerate(results):
            index = item.get("index", position) if isinstance(item, dict) else position
            if not isinstance(index, int) or not 0 <= index < len(payloads):
                raise ApiError(
                    f"API at {self.url} answered result {position} with index "
                    f"{index!r}, outside the batch of {len(payloads)} events; check "
                    f"that the API and the producers are of the same release"
                )
            if not isinstance(item, dict) or item.get("status") != "accepted":
                outcomes[index] = _errors(item)
        return outcomes

    def post_one(self, payload: dict[str, Any]) -> list[ErrorList | None]:
        """Post a single event; [None] if accepted, else [its errors]."""
        response = self._send(payload, "post of 1 event")
        if response.status_code in ACCEPTED_STATUSES:
            return [None]
        if response.status_code in REJECTED_STATUSES:
            return [_errors(_json(response, self.url))]
        raise self._refusal(response, 1)

    def _send(self, body: object, what: str) -> requests.Response:
        """POST `body` as JSON with retries, as ApiError when all tries fail."""
        try:
            return send(
                self.session,
                "POST",
                self.url,
                policy=self.policy,
                what=what,
                json=body,
                headers=self.headers,
                timeout=self.timeout,
            )
        except TransientError as error:
            raise ApiError(
                f"API at {self.url} failed {self.policy.attempts} times, last with "
                f"{error}; check that it runs (make up) or pass --api-url"
            ) from error
        except requests.RequestException as error:
            raise ApiError(
                f"cannot send a request to the API at {self.url}: {error}; "
                f"check --api-url"
            ) from error

    def _refusal(self, response: requests.Response, count: int) -> ApiError:
        """The error for an answer that refuses a whole request."""
        status = response.status_code
        if status in (401, 403):
            fix = "set ELECTION_API_TOKEN, or run `make up`, which writes the token"
        elif status == 404:
            fix = "check --api-url and that the API serves this endpoint"
        elif status == 413:
            fix = "lower --batch-size"
        else:
            fix = "read the API's log for the cause"
        return ApiError(
            f"API at {self.url} refused a request of {count} events with HTTP "
            f"{status}: {snippet(response)!r}; {fix}"
        )


def _json(response: requests.Response, url: str) -> dict[str, Any]:
    """The JSON object of an answer."""
    try:
        body = response.json()
    except ValueError as error:
        raise ApiError(
            f"API at {url} answered HTTP {response.status_code} with other than "
            f"JSON: {snippet(response)!r}; check --api-url"
        ) from error
    if not isinstance(body, dict):
        raise ApiError(
            f"API at {url} answered HTTP {response.status_code} with a JSON "
            f"{type(body).__name__}, not an object: {snippet(response)!r}"
        )
    return body


def _errors(item: object) -> ErrorList:
    """The {field, message} pairs of a rejected event's answer."""
    if isinstance(item, dict):
        errors = item.get("errors")
        if isinstance(errors, list) and errors:
            return tuple(
                {"field": str(e.get("field", "body")), "message": str(e.get("message"))}
                if isinstance(e, dict)
                else {"field": "body", "message": str(e)}
                for e in errors
            )
        if "message" in item:
            return (
                {
                    "field": str(item.get("field", "body")),
                    "message": str(item["message"]),
                },
            )
    return ({"field": "body", "message": f"rejected without a reason: {item!r:.200}"},)
