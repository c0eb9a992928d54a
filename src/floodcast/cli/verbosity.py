"""``--verbose``: the libraries' chatter (Lightning's banner and tips, warnings) only on request.

Without ``--verbose`` the commands that train or run a model (train, tune, evaluate,
predict, nowcast, demo) hide what the libraries print for their own developers:
Lightning's ``GPU available: ... / TPU available: ...`` banner, its ``💡 Tip: ...`` lines,
and ``UserWarning``/``DeprecationWarning``/``FutureWarning`` messages (e.g. "The
'train_dataloader' does not have many workers"). floodcast's own output, progress bars
and errors are unchanged.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        help="Show the libraries' own messages: Lightning's banner (GPU/TPU available), "
        "tips, and deprecation/user warnings (hidden by default).",
    ),
]

# ``--quiet/--no-quiet`` of the commands that draw one progress bar (predict, simulate)
Quiet = Annotated[bool, typer.Option(help="No progress bar (none when stderr is not a terminal).")]

# categories of the warnings libraries print for their developers rather than for users
_CHATTER = (UserWarning, DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@contextmanager
def library_chatter(verbose: bool) -> Iterator[None]:
    """Hide library INFO logs and developer warnings inside the block unless ``verbose``."""
    if verbose:
        yield
        return
    # logging.disable, not a level on Lightning's logger: importing lightning.pytorch
    # (which commands do lazily, inside this block) sets that logger back to INFO
    before = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings():
            for category in _CHATTER:
                warnings.simplefilter("ignore", category)
            yield
    finally:
        logging.disable(before)
