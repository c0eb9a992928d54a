"""Errors and warnings raised for bad user input.

``InputError`` is a ``ValueError`` whose message names the file or field and the
problem; command-line entry points print it without a traceback and exit with 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class InputError(ValueError):
    """Bad user input: a missing/unreadable file, an invalid value or an inconsistent grid."""


class InputWarning(UserWarning):
    """Suspicious but usable input (e.g. NaN rain set to 0); the run continues."""


@contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """For CLI commands: these errors (default ``InputError``, a ``ValueError``; subclasses
    are caught too) are bad input, so print ``error: <message>`` to stderr and exit with
    status 1, without a traceback."""
    import typer

    caught = kinds or (InputError,)
    try:
        yield
    except caught as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
