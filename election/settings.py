"""One settings model for every service address, the warehouse choice and secrets."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings of the election pipeline, read from `ELECTION_*` variables or `.env`.

    Every default describes the local stack that `make up` starts; point a field
    at an existing service to use that one instead.
    """

    model_config = SettingsConfigDict(
        env_prefix="ELECTION_", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(
        PROJECT_ROOT / ".local",
        description="Folder for the local services' data, logs and the warehouse.",
    )

    # Kafka
    kafka_bootstrap: str | None = Field(
        None,
        description="Bootstrap servers of an existing Kafka cluster; unset means "
        "the local broker at kafka_host:kafka_port.",
    )
    kafka_host: str = Field("127.0.0.1", description="Host of the local broker.")
    kafka_port: int = Field(9092, description="Client port of the local broker.")
    kafka_controller_port: int = Field(
        9093, description="KRaft controller port of the local broker."
    )
    kafka_version: str = Field(
        "4.1.1", description="Apache Kafka release fetched from Maven Central."
    )
    kafka_partitions: int = Field(6, description="Partitions of each topic.")
    kafka_heap: str = Field("512m", description="Java heap of the local broker.")

    consumer_group_prefix: str = Field(
        "election",
        description="Consumer groups are <prefix>-registration and <prefix>-vote.",
    )
    park_grace_s: float = Field(
        60.0,
        description="A vote parked for want of its voter is dead-lettered once it "
        "has waited this long and the registration stream has caught up.",
    )
    lag_alert_threshold: int = Field(
        50_000,
        description="Messages a consumer group may be behind its topic before its "
        "lag reports say `election.over-threshold: true` (and alert).",
    )
    dead_letter_alert_threshold: int = Field(
        0,
        description="Messages a dead-letter topic may hold before its reports say "
        "`election.over-threshold: true` (and alert).",
    )
    lag_report_s: float = Field(
        30.0,
        description="Seconds between two lag reports of a consumer in follow mode; "
        "a bounded run reports once, at its end.",
    )

    # PostgreSQL
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL of an existing PostgreSQL database "
        "(postgresql+psycopg://user:pass@host:port/db); unset means the local one.",
    )
    postgres_host: str = Field("127.0.0.1", description="Host of the local server.")
    postgres_port: int = Field(5433, description="Port of the local server.")
    postgres_user: str = Field("election", description="Role of the local server.")
    postgres_db: str = Field("election", description="Database of the local server.")

    # Prefect
    prefect_host: str = Field("127.0.0.1", description="Host of the Prefect server.")
    prefect_port: int = Field(4200, description="Port of the Prefect server.")

    # API
    api_host: str = Field("127.0.0.1", description="Host the API listens on.")
    api_port: int = Field(8000, description="Port the API listens on.")
    api_workers: int = Field(2, description="WSGI worker processes of the API.")
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token that writes to the API need; unset means the "
        "token kept in data_dir/api-token, made by `make up`.",
    )
    produce_timeout_s: float = Field(
        5.0, description="Longest wait for the broker to acknowledge an event."
    )

    # Dashboard
    dashboard_host: str = Field("127.0.0.1", description="Host of the dashboard.")
    dashboard_port: int = Field(8050, description="Port the dashboard serves on.")
    dashboard_refresh_s: float = Field(
        5.0, description="Seconds between the pages' refreshes; 0 turns them off."
    )

    # Warehouse
    warehouse: Literal["duckdb", "snowflake"] = Field(
        "duckdb", description="Where the sync copies the staging tables to."
    )
    duckdb_path: Path | None = Field(
        None,
        description="DuckDB warehouse file; unset means data_dir/warehouse.duckdb.",
    )
    duckdb_memory_limit: str = Field(
        "1GB",
        pattern=r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Most memory DuckDB takes for the sync and dbt; beyond it, it "
        "spills to disk. DuckDB's own default is 80% of the machine's RAM.",
    )
    snowflake_account: str = Field("", description="Snowflake account identifier.")
    snowflake_user: str = Field("", description="Snowflake user of the pipeline.")
    snowflake_password: SecretStr | None = Field(None, description="Its password.")
    snowflake_role: str = Field("ELECTION_PIPELINE", description="Role to use.")
    snowflake_warehouse: str = Field("ELECTION_WH", description="Virtual warehouse.")
    snowflake_database: str = Field(
        "ELECTION", description="Database of raw and marts."
    )
    snowflake_host: str | None = Field(
        None, description="Host override, for an emulator such as fakesnow."
    )
    snowflake_port: int | None = Field(None, description="Port override.")
    snowflake_protocol: str | None = Field(None, description="http or https override.")

    @property
    def kafka_servers(self) -> str:
        """Bootstrap servers the clients connect to."""
        return self.kafka_bootstrap or f"{self.kafka_host}:{self.kafka_port}"

    def consumer_group(self, topic: str) -> str:
        """The consumer group that reads `topic` into PostgreSQL."""
        return f"{self.consumer_group_prefix}-{topic}"

    @property
    def uses_local_postgres(self) -> bool:
        """Whether the project runs its own PostgreSQL server."""
        return self.database_url is None

    @property
    def sqlalchemy_url(self) -> str:
        """SQLAlchemy URL of the staging database."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return (
            f"postgresql+psycopg://{self.postgres_user}@{self.postgres_host}:"
            f"{self.postgres_port}/{self.postgres_db}"
        )

    @property
    def postgres_dsn(self) -> str:
        """libpq connection string of the staging database, for psycopg."""
        return self.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def prefect_api_url(self) -> str:
        """API address of the Prefect server."""
        return f"http://{self.prefect_host}:{self.prefect_port}/api"

    @property
    def api_url(self) -> str:
        """Base address of the Flask API."""
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file."""
        return self.duckdb_path or self.data_dir / "warehouse.duckdb"

    def resolved_api_token(self) -> str | None:
        """The API token from settings, else the one `make up` wrote, else None."""
        if self.api_token is not None:
            return self.api_token.get_secret_value()
        token_file = self.data_dir / "api-token"
        if token_file.exists():
            return token_file.read_text().strip()
        return None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
