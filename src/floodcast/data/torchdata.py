"""Feeding models: a torch Dataset over the store and a Lightning DataModule.

Inputs are ``[B, C, H, W]`` float32 and targets ``[B, H, W]``; the order is asserted
at the boundary (``assert_bchw``) so a swapped layout fails loudly instead of training
on nonsense (the original work once trained on ``[B, W, H, C]``).
"""

# size: the torch Dataset and the Lightning DataModule over one store share the sample index and
# its sampler state.

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from floodcast.data import store
from floodcast.data.channels import (
    DERIVED_CHANNELS,
    EXTRA_CHANNELS,
    SURFACE_CHANNELS,
    manning_channel,
)
from floodcast.data.index import SPLIT_CODES
from floodcast.data.samples import dihedral, make_input, rain_window
from floodcast.data.terrain import DemRouting
from floodcast.defaults import MANNING_N


def assert_bchw(
    x: torch.Tensor, channels: int, hw: tuple[int, int] | None = None, name: str = "input"
) -> None:
    """Fail with a fix-it message unless ``x`` is [B, C, H, W] with C == ``channels``."""
    if x.ndim != 4:
        raise ValueError(f"{name} must be [B, C, H, W]; got {x.ndim} dims {tuple(x.shape)}")
    if x.shape[1] != channels:
        hint = ""
        if x.shape[-1] == channels:
            hint = " - it looks channels-last [B, H, W, C]: use x.permute(0, 3, 1, 2)"
        raise ValueError(f"{name} has {x.shape[1]} channels at dim 1, expected {channels}{hint}")
    if hw is not None and tuple(x.shape[2:]) != tuple(hw):
        hint = (
            " - height and width are swapped: use x.transpose(2, 3)"
            if (tuple(x.shape[2:]) == tuple(hw)[::-1])
            else ""
        )
        raise ValueError(f"{name} spatial size {tuple(x.shape[2:])} != expected (H, W) {hw}{hint}")


#: Input formulations (issue "beyond the original"): extra channels on top of K frames + DEM.
#: Names combine with "+", with each other or with channel names: "state+upslope_area".
FORMULATIONS = {
    "original": [],
    "state": ["rain_accum", "time_since_start"],
    "autoregressive": ["prev_depth"],
}


def select_extras(available: list[str], want: str | list[str] | None) -> list[str]:
    """Extra channels for a formulation (name, "a+b" combination or list; None = all stored).

    Derived channels (``DERIVED_CHANNELS``, computed from the DEM) and the land-surface
    channels (``SURFACE_CHANNELS``, from the store's Manning n) are always available.
    """
    if want is None:
        return list(available)
    extras: list[str] = []
    for part in want.split("+") if isinstance(want, str) else list(want):
        if part in FORMULATIONS:
            extras += FORMULATIONS[part]
        elif part in EXTRA_CHANNELS:
            extras.append(part)
        else:
            raise ValueError(
                f"unknown formulation {part!r}; valid: {sorted(FORMULATIONS)} or "
                f"channels {sorted(EXTRA_CHANNELS)}, joined with '+'"
            )
    extras = list(dict.fromkeys(extras))
    always = DERIVED_CHANNELS + SURFACE_CHANNELS
    missing = [e for e in extras if e not in available and e not in always]
    if missing:
        raise ValueError(
            f"channels {missing} are not in this store (it has {available}); "
            "rebuild it with --extra " + ",".join(extras)
        )
    return extras


