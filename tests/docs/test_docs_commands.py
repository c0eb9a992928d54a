"""Every shell block in README.md and docs/ runs when copied from the repository root.

A fenced block tagged ``bash``, ``sh``, ``shell`` or ``console`` (or untagged and naming
``floodcast``) is run as one bash script, with ``set -e``, from a scratch copy of the
repository root (its top-level entries symlinked, so ``outputs/`` lands in the scratch
folder). A comment on the line just before a block changes that:

- ``<!-- skip-test: REASON -->``: not run (a server, minutes of training, data that is not
  shipped with the repository ...). The reason is required.
- ``<!-- slow-test: REASON -->``: run only with ``-m slow`` (``make test-slow``).

Blocks on the experiment pages under ``docs/results/`` are skipped unless marked
``slow-test``: they record runs of minutes to hours on the development data.

Blocks tagged ``text`` (option synopses, outputs) are never run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHELL_TAGS = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"<!--\s*(skip-test|slow-test)\s*:?\s*(.*?)\s*-->")
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)")
# the repository's own folders that a scratch root links to (never outputs/, data/, .venv/)
RESULTS = ROOT / "docs" / "results"
RESULTS_REASON = "docs/results/ records experiments; their commands are not run by default"
NOT_LINKED = {"outputs", "data", ".venv", "site", ".git", ".pytest_cache"}


@dataclass
class Block:
    """One fenced shell block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    tag: str
    text: str
    marker: str | None  # "skip-test" / "slow-test" / None
    reason: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def extract_blocks(path: Path, tags: set[str] = SHELL_TAGS) -> list[Block]:
    """The shell blocks of one Markdown file, with the marker written just before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, tag = m.group(1), m.group(2), m.group(3).lower()
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i].removeprefix(indent))
            i += 1
        i += 1
        text = "\n".join(body)
        if not (tag in tags or (tag == "" and "floodcast" in text)):
            continue
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = MARKER.search(prev)
        if mark is None and RESULTS in path.parents:
            # an experiment's record: its commands take minutes to hours on the real data
            blocks.append(Block(path, start + 1, tag, text, "skip-test", RESULTS_REASON))
            continue
        blocks.append(
            Block(
                path,
                start + 1,
                tag,
                text,
                mark.group(1) if mark else None,
                mark.group(2) if mark else "",
            )
        )
    return blocks


def script(block: Block) -> str:
    """The block as a bash script: ``console`` blocks keep only their ``$ `` lines."""
    text = block.text
    if block.tag == "console":
        text = "\n".join(ln[2:] for ln in text.splitlines() if ln.startswith("$ "))
    return "set -euo pipefail\n" + text + "\n"


ALL = [b for p in doc_files() for b in extract_blocks(p)]


def _param(block: Block):
    marks = [pytest.mark.slow] if block.marker == "slow-test" else []
    return pytest.param(block, id=block.id, marks=marks)


def test_blocks_found():
    """The extractor sees the README's blocks (a broken parser would silently test nothing)."""
    readme = [b for b in ALL if b.path.name == "README.md"]
    assert len(readme) >= 4
    assert any("floodcast" in b.text for b in readme)


@pytest.mark.parametrize("block", [b for b in ALL if b.marker], ids=lambda b: b.id)
def test_every_opt_out_has_a_reason(block: Block):
    assert len(block.reason) >= 10, f"{block.id}: {block.marker} needs a reason"


@pytest.fixture(scope="module")
def scratch_root(tmp_path_factory) -> Path:
    """A folder that looks like the repository root; commands write into its outputs/."""
    root = tmp_path_factory.mktemp("scratch") / "repo"
    root.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in NOT_LINKED:
            (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    shared = ROOT.parent / "shared"  # so ../shared/data means what it does from the real root
    if shared.is_dir():
        (root.parent / "shared").symlink_to(shared, target_is_directory=True)
    return root


@pytest.mark.parametrize("block", [_param(b) for b in ALL if b.marker != "skip-test"])
def test_block_runs(block: Block, scratch_root: Path):
    if "../shared/data" in block.text and not (ROOT.parent / "shared" / "data").is_dir():
        pytest.skip("the block reads ../shared/data, which is not beside this checkout")
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)  # floodcast and python of this environment
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("NUMBA_NUM_THREADS", "1")
    env["COLUMNS"] = "100"
    proc = subprocess.run(
        ["bash", "-c", script(block)],
        check=False,
        cwd=scratch_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"{block.id} failed (exit {proc.returncode}):\n{block.text}\n--- stdout\n"
        f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    )


def _cli_tree():
    typer_main = pytest.importorskip("typer.main")
    from floodcast.cli import app

    return typer_main.get_command(app)


def _invocations(text: str) -> list[list[str]]:
    """Each ``floodcast ...`` command line of a block (continuations joined), as tokens."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip().removeprefix("$ ")
        for part in re.split(r"&&|;|\|\|?", line):
            tokens = part.split()
            if tokens and tokens[0] == "floodcast":
                out.append(tokens[1:])
    return out


OPTION_BLOCKS = [b for p in doc_files() for b in extract_blocks(p, tags=SHELL_TAGS | {"text"})]


@pytest.mark.parametrize(
    "block", [b for b in OPTION_BLOCKS if "floodcast" in b.text], ids=lambda b: b.id
)
def test_documented_options_exist(block: Block):
    """Every command and ``--option`` a block names exists, skipped blocks and synopses too."""
    root = _cli_tree()
    for tokens in _invocations(block.text):
        cmd, path = root, ["floodcast"]
        while tokens and hasattr(cmd, "commands") and tokens[0] in cmd.commands:
            cmd = cmd.commands[tokens[0]]
            path.append(tokens.pop(0))
        if hasattr(cmd, "commands") and not getattr(cmd, "invoke_without_command", False):
            # a plain group: what follows must be a sub-command or --help
            assert not tokens or tokens[0] in ("--help", "…", "..."), (
                f"{block.id}: {' '.join(path)} has no command {tokens[0]!r}"
            )
            continue
        known = {"--help"}
        for param in cmd.params:
            known.update(o.split("=")[0] for o in [*param.opts, *param.secondary_opts])
        for tok in tokens:
            for opt in re.findall(r"(?<![\w-])--[a-z][\w-]*", tok):
                assert opt in known, f"{block.id}: {' '.join(path)} has no option {opt}"
