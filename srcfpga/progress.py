"""Stage lines for long silent steps (Yosys synthesis, a Verilator build, the demo's stages).

``with stage("Yosys synth_xilinx"):`` shows a spinner with the elapsed seconds on stderr while the block
runs and leaves one line ``Yosys synth_xilinx: done in 83 s`` behind (nothing after an error). Nothing is written unless stderr
is a terminal and progress is enabled: the CLI disables it for ``--json`` (:func:`enable`), so pipes,
logs and machine-readable runs see no extra output. A stage inside another one is silent (the outer
line keeps spinning).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import time
from typing import Iterator, TextIO

_enabled = True
_depth = 0           # stages running now (only the outermost one draws)
SPINNER = "|/-\\"
INTERVAL = 0.25      # seconds between spinner frames


def enable(flag: bool) -> None:
    """Switch stage lines on or off for this process."""
    global _enabled
    _enabled = bool(flag)


def active(stream: TextIO | None = None) -> bool:
    """Whether stage lines go to ``stream`` (default stderr): progress enabled and a terminal."""
    stream = sys.stderr if stream is None else stream
    return _enabled and stream.isatty()


@contextlib.contextmanager
def stage(message: str, stream: TextIO | None = None) -> Iterator[None]:
    """Spinner and elapsed time for ``message`` while the block runs (see the module docstring)."""
    global _depth
    stream = sys.stderr if stream is None else stream
    if not active(stream) or _depth:
        yield
        return
    _depth += 1
    start = time.monotonic()
    stop = threading.Event()

    def spin() -> None:
        for frame in itertools.cycle(SPINNER):
            stream.write(f"\r{frame} {message} ({time.monotonic() - start:.0f} s)")
            stream.flush()
            if stop.wait(INTERVAL):
                return

    thread = threading.Thread(target=spin, name="srcfpga-stage", daemon=True)
    thread.start()
    done = False
    try:
        yield
        done = True
    finally:
        stop.set()
        thread.join()
        _depth -= 1
        # on an error or Ctrl-C the line is cleared: the error message comes next
        stream.write(f"\r\x1b[K{message}: done in {time.monotonic() - start:.0f} s\n" if done else "\r\x1b[K")
        stream.flush()
