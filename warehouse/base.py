"""What a warehouse offers the sync: raw tables, watermarks, one-transaction loads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from warehouse.tables import RawTable

RAW_SCHEMA = "raw"
STATE_TABLE = "_sync_state"
"""Raw-schema table holding each table's watermark, written with the rows."""


@dataclass(frozen=True)
class Extract:
    """Rows of one table read from staging into a CSV file, waiting to be loaded."""

    table: RawTable
    path: Path
    rows: int


class Warehouse(Protocol):
    """A warehouse the sync writes into.

    `load` must write every extract and every watermark in one transaction, so a
    crash leaves either the old state or the new, never rows without their mark.
    """

    name: str

    def ensure_tables(self, tables: Sequence[RawTable]) -> None:
        """Create the raw schema and tables, and add columns they lack."""

    def watermarks(self) -> dict[str, int]:
        """The saved watermark of each table synced so far."""

    def load(self, extracts: Sequence[Extract], watermark: int) -> dict[str, int]:
        """Upsert `extracts` by key and save `watermark` for their tables.

        Returns:
            Rows written per table.
        """

    def counts(self, tables: Sequence[RawTable]) -> dict[str, int]:
        """Rows per raw table."""

    def key_versions(self, table: RawTable) -> Iterable[tuple[object, datetime]]:
        """Each row's key and `updated_at`, for reconciliation."""

    def election_counts(self, election_id: str) -> dict[str, int]:
        """Voters and votes of one election in the raw tables."""

    def truncate(self, tables: Sequence[RawTable]) -> None:
        """Empty `tables` and forget their watermarks, for a full resync."""

    def close(self) -> None:
        """Release the connection and any lock."""
