"""Tests of the randomuser client against a local server replaying a recording."""

from __future__ import annotations

import socket
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from itertools import islice
from typing import Any

import pytest

from election.scenario import load_scenario
from producers.exceptions import RandomUserError
from producers.randomuser import RandomUserClient, RandomUserSource, parse_person
from producers.registrations import iter_registration_events
from producers.retries import RetryPolicy, retry_after
from producers.timing import age_on, eighteenth_birthday


def _client(server: Any, policy: RetryPolicy) -> RandomUserClient:
    """A client of the local server's /api/."""
    return RandomUserClient(f"{server.url}/api/", policy=policy)


def _closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_fetch_page_recorded_answer_parses_200_people(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    people = _client(randomuser_server, fast_retries).fetch_page(200, seed="624b")

    assert len(people) == 200
    first = people[0]
    assert (first.first_name, first.last_name) == ("Ricky", "Alexander")
    assert first.email == "ricky.alexander@example.com"
    assert first.phone == "(830)-730-8092"
    assert first.gender == "male"
    assert first.birth_date == date(1969, 3, 13)
    assert {person.gender for person in people} == {"female", "male"}


def test_fetch_page_request_names_version_nationality_seed_and_page(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    _client(randomuser_server, fast_retries).fetch_page(10, page=3, seed="abc")

    (request,) = randomuser_server.received
    assert request.path == "/api/1.3/"
    assert request.query["results"] == "10"
    assert request.query["nat"] == "us"
    assert request.query["seed"] == "abc"
    assert request.query["page"] == "3"


def test_parse_person_padded_names_are_stripped(
    recorded_response: dict[str, Any],
) -> None:
    item = dict(recorded_response["results"][1])
    item["name"] = {**item["name"], "first": " Ann ", "last": "Lee  "}
    item["email"] = "ann.lee@example.com "

    person = parse_person(item)

    assert (person.first_name, person.last_name) == ("Ann", "Lee")
    assert person.email == "ann.lee@example.com"


def test_parse_person_missing_dob_raises_naming_the_item() -> None:
    item = {"gender": "female", "name": {"first": "A", "last": "B"}, "email": "a@b"}

    with pytest.raises(RandomUserError, match="person 7 .*KeyError.*'dob'"):
        parse_person(item, 7)


def test_fetch_page_429_then_200_retries_and_succeeds(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    randomuser_server.script.append((429, {"error": "slow down"}, {"Retry-After": "0"}))

    people = _client(randomuser_server, fast_retries).fetch_page(50)

    assert len(people) == 50
    assert len(randomuser_server.received) == 2


def test_fetch_page_429_with_retry_after_waits_that_long(
    randomuser_server: Any,
) -> None:
    randomuser_server.script.append((429, "busy", {"Retry-After": "0.3"}))
    policy = RetryPolicy(attempts=2, backoff_s=0.001, max_backoff_s=5.0)

    started = time.monotonic()
    _client(randomuser_server, policy).fetch_page(5)

    assert time.monotonic() - started >= 0.3


def test_fetch_page_503_every_time_fails_after_all_attempts(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    randomuser_server.default = lambda request: (503, {"error": "down"})

    with pytest.raises(
        RandomUserError, match=r"failed 3 times, last with HTTP 503.*--source offline"
    ):
        _client(randomuser_server, fast_retries).fetch_page(20)
    assert len(randomuser_server.received) == 3


def test_fetch_page_empty_page_with_200_raises_clear_error(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    randomuser_server.default = lambda request: (200, {"results": [], "info": {}})

    with pytest.raises(RandomUserError, match=r"answered 200 with an empty page 4"):
        _client(randomuser_server, fast_retries).fetch_page(20, page=4)
    assert len(randomuser_server.received) == 1


def test_iter_people_empty_page_stops_instead_of_looping(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    randomuser_server.script.append(lambda request: (200, {"results": []}))

    with pytest.raises(RandomUserError, match="empty page 1"):
        list(_client(randomuser_server, fast_retries).iter_people(30))


def test_fetch_page_fewer_people_than_asked_raises(
    randomuser_server: Any, fast_retries: RetryPolicy, recorded_response: dict[str, Any]
) -> None:
    five = recorded_response["results"][:5]
    randomuser_server.default = lambda request: (200, {"results": five})

    with pytest.raises(RandomUserError, match="gave 5 people .*not the 10 asked"):
        _client(randomuser_server, fast_retries).fetch_page(10)


def test_fetch_page_404_fails_at_once_without_retry(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    randomuser_server.default = lambda request: (404, "no such page")

    with pytest.raises(RandomUserError, match="HTTP 404.*--randomuser-url"):
        _client(randomuser_server, fast_retries).fetch_page(10)
    assert len(randomuser_server.received) == 1


def test_fetch_page_error_body_with_200_raises(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    randomuser_server.default = lambda request: (200, {"error": "Uh oh"})

    with pytest.raises(RandomUserError, match="answered with an error: 'Uh oh'"):
        _client(randomuser_server, fast_retries).fetch_page(10)


def test_fetch_page_unreachable_says_to_use_offline_source(
    fast_retries: RetryPolicy,
) -> None:
    client = RandomUserClient(
        f"http://127.0.0.1:{_closed_port()}/api/", policy=fast_retries
    )

    with pytest.raises(RandomUserError, match="ConnectionError.*--source offline"):
        client.fetch_page(10)


@pytest.mark.parametrize("results", [0, 5001])
def test_fetch_page_results_out_of_range_raises(
    results: int, fast_retries: RetryPolicy
) -> None:
    client = RandomUserClient("http://127.0.0.1:9/api/", policy=fast_retries)

    with pytest.raises(RandomUserError, match="between 1 and 5000"):
        client.fetch_page(results)


def test_iter_people_more_than_a_page_fetches_following_pages(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    client = _client(randomuser_server, fast_retries)

    people = list(client.iter_people(250, seed="s", page_size=100))

    assert len(people) == 250
    pages = [(r.query["page"], r.query["results"]) for r in randomuser_server.received]
    assert pages == [("1", "100"), ("2", "100"), ("3", "100")]


def test_random_user_source_registrations_are_adults_registered_after_18(
    randomuser_server: Any, fast_retries: RetryPolicy
) -> None:
    scenario = load_scenario(2020)
    source = RandomUserSource(_client(randomuser_server, fast_retries), page_size=200)

    events = list(islice(iter_registration_events(scenario, source), 450))

    assert len(events) == 450
    assert events[0].first_name == "Ricky"
    for event in events:
        assert age_on(event.birth_date, scenario.election_day) >= 18
        assert event.registered_at.date() >= eighteenth_birthday(event.birth_date)
        assert event.registered_at.date() <= scenario.election_day


def test_retry_after_seconds_and_http_date_are_read() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    assert retry_after("7") == 7.0
    assert 25 < (retry_after(later) or 0) <= 30
    assert retry_after("soon") is None
    assert retry_after(None) is None
