"""Reading the published warehouse: never the writer's file, always the newest copy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from flask import Flask
from flask.testing import FlaskClient
from known_marts import ELECTION_2020

from dashboard.exceptions import NoResultsYet
from dashboard.marts import PublishedMarts
from election.settings import Settings
from warehouse.duckdb_target import publish, published_path, writing


def _total_votes(client: FlaskClient) -> int:
    return int(client.get("/api/national").get_json()["popular"]["total"])


def _add_votes_to_warehouse(settings: Settings, votes: int) -> None:
    """Change the writer's file as a dbt run would, then publish it."""
    with writing(settings.warehouse_path):
        with duckdb.connect(str(settings.warehouse_path)) as con:
            con.execute(
                "update analytics.national_summary "
                "set total_votes = total_votes + ? where election_id = ?",
                [votes, ELECTION_2020.election_id],
            )
        publish(settings.warehouse_path)


class TestPublishedMarts:
    def test_reader_opens_the_published_copy_and_not_the_warehouse(
        self, known_settings: Settings
    ) -> None:
        marts = PublishedMarts.from_settings(known_settings)

        assert marts.path == published_path(known_settings.warehouse_path)
        assert marts.path.name == "warehouse.published.duckdb"

    def test_missing_published_file_raises_no_results_yet(
        self, empty_settings: Settings
    ) -> None:
        marts = PublishedMarts.from_settings(empty_settings)

        with pytest.raises(NoResultsYet, match="does not exist"), marts.snapshot():
            pass

    def test_published_file_without_marts_raises_no_results_yet(
        self, empty_settings: Settings
    ) -> None:
        path = published_path(empty_settings.warehouse_path)
        path.parent.mkdir(parents=True)
        duckdb.connect(str(path)).close()
        marts = PublishedMarts(path)

        with (
            pytest.raises(NoResultsYet, match="has no marts yet"),
            marts.snapshot() as snap,
        ):
            snap.rows("select * from {marts}.national_summary")
        marts.close()


class TestWritersAreNeverBlocked:
    def test_dashboard_shows_a_new_publication_on_the_next_request(
        self, client: FlaskClient, known_settings: Settings
    ) -> None:
        before = _total_votes(client)

        _add_votes_to_warehouse(known_settings, 1000)

        assert _total_votes(client) == before + 1000

    def test_writer_process_opens_the_warehouse_while_the_dashboard_reads(
        self, client: FlaskClient, known_settings: Settings
    ) -> None:
        before = _total_votes(client)
        script = textwrap.dedent(
            f"""
            import duckdb
            from pathlib import Path
            from warehouse.duckdb_target import publish, writing
            path = Path({str(known_settings.warehouse_path)!r})
            with writing(path, timeout=10):
                with duckdb.connect(str(path)) as con:
                    con.execute(
                        "update analytics.national_summary "
                        "set total_votes = total_votes + 7"
                    )
                publish(path)
            """
        )

        # the dashboard holds its read-only connection open all along
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[2],
        )

        assert result.returncode == 0, result.stderr
        assert _total_votes(client) == before + 7

    def test_dashboard_reading_takes_no_writer_lock(
        self, app: Flask, known_settings: Settings
    ) -> None:
        with app.test_client() as client:
            client.get("/api/national")
            lock = writing(known_settings.warehouse_path, timeout=0)

            with lock:
                assert client.get("/api/national").status_code == 200

    def test_removed_publication_turns_back_into_no_results(
        self, client: FlaskClient, known_settings: Settings
    ) -> None:
        assert client.get("/api/national").status_code == 200

        published_path(known_settings.warehouse_path).unlink()

        assert client.get("/api/national").status_code == 404
