"""Where sweep tasks run: any :class:`concurrent.futures.Executor`.

``make_executor(spec)``:

* ``None`` / ``"local"`` / ``"processes"``: a local :class:`ProcessPoolExecutor` with one worker per
  core (``spawn`` start method: no forked torch / OpenMP state), each worker limited to one BLAS /
  OpenMP / torch thread so that N workers use N cores and do not oversubscribe them;
* ``"serial"``: in the calling process, one task after the other (debugging, tests);
* ``"dask://host:port"`` (or ``tcp://host:port``): the executor of a Dask distributed ``Client``
  connected to that scheduler (optional extra ``pip install 'srcfpga[dask]'``). Workers must reach the
  data directory at the same path (a shared file system) and have srcfpga installed.

Every task also runs inside :func:`srcfpga.threads.thread_limit`, so a Dask worker's threads are limited as well.
Local workers ignore Ctrl-C (SIGINT goes to the whole terminal process group): the calling process
handles it and :func:`terminate` ends them at once instead of waiting for their running tasks.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
from typing import Callable

from ..errors import ConfigError, ToolNotFoundError

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
DASK_INSTALL = "pip install 'srcfpga[dask]'"


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _init_worker(threads: int) -> None:
    """Process-pool initializer: one thread per library for everything this worker loads or runs, and no
    stage lines (the parent's progress bar owns the terminal)."""
    from .. import progress

    progress.enable(False)
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    import torch

    torch.set_num_threads(threads)


class SerialExecutor(cf.Executor):
    """Runs each task at submission, in the calling process."""

    def submit(self, fn: Callable, /, *args, **kwargs) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future like a pool would
            future.set_exception(exc)
        return future


class LocalPool(cf.ProcessPoolExecutor):
    """A process pool whose workers ignore SIGINT from birth (start-up included): a Ctrl-C on the
    terminal, which signals the whole process group, interrupts only the calling process."""

    def submit(self, fn: Callable, /, *args, **kwargs) -> cf.Future:
        if threading.current_thread() is not threading.main_thread():
            return super().submit(fn, *args, **kwargs)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)   # inherited by the workers started here
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, previous)


def local_executor(workers: int | None = None, threads_per_worker: int = 1) -> cf.ProcessPoolExecutor:
    workers = cores() if workers is None else workers
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    return LocalPool(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_init_worker, initargs=(threads_per_worker,))


class DaskExecutor(cf.Executor):
    """The ``concurrent.futures`` executor of a Dask distributed client; closes the client on shutdown."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise ToolNotFoundError(f"--executor {address}: Dask distributed is not installed "
                                    f"({DASK_INSTALL})") from None
        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self._executor = self.client.get_executor(pure=False)

    @property
    def workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, fn: Callable, /, *args, **kwargs) -> cf.Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._executor.shutdown(wait=wait)
        finally:
            self.client.close()


def make_executor(spec: str | None = None, workers: int | None = None) -> cf.Executor:
    """An executor for ``spec`` (see the module docstring); use it as a context manager."""
    if spec is None or spec in ("local", "processes"):
        return local_executor(workers)
    if spec == "serial":
        return SerialExecutor()
    if spec.startswith("dask://"):
        return DaskExecutor("tcp://" + spec[len("dask://"):])
    if spec.startswith(("tcp://", "tls://")):
        return DaskExecutor(spec)
    raise ConfigError(f"unknown executor {spec!r}; use local, serial or dask://host:port")


def executor_workers(executor: cf.Executor) -> int:
    """How many tasks ``executor`` runs at once (1 when it cannot tell)."""
    if isinstance(executor, cf.ProcessPoolExecutor):
        return executor._max_workers  # noqa: SLF001 - no public accessor
    if isinstance(executor, DaskExecutor):
        return executor.workers
    return getattr(executor, "_max_workers", 1)


def terminate(executor: cf.Executor) -> None:
    """Stop ``executor`` now: kill local worker processes mid-task (their results are lost) and cancel the
    queued tasks; other executors are shut down without waiting for their tasks. Call it before
    cancelling any future yourself (Python 3.11's pool fails on a cancelled task when a worker dies)."""
    if isinstance(executor, cf.ProcessPoolExecutor):
        for process in list((executor._processes or {}).values()):  # noqa: SLF001 - no public accessor
            process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)       # the pool notices at once: nothing to wait for
    else:
        executor.shutdown(wait=False, cancel_futures=True)
