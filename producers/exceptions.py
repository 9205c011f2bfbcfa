"""Errors the producers raise, each saying what went wrong and what to do."""

from __future__ import annotations


class ProducerError(RuntimeError):
    """A producer cannot go on; the message says why and what to do."""


class RandomUserError(ProducerError):
    """The randomuser API could not be reached or gave a wrong answer."""


class ApiError(ProducerError):
    """The election API could not be reached or refused a request as a whole."""
