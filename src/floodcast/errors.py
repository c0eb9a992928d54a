"""Errors and warnings raised for bad user input.

``InputError`` is a ``ValueError`` whose message names the file or field and the
problem; command-line entry points print it without a traceback and exit with 1.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a missing/unreadable file, an invalid value or an inconsistent grid."""


class InputWarning(UserWarning):
    """Suspicious but usable input (e.g. NaN rain set to 0); the run continues."""
