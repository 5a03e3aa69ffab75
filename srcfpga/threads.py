"""Thread limits for torch and the BLAS / OpenMP pools (sweep workers, training)."""

from __future__ import annotations

import contextlib
from typing import Iterator

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def thread_limit(threads: int | None = 1) -> Iterator[None]:
    """Limit BLAS / OpenMP (threadpoolctl) and torch intra-op threads inside the block; ``None``: no limit."""
    if threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)
