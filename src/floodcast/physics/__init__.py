"""Local-inertial 2-D flood solver (LISFLOOD-FP ``acceleration`` scheme), numba-compiled.

Public API::

    from floodcast.physics import Simulation, SolverConfig, Boundaries, Edge, PointInflow, run
"""

from .boundaries import Boundaries, Edge, PointInflow
from .mass import MassBalance
from .solver import (
    Simulation,
    SimulationError,
    SimulationResult,
    SolverConfig,
    run,
    set_threads,
)

__all__ = [
    "Boundaries",
    "Edge",
    "MassBalance",
    "PointInflow",
    "Simulation",
    "SimulationError",
    "SimulationResult",
    "SolverConfig",
    "run",
    "set_threads",
]
