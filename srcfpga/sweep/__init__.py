"""Bit-width x step-count sweeps: accuracy (golden), cycles, board estimates, RTL agreement, plots; and the
least-energy configuration above an accuracy floor (:func:`search_sweep`).

    from srcfpga.sweep import SweepConfig, run_sweep, ULG_SRC_MNIST
    result = run_sweep("ref.pt", SweepConfig(weight_bits=(4, 5, 6, 7, 8), steps=(40, 50, 200),
                                             dataset="mnist", data_dir="../shared/data/mnist-test-b"),
                       "sweep-out", anchors=ULG_SRC_MNIST)
    print(result.table())
"""

from ..threads import thread_limit
from .anchors import ULG_SRC_MNIST, Anchor, parse_anchors
from .config import SweepConfig, SweepPoint, default_blank, parse_int_list
from .executor import SerialExecutor, make_executor
from .pareto import pareto_front
from .plots import plot_sweep
from .rows import FloatReference, SweepRow, format_table
from .runner import SweepResult, run_sweep
from .search import Candidate, DesignAxes, SearchConfig, SearchResult, search_sweep

__all__ = ["Anchor", "Candidate", "DesignAxes", "FloatReference", "SearchConfig", "SearchResult", "SerialExecutor", "SweepConfig", "SweepPoint", "SweepResult", "SweepRow",
           "ULG_SRC_MNIST", "default_blank", "format_table", "make_executor", "pareto_front", "parse_anchors",
           "parse_int_list", "plot_sweep", "run_sweep", "search_sweep", "thread_limit"]
