"""HTTP requests retried with exponential backoff on 429, 5xx and lost connections."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

logger = logging.getLogger(__name__)


class TransientError(Exception):
    """A failure worth retrying: a lost connection, a timeout, a 429 or a 5xx."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request.

    Attributes:
        attempts: Tries in all, the first included.
        backoff_s: Wait before the second try; it doubles at each further try.
        max_backoff_s: Longest wait, also the cap on a server's Retry-After.
    """

    attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    what: str,
    **kwargs: Any,
) -> requests.Response:
    """Send a request, retrying transient failures; return the first other answer.

    Args:
        session: Session that sends the request.
        method: HTTP method, GET or POST.
        url: Address of the request.
        policy: Attempts and waits.
        what: What the request does, for the log (`fetch of 500 people`).
        **kwargs: Passed on to `session.request` (params, json, timeout...).

    Returns:
        The first response that is neither a 429 nor a 5xx.

    Raises:
        TransientError: the last transient failure, once all attempts failed.
        requests.RequestException: a request that cannot succeed (a bad URL).
    """

    def attempt() -> requests.Response:
        try:
            response = session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise TransientError(f"{type(error).__name__}: {error}") from error
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(
                f"HTTP {status}: {snippet(response)}",
                retry_after(response.headers.get("Retry-After")),
            )
        return response

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, policy.max_backoff_s)
        return backoff(state)

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s at %s failed (%s); try %d of %d in %.1f s",
            what,
            url,
            error,
            state.attempt_number + 1,
            policy.attempts,
            delay,
        )

    backoff = wait_exponential(multiplier=policy.backoff_s, max=policy.max_backoff_s)
    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception_type(TransientError),
        before_sleep=log_retry,
        reraise=True,
    )
    return retrying(attempt)


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks to wait (delay or HTTP date), else None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def snippet(response: requests.Response, limit: int = 200) -> str:
    """The start of a response body, on one line, for an error message."""
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[:limit] + "..."
