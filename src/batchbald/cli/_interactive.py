"""The interactive labeling session of ``batchbald query --interactive``.

Each chosen row is shown with its score (the step's gain for BatchBALD) and
the model's predicted class with its probability; the answer is saved into
the data file at once through :class:`batchbald.tables.LabelFile` (with its
guarantees: lock, change detection, backup, atomic replacement). ``u`` undoes
the last answer (saved the same way) and asks for that row again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..tables import LabelFile

ANSWERS_HELP = (
    "a number picks a listed class (when no class is itself an integer), any "
    'other text is a label (new labels are confirmed), "=TEXT" enters TEXT '
    'literally (e.g. "=q" or "=u"), Enter skips the row, u undoes the last '
    "answer, q quits. Labels that a spreadsheet would run as a formula "
    "(=, +, -, @ first, and not a number) are saved with a leading '."
)


class _Quit(Exception):
    """The user quit (q, or end of input)."""


class _Undo(Exception):
    """The user asked to undo the last answer."""


@dataclass
class Shown:
    """What is shown about one chosen row besides its cells."""

    row: int
    score: float | None = None
    predicted: str | None = None
    probability: float | None = None
    drawn_bald: float | None = None


def shown_rows(
    rows, scores, mean_probs, classes: Sequence[str], drawn_bald=None
) -> list[Shown]:
    """One :class:`Shown` per chosen row: its score (None for NaN); when
    ``mean_probs`` (the members' mean prediction, one row per chosen row) is
    given, the most probable class with its probability; and when
    ``drawn_bald`` is given (:attr:`batchbald.labeling.BatchChoice.drawn_bald`),
    the BALD score of each row drawn after the batch saturated."""
    items = []
    for k, (r, s) in enumerate(zip(rows, scores, strict=True)):
        item = Shown(int(r), None if math.isnan(s) else float(s))
        if mean_probs is not None:
            c = int(mean_probs[k].argmax())
            item.predicted, item.probability = classes[c], float(mean_probs[k, c])
        if drawn_bald is not None and not math.isnan(drawn_bald[k]):
            item.drawn_bald = float(drawn_bald[k])
        items.append(item)
    return items


def _is_integer(text: str) -> bool:
    try:
        return float(text).is_integer()
    except ValueError:
        return False


class Session:
    """Ask for the labels of chosen rows and save each answer at once.

    Parameters
    ----------
    labels : LabelFile
        The file answers are saved into.
    classes : list of str
        The known classes (offered as numbered shortcuts).
    stdin, stdout : text streams
        Where answers come from and questions go.
    """

    def __init__(
        self, labels: LabelFile, classes: Sequence[str], stdin: TextIO, stdout: TextIO
    ):
        self.labels = labels
        self.classes = list(classes)
        self.stdin, self.stdout = stdin, stdout
        self._told = False

    @property
    def n_saved(self) -> int:
        """Answers saved and not undone."""
        return len(self.labels.history)

    def say(self, text: str = "", end: str = "\n") -> None:
        self.stdout.write(text + end)
        self.stdout.flush()

    def ask(self, prompt: str) -> str:
        self.say(prompt, end="")
        line = self.stdin.readline()
        if line == "":
            self.say()
            self.say("end of input: stopping.")
            raise _Quit
        return line.rstrip("\r\n")

    def shortcuts(self) -> bool:
        return not any(_is_integer(c) for c in self.classes)

    def menu(self) -> str:
        if not self.classes:
            return "  (no classes yet: type a label)"
        if self.shortcuts():
            return "  " + "   ".join(f"{k}) {c}" for k, c in enumerate(self.classes, 1))
        return "  classes: " + ", ".join(self.classes)

    def answer(self, text: str) -> str | None:
        """The label meant by ``text``; None to ask again. Raises ``_Quit``
        or ``_Undo`` for the commands."""
        text = text.strip()
        if text.lower() in ("q", "quit"):
            raise _Quit
        if text.lower() in ("u", "undo"):
            raise _Undo
        if text.startswith("="):
            text = text[1:].strip()
            if not text:
                self.say("  '=' needs a label after it, e.g. =q")
                return None
        elif self.shortcuts() and text.isdigit():
            k = int(text)
            if 1 <= k <= len(self.classes):
                return self.classes[k - 1]
            self.say(
                f"  no class number {k}; choose 1..{len(self.classes)}, or "
                f"type ={text} to use the label {text!r}"
            )
            return None
        if text in self.classes:
            return text
        known = ", ".join(self.classes) or "none yet"
        confirm = self.ask(
            f"  {text!r} is a new class (known: {known}). Add it? [y/N] "
        )
        return text if confirm.strip().lower() in ("y", "yes") else None

    def show(self, k: int, n: int, item: Shown, score_column: str) -> None:
        table = self.labels.table
        r = item.row
        parts = [f"[{k}/{n}] row {r + 1} (line {table.row_lines[r]})"]
        if item.score is not None and not math.isnan(item.score):
            parts.append(f"{score_column} {item.score:.4f}")
        if item.drawn_bald is not None:
            parts.append(
                "drawn PowerBALD-style after the batch saturated "
                f"(its BALD score {item.drawn_bald:.4f} nats)"
            )
        if item.predicted is not None:
            p = "" if item.probability is None else f" (p = {item.probability:.2f})"
            parts.append(f"model predicts {item.predicted}{p}")
        self.say()
        self.say(", ".join(parts))
        width = max(len(c) for c in table.header)
        for col, value in zip(table.header, table.rows[r], strict=True):
            if col != self.labels.label_column:
                self.say(f"  {col.rjust(width)}: {value}")

    def save(self, row: int, label: str) -> None:
        stored = self.labels.save_label(row, label)
        if self.labels.backup is not None and not self._told:
            self.say(f"  (the file as it was is kept in {self.labels.backup})")
            self._told = True
        if stored != label:
            self.say(
                f"  (stored as {stored}, with a leading ', so that spreadsheets "
                "show it as text)"
            )
        if stored not in self.classes:
            self.classes.append(stored)
        self.say(f"saved: row {row + 1} = {stored}")

    def undo(self) -> int | None:
        """Undo the last answer; returns its row, or None."""
        done = self.labels.undo()
        if done is None:
            self.say("  nothing to undo in this session")
            return None
        row, restored = done
        if restored == "":
            self.say(f"undone: row {row + 1} is unlabeled again")
        else:
            self.say(f"undone: row {row + 1} = {restored} again")
        present = set(self.labels.labels())
        self.classes = [c for c in self.classes if c in present]
        return row

    def ask_row(self, r: int) -> bool:
        """Ask for row ``r``'s label until answered or skipped; True when an
        answer was saved. Raises ``_Quit`` or ``_Undo``."""
        while True:
            self.say(self.menu())
            text = self.ask(
                f"label for row {r + 1} (Enter = skip, u = undo, q = quit)> "
            )
            if text.strip() == "":
                self.say(f"skipped row {r + 1}")
                return False
            label = self.answer(text)
            if label is not None:
                self.save(r, label)
                return True

    def run(self, items: Sequence[Shown], score_column: str) -> None:
        """Go through ``items`` in order; returns on q, end of input or the
        end of the batch."""
        position = {item.row: k for k, item in enumerate(items)}
        k = 0
        while k < len(items):
            self.show(k + 1, len(items), items[k], score_column)
            try:
                self.ask_row(items[k].row)
            except _Quit:
                return
            except _Undo:
                row = self.undo()
                if row is not None and row in position:
                    k = position[row]
                continue
            k += 1
