"""One home for every default that more than one module uses.

Everything that takes one of these values as a default imports it from here, so a change is
one line. Where two defaults for the same quantity differ, the reason is written beside them.
Units: depth and elevation m, rain mm/h, time s, Manning n s m^-1/3.
"""

from __future__ import annotations

#: Wet/dry depth threshold (m): a cell deeper than this is flooded in every map and score.
WET_THRESHOLD_M = 0.1
#: Depth scale of every log-depth model input, log1p(depth / 5 cm) (data channels,
#: downscaling channels, the training task's depth target).
DEPTH_SCALE_M = 0.05

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

#: Frames of zero rain the downscaling pair builder appends to every event (a dry tail:
#: the fine and coarse runs go on through the recession, maps saved as during the rain).
#: Without it every training map lies inside heavy rain and the downscaled flood nowcast kept
#: 2.2-2.9x the fine nowcast's water once the rain stopped (results 2026-12-02-downscaling-
#: diagnosis). Six 5-min frames cover the half-hour recession that check met.
DOWNSCALE_DRY_TAIL_FRAMES = 6

#: How a downscaler's coarse DEM is made from the fine one (``floodcast downscale pairs
#: --coarse-dem``): "min" (each block's lowest cell: keeps the channels a block mean smooths
#: away; held-out CSI@0.1 0.43 -> 0.53 at x4, 0.31 -> 0.38 at x8,
#: docs/results/2026-12-02-downscaling-block-min.md) or "mean" (its mean elevation).
DOWNSCALE_COARSE_DEM = "min"

#: Film roughness of the sub-grid coarse solver (``physics.subgrid_kernels._film``): a
#: sub-face at depth h uses Manning n times 1 + (K - 1) max(0, 1 - h / H), K at h -> 0 and
#: n itself from H on. One level per block pools a hillslope's millimetre film into a few
#: cells, so its faces carry centimetres and drain the block far faster than the fine run's
#: film (Manning flux ~ h^(5/3)); a depth-varying n is how rain-on-grid models slow sheet
#: flow. K = 3, H = 0.1 m chosen on the downscaling benchmark's validation events (x4 CSI of
#: volume fill 0.599 -> 0.635, x8 0.484 -> 0.510); held out: 0.753 -> 0.779 and 0.673 ->
#: 0.692 (docs/results/2026-12-07-downscaling-depression-storage.md).
SUBGRID_FILM_ROUGHNESS = 3.0
SUBGRID_FILM_DEPTH_M = 0.1

#: Time scale (s) of a downscaler's "rain now" input (``rain_recent``: the rain rate
#: exponentially weighted back from the map time, ``simulation.downscale_rain``). 15 min is
#: three 5-min radar frames: the frame's rate under steady rain, down to 14 % at the end of
#: the pairs' 30-min dry tail (``DOWNSCALE_DRY_TAIL_FRAMES``).
DOWNSCALE_RAIN_TAU_S = 900.0

#: The depth (m) whose validation CSI picks a downscaler's depth source (its depth head or
#: volume fill; ``training.downscale.fit_depth_source``): the deep threshold of the flood
#: nowcast and of ``downscale evaluate``. A source that never draws it scores 0 there; by
#: RMSE alone such a head won (docs/results/2026-12-03-downscaling-longer-training.md).
DOWNSCALE_DEPTH_FIT_M = 0.3

#: ``floodcast downscale train``'s budget: epochs, and wall minutes (whichever ends first).
#: 30 epochs left the models short: on the benchmark's pairs the x4 model's validation CSI
#: rose from 0.558 at 30 epochs to 0.634 at 90 (held-out DEMs 0.534 -> 0.579; x8 0.379 ->
#: 0.408), and a model of twice the width at 30 epochs got no further (0.573) at 2.4x the
#: cost per map (docs/results/2026-12-03-downscaling-longer-training.md). 90 epochs took
#: 50-51 min on a shared 2-core machine.
DOWNSCALE_TRAIN_EPOCHS = 90
DOWNSCALE_TRAIN_MINUTES = 60.0

#: Fine cells per model pass when a downscaler maps many saved times (``map_fine``): maps are
#: batched up to this many cells. On one CPU thread a pass costs ~100 ns per cell from 64k
#: to 256k cells, but a batch of eight 496 x 1000 maps cost 3.7x more per map than one at a
#: time (cache), and single 128 x 128 maps 1.5x more than eight together (2026-12-07,
#: docs/results/2026-12-07-downscaling-whole-map-speed.md).
DOWNSCALE_BATCH_CELLS = 2**17
#: The downscaling model's arithmetic: "float32", or "bfloat16" (torch CPU autocast: on a
#: CPU with AVX512-BF16 the model's time on a whole map fell ~20 %, and the held-out x8 CSI@0.1 was
#: 0.7394 against 0.7391; on a CPU without it, slower). float32 by default: the same maps on
#: every machine (2026-12-07, docs/results/2026-12-07-downscaling-one-discharge-per-face.md).
DOWNSCALE_PRECISION = "float32"
DOWNSCALE_PRECISIONS = ("float32", "bfloat16")

#: Flood nowcast (issue #22): STEPS members (0 = deterministic extrapolation), lead and its
#: cap (min), and the depth thresholds (m) of its probabilities.
NOWCAST_MEMBERS = 20
NOWCAST_LEAD_MIN = 60.0
NOWCAST_MAX_LEAD_MIN = 180.0
NOWCAST_THRESHOLDS_M = (WET_THRESHOLD_M, 0.3)

