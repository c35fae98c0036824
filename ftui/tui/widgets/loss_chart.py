"""Metric curves against training steps (textual-plotext), for one run or several compared.

The chart is told its series (`set_series`, or `extend` for a live run, then `redraw`) and draws
each one smoothed with a debiased EMA (TensorBoard's and W&B's), its raw points faint behind, over
the whole run or its last N steps (`zoom_last`). Smoothing runs on the full series, before the
window and before thinning, so the curve at a step is what it would be on an unthinned chart; each
series is then thinned (raw points to two per column, the curve to one), keeping its last point,
since a terminal cannot show more. A series with few points in view (eval loss beside train loss)
is marked at each point. Smoothed series are cached per (name, weight, length), and a series that
only grew is smoothed on from where it stopped, so a live chart redraws in a few milliseconds.

Plotext's own work (building the figure as ANSI text, and reading that back into styled lines)
costs tens of milliseconds on a big chart: it runs in a thread worker, on a figure of its own,
and the widget paints the lines of the last one built (the Line API: `render_line`). A key that
changes the chart is answered at once; the new figure follows when it is ready, and a figure
overtaken by a newer draw is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual import events, work
from textual.color import Color, ColorParseError
from textual.strip import Strip
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from ftui.core.runs.smoothing import DebiasedEma, check_weight, last_steps

Series = Mapping[str, Sequence[tuple[int, float]]]
Points = list[tuple[int, float]]
RGB = tuple[int, int, int]

DEFAULT_SMOOTHING = 0.6
# One marker per series, so curves stay apart without colour (and in snapshots).
MARKERS = ("braille", "dot", "sd", "hd", "fhd")
RAW_MARKER = "·"  # the raw points behind a smoothed curve
# A series with few points in view (eval loss beside train loss) gets one of these at each point.
SPARSE_MARKERS = ("o", "x", "+", "*", "#")
SPARSE_FRACTION = 4  # "few": under one point per this many columns
# Thinning, in points per column: raw points at two, so their spread shows; a curve at one, since
# plotext joins every pair of points itself and that join is most of the cost of drawing a chart.
RAW_POINTS_PER_COLUMN = 2
LINE_POINTS_PER_COLUMN = 1
UNSIZED_WIDTH = 80  # columns assumed before the chart is laid out
# What `cycle_zoom` steps through: the whole run, then its last 1000, 200, 50 steps.
ZOOM_PRESETS: tuple[int | None, ...] = (None, 1000, 200, 50)

# Theme variables the series take their colours from, in order: each theme makes them readable
# on its own background, dark or light.
SERIES_COLOUR_VARIABLES = ("primary", "warning", "success", "error", "accent", "secondary")
FALLBACK_COLOURS: tuple[RGB, ...] = (
    (0, 130, 200),
    (245, 130, 48),
    (60, 180, 75),
    (230, 25, 75),
    (145, 30, 180),
    (0, 128, 128),
)
FALLBACK_FAINT: RGB = (128, 128, 128)
FAINTNESS = 0.6  # how far the raw points' colour goes from the foreground toward the background


@dataclass(frozen=True)
class ChartSeries:
    """One series as the chart draws it: the points in view, thinned, finite values only."""

    name: str
    label: str  # the legend's text: "train_loss (EMA 0.6)"
    marker: str
    line: Points  # the curve: smoothed when `smoothing` > 0, else the raw points
    raw: Points  # the raw points in view, drawn faint behind a smoothed curve
    smoothing: float  # the EMA weight of `line`; 0: not smoothed
    point_marker: str | None  # a sparse series' marker at each of its raw points, else None


@dataclass
class _Smoothed:
    weight: float
    ema: DebiasedEma
    values: list[float]  # one smoothed value per raw point


def thin_indices(start: int, stop: int, most: int) -> list[int]:
    """Indices of at most `most` points spread evenly over [start, stop), the last one kept
    (the store's `thin`, by index, so a curve and its raw points are thinned alike)."""
    count = stop - start
    if count <= most:
        return list(range(start, stop))
    stride = count / most
    return [start + int(i * stride) for i in range(most - 1)] + [stop - 1]


def _finite(points: Points) -> Points:
    return [point for point in points if math.isfinite(point[1])]


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
        smoothing: float = DEFAULT_SMOOTHING,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        weight = check_weight(smoothing)
        self.title = title
        self.series: dict[str, Points] = {}
        self.zoom_steps: int | None = None
        self._weight = weight or DEFAULT_SMOOTHING  # what toggling smoothing back on restores
        self._smoothing_on = weight > 0
        self._smoothed: dict[str, _Smoothed] = {}
        self._prepared: list[ChartSeries] = []
        self._drawn_width = 0
        self._figure: list[Strip] = []  # the lines of the last figure built
        self._painted: list[Strip] = []  # those lines cut to the width, in the widget's style
        self._blank = Strip.blank(0)
        self._painted_for: tuple[int, int] | None = None
        self._generation = 0  # draws asked for; a figure built for an older one is dropped
        self.builds = 0  # figures built (and shown)
        self._draw()

    # -- what to show ---------------------------------------------------------------------------

    def set_series(self, series: Series, *, title: str | None = None) -> None:
        new = {name: list(points) for name, points in series.items() if points}
        for name, cached in list(self._smoothed.items()):
            done = len(cached.values)
            old = self.series.get(name)
            points = new.get(name)
            # A series that only grew keeps its smoothing and goes on from where it stopped.
            if points is None or old is None or points[:done] != old[:done]:
                del self._smoothed[name]
        self.series = new
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

    # -- how to show it -------------------------------------------------------------------------

    @property
    def smoothing(self) -> float:
        """The EMA weight in use; 0 when smoothing is off."""
        return self._weight if self._smoothing_on else 0.0

    def set_smoothing(self, weight: float) -> None:
        """Smooth with `weight` in [0, 1); 0 turns smoothing off and keeps the last weight for
        `toggle_smoothing`. Raises ValueError for a weight outside that range."""
        weight = check_weight(weight)
        self._smoothing_on = weight > 0
        if weight > 0:
            self._weight = weight
        self._draw()

    def toggle_smoothing(self) -> float:
        """Smoothing off, or back on at the weight it had; returns the weight now in use."""
        self._smoothing_on = not self._smoothing_on
        self._draw()
        return self.smoothing

    def zoom_last(self, steps: int | None) -> None:
        """Show only the last `steps` steps of the chart (None: the whole run)."""
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
            raise ValueError(f"steps to show must be a whole number > 0 or None, not {steps!r}")
        if steps is not None and steps <= 0:
            raise ValueError(f"steps to show must be a whole number > 0 or None, not {steps}")
        self.zoom_steps = steps
        self._draw()

    def cycle_zoom(self) -> int | None:
        """Zoom to the next of `ZOOM_PRESETS` that shows less than the chart's whole span of
        steps, back to the whole run after the last; returns the steps now shown (None: all)."""
        steps = [step for points in self.series.values() for step in (points[0][0], points[-1][0])]
        span = max(steps) - min(steps) if steps else 0
        useful = [None, *(n for n in ZOOM_PRESETS if n is not None and n < span)]
        current = useful.index(self.zoom_steps) if self.zoom_steps in useful else 0
        self.zoom_last(useful[(current + 1) % len(useful)])
        return self.zoom_steps

    @property
    def full_title(self) -> str:
        if self.zoom_steps is None:
            return self.title
        return f"{self.title} · last {self.zoom_steps} steps"

    def prepared_series(self) -> list[ChartSeries]:
        """The series as last drawn: windowed, smoothed, thinned."""
        return list(self._prepared)

    # -- drawing --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._drawn_width:
            self._draw()  # the thinning depends on the width
        else:
            self._build_figure()

    def render_line(self, y: int) -> Strip:
        # The lines as painted, kept for the figure and width: a live page repaints the screen
        # ten times a second, and the widget's style (a walk up the DOM) is costly to ask each line.
        width = self.size.width
        if self._painted_for != (id(self._figure), width):
            style = self.rich_style
            self._painted = [line.crop_extend(0, width, style) for line in self._figure]
            self._blank = Strip.blank(width, style)
            self._painted_for = (id(self._figure), width)
        return self._painted[y] if y < len(self._painted) else self._blank

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painted_for = None  # a new theme or class: paint the lines again

    def _build_figure(self) -> None:
        """Build the figure as it now stands, off the UI thread."""
        self._generation += 1
        if not self.is_mounted or not self.size.width or not self.size.height:
            return
        theme = self._get_plotext_theme_name(self.app.theme)
        self._build(self._plot, self.size.width, self.size.height, theme, self._generation)

    @work(thread=True, group="chart-build", exit_on_error=False)
    def _build(self, plot: Plot, width: int, height: int, theme: str, generation: int) -> None:
        if generation != self._generation:
            return  # a newer draw was asked for before this one started
        plot.plotsize(width, height)
        plot._set_size(width, height)  # as PlotextPlot.render does: plotsize alone is not enough
        plot.theme(theme)
        console = Console(width=width, color_system="truecolor", legacy_windows=False)
        lines = Text.from_ansi(plot.build()).split("\n", allow_blank=True)
        # plotext styles each cell on its own: joining neighbours of one style makes a line a
        # few segments instead of one per cell, and every repaint of the screen cheaper.
        figure = [
            Strip(Segment.simplify(line.render(console)), line.cell_len) for line in lines[:height]
        ]
        self.app.call_from_thread(self._built, figure, generation)

    def _built(self, figure: list[Strip], generation: int) -> None:
        if generation == self._generation:
            self._figure = figure
            self.builds += 1
            self.refresh()

    def _smoothed_values(self, name: str, points: Points, weight: float) -> list[float]:
        cached = self._smoothed.get(name)
        if cached is None or cached.weight != weight or len(cached.values) > len(points):
            cached = _Smoothed(weight, DebiasedEma(weight), [])
            self._smoothed[name] = cached
        done = len(cached.values)
        if done < len(points):
            cached.values.extend(cached.ema.extend([value for _, value in points[done:]]))
        return cached.values

    def _prepare(self, width: int) -> list[ChartSeries]:
        weight = self.smoothing
        end = max((points[-1][0] for points in self.series.values()), default=0)
        prepared = []
        sparse_count = 0
        for n, (name, points) in enumerate(self.series.items()):
            start = len(points) - len(last_steps(points, self.zoom_steps, end=end))
            in_view = len(points) - start
            raw = [
                points[i] for i in thin_indices(start, len(points), RAW_POINTS_PER_COLUMN * width)
            ]
            line_indices = thin_indices(start, len(points), LINE_POINTS_PER_COLUMN * width)
            if weight > 0:
                smoothed = self._smoothed_values(name, points, weight)
                line = [(points[i][0], smoothed[i]) for i in line_indices]
            else:
                line = [points[i] for i in line_indices]
            point_marker = None
            if in_view * SPARSE_FRACTION < width:
                point_marker = SPARSE_MARKERS[sparse_count % len(SPARSE_MARKERS)]
                sparse_count += 1
            prepared.append(
                ChartSeries(
                    name=name,
                    label=f"{name} (EMA {weight:g})" if weight > 0 else name,
                    marker=MARKERS[n % len(MARKERS)],
                    line=_finite(line),
                    raw=_finite(raw),
                    smoothing=weight,
                    point_marker=point_marker,
                )
            )
        return prepared

    def _colours(self) -> tuple[RGB, list[RGB]]:
        """The raw points' faint colour and the series' colours, from the app's theme."""
        if not self.is_mounted:
            return FALLBACK_FAINT, list(FALLBACK_COLOURS)
        variables = self.app.theme_variables
        try:
            foreground = Color.parse(variables["foreground"])
            background = Color.parse(variables.get("surface", variables["background"]))
            faint = foreground.blend(background, FAINTNESS).rgb
            colours = [Color.parse(variables[name]).rgb for name in SERIES_COLOUR_VARIABLES]
        except (KeyError, ColorParseError):  # a theme without these, or in colours we cannot read
            return FALLBACK_FAINT, list(FALLBACK_COLOURS)
        return faint, colours

    def _draw(self) -> None:
        width = self.size.width or UNSIZED_WIDTH
        self._drawn_width = self.size.width
        self._prepared = self._prepare(width)
        faint, colours = self._colours()
        # A figure of its own for each draw: the one a worker may be building is left alone.
        plt = self._plot = Plot()
        plt.title(self.full_title)
        plt.xlabel("step")
        if not any(series.raw for series in self._prepared):
            plt.text(
                "no metrics yet" if not self.series else "no points in view",
                x=0.5,
                y=0.5,
                alignment="center",
            )
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            plt.xticks([])
            plt.yticks([])
        # Raw points first, so every curve is drawn over them.
        for series in self._prepared:
            if series.smoothing > 0 and series.raw and series.point_marker is None:
                steps, values = zip(*series.raw, strict=True)
                plt.scatter(steps, values, marker=RAW_MARKER, color=faint)
        for n, series in enumerate(self._prepared):
            colour = colours[n % len(colours)]
            if series.line:
                steps, values = zip(*series.line, strict=True)
                plt.plot(steps, values, label=series.label, marker=series.marker, color=colour)
            if series.point_marker is not None and series.raw:
                steps, values = zip(*series.raw, strict=True)
                plt.scatter(steps, values, marker=series.point_marker, color=colour)
        self._build_figure()
