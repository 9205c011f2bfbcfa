"""Credential blocks: `python -m flows.blocks` saves them, `staging_dsn` reads one back.

The blocks hold what the `ELECTION_*` settings hold, so that a worker's flow
runs find their credentials on the Prefect server instead of in their
environment. Every secret stays a `SecretStr`: Prefect shows it as stars in the
UI, the API and the logs.
"""

from __future__ import annotations

import argparse
import logging
import time

import httpx
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings
from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector
from sqlalchemy.engine import URL, make_url

from election.settings import Settings, get_settings

logger = logging.getLogger(__name__)

STAGING_BLOCK = "election-staging"
"""`SqlAlchemyConnector` block of the staging PostgreSQL database."""
SNOWFLAKE_CREDENTIALS_BLOCK = "election-snowflake"
"""`SnowflakeCredentials` block of the pipeline's Snowflake user."""
SNOWFLAKE_CONNECTOR_BLOCK = "election-snowflake-connector"
"""`SnowflakeConnector` block: those credentials, the database and the warehouse."""

UNREACHABLE_PAUSE_S = 60.0
"""How long `staging_dsn` uses the settings without asking an API that failed."""

_unreachable_until: dict[str, float] = {}


def staging_components(settings: Settings) -> ConnectionComponents:
    """The parts of the staging database's address in `settings`, password included."""
    url = make_url(settings.sqlalchemy_url)
    return ConnectionComponents(
        driver=url.drivername,
        username=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
        query=dict(url.query) or None,
    )


def save_blocks(settings: Settings) -> list[str]:
    """Save the credential blocks from `settings`, replacing those of the same name.

    The staging block is always saved; the Snowflake blocks only when
    `settings.snowflake_account` is set.

    Returns:
        The names of the blocks saved.

    Raises:
        ValueError: when the Snowflake settings are incomplete.
    """
    SqlAlchemyConnector(connection_info=staging_components(settings)).save(
        STAGING_BLOCK, overwrite=True
    )
    saved = [STAGING_BLOCK]
    if not settings.snowflake_account:
        return saved

    # NOTE: imported here: prefect-snowflake takes seconds to import.
    from prefect_snowflake import SnowflakeConnector

    from warehouse.base import RAW_SCHEMA
    from warehouse.snowflake_target import load_credentials

    credentials = load_credentials(settings, block_name=None)
    credentials.save(SNOWFLAKE_CREDENTIALS_BLOCK, overwrite=True)
    SnowflakeConnector(
        credentials=credentials,
        database=settings.snowflake_database,
        warehouse=settings.snowflake_warehouse,
        schema=RAW_SCHEMA,
    ).save(SNOWFLAKE_CONNECTOR_BLOCK, overwrite=True)
    return saved + [SNOWFLAKE_CREDENTIALS_BLOCK, SNOWFLAKE_CONNECTOR_BLOCK]


def staging_dsn(settings: Settings, block_name: str = STAGING_BLOCK) -> str:
    """libpq connection string of the staging database, for psycopg.

    The `election-staging` block's when it is saved on the Prefect server,
    otherwise `settings.postgres_dsn`. Without a configured Prefect API nothing
    is looked up, so that no temporary Prefect server starts.
    """
    api_url = get_current_settings().api.url
    if not api_url or time.monotonic() < _unreachable_until.get(api_url, 0.0):
        return settings.postgres_dsn
    try:
        block = SqlAlchemyConnector.load(block_name, _sync=True)
    except ValueError as error:
        if not isinstance(error.__cause__, ObjectNotFound):
            raise
        logger.debug("no %r block on %s: using the settings", block_name, api_url)
        return settings.postgres_dsn
    except httpx.TransportError as error:
        _unreachable_until[api_url] = time.monotonic() + UNREACHABLE_PAUSE_S
        logger.warning(
            "cannot reach the Prefect API at %s to load the %r block (%s): using "
            "the ELECTION_* settings for %.0f s; start the server with `make up`",
            api_url,
            block_name,
            type(error).__name__,
            UNREACHABLE_PAUSE_S,
        )
        return settings.postgres_dsn
    logger.info("using the %r block for the staging database", block_name)
    return _libpq_dsn(block)


def _libpq_dsn(block: SqlAlchemyConnector) -> str:
    """The block's address as a libpq URI: `postgresql://`, whatever the driver."""
    info = block.connection_info
    if isinstance(info, ConnectionComponents):
        url: URL = info.create_url()
    else:
        url = make_url(str(info))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def main() -> None:
    """`python -m flows.blocks`: save the credential blocks from the settings."""
    argparse.ArgumentParser(description=main.__doc__).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = get_settings()
    for name in save_blocks(settings):
        print(f"saved block {name} on {get_current_settings().api.url}")


if __name__ == "__main__":
    main()