#: Radar margin (km) kept around the DEM (``nowcast``) or the verification window
#: (``nowcast verify --flood``) for the rain nowcast. Two reasons it is 100 km, not 40-60:
#: rain reaching the DEM within the lead must be on the grid at the start (FMI 2016-09-28
#: moves at ~58 km/h: a 40 km margin ran empty after ~40 min), and STEPS fits its AR(2)
#: cascade from the whole grid: on a 91-cell grid the inflow strips and FFT edges drove the
#: lag-1 correlation of ~25 km structures to 0.60 (~20 km: 0.79 on 211 cells), so members dropped
#: the rain cores within 15 min (benchmarks/diagnose_steps_intensity.py).
NOWCAST_MARGIN_KM = 100.0

#: STEPS settings (pysteps.nowcasts.steps.forecast), as in pysteps' STEPS example and its
#: defaults: nonparametric noise (Seed et al. 2013), BPS velocity perturbations (Bowler et al.
#: 2006), incremental rain mask, each member's distribution matched to the last observed
#: field ("cdf"), unconditional statistics. Rain < STEPS_THRESHOLD_MMH is zero in the dB
#: transform and takes STEPS_ZERO_DB (pysteps' usual 0.1 mm/h and -15 dB).
STEPS_OPTIONS = {
    "noise_method": "nonparametric",
    "vel_pert_method": "bps",
    "mask_method": "incremental",
    "probmatching_method": "cdf",
    "conditional": False,
}
STEPS_THRESHOLD_MMH = 0.1
STEPS_ZERO_DB = -15.0
#: The flood nowcast's ensemble rain method (``nowcast``, ``serve --watch``, ``nowcast verify
#: --flood``): "sseps" since 2026-12-02. On the four verification sequences (FMI, MeteoSwiss,
#: BoM and the independent OPERA one; 10 members with two seeds, then 20) it lifted FMI's
#: median CSI at 60 min from 0.80 to 0.90 (above extrapolation's 0.89), and at 20 members
#: beat STEPS and extrapolation on all four (docs/results/2026-12-02-flood-nowcast-sseps.md); it costs 1.7-2x
#: the rain nowcast. Where SSEPS cannot fit a field, the members fall back to STEPS.
ENSEMBLE_METHOD = "sseps"
#: SSEPS (pysteps.nowcasts.sseps): STEPS with the AR(2) parameters, cascade statistics and
#: noise estimated per local window (docs/results/2026-12-02-flood-nowcast-sseps.md). Noise "ssft"
#: (short-space FFT, Nerini et al. 2017: the localized noise the method is built on); BPS
#: velocity perturbations, incremental mask and CDF matching as STEPS_OPTIONS, so the two
#: differ only in the localization. The window is 64 km: the verification's radar crop is
#: the DEM window plus 100 km on each side (~209 km), so 64 km gives 4 x 4 windows (each
#: 1.1 x 64 km with the 0.1 overlap, ~5000 cells at 1 km: enough for a lag-2 correlation per
#: level), the window around the DEM is local to the storm there, and it still holds the
#: 2-20 km cores whose persistence STEPS underestimates. war_thr: pysteps' 0.1 would also
#: make SSEPS return a dry forecast whenever <= 10 % of the whole grid rains
#: (pysteps.utils.check_norain on the whole field): the verification's MeteoSwiss and BoM
#: starts come down to 13-15 % of the crop raining, an isolated storm would go below; 0.02
#: keeps those and still needs ~100 rainy cells (1 km) for a window's own fit.
SSEPS_WIN_KM = 64.0
SSEPS_MIN_WIN_CELLS = 16
SSEPS_OPTIONS = {
    "overlap": 0.1,
    "war_thr": 0.02,
    "noise_method": "ssft",
    "vel_pert_method": "bps",
    "mask_method": "incremental",
    "probmatching_method": "cdf",
}
#: Cascade levels: log2(grid cells) - 2, at most 6 (pysteps' default, for ~500-cell grids),
#: so the coarsest level still spans the grid and the finest is ~2 cells.
STEPS_MAX_CASCADE_LEVELS = 6

#: The most one native radar frame may declare in its header (``serve --watch``, issue #21):
#: checked before a pysteps importer decodes the file (floodcast.io.radar_headers). 40 M
#: pixels and 16384 per side admit every product pysteps reads (rows x columns): FMI GeoTIFF
#: 7316 x 4963 = 36.3 M (the largest), MRMS 3500 x 7000 = 24.5 M, OPERA 2200 x 1900, FMI PGM
#: 1226 x 760, DWD RADOLAN 900 x 900 (1100 x 900 extended), KNMI 765 x 700, MeteoSwiss
#: 640 x 710, BoM 512 x 512; 4096 x 4096 would refuse MRMS and FMI GeoTIFF. All the arrays
#: of one file together may declare at most one such frame stored as float64 (320 MB):
#: OPERA's two 2200 x 1900 float64 datasets declare 67 MB.
RADAR_MAX_FRAME_PIXELS = 40_000_000
RADAR_MAX_FRAME_SIDE = 16384
RADAR_MAX_DECLARED_BYTES = RADAR_MAX_FRAME_PIXELS * 8

#: Nodata of every GeoTIFF floodcast writes (floodcast.io.geotiff): walls (NaN elevation,
#: i.e. nodata or outside the domain) and unknown values. -9999 rather than NaN in float32
#: files, because NaN nodata is not matched by "value == nodata" in many GIS tools; 255 in
#: Byte masks (0 dry, 1 wet). NetCDF outputs keep NaN (the CF _FillValue).
FLOAT_NODATA = -9999.0
BYTE_NODATA = 255

#: Where the members run: "none" (the batched kernel in this process; measured faster than
#: Dask workers on one machine, docs/results/2026-12-02-ensemble-speed.md), "local[:N]" or a
#: dask.distributed scheduler address.
NOWCAST_SCHEDULER = "none"
