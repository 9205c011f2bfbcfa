"""Credential blocks: saved from the settings, read back by the flows, never shown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import psycopg
import pytest
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import PrefectClient, get_client
from prefect.exceptions import ObjectNotFound
from prefect.logging.handlers import APILogHandler

from election.settings import PROJECT_ROOT, Settings, get_settings
from flows.blocks import (
    SNOWFLAKE_CONNECTOR_BLOCK,
    SNOWFLAKE_CREDENTIALS_BLOCK,
    STAGING_BLOCK,
    staging_dsn,
)
from flows.sync import sync

pytestmark = pytest.mark.slow

PASSWORD = "Pg-s3cret-7f41c9"
SNOWFLAKE_PASSWORD = "Sf-s3cret-93ab2e"
BLOCKS = {
    STAGING_BLOCK: "sqlalchemy-connector",
    SNOWFLAKE_CREDENTIALS_BLOCK: "snowflake-credentials",
    SNOWFLAKE_CONNECTOR_BLOCK: "snowflake-connector",
}
T = TypeVar("T")


def call(action: Callable[[PrefectClient], Awaitable[T]]) -> T:
    """Run `action(client)` with a client of the session's server."""

    async def run() -> T:
        async with get_client() as client:
            return await action(client)

    return asyncio.run(run())


async def delete_blocks(client: PrefectClient) -> None:
    """Delete the credential blocks that exist."""
    for name, block_type in BLOCKS.items():
        try:
            document = await client.read_block_document_by_name(name, block_type)
        except ObjectNotFound:
            continue
        await client.delete_block_document(document.id)


@pytest.fixture(scope="module")
def block_setup(stack: Settings) -> Iterator[subprocess.CompletedProcess[str]]:
    """`python -m flows.blocks` run with known passwords; the blocks go afterwards.

    The staging address is the session's database with a password added, which
    its trust authentication ignores; the Snowflake account is made up.
    """
    env = dict(os.environ)
    env["ELECTION_DATABASE_URL"] = (
        f"postgresql+psycopg://{stack.postgres_user}:{PASSWORD}@"
        f"{stack.postgres_host}:{stack.postgres_port}/{stack.postgres_db}"
    )
    env["ELECTION_SNOWFLAKE_ACCOUNT"] = "example-account"
    env["ELECTION_SNOWFLAKE_USER"] = "pipeline"
    env["ELECTION_SNOWFLAKE_PASSWORD"] = SNOWFLAKE_PASSWORD
    result = subprocess.run(
        [sys.executable, "-m", "flows.blocks"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yield result
    call(delete_blocks)


@flow(name="use-staging-credentials")
def use_staging_credentials() -> int:
    """Connect with the staging block's credentials and leave an artifact."""
    dsn = staging_dsn(get_settings())
    with psycopg.connect(dsn) as conn:
        voters = conn.execute("select count(*) from voters").fetchone()[0]
    get_run_logger().info("read %d voters with the %s block", voters, STAGING_BLOCK)
    create_markdown_artifact(key="staging-check", markdown=f"{voters} voters")
    return int(voters)


def test_block_setup_saves_every_block_and_prints_no_secret(
    block_setup: subprocess.CompletedProcess[str],
) -> None:
    output = block_setup.stdout + block_setup.stderr

    assert all(f"saved block {name}" in output for name in BLOCKS)
    assert PASSWORD not in output
    assert SNOWFLAKE_PASSWORD not in output


def test_staging_dsn_comes_from_the_block_when_saved(
    block_setup: subprocess.CompletedProcess[str], stack: Settings
) -> None:
    dsn = staging_dsn(stack)

    assert PASSWORD in dsn
    assert PASSWORD not in stack.postgres_dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_no_secret_reaches_logs_artifacts_runs_events_or_block_reads(
    block_setup: subprocess.CompletedProcess[str],
) -> None:
    use_staging_credentials()
    asyncio.run(sync())
    APILogHandler().flush()  # a flow's logs reach the server after it returns

    async def everything(client: PrefectClient) -> list[Any]:
        logs = await pages(lambda offset: client.read_logs(limit=200, offset=offset))
        artifacts = await pages(
            lambda offset: client.read_artifacts(limit=200, offset=offset)
        )
        runs = await pages(
            lambda offset: client.read_flow_runs(limit=200, offset=offset)
        )
        page = await client.read_events(limit=50)
        events = list(page.events)
        while page.next_page is not None:
            page = await client.read_events_page(page.next_page)
            events += page.events
        blocks = await client.read_block_documents(include_secrets=False)
        return [*logs, *artifacts, *runs, *events, *blocks]

    dumps = [item.model_dump_json() for item in call(everything)]

    assert any("read " in dump and STAGING_BLOCK in dump for dump in dumps)
    assert [dump for dump in dumps if PASSWORD in dump] == []
    assert [dump for dump in dumps if SNOWFLAKE_PASSWORD in dump] == []


async def pages(read: Callable[[int], Awaitable[list[T]]]) -> list[T]:
    """Every item of a paged read of the API."""
    items: list[T] = []
    while True:
        page = await read(len(items))
        items += page
        if len(page) < 200:
            return items


def test_staging_dsn_falls_back_to_the_settings_without_the_block(
    stack: Settings,
) -> None:
    call(delete_blocks)

    assert staging_dsn(stack) == stack.postgres_dsn
