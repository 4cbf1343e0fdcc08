"""``batchbald label`` in a real browser (headless Chromium via Playwright).

The server runs as a subprocess, exactly as a user starts it; the tests label
by keyboard, undo, reload, kill the server with SIGKILL in the middle of a
batch, restart it and check the files byte for byte.

Screenshots go to pytest's tmp_path; to refresh the README's copies run::

    BATCHBALD_SCREENSHOTS=docs python -m pytest -m slow tests/test_app_browser.py
"""

from __future__ import annotations

import csv
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # real Chromium: run once by CI (pytest -m slow)
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium"),
]
SRC = Path(__file__).resolve().parents[1] / "src"
FAST = ["--model", "logreg-bagging", "--members", "3", "--batch-size", "4"]


class Server:
    """``batchbald label ...`` in a subprocess; ``url`` is the printed URL."""

    def __init__(self, args, cwd):
        env = dict(os.environ)
        env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "batchbald.cli", "label", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(
            target=lambda: lines.put(self.proc.stdout.readline()), daemon=True
        ).start()
        try:
            self.url = lines.get(timeout=60).strip()
        except queue.Empty:
            self.kill()
            raise AssertionError("the server printed no URL") from None
        if not self.url.startswith("http://127.0.0.1:"):
            self.kill()
            raise AssertionError(f"no URL: {self.url!r}; {self.proc.stderr.read()}")

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], errors


def _screenshot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    out = os.environ.get("BATCHBALD_SCREENSHOTS")
    if out:
        shutil.copyfile(path, Path(out) / name)
    return path


def _wait_ready(page):
    """Wait until the batch is shown and no answer is on its way."""
    page.wait_for_selector(".item[data-status='open']", timeout=30_000)
    _wait_saved(page)


def _wait_saved(page):
    page.wait_for_function(
        "() => !document.querySelector('.badge.pending') && "
        "document.getElementById('save-status').dataset.state !== 'saving'",
        timeout=15_000,
    )


def _focused_row(page) -> int:
    """0-based row of the highlighted item."""
    return int(page.get_attribute(".item.focused", "data-index"))


def _press(page, key):
    page.keyboard.press(key)
    _wait_saved(page)
    assert page.get_attribute("#save-status", "data-state") == "saved"


def _labels(path, column):
    with open(path, newline="", encoding="utf-8") as fh:
        return [r[column] for r in csv.DictReader(fh)]


def _make_table(path, n=30, seed=0):
    rng = np.random.RandomState(seed)
    lines = ["x1,x2,note,label"]
    for i in range(n):
        c = i % 3
        note = "=HYPERLINK(1)" if i % 7 == 0 else f"item {i}"
        lines.append(f"{rng.randn() + 3 * c:.3f},{rng.randn() - c:.3f},{note},")
    data = ("\r\n".join(lines) + "\r\n").encode()
    path.write_bytes(data)
    return data


def _give(page, label, typing=False):
    """Answer ``label`` for the highlighted item by keyboard: its number key
    when the class is listed (unless ``typing``), else by type-ahead."""
    shown = page.locator("#classbar .class-button span").all_text_contents()
    if label in shown[:9] and not typing:
        _press(page, str(shown.index(label) + 1))
        return
    page.keyboard.press(label[0])
    if label in shown:  # a known class: its first letters are enough
        page.keyboard.type(label[1:2])
        assert page.text_content("#typeahead-list li.active") == label
    else:
        page.keyboard.type(label[1:])
        assert "new class" in page.text_content("#typeahead-list")
    _press(page, "Enter")


COLORS = ["red", "green", "blue"]


