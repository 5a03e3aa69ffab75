"""Executors: serial, local processes, any concurrent.futures executor, Dask (optional extra)."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import sys

import pytest

from srcfpga.errors import ConfigError, ToolNotFoundError
from srcfpga.sweep import (
    SerialExecutor,
    SweepConfig,
    make_executor,
    run_sweep,
    thread_limit,
)
from srcfpga.sweep.executor import _init_worker, executor_workers
from srcfpga.testing import random_net


def small_config(**changes) -> SweepConfig:
    options = dict(weight_bits=(4, 8), steps=(8,), dataset="digits", limit=12, latency_samples=4)
    options.update(changes)
    return SweepConfig(**options)


def test_make_executor_kinds():
    assert isinstance(make_executor("serial"), SerialExecutor)
    with make_executor(None, workers=2) as pool:
        assert isinstance(pool, cf.ProcessPoolExecutor) and executor_workers(pool) == 2
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("cluster://x")
    with pytest.raises(ConfigError, match="workers"):
        make_executor("local", workers=0)


def test_serial_executor_hands_exceptions_to_the_future():
    future = SerialExecutor().submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result()
    assert SerialExecutor().submit(pow, 2, 5).result() == 32


def test_dask_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import fails as if not installed
    with pytest.raises(ToolNotFoundError, match=r"pip install 'srcfpga\[dask\]'"):
        make_executor("dask://127.0.0.1:8786")


def test_thread_limit_is_scoped():
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with thread_limit(1):
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert torch.get_num_threads() == before
    with thread_limit(None):
        assert torch.get_num_threads() == before


def test_worker_initializer_limits_threads(monkeypatch):
    import io

    import torch

    from srcfpga import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    before = torch.get_num_threads()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    try:
        _init_worker(1)
        import os

        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
        assert not progress.active(Terminal())              # no stage lines across the parent's bar
    finally:
        progress.enable(True)
        torch.set_num_threads(before)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=None)


def test_process_pool_and_thread_pool_match_serial(tmp_path):
    net = random_net(0, (64, 12), n_classes=10)
    serial = run_sweep(net, small_config(), tmp_path / "serial", executor="serial", progress=False, plots=False)
    local = run_sweep(net, small_config(), tmp_path / "local", executor="local", workers=2, progress=False,
                      plots=False)
    with cf.ThreadPoolExecutor(2) as pool:
        threads = run_sweep(net, small_config(), tmp_path / "threads", executor=pool, progress=False, plots=False)
        assert pool.submit(int, "7").result() == 7                 # a caller's executor is left running
    for other in (local, threads):
        assert [(r.key, r.accuracy, r.float_accuracy, r.cycles_per_inference) for r in other.rows] == \
               [(r.key, r.accuracy, r.float_accuracy, r.cycles_per_inference) for r in serial.rows]


def test_failing_job_keeps_finished_rows(tmp_path, monkeypatch):
    """A job that raises stops the sweep with its error; rows finished before are in results.json."""
    import srcfpga.sweep.tasks as tasks

    real = tasks.evaluate_hardware
    calls = []

    def flaky(model, *args, **kwargs):
        calls.append(model.layers[0].weight_bits)
        if model.layers[0].weight_bits == 8:
            raise RuntimeError("boom")
        return real(model, *args, **kwargs)

    monkeypatch.setattr(tasks, "evaluate_hardware", flaky)
    net = random_net(0, (64, 12), n_classes=10)
    with pytest.raises(RuntimeError, match="boom"):
        run_sweep(net, small_config(weight_bits=(4, 8), steps=(8,)), tmp_path, executor="serial", progress=False)
    import json

    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["weight_bits"] for r in data["rows"]] == [4] and data["complete"] is False
    monkeypatch.setattr(tasks, "evaluate_hardware", real)
    again = run_sweep(net, small_config(weight_bits=(4, 8), steps=(8,)), tmp_path, executor="serial",
                      progress=False, plots=False)
    assert again.computed == 1 and again.reused == 1


@pytest.mark.slow
def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed",
                                      reason="Dask distributed is not installed: pip install -e '.[dask]'")
    net = random_net(0, (64, 12), n_classes=10)
    serial = run_sweep(net, small_config(), tmp_path / "serial", executor="serial", progress=False, plots=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = "dask://" + cluster.scheduler_address.split("://", 1)[1]
        dask = run_sweep(net, small_config(), tmp_path / "dask", executor=address, progress=False, plots=False)
    assert [(r.key, r.accuracy) for r in dask.rows] == [(r.key, r.accuracy) for r in serial.rows]


def test_local_workers_ignore_ctrl_c_from_start_up():
    """A Ctrl-C on the terminal reaches the whole process group: workers must leave it to the parent
    (no KeyboardInterrupt tracebacks from workers, even while they import torch)."""
    import signal

    with make_executor("local", workers=1) as pool:
        assert pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # the parent's is back


def test_terminate_stops_running_workers_at_once():
    import time

    from srcfpga.sweep.executor import terminate

    pool = make_executor("local", workers=1)
    futures = [pool.submit(time.sleep, 60) for _ in range(3)]
    while not futures[0].running():
        time.sleep(0.05)
    time.sleep(0.5)
    start = time.monotonic()
    terminate(pool)
    for future in futures:
        future.cancel()
    assert time.monotonic() - start < 5
    assert all(future.done() for future in futures)
    assert not multiprocessing.active_children()
