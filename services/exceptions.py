"""Errors raised when a local service cannot be installed, started or reached."""

from __future__ import annotations


class ServiceError(RuntimeError):
    """A local service could not be installed, started, stopped or reached.

    The message names the service, what is wrong, the value at fault and what to
    do about it; `log_tail` holds the last lines of the service's log when there
    is one.
    """

    def __init__(self, service: str, message: str, log_tail: str = "") -> None:
        self.service = service
        self.log_tail = log_tail
        text = f"{service}: {message}"
        if log_tail:
            text += f"\n--- last lines of the {service} log ---\n{log_tail}"
        super().__init__(text)
