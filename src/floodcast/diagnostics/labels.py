"""Labels that colour embedding points, each carrying its sample keys so a plot can refuse
labels in another order than its points (see ``floodcast.diagnostics.embed``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from floodcast.defaults import WET_THRESHOLD_M

KEY_FIELDS = ("event", "frame", "row", "col")


class LabelAlignmentError(ValueError):
    """Colouring labels do not belong to the plotted points in the same order."""


@dataclass
class Labels:
    """Colouring values, each tied to the sample key it was computed from."""

    name: str
    values: np.ndarray  # [n] categorical (str/int) or continuous (float)
    keys: np.ndarray  # [n, 4] (event, frame, row, col)
    categorical: bool = True

    def check_aligned(self, keys: np.ndarray) -> None:
        """Raise ``LabelAlignmentError`` unless ``keys`` are the labels' keys, row for row."""
        keys = np.asarray(keys)
        if len(self.values) != len(keys) or self.keys.shape != keys.shape:
            raise LabelAlignmentError(
                f"{self.name}: {len(self.values)} labels for {len(keys)} points"
            )
        bad = np.flatnonzero((self.keys != keys).any(1))
        if len(bad):
            raise LabelAlignmentError(
                f"{self.name}: labels are not in the points' order ({len(bad)} of {len(keys)} "
                f"rows differ, first at row {bad[0]}: point {keys[bad[0]].tolist()} vs label "
                f"{self.keys[bad[0]].tolist()}); rebuild them with make_labels(keys, ...)"
            )


def make_labels(
    keys: np.ndarray,
    kind: str,
    event_names: list[str] | None = None,
    event_sources: dict[str, str] | None = None,
    depth_maps: np.ndarray | None = None,
    threshold: float = WET_THRESHOLD_M,
) -> Labels:
    """Colouring computed *from each point's own key* (or its own depth map, same rows).

    Args:
        kind: ``event`` | ``source`` (radar source of the event) | ``wet_fraction``.
    """
    keys = np.asarray(keys)
    ev = keys[:, 0]
    if kind == "event":
        vals = np.array([event_names[e] if event_names else str(e) for e in ev])
        return Labels(kind, vals, keys.copy())
    if kind == "source":
        names = [event_names[e] if event_names else str(e) for e in ev]
        vals = np.array([(event_sources or {}).get(n, "?") for n in names])
        return Labels(kind, vals, keys.copy())
    if kind == "wet_fraction":
        if depth_maps is None or len(depth_maps) != len(keys):
            raise ValueError("wet_fraction needs the depth maps of the same points, same order")
        vals = (np.asarray(depth_maps) > threshold).reshape(len(keys), -1).mean(1)
        return Labels(kind, vals.astype(np.float64), keys.copy(), categorical=False)
    raise ValueError(f"unknown colouring {kind!r}; valid: event, source, wet_fraction")


def structure_title(res: dict) -> str:
    return (
        f"{res['label']}: kNN agreement {res['score']:.3f} vs permuted "
        f"{res['null_mean']:.3f}±{res['null_std']:.3f} (z={res['z']:.1f}, p={res['p']:.3f})"
    )
