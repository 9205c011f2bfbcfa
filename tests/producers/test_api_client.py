"""Tests of posting events to a local stand-in of the election API."""

from __future__ import annotations

import socket
from itertools import islice
from typing import Any

import pytest

from election.contracts import VoteEvent
from election.scenario import load_scenario
from producers.api_client import post_events
from producers.exceptions import ApiError
from producers.retries import RetryPolicy
from producers.votes import iter_vote_events


@pytest.fixture(scope="module")
def votes() -> list[VoteEvent]:
    """1,200 vote events of the 2024 election at 1:10,000."""
    return list(islice(iter_vote_events(load_scenario(2024)), 1_200))


def _reject_odd(request: Any) -> tuple[int, Any]:
    """A bulk answer that rejects the events at odd positions of the batch."""
    results: list[dict[str, Any]] = []
    for index, event in enumerate(request.body):
        if index % 2:
            error = {"field": "state", "message": "not a state"}
            results.append({"index": index, "status": "rejected", "errors": [error]})
        else:
            accepted = {"index": index, "event_id": event["event_id"]}
            results.append({**accepted, "status": "accepted"})
    rejected = sum(r["status"] == "rejected" for r in results)
    body = {"accepted": len(results) - rejected, "rejected": rejected}
    return 207, {**body, "results": results}


def test_post_events_bulk_all_accepted_sends_batches_of_batch_size(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    summary = post_events(
        votes, "vote", api_server.url, batch_size=500, policy=fast_retries
    )

    assert (summary.produced, summary.accepted, summary.rejected) == (1200, 1200, 0)
    sizes = [len(request.body) for request in api_server.received]
    assert sizes == [500, 500, 200]
    first = api_server.received[0]
    assert (first.method, first.path) == ("POST", "/vote/bulk")
    assert first.body[0] == votes[0].model_dump(mode="json")
    assert "Authorization" not in first.headers


def test_post_events_token_sent_as_bearer_header(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    post_events(
        votes[:3], "/vote/", api_server.url + "/", "s3cret", policy=fast_retries
    )

    (request,) = api_server.received
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.path == "/vote/bulk"


def test_post_events_207_partial_rejections_counted_with_errors(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    api_server.default = _reject_odd

    summary = post_events(
        votes[:10], "vote", api_server.url, batch_size=4, policy=fast_retries
    )

    assert (summary.produced, summary.accepted, summary.rejected) == (10, 5, 5)
    assert [r.index for r in summary.rejections] == [1, 3, 5, 7, 9]
    assert summary.rejections[0].event_id == str(votes[1].event_id)
    assert summary.rejections[0].errors == (
        {"field": "state", "message": "not a state"},
    )


def test_post_events_503_then_202_resends_the_same_batch(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    api_server.script.append((503, {"message": "broker away"}))

    summary = post_events(votes[:20], "vote", api_server.url, policy=fast_retries)

    assert summary.accepted == 20
    first, second = api_server.received
    assert first.body == second.body


def test_post_events_503_every_time_raises_after_all_attempts(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    api_server.default = lambda request: (503, {"message": "broker away"})

    with pytest.raises(ApiError, match=r"failed 3 times, last with HTTP 503.*make up"):
        post_events(votes[:5], "vote", api_server.url, policy=fast_retries)
    assert len(api_server.received) == 3


def test_post_events_401_raises_naming_the_token_setting(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    api_server.default = lambda request: (401, {"message": "missing token"})

    with pytest.raises(ApiError, match="HTTP 401.*ELECTION_API_TOKEN"):
        post_events(votes[:5], "vote", api_server.url, policy=fast_retries)
    assert len(api_server.received) == 1


def test_post_events_answer_without_one_result_per_event_raises(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    api_server.default = lambda request: (202, {"accepted": 1, "results": []})

    with pytest.raises(ApiError, match="without one result per event"):
        post_events(votes[:2], "vote", api_server.url, policy=fast_retries)


def test_post_events_single_posts_each_event_and_reads_rejections(
    api_server: Any, votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    error = {"field": "candidate_id", "message": "unknown candidate"}
    api_server.script.extend(
        [(202, {"status": "accepted"}), (422, {"errors": [error]})]
    )

    summary = post_events(
        votes[:3], "vote", api_server.url, single=True, policy=fast_retries
    )

    assert (summary.produced, summary.accepted, summary.rejected) == (3, 2, 1)
    assert summary.rejections[0].index == 1
    assert summary.rejections[0].errors == (error,)
    assert [r.path for r in api_server.received] == ["/vote"] * 3
    assert api_server.received[2].body == votes[2].model_dump(mode="json")


def test_post_events_unreachable_api_raises_with_hint(
    votes: list[VoteEvent], fast_retries: RetryPolicy
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ApiError, match="ConnectionError.*--api-url"):
        post_events(votes[:1], "vote", f"http://127.0.0.1:{port}", policy=fast_retries)


def test_post_events_no_events_sends_nothing(
    api_server: Any, fast_retries: RetryPolicy
) -> None:
    summary = post_events([], "vote", api_server.url, policy=fast_retries)

    assert (summary.produced, summary.accepted, summary.rejected) == (0, 0, 0)
    assert api_server.received == []
