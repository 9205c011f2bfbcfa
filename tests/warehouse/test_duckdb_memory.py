"""The DuckDB warehouse keeps to the memory the settings give it."""

from __future__ import annotations

from pathlib import Path

from election.settings import Settings
from warehouse import open_warehouse


def test_the_sync_connection_takes_its_memory_limit_from_the_settings(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        duckdb_path=tmp_path / "warehouse.duckdb",
        duckdb_memory_limit="256MB",
    )

    with open_warehouse(settings) as warehouse:
        (limit,) = warehouse.conn.execute(
            "select current_setting('memory_limit')"
        ).fetchone()

    # DuckDB reports the limit in binary units: 256 MB is 244.1 MiB
    assert limit == "244.1 MiB"
