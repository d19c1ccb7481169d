"""The comparison report's ensemble figure: test accuracy of each grid point's ensembles against
their number of members.

Two kinds of ensemble share the chart: the first ``k`` seeds of a grid point (independent
runs; solid lines, round markers) and the last ``m`` snapshots of one run (mean over seeds;
dashed lines, square markers). One member is the single model, so each line starts at its
own accuracy and shows what each added member buys.

>>> png = ensemble_figure({"a": [0.90, 0.92, 0.93]}, {"a": [0.90, 0.91]}, colors={"a": "#1f77b4"})
>>> png[:4] == b"\\x89PNG"
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trainwell.report.charts import finished_png, literal_label, new_chart, whole_numbers_on_x

__all__ = ["ensemble_figure"]


def ensemble_figure(seeds: Mapping[str, Sequence[float]], snapshots: Mapping[str, Sequence[float]],
                    *, colors: Mapping[str, str]) -> bytes | None:
    """Test accuracy (%) of an ensemble against its number of members: solid lines for
    ensembles of the first ``k`` seeds of a grid point (``seeds``), dashed ones for a snapshot
    ensemble of its last ``m`` snapshots (``snapshots``, mean over seeds); ``None`` without
    any. One member is the single model, so each line starts at its own accuracy."""
    if not seeds and not snapshots:
        return None
    fig, ax = new_chart()
    fig.set_size_inches(10, 3.8)
    for label, ys in seeds.items():
        ax.plot(range(1, len(ys) + 1), [100 * y for y in ys], color=colors[label],
                linewidth=1.6, marker="o", markersize=4, label=literal_label(f"{label}: seeds"))
    for label, ys in snapshots.items():
        ax.plot(range(1, len(ys) + 1), [100 * y for y in ys], color=colors[label],
                linewidth=1.6, linestyle="--", marker="s", markersize=4,
                label=literal_label(f"{label}: last snapshots"))
    ax.set_xlabel("members in the ensemble (independent runs, or the last snapshots of one run)")
    ax.set_ylabel("test accuracy (%)")
    whole_numbers_on_x(ax)
    return finished_png(fig, ax, [])