class FloodDataset(Dataset):
    """Samples of one split, cut on the fly from the stored frames (no copy per window)."""

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        keep_duplicates: bool = False,
        cache_events: int = 16,
        fraction: float = 1.0,
        seed: int = 0,
        formulation: str | list[str] | None = None,
        pushforward: int = 0,
        augment: bool = False,
    ):
        self.path = str(path)
        # training only: each sample in a random one of the 8 grid symmetries (a model that
        # never sees them memorises the orientation of its training DEMs: bench_mirror)
        self.augment = bool(augment)
        index, attrs = store.read_index(path)
        self.summary = attrs["summary"]
        self.spec = dict(self.summary["spec"])
        self.spec["extra_channels"] = select_extras(self.spec["extra_channels"], formulation)
        self.channels: list[str] = self.summary["channels"][: self.spec["frames"] + 1] + list(
            self.spec["extra_channels"]
        )
        self.stats = self.summary["stats"]
        if pushforward and "prev_depth" not in self.spec["extra_channels"]:
            raise ValueError("pushforward needs the autoregressive formulation (prev_depth)")
        self.pushforward = int(pushforward)
        if split not in SPLIT_CODES:
            raise ValueError(f"split {split!r}: valid are {list(SPLIT_CODES)}")
        sel = index["split"] == SPLIT_CODES[split]
        if not keep_duplicates and not self.spec["extra_channels"]:
            sel &= index["keep"]
        rows = np.flatnonzero(sel)
        if fraction < 1.0:  # label-budget experiments: a seeded subset of samples
            rng = np.random.default_rng(seed)
            rows = np.sort(
                rng.choice(rows, max(1, int(round(fraction * len(rows)))), replace=False)
            )
        self.items = np.stack([index[k][rows] for k in ("event", "frame", "row", "col")], 1)
        self.event_ids: list[str] = self.summary["event_ids"]
        self.split = split
        self._cache: OrderedDict[int, tuple] = OrderedDict()
        self.cache_events = cache_events
        self._dems: dict[str, tuple[np.ndarray, DemRouting | None]] = {}

    def __len__(self) -> int:
        return len(self.items)

    @property
    def in_channels(self) -> int:
        return len(self.channels)

    def _event(self, e: int):
        if e in self._cache:
            self._cache.move_to_end(e)
            return self._cache[e]
        rain, depth, attrs = store.read_event(self.path, self.event_ids[e])
        did = attrs["plan"]["dem_id"]
        derived = [c for c in self.spec["extra_channels"] if c in DERIVED_CHANNELS]
        if did not in self._dems:
            z, dattrs = store.read_dem(self.path, did)
            self._dems[did] = (z, DemRouting(z, dattrs["cell_size"]) if derived else None)
        z, routing = self._dems[did]
        dt_h = attrs["plan"]["interval_s"] / 3600.0
        accum = np.cumsum(rain, axis=0) * dt_h  # mm after each frame
        time_h = (np.arange(len(rain)) + 1) * dt_h  # hours since the start, after each frame
        grids = (
            routing.grids(derived, accum, time_h) if routing is not None else {}
        )  # [T,H,W]: rain
        if "manning" in self.spec["extra_channels"]:
            grids["manning"] = manning_channel(self._manning(did), z.shape)
        item = (rain, depth, accum, z, grids, dt_h)
        self._cache[e] = item
        if len(self._cache) > self.cache_events:
            self._cache.popitem(last=False)
        return item

    def _manning(self, did: str) -> np.ndarray | float:
        """The n the DEM's events were simulated with: its stored raster, else the build's
        uniform n."""
        grid = store.read_dem_grid(self.path, did, "manning")
        if grid is not None:
            return grid
        _, attrs = store.read_index(self.path)
        return float(attrs.get("build", {}).get("solver", {}).get("manning", MANNING_N))

    def sample(self, i: int) -> dict[str, np.ndarray]:
        """One sample as numpy: x [C, H, W] float32, depth [H, W], wet [H, W]."""
        e, k, r, c = (int(v) for v in self.items[i])
        rain, depth, _, dem, _, dt_h = self._event(e)
        p = self.spec["patch"]
        x = self._input(e, k, r, c, depth[k - 1, r : r + p, c : c + p] if k > 0 else None)
        d = depth[k, r : r + p, c : c + p].astype(np.float32)
        out = {
            "x": x,
            "depth": d,
            "wet": d > self.spec["threshold"],
            "event": e,
            "frame": k,
            "rain_sum": rain_window(rain[:, r : r + p, c : c + p], k, self.spec["frames"]).sum(0)
            * dt_h,
            "dem": dem[r : r + p, c : c + p],
        }
        if self.pushforward:
            # inputs of the S frames before k (zeros before the event start, which is dry) and
            # the true depth before them: the task rolls the model through them (pushforward)
            S = self.pushforward
            out["x_hist"] = np.stack(
                [
                    self._input(e, j, r, c, None) if j >= 0 else np.zeros_like(x)
                    for j in range(k - S, k)
                ]
            )
            out["hist_valid"] = np.array([j >= 0 for j in range(k - S, k)])
            j0 = k - S - 1
            out["depth0"] = (
                depth[j0, r : r + p, c : c + p].astype(np.float32) if j0 >= 0 else np.zeros_like(d)
            )
        return out

    def _input(self, e: int, k: int, r: int, c: int, prev: np.ndarray | None) -> np.ndarray:
        rain, _, accum, dem, grids, dt_h = self._event(e)
        p = self.spec["patch"]
        win = rain_window(rain[:, r : r + p, c : c + p], k, self.spec["frames"])
        derived = {n: (g[k] if g.ndim == 3 else g)[r : r + p, c : c + p] for n, g in grids.items()}
        return make_input(
            win,
            dem[r : r + p, c : c + p],
            self.stats,
            self.spec["extra_channels"],
            accum_tile=accum[k, r : r + p, c : c + p],
            time_h=(k + 1) * dt_h,
            prev_depth=prev,
            derived=derived,
        )

    def wet_counts(self) -> np.ndarray:
        """Wet cells (depth > threshold) of every sample, read event by event."""
        counts = np.zeros(len(self.items), np.int64)
        p, thr = self.spec["patch"], self.spec["threshold"]
        for e in np.unique(self.items[:, 0]):
            sel = np.flatnonzero(self.items[:, 0] == e)
            _, depth, _ = store.read_event(self.path, self.event_ids[int(e)])
            wet = depth > thr
            for i in sel:
                _, k, r, c = (int(v) for v in self.items[i])
                counts[i] = np.count_nonzero(wet[k, r : r + p, c : c + p])
        return counts

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.sample(i)
        if self.augment:  # torch's RNG: seeded by seed_everything, per worker
            t = int(torch.randint(8, ()))
            s.update(
                {k: dihedral(s[k], t) for k in ("x", "wet", "depth", "x_hist", "depth0") if k in s}
            )
        out = {
            "x": torch.from_numpy(s["x"]),
            "y": torch.from_numpy(s["wet"].astype(np.int64)),
            "depth": torch.from_numpy(s["depth"]),
            "event": s["event"],
            "frame": s["frame"],
        }
        for k in ("x_hist", "hist_valid", "depth0"):
            if k in s:
                out[k] = torch.from_numpy(s[k])
        return out


