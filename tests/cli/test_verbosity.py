"""--verbose: Lightning's banner, tips and warnings only when asked for (cli/verbosity.py)."""

from __future__ import annotations

import logging
import warnings

from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.cli.verbosity import library_chatter


class _Records(logging.Handler):
    """Every message that reaches Lightning's logger (its banner goes through it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _train(store, out, *extra: str) -> tuple[list[str], list[str]]:
    """One tiny training run: (Lightning's log messages, warnings raised)."""
    import lightning.pytorch  # noqa: F401  (its import sets the logger's level)

    handler = _Records()
    logger = logging.getLogger("lightning.pytorch")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = CliRunner().invoke(
                app,
                [
                    *("train", "--data", str(store), "--out", str(out), "--model", "small_unet"),
                    *("--epochs", "1", "--limit-batches", "1", "--batch-size", "4", "--quiet"),
                    *extra,
                ],
            )
    finally:
        logger.removeHandler(handler)
    assert r.exit_code == 0, r.output
    return handler.messages, [str(w.message) for w in caught]


def test_lightning_banner_and_warnings_hidden_unless_verbose(tiny_store, tmp_path):
    store, _ = tiny_store
    messages, caught = _train(store, tmp_path / "quiet")
    assert not [m for m in messages if "GPU available" in m or "Tip:" in m], messages
    assert caught == []
    messages, caught = _train(store, tmp_path / "verbose", "--verbose")
    assert any(m.startswith("GPU available: False") for m in messages), messages
    # e.g. torch's "`isinstance(treespec, LeafSpec)` is deprecated" from inside Lightning
    assert any("deprecated" in w for w in caught), caught


def test_library_chatter_restores_logging_and_warnings():
    log = logging.getLogger("floodcast.test")
    with library_chatter(verbose=False):
        assert not log.isEnabledFor(logging.INFO) and log.isEnabledFor(logging.WARNING)
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("hidden", UserWarning, stacklevel=1)
        assert caught == []  # the block's own filter wins over the inner catch's default
    assert logging.root.manager.disable == logging.NOTSET  # as before the block
    with library_chatter(verbose=True):
        assert logging.root.manager.disable == logging.NOTSET
