"""Tests of the producer commands against a local stand-in of the election API."""

from __future__ import annotations

import functools
import socket
from typing import Any

import pytest

from election.scenario import load_scenario
from producers import registrations, votes
from producers.randomuser import RandomUserClient
from producers.retries import RetryPolicy


def test_votes_main_all_accepted_exits_0_and_prints_counts(
    api_server: Any, api_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--scenario", "2024", "--ratio", "100000", "--api-url", api_server.url]

    status = votes.main([*argv, "--batch-size", "1000", "--no-progress"])

    total = load_scenario(2024, 100_000).total_votes
    assert status == 0
    assert sum(len(r.body) for r in api_server.received) == total
    assert api_server.received[0].headers["Authorization"] == f"Bearer {api_token}"
    out = capsys.readouterr().out
    assert (
        f"votes of us2024-r100000 (exact): produced {total:,}, accepted {total:,}"
        in out
    )


def test_registrations_main_rejected_events_exit_1_and_are_listed(
    api_server: Any, api_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {"field": "email", "message": "taken"}
    api_server.script.append(
        lambda request: (
            207,
            {
                "accepted": len(request.body) - 1,
                "rejected": 1,
                "results": [
                    {"index": 0, "status": "rejected", "errors": [error]},
                    *(
                        {"index": i, "status": "accepted", "event_id": e["event_id"]}
                        for i, e in enumerate(request.body)
                        if i
                    ),
                ],
            },
        )
    )

    status = registrations.main(
        ["--scenario", "2020", "--ratio", "1000000", "--api-url", api_server.url]
    )

    assert status == 1
    out = capsys.readouterr().out
    assert "rejected 1" in out
    assert "#0 " in out and "email: taken" in out


def test_registrations_main_single_posts_one_event_per_request(
    api_server: Any, api_token: str
) -> None:
    argv = ["--scenario", "2020", "--ratio", "1000000", "--single", "--no-progress"]

    status = registrations.main([*argv, "--api-url", api_server.url])

    assert status == 0
    assert (
        len(api_server.received) == load_scenario(2020, 1_000_000).total_registrations
    )
    assert {r.path for r in api_server.received} == {"/register"}


def test_registrations_main_randomuser_unreachable_exits_2_says_use_offline(
    api_server: Any,
    api_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fast_retries: RetryPolicy,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fast_client = functools.partial(RandomUserClient, policy=fast_retries)
    monkeypatch.setattr(registrations, "RandomUserClient", fast_client)

    status = registrations.main(
        [
            "--scenario",
            "2020",
            "--source",
            "randomuser",
            "--randomuser-url",
            f"http://127.0.0.1:{port}/api/",
            "--api-url",
            api_server.url,
            "--no-progress",
        ]
    )

    assert status == 2
    assert "use --source offline" in caplog.text
    assert api_server.received == []


def test_votes_main_api_down_exits_2(
    api_server: Any, api_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    api_server.default = lambda request: (401, {"message": "bad token"})

    status = votes.main(["--scenario", "2020", "--api-url", api_server.url])

    assert status == 2
    assert "ELECTION_API_TOKEN" in caplog.text


@pytest.mark.parametrize("ratio", ["0", "ten"])
def test_votes_main_bad_ratio_exits_with_usage_error(
    ratio: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        votes.main(["--scenario", "2020", "--ratio", ratio])

    assert exit_info.value.code == 2
    assert "expected a whole number of 1 or more" in capsys.readouterr().err