def collate_checked(batch: list[dict]) -> dict[str, torch.Tensor]:
    """Default collation plus the [B, C, H, W] / [B, H, W] boundary check."""
    out = torch.utils.data.default_collate(batch)
    x, y = out["x"], out["y"]
    assert_bchw(x, x.shape[1], tuple(y.shape[1:]))
    if y.ndim != 3:
        raise ValueError(f"targets must be [B, H, W]; got {tuple(y.shape)}")
    return out


class EventBlockSampler(Sampler[int]):
    """Shuffled samples drawn a few events at a time, so the event cache stays hot.

    Uniform shuffling over all samples reads a whole event from the store for almost
    every sample once the split holds more events than the cache (the loader then spends
    its time decompressing). Here each epoch shuffles the events, takes them
    ``events_per_block`` at a time (at most the cache size) and shuffles the samples within
    the block - a shuffle buffer, as streaming loaders do. Batches still mix several events.

    ``wet_oversample`` > 0 also repeats every sample that holds a wet cell 1 + X times on
    average: with ~0.1 % wet cells most patches are entirely dry, and a model trained on
    uniform draws learns "always dry" first (the usual remedy in flood and cloud segmentation).
    """

    def __init__(
        self,
        ds: FloodDataset,
        events_per_block: int = 8,
        wet_oversample: float = 0.0,
        seed: int = 0,
    ):
        self.events = ds.items[:, 0]
        self.block = max(1, min(events_per_block, ds.cache_events))
        self.repeat = np.ones(len(self.events))
        if wet_oversample > 0:
            self.repeat += wet_oversample * (ds.wet_counts() > 0)
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return int(round(self.repeat.sum()))

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this before each epoch: a resumed run draws that epoch's order."""
        self.epoch = int(epoch)

    def __iter__(self):
        rng = np.random.default_rng((self.seed, self.epoch))
        self.epoch += 1
        ev = rng.permutation(np.unique(self.events))
        for b in range(0, len(ev), self.block):
            rows = np.flatnonzero(np.isin(self.events, ev[b : b + self.block]))
            rep = self.repeat[rows]
            # integer part repeated exactly, fractional part drawn: E[count] = repeat
            n = np.floor(rep).astype(int) + (rng.random(len(rows)) < rep % 1)
            yield from rng.permutation(np.repeat(rows, n)).tolist()


