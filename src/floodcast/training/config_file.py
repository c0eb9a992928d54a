"""A training run's configuration as a file: ``floodcast train --config run.toml``.

Every run writes the full config it ran with (``OUT/train_config.json``); passing that file
(or a TOML file with the same keys) back reproduces the run, as LightningCLI's and
nanoGPT's config files do. Options given on the command line win over the file.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from floodcast.errors import InputError


def read_config_file(path: str | Path, valid: set[str]) -> dict[str, Any]:
    """The keys of a TOML or JSON config file, checked against the ``valid`` field names.

    A TOML file may hold the keys at the top level or under a ``[train]`` table.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--config {p}: no such file")
    try:
        if p.suffix.lower() == ".toml":
            values = tomllib.loads(p.read_text())
            values = values.get("train", values)
        else:
            values = json.loads(p.read_text())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"--config {p}: not valid {p.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from None
    if not isinstance(values, dict):
        raise InputError(f"--config {p}: expected a table of options, got {type(values).__name__}")
    unknown = sorted(set(values) - valid)
    if unknown:
        raise InputError(f"--config {p}: unknown option(s) {unknown}; valid: {sorted(valid)}")
    return values


def merge_config(
    cls: type, from_cli: dict[str, Any], given: set[str], path: str | Path | None
) -> Any:
    """``cls(**values)``: the file's values, overridden by the options in ``given`` (those
    typed on the command line); without a file, the command line's values alone."""
    names = {f.name for f in fields(cls)}
    values = dict(from_cli)
    if path is not None:
        file_values = read_config_file(path, names)
        values.update({k: v for k, v in file_values.items() if k not in given})
    missing = [k for k in ("data", "out") if k in names and not values.get(k)]
    if missing:
        raise InputError(
            f"missing {', '.join('--' + m for m in missing)} (give it, or a "
            "--config file that holds it)"
        )
    return cls(**values)
