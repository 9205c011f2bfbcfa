"""Connections to Snowflake: credentials from a Prefect block or the settings."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect_snowflake import SnowflakeCredentials

from election.settings import Settings
from warehouse.snowflake_target import (
    CREDENTIALS_BLOCK,
    connect_snowflake,
    endpoint_overrides,
    load_credentials,
)

pytestmark = pytest.mark.slow

MakeSettings = Callable[..., Settings]


@pytest.fixture
def unreachable_prefect_api() -> Iterator[str]:
    """A Prefect API address that nothing listens on, set for the test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url


@pytest.fixture
def saved_blocks(
    unreachable_prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, SnowflakeCredentials]:
    """Blocks by name that `SnowflakeCredentials.load` finds, empty at first.

    NOTE: a stand-in for the Prefect server, whose start takes about 40 s here;
    loading a name that is not in the mapping raises the ValueError Prefect does.
    """
    blocks: dict[str, SnowflakeCredentials] = {}

    def load(name: str, *args: object, **kwargs: object) -> SnowflakeCredentials:
        if name not in blocks:
            raise ValueError(f"Unable to find block document named {name}")
        return blocks[name]

    monkeypatch.setattr(SnowflakeCredentials, "load", load)
    return blocks


class TestSnowflakeCredentials:
    def test_block_credentials_are_used_when_the_settings_have_none(
        self,
        make_snowflake_settings: MakeSettings,
        saved_blocks: dict[str, SnowflakeCredentials],
    ) -> None:
        saved_blocks[CREDENTIALS_BLOCK] = SnowflakeCredentials(
            account="fakesnow", user="fake", password="snow", role="BLOCK_ROLE"
        )
        settings = make_snowflake_settings(
            snowflake_account="", snowflake_user="", snowflake_password=None
        )

        conn = connect_snowflake(settings)
        try:
            with conn.cursor() as cursor:
                assert cursor.execute("select 1").fetchall() == [(1,)]
        finally:
            conn.close()

        assert load_credentials(settings).role == "BLOCK_ROLE"

    def test_block_without_a_role_takes_the_role_of_the_settings(
        self,
        snowflake_settings: Settings,
        saved_blocks: dict[str, SnowflakeCredentials],
    ) -> None:
        saved_blocks["no-role"] = SnowflakeCredentials(
            account="acme", user="etl", password="secret"
        )

        credentials = load_credentials(snowflake_settings, "no-role")

        assert (credentials.account, credentials.role) == (
            "acme",
            snowflake_settings.snowflake_role,
        )

    def test_missing_block_falls_back_to_the_settings(
        self,
        snowflake_settings: Settings,
        saved_blocks: dict[str, SnowflakeCredentials],
    ) -> None:
        credentials = load_credentials(snowflake_settings, "no-such-block")

        assert credentials.account == "fakesnow"
        assert credentials.role == snowflake_settings.snowflake_role

    def test_unreachable_prefect_server_falls_back_to_the_settings(
        self, snowflake_settings: Settings, unreachable_prefect_api: str
    ) -> None:
        credentials = load_credentials(snowflake_settings)

        assert credentials.account == "fakesnow"
        assert credentials.password is not None
        assert credentials.password.get_secret_value() == "snow"

    def test_without_a_prefect_api_no_block_is_looked_up(
        self, snowflake_settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def fail(*args: object, **kwargs: object) -> None:
            raise AssertionError("looked up a block without a Prefect API")

        monkeypatch.setattr(SnowflakeCredentials, "load", fail)
        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            credentials = load_credentials(snowflake_settings)

        assert credentials.account == "fakesnow"

    def test_settings_without_a_password_and_no_block_are_refused(
        self, make_snowflake_settings: MakeSettings
    ) -> None:
        settings = make_snowflake_settings(snowflake_password=None)

        with pytest.raises(ValueError, match="ELECTION_SNOWFLAKE_PASSWORD"):
            load_credentials(settings, block_name=None)


class TestSnowflakeConnection:
    def test_connection_from_settings_reaches_the_database_in_utc(
        self, snowflake_settings: Settings
    ) -> None:
        conn = connect_snowflake(snowflake_settings, credentials_block=None)
        try:
            with conn.cursor() as cursor:
                database, schema = cursor.execute(
                    "select current_database(), current_schema()"
                ).fetchone()
        finally:
            conn.close()

        assert (database, schema) == (snowflake_settings.snowflake_database, "RAW")

    def test_only_the_endpoint_fields_that_are_set_are_passed(
        self, make_snowflake_settings: MakeSettings
    ) -> None:
        settings = make_snowflake_settings(
            snowflake_host="emulator.local", snowflake_port=None
        )

        assert endpoint_overrides(settings) == {
            "host": "emulator.local",
            "protocol": "http",
        }
