"""Errors of the dashboard: each carries the HTTP status and the field at fault."""

from __future__ import annotations


class DashboardError(Exception):
    """Something the dashboard cannot show; `status` and `field` go to the answer.

    Args:
        message: What is wrong, the value at fault and what to do about it.
        field: The request field the error is about, or None.
    """

    status = 500

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NoResultsYet(DashboardError):
    """The published warehouse file does not exist yet, or holds no election."""

    status = 404


class UnknownElection(DashboardError):
    """The election asked for is not in the marts."""

    status = 404


class UnknownState(DashboardError):
    """The state code asked for is not a state of the election."""

    status = 404


class InvalidParameter(DashboardError):
    """A query parameter has a value the dashboard does not know."""

    status = 400
