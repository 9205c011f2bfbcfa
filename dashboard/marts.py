"""Read-only access to the marts in the published copy of the DuckDB warehouse.

The sync and dbt write `warehouse.duckdb` under a file lock; after each dbt build
the file is copied to `warehouse.published.duckdb` and moved into place at once.
The dashboard opens only that published copy, read-only, so it never holds a
file a writer needs. One connection is kept per process and opened again when
the published file is replaced (its inode, size or mtime changes).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from dashboard.exceptions import NoResultsYet
from election.settings import Settings
from warehouse.duckdb_target import published_path
from warehouse.results import MARTS

logger = logging.getLogger(__name__)

Row = dict[str, Any]
FileIdentity = tuple[int, int, int, int]

NO_RESULTS_HINT = "run `make demo` (or `python -m flows.pipeline`) to make some"


@dataclass(frozen=True)
class Snapshot:
    """One published version of the marts, queried under the reader's lock."""

    conn: duckdb.DuckDBPyConnection
    path: Path
    published_at: datetime

    def rows(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[Row]:
        """Rows of a read-only query on the marts, by column name.

        `{marts}` in `sql` stands for the marts' schema; `?` or `$name` take
        `params`, a sequence or a mapping.

        Raises:
            NoResultsYet: when the published file has no marts yet, as after a
                first dbt build that failed.
        """
        try:
            values = dict(params) if isinstance(params, Mapping) else list(params)
            relation = self.conn.execute(sql.format(marts=MARTS), values)
            columns = [column[0] for column in relation.description or []]
            return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
        except duckdb.CatalogException as error:
            raise NoResultsYet(
                f"the published warehouse {str(self.path)!r} has no marts yet "
                f"({error}); {NO_RESULTS_HINT}"
            ) from error


class PublishedMarts:
    """The published warehouse file at `path`, opened read-only on demand.

    Args:
        path: The published copy, `warehouse.published.duckdb` in the data dir.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._identity: FileIdentity | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PublishedMarts:
        """The published copy of the warehouse that `settings` names."""
        return cls(published_path(settings.warehouse_path))

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Hold the current published version for a few consistent queries.

        Raises:
            NoResultsYet: when nothing has been published yet.
        """
        with self._lock:
            conn, mtime_ns = self._current()
            published_at = datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC)
            yield Snapshot(conn, self.path, published_at)

    def close(self) -> None:
        """Close the connection, if one is open."""
        with self._lock:
            self._drop()

    def _current(self) -> tuple[duckdb.DuckDBPyConnection, int]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError as error:
            self._drop()
            raise NoResultsYet(
                f"no results yet: the published warehouse {str(self.path)!r} does "
                f"not exist; {NO_RESULTS_HINT}"
            ) from error
        identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._conn is None or identity != self._identity:
            # NOTE: DuckDB shares one database instance per path in a process,
            # so the old connection must close before the new file is opened,
            # or the new connection would still see the replaced file.
            self._drop()
            self._conn = duckdb.connect(str(self.path), read_only=True)
            self._conn.execute("set timezone = 'UTC'")
            self._identity = identity
            logger.info("opened the published warehouse %s read-only", self.path)
        return self._conn, stat.st_mtime_ns

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._identity = None
