"""The self-contained HTML player of :mod:`batchbald.animation`.

The frames are embedded as PNG data URIs, the controls are buttons with text
labels (and Unicode arrows), and the player is a few lines of inline
JavaScript: nothing is loaded from the network, so the page works offline.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import string
from collections.abc import Sequence

# --------------------------------------------------------------------------
_PAGE = string.Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>$title</title>
<style>
  body { font-family: sans-serif; margin: 1em; }
  .bb-player img { display: block; max-width: 100%; height: auto; }
  .bb-controls { margin-top: 0.5em; display: flex; flex-wrap: wrap;
                 gap: 0.3em; align-items: center; }
  .bb-controls button { font-size: 1em; padding: 0.2em 0.6em; }
  .bb-controls input[type=range] { flex: 1 1 12em; }
</style>
</head>
<body>
<div class="bb-player" id="bb-player">
$images
<div class="bb-controls">
<button type="button" data-action="first" title="First frame">|&#9664; First</button>
<button type="button" data-action="prev" title="Previous">&#9664; Previous</button>
<button type="button" data-action="play" title="Play or pause">&#9654; Play</button>
<button type="button" data-action="next" title="Next frame">Next &#9654;</button>
<button type="button" data-action="last" title="Last frame">Last &#9654;|</button>
<input type="range" min="0" max="$last" value="0" step="1" aria-label="Frame">
<span class="bb-counter" aria-live="polite">frame 1 of $n</span>
<label><input type="checkbox" class="bb-loop"> Loop</label>
</div>
</div>
<script>
(function () {
  var root = document.getElementById("bb-player");
  var frames = root.querySelectorAll("img");
  var slider = root.querySelector("input[type=range]");
  var counter = root.querySelector(".bb-counter");
  var loop = root.querySelector(".bb-loop");
  var play = root.querySelector("[data-action=play]");
  var n = frames.length, current = 0, timer = null, interval = $interval;
  function show(i) {
    current = Math.max(0, Math.min(n - 1, i));
    for (var j = 0; j < n; j++) { frames[j].hidden = j !== current; }
    slider.value = current;
    counter.textContent = "frame " + (current + 1) + " of " + n;
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.innerHTML = "&#9654; Play";
  }
  function step() {
    if (current < n - 1) { show(current + 1); }
    else if (loop.checked) { show(0); }
    else { stop(); }
  }
  function start() {
    if (current === n - 1) { show(0); }
    timer = setInterval(step, interval);
    play.innerHTML = "|| Pause";
  }
  var actions = {
    first: function () { stop(); show(0); },
    prev: function () { stop(); show(current - 1); },
    next: function () { stop(); show(current + 1); },
    last: function () { stop(); show(n - 1); },
    play: function () { if (timer === null) { start(); } else { stop(); } }
  };
  root.querySelectorAll("button").forEach(function (b) {
    b.addEventListener("click", actions[b.getAttribute("data-action")]);
  });
  slider.addEventListener("input", function () { stop(); show(+slider.value); });
  show(0);
})();
</script>
</body>
</html>
"""
)


def html_player(frames: Sequence[bytes], fps: float = 1.0, title: str = "") -> str:
    """A self-contained HTML page that plays PNG frames.

    Parameters
    ----------
    frames : sequence of bytes
        The frames as PNG files, at least one.
    fps : float, default=1.0
        Frames per second when playing.
    title : str, default=""
        The page title (escaped).

    Returns
    -------
    str
        The page: the frames as ``data:image/png;base64`` images, buttons with
        text labels, inline CSS and JavaScript, and no external resource.
    """
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise TypeError(f"fps must be a real number; got {type(fps).__name__} {fps!r}.")
    if not 0 < float(fps) < math.inf:
        raise ValueError(f"fps must be a finite number > 0; got {fps!r}.")
    if len(frames) == 0:
        raise ValueError("frames must contain at least one frame; got none.")
    n = len(frames)
    images = "\n".join(
        f'<img alt="frame {i + 1} of {n}"{" hidden" if i else ""} '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        for i, png in enumerate(frames)
    )
    return _PAGE.substitute(
        title=html.escape(title),
        images=images,
        n=n,
        last=n - 1,
        interval=max(1, int(round(1000 / fps))),
    )