def test_label_undo_reload_kill_restart(page, tmp_path):
    data = tmp_path / "data.csv"
    original = _make_table(data)
    args = ["data.csv", "-y", "label", "--features", "x1,x2", "--classes", "red,green"]
    server = Server(args + FAST, tmp_path)
    expected = {}
    try:
        page.goto(server.url)
        _wait_ready(page)
        assert "cold start" in page.text_content("#batch-note")
        assert page.locator(".item").count() == 4
        # Cells are text: a formula or markup in the data makes no element.
        assert page.locator(".items a, .items script, .items b").count() == 0
        for _ in range(2):
            row = _focused_row(page)
            _give(page, COLORS[row % 3])
            expected[row] = COLORS[row % 3]
        c = _focused_row(page)
        _give(page, "purple")  # a new class by type-ahead ...
        assert _labels(data, "label")[c] == "purple"
        _press(page, "Backspace")  # ... taken back
        assert _labels(data, "label")[c] == ""
        page.reload()
        _wait_ready(page)
        assert _focused_row(page) == c
        assert page.locator(".item[data-status='saved']").count() == 2
        _give(page, COLORS[c % 3])
        expected[c] = COLORS[c % 3]
    finally:
        server.kill()  # SIGKILL in the middle of the batch: one item is open
    labels = _labels(data, "label")
    assert {i: v for i, v in enumerate(labels) if v} == expected
    assert (tmp_path / "data.csv.bak").read_bytes() == original

    server = Server(args + FAST, tmp_path)
    try:
        page.goto(server.url)
        _wait_ready(page)
        assert len(set(expected.values())) >= 2 or "cold" in page.text_content(
            "#batch-note"
        )
        for batch in (1, 2):
            page.wait_for_function(
                f"() => document.getElementById('batch-title').textContent"
                f".startsWith('Batch {batch} ')",
                timeout=30_000,
            )
            if len(set(expected.values())) >= 2:  # else still a cold start
                first = page.locator(".item").first.text_content()
                assert "predicted" in first and "nats" in first
            for _ in range(4 if batch == 1 else 2):
                row = _focused_row(page)
                assert row not in expected
                _give(page, COLORS[row % 3])
                expected[row] = COLORS[row % 3]
        page.wait_for_selector(".chart-svg circle", timeout=30_000)
        _screenshot(page, tmp_path, "label_app_table.png")
    finally:
        server.kill()
    labels = _labels(data, "label")
    assert {i: v for i, v in enumerate(labels) if v} == expected
    # Only the label cells changed: the rest of every line is as it was.
    new_lines = data.read_bytes().split(b"\r\n")
    old_lines = original.split(b"\r\n")
    assert len(new_lines) == len(old_lines)
    for k, (new, old) in enumerate(zip(new_lines, old_lines, strict=True)):
        if k - 1 in expected:
            assert new == old + expected[k - 1].encode()
        else:
            assert new == old


DIGITS = ["zero", "one", "two"]


def _make_images(folder, n=16):
    """PNGs of scikit-learn's digits 0, 1 and 2; returns file -> class."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder.mkdir()
    truth = {}
    keep = np.flatnonzero(digits.target < 3)[:n]
    for k, i in enumerate(keep):
        img = (digits.images[i] * (255 / 16)).astype(np.uint8)
        name = f"digit_{k:02d}.png"
        Image.fromarray(img).resize((64, 64), Image.NEAREST).save(folder / name)
        truth[name] = DIGITS[digits.target[i]]
    return truth


def test_image_folder(page, tmp_path):
    truth = _make_images(tmp_path / "imgs")
    args = ["imgs", "--labels", "labels.csv", "--classes", ",".join(DIGITS)]
    server = Server(args + FAST, tmp_path)
    expected = {}
    try:
        page.goto(server.url)
        _wait_ready(page)
        files = page.locator(".item .item-title").all_text_contents()
        assert len(files) == 4 and all(f in truth for f in files)
        page.wait_for_function(
            "() => [...document.querySelectorAll('img.thumb')]"
            ".every(i => i.complete && i.naturalWidth === 64)"
        )
        for n_answers in (4, 2):  # the cold-start batch, then a model's
            page.wait_for_selector(".item.focused", timeout=30_000)
            for k in range(n_answers):
                name = page.text_content(".item.focused .item-title")
                _give(page, truth[name], typing=k == 1)
                expected[name] = truth[name]
        page.wait_for_function(
            "() => [...document.querySelectorAll('img.thumb')]"
            ".every(i => i.complete && i.naturalWidth === 64)"
        )
        _screenshot(page, tmp_path, "label_app_images.png")
    finally:
        server.kill()
    with open(tmp_path / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["file", "label"]
    assert dict(rows[1:]) == expected
    assert not (tmp_path / "labels.csv.bak").exists()  # we created it
