"""Metric curves against training steps (textual-plotext), for one run or several compared.

The chart is told its series (`set_series`) and redraws; long series are thinned to about one point
per column by the caller (`RunStore.metrics(max_points=...)`), since a terminal cannot show more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual_plotext import PlotextPlot

Series = Mapping[str, Sequence[tuple[int, float]]]

# One marker per series, so curves stay apart without colour (and in snapshots).
MARKERS = ("braille", "dot", "sd", "hd", "fhd")


class LossChart(PlotextPlot):
    DEFAULT_CSS = """
    LossChart {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(
        self,
        title: str = "loss",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.series: dict[str, list[tuple[int, float]]] = {}
        self._draw()

    def set_series(self, series: Series, *, title: str | None = None) -> None:
        self.series = {name: list(points) for name, points in series.items() if points}
        if title is not None:
            self.title = title
        self._draw()

    def extend(self, name: str, points: Sequence[tuple[int, float]]) -> None:
        """Add points to one series (a live run); the caller decides how often to redraw."""
        self.series.setdefault(name, []).extend(points)

    def redraw(self) -> None:
        self._draw()

    @property
    def point_count(self) -> int:
        return sum(len(points) for points in self.series.values())

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("step")
        if not self.series:
            plt.text("no metrics yet", x=0.5, y=0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            plt.xticks([])
            plt.yticks([])
        for n, (name, points) in enumerate(self.series.items()):
            steps = [step for step, _ in points]
            values = [value for _, value in points]
            plt.plot(steps, values, label=name, marker=MARKERS[n % len(MARKERS)])
        self.refresh()
