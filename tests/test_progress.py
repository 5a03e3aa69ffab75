"""Stage lines: on a terminal only, never with progress disabled (--json), silent when nested."""

from __future__ import annotations

import io
import time

import pytest

from srcfpga import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def enabled():
    progress.enable(True)
    yield
    progress.enable(True)


def test_stage_line_on_a_terminal():
    out = Terminal()
    with progress.stage("Yosys synth_xilinx", out):
        with progress.stage("inner", out):
            time.sleep(0.3)
    text = out.getvalue()
    assert "| Yosys synth_xilinx (0 s)" in text and text.endswith("Yosys synth_xilinx: done in 0 s\n")
    assert "inner" not in text


def test_no_stage_line_on_a_pipe_or_when_disabled():
    pipe = io.StringIO()
    with progress.stage("work", pipe):
        pass
    assert pipe.getvalue() == ""
    progress.enable(False)
    out = Terminal()
    with progress.stage("work", out):
        pass
    assert out.getvalue() == ""


def test_an_error_clears_the_line():
    out = Terminal()
    with pytest.raises(KeyboardInterrupt), progress.stage("work", out):
        raise KeyboardInterrupt
    assert out.getvalue().endswith("\r\x1b[K") and "done" not in out.getvalue()


def test_json_commands_disable_stage_lines(capsys):
    from srcfpga.cli import main

    assert main(["boards", "--json"]) == 0
    assert not progress.active(Terminal())
    assert main(["boards"]) == 0
    assert progress.active(Terminal())
