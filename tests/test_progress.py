"""Tests for batchbald._progress: bars only on a terminal."""

import io
import sys

import pytest

from batchbald._progress import NullBar, is_terminal, log_line, progress_bar


class _Stream(io.StringIO):
    def __init__(self, terminal):
        super().__init__()
        self._terminal = terminal

    def isatty(self):
        return self._terminal


class _Closed:
    def isatty(self):
        raise ValueError("I/O operation on closed file")


@pytest.mark.parametrize(
    "stream, expected",
    [
        (_Stream(True), True),
        (_Stream(False), False),
        (io.StringIO(), False),
        (_Closed(), False),
        (object(), False),
    ],
)
def test_is_terminal(stream, expected):
    assert is_terminal(stream) is expected


@pytest.mark.parametrize(
    "terminal, enabled, drawn",
    [(True, True, True), (True, False, False), (False, True, False)],
)
def test_bar_drawn_only_when_enabled_on_a_terminal(terminal, enabled, drawn):
    stream = _Stream(terminal)
    bar = progress_bar(4, "work", unit="point", enabled=enabled, stream=stream)
    assert isinstance(bar, NullBar) is not drawn
    with bar:
        for _ in range(4):
            bar.update()
        bar.set_description("more work")
        bar.set_postfix(x=1)
    text = stream.getvalue()
    assert ("4/4" in text) is drawn
    assert (text == "") is not drawn


def test_default_stream_is_stderr_at_call_time(monkeypatch):
    fake = _Stream(True)
    monkeypatch.setattr(sys, "stderr", fake)
    with progress_bar(2, "late") as bar:
        bar.update(2)
    assert "2/2" in fake.getvalue()


def test_null_bar_counts():
    bar = NullBar(3)
    bar.update()
    bar.update(2)
    assert (bar.total, bar.n) == (3, 3)


@pytest.mark.parametrize("terminal", [True, False])
def test_log_line_goes_to_stdout(capsys, monkeypatch, terminal):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    log_line("cycle 1/2")
    captured = capsys.readouterr()
    assert captured.out == "cycle 1/2\n"
