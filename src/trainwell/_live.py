"""Progress in a Jupyter cell: one output that rich redraws in place, as HTML and plain text.

In a terminal a live view is rich's :class:`rich.live.Live`, which moves the cursor with
control characters. In a notebook rich detects Jupyter (:attr:`rich.console.Console.is_jupyter`),
and :class:`CellLive` renders the same renderable with rich into HTML and plain text and
updates one display of the cell (an IPython display handle, which every Jupyter front end and
nbclient redraw in place; rich's own Live would need ipywidgets there). Nothing sent to the
cell holds a control character or a colour code.

>>> shown = []
>>> live = CellLive("epoch 1/2", display=shown.append)
>>> live.start(); live.update("epoch 2/2"); live.stop()
>>> [bundle["text/plain"] for bundle in shown]
['epoch 1/2\\n', 'epoch 2/2\\n']
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich.console import Console, RenderableType

__all__ = ["CellLive", "render_cell", "in_notebook", "CELL_WIDTH"]

CELL_WIDTH = 115
"""Columns a cell's text is laid out in (rich's width for Jupyter)."""

_PRE = ("<pre style=\"white-space:pre;overflow-x:auto;line-height:normal;"
        "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>")


def in_notebook(console: Console | None = None) -> bool:
    """Whether ``console`` (by default a new one on stderr) writes to a Jupyter cell."""
    return (console or Console(stderr=True)).is_jupyter


def render_cell(renderable: RenderableType, *, width: int = CELL_WIDTH) -> dict[str, str]:
    """``renderable`` drawn by rich as a Jupyter display bundle: ``text/html`` (styled, every
    character escaped) and ``text/plain`` (no styles, no control characters)."""
    recorder = Console(file=io.StringIO(), record=True, width=width, force_terminal=False,
                       force_jupyter=False, color_system="truecolor")
    recorder.print(renderable)
    return {"text/html": recorder.export_html(inline_styles=True, code_format=_PRE, clear=False),
            "text/plain": recorder.export_text()}


class CellLive:
    """A live view in a notebook cell with the start / update / stop of rich's Live; the last
    state stays in the cell.

    ``display`` receives each state's bundle instead of the cell (for tests); by default the
    first state is shown with IPython's display and a display id, and the next ones redraw it.
    """

    def __init__(self, renderable: RenderableType, *, width: int = CELL_WIDTH,
                 display: Callable[[dict[str, str]], Any] | None = None) -> None:
        self.renderable, self.width = renderable, width
        self._display = display
        self._handle: Any = None
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        bundle = render_cell(self.renderable, width=self.width)
        if self._display is not None:
            self._display(bundle)
        else:
            from IPython.display import display

            self._handle = display(bundle, raw=True, display_id=True)

    def update(self, renderable: RenderableType) -> None:
        """Show ``renderable`` in place of the last state."""
        self.renderable = renderable
        self.refresh()

    def refresh(self) -> None:
        """Draw the current state again (a progress bar's time left changes)."""
        if not self._started:
            return
        bundle = render_cell(self.renderable, width=self.width)
        if self._display is not None:
            self._display(bundle)
        elif self._handle is not None:
            self._handle.update(bundle, raw=True)

    def stop(self) -> None:
        """Stop drawing; the last state stays in the cell."""
        self._started = False
