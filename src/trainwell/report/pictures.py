"""A report's figure as a picture: PNG bytes at the report's resolution, a ``data:`` URI for a
page, and a Figure that Jupyter shows as PNG.

Figures are drawn on :class:`matplotlib.figure.Figure` with the Agg renderer (no pyplot, no
global state), so drawing one changes nothing for the next.

>>> from matplotlib.backends.backend_agg import FigureCanvasAgg
>>> fig = ShownFigure(figsize=(2, 1), dpi=DPI)
>>> _ = FigureCanvasAgg(fig)
>>> data_uri(png_bytes(fig))[:30]
'data:image/png;base64,iVBORw0K'
"""

from __future__ import annotations

import base64
import io

from matplotlib.figure import Figure

__all__ = ["ShownFigure", "png_bytes", "data_uri", "DPI"]

DPI = 110


class ShownFigure(Figure):
    """A matplotlib Figure that Jupyter shows as a picture, with no ``%matplotlib`` magic:
    IPython draws an object by its ``_repr_png_``, and a bare Figure has a picture formatter
    only once pyplot's inline backend is active."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def png_bytes(fig: Figure, *, dpi: int = DPI) -> bytes:
    """``fig`` as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI for an ``<img src>``, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
