"""What every local service offers: start, stop, status and removal of its data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

State = Literal["healthy", "not running", "unhealthy"]


@dataclass(frozen=True)
class ServiceStatus:
    """Health of one service as `status` reports it.

    Attributes:
        name: Short name of the service (postgres, kafka, prefect).
        state: healthy, not running, or unhealthy (running but not answering).
        address: Where clients reach it.
        pid: Process id of the local server, when one runs.
        detail: Why it is unhealthy, or a note such as "external".
    """

    name: str
    state: State
    address: str
    pid: int | None = None
    detail: str = ""

    @property
    def healthy(self) -> bool:
        """Whether the service answers at its address."""
        return self.state == "healthy"

    def line(self) -> str:
        """One line for a terminal: name, state, address and details."""
        extras = []
        if self.pid is not None:
            extras.append(f"pid {self.pid}")
        if self.detail:
            extras.append(self.detail)
        suffix = f" ({'; '.join(extras)})" if extras else ""
        return f"{self.name:<9} {self.state:<12} {self.address}{suffix}"


class Service(Protocol):
    """A local service that the stack starts, stops, checks and resets."""

    name: str

    @property
    def address(self) -> str:
        """Where clients reach the service."""
        ...

    def start(self, timeout: float | None = None) -> None:
        """Start the service unless it runs, and wait until it answers."""
        ...

    def stop(self, timeout: float | None = None) -> None:
        """Stop the service if it runs."""
        ...

    def status(self) -> ServiceStatus:
        """Report whether the service runs and answers."""
        ...

    def remove_data(self) -> None:
        """Delete the service's data so that the next start begins afresh."""
        ...