def make_loader(
    ds: Dataset,
    batch_size: int,
    shuffle: bool,
    workers: int,
    seed: int = 0,
    sampler: Sampler | None = None,
) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_checked,
        generator=g,
        persistent_workers=workers > 0,
        pin_memory=False,
    )


try:  # Lightning is optional for plain-torch users
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover
    pl = None

if pl is not None:

    class FloodDataModule(pl.LightningDataModule):
        """train/val/test loaders over one store; splits are by event (fixed at build)."""

        def __init__(
            self,
            path: str | Path,
            batch_size: int = 8,
            num_workers: int = 0,
            train_fraction: float = 1.0,
            seed: int = 0,
            formulation: str | list[str] | None = None,
            wet_oversample: float = 0.0,
            val_fraction: float = 1.0,
            pushforward: int = 0,
            augment: bool = False,
        ):
            super().__init__()
            self.augment = augment
            self.pushforward = pushforward
            self.wet_oversample, self.val_fraction = wet_oversample, val_fraction
            self.path, self.batch_size, self.num_workers = str(path), batch_size, num_workers
            self.train_fraction, self.seed, self.formulation = train_fraction, seed, formulation
            self.ds: dict[str, FloodDataset] = {}

        def setup(self, stage: str | None = None) -> None:
            for split in ("train", "val", "test"):
                if split not in self.ds:
                    # a seeded subset of validation samples over every val event keeps
                    # each epoch's early-stopping check affordable on a CPU
                    frac = {"train": self.train_fraction, "val": self.val_fraction}.get(split, 1.0)
                    self.ds[split] = FloodDataset(
                        self.path,
                        split,
                        fraction=frac,
                        seed=self.seed,
                        formulation=self.formulation,
                        pushforward=self.pushforward if split == "train" else 0,
                        augment=self.augment and split == "train",
                    )

        @property
        def in_channels(self) -> int:
            self.setup()
            return self.ds["train"].in_channels

        def train_dataloader(self) -> DataLoader:
            ds = self.ds["train"]
            sampler = EventBlockSampler(ds, wet_oversample=self.wet_oversample, seed=self.seed)
            return make_loader(ds, self.batch_size, True, self.num_workers, self.seed, sampler)

        def val_dataloader(self) -> DataLoader:
            return make_loader(self.ds["val"], self.batch_size, False, self.num_workers)

        def test_dataloader(self) -> DataLoader:
            return make_loader(self.ds["test"], self.batch_size, False, self.num_workers)
