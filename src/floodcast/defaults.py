"""One home for every default that more than one module uses.

Everything that takes one of these values as a default imports it from here, so a change is
one line. Where two defaults for the same quantity differ, the reason is written beside them.
Units: depth and elevation m, rain mm/h, time s, Manning n s m^-1/3.
"""

from __future__ import annotations

#: Wet/dry depth threshold (m): a cell deeper than this is flooded in every map and score.
WET_THRESHOLD_M = 0.1

#: Manning's roughness n (s m^-1/3) for the whole grid when none is given: short grass /
#: floodplain pasture (Chow 1959, Table 5-6), LISFLOOD-FP's own test-case value.
MANNING_N = 0.035

#: Solver step cap (s) for dataset building, live physics and speed tables: at 10 s the
#: local-inertial step is usually CFL-limited anyway on wet cells, and labels need speed.
MAX_STEP_S = 10.0

#: Step cap of ``floodcast simulate`` (s). Smaller on purpose: simulate is the accuracy path
#: (checked against LISFLOOD-FP), and 10 s steps clip thin sheet-flow films on steep terrain
#: (the demo measured 5 s within 0.4 % of 2 s in outflow; see floodcast/demo/run.py).
SIMULATE_MAX_STEP_S = 2.0

#: CFL number of the step limit dt = cfl * dx / celerity (Bates et al. 2010 use 0.7).
CFL = 0.7

#: Interval between saved depth maps (s) in ``simulate``.
SAVE_EVERY_S = 300.0

#: Wet-probability cut of a model that carries none (``model.pt`` extra["cut"]).
PROB_CUT = 0.5

#: Bins over [0, 1] of the wet-probability histograms the cut is fitted from.
PROB_BINS = 200

#: Depth thresholds (m) every evaluation report scores at.
EVAL_THRESHOLDS_M = (0.05, WET_THRESHOLD_M, 0.3)

#: Model tile (cells) of ``predict``, ``nowcast`` and ``serve`` when the training patch is
#: smaller: a conv net maps any tile size, and bigger tiles repeat less overlap work (a
#: 256 x 256 request is one tile: measured 2.3x less model time than 128-cell tiles). The
#: overlap is a quarter tile; tiles are blended with sin^2 weights (predict/mapper.py).
PREDICT_TILE = 256

#: Flood nowcast (issue #22): STEPS members (0 = deterministic extrapolation), lead and its
#: cap (min), and the depth thresholds (m) of its probabilities.
NOWCAST_MEMBERS = 20
NOWCAST_LEAD_MIN = 60.0
NOWCAST_MAX_LEAD_MIN = 180.0
NOWCAST_THRESHOLDS_M = (WET_THRESHOLD_M, 0.3)
#: Where the members run: "none" (the batched kernel in this process; measured faster than
#: Dask workers on one machine, docs/results/2026-12-02-ensemble-speed.md), "local[:N]" or a
#: dask.distributed scheduler address.
NOWCAST_SCHEDULER = "none"
