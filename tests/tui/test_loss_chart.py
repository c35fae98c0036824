"""The metric chart in a tiny app: smoothing drawn over faint raw points, zoom, thinning, eval
markers, the smoothing cache, and what a draw of a long run costs."""

from __future__ import annotations

import math
import time

import pytest
from textual.app import App, ComposeResult

from ftui.core.runs.smoothing import debiased_ema
from ftui.tui.widgets.loss_chart import MARKERS, RAW_MARKER, LossChart

WIDTH, HEIGHT = 100, 30


class ChartApp(App[None]):
    def __init__(self, **chart_options: float) -> None:
        super().__init__()
        self.chart_options = chart_options

    def compose(self) -> ComposeResult:
        yield LossChart(**self.chart_options)


def noisy(count: int, every: int = 1, offset: float = 0.0) -> list[tuple[int, float]]:
    """A falling loss with a saw-tooth on it, one point every `every` steps."""
    return [
        (i * every, offset + 3.0 / (1 + i / 50) + (0.4 if i % 2 else 0.0)) for i in range(count)
    ]


def plotted(chart: LossChart) -> list[tuple[str | None, str, list[float], list[float]]]:
    """What plotext was given: (label, marker, xs, ys) per plot call."""
    monitor = chart.plt.monitor  # one entry per plot call; markers and colours per point
    return [
        (label or None, markers[0], list(xs), list(ys))
        for label, markers, xs, ys in zip(
            monitor.label, monitor.marker, monitor.x, monitor.y, strict=True
        )
    ]


def colours(chart: LossChart) -> list[tuple[int, int, int]]:
    """The colour of each plot call, in order."""
    return [tuple(per_point[0]) for per_point in chart.plt.monitor.color]


def text(chart: LossChart) -> str:
    return chart.render().plain  # type: ignore[union-attr]


async def test_smoothing_is_on_by_default_and_drawn_over_the_raw_points() -> None:
    points = noisy(60)
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": points})
        assert chart.smoothing == 0.6
        [series] = chart.prepared_series()
        assert series.label == "train_loss (EMA 0.6)"
        assert series.raw == points
        assert [v for _, v in series.line] == pytest.approx(
            debiased_ema([v for _, v in points], 0.6)
        )
        # The faint raw points are plotted first, unlabelled; the smoothed curve over them.
        (raw_label, raw_marker, _, raw_ys), (label, marker, _, ys) = plotted(chart)
        assert (raw_label, raw_marker) == (None, RAW_MARKER) and raw_ys == [v for _, v in points]
        assert (label, marker) == ("train_loss (EMA 0.6)", MARKERS[0])
        assert ys == [v for _, v in series.line]
        raw_colour, curve_colour = colours(chart)
        assert raw_colour != curve_colour
        assert "train_loss (EMA 0.6)" in text(chart)


async def test_toggling_smoothing_draws_the_raw_series_and_remembers_the_weight() -> None:
    points = noisy(60)
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": points})
        smoothed_text = text(chart)
        chart.set_smoothing(0.9)
        assert chart.prepared_series()[0].label == "train_loss (EMA 0.9)"

        assert chart.toggle_smoothing() == 0.0
        [series] = chart.prepared_series()
        assert series.label == "train_loss" and series.smoothing == 0
        assert series.line == points
        assert [label for label, *_ in plotted(chart)] == ["train_loss"]  # no faint copy
        assert text(chart) != smoothed_text

        assert chart.toggle_smoothing() == 0.9
        assert [v for _, v in chart.prepared_series()[0].line] == pytest.approx(
            debiased_ema([v for _, v in points], 0.9)
        )
        chart.set_smoothing(0)  # off, the weight kept for the next toggle
        assert chart.smoothing == 0 and chart.toggle_smoothing() == 0.9


async def test_a_chart_made_without_smoothing() -> None:
    async with ChartApp(smoothing=0).run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": noisy(40)})
        assert chart.prepared_series()[0].label == "train_loss"
        assert chart.toggle_smoothing() == 0.6


async def test_a_bad_smoothing_weight_is_refused_and_changes_nothing() -> None:
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        for weight in (1.0, -0.5, float("nan")):
            with pytest.raises(ValueError, match=r"smoothing weight must be in \[0, 1\)"):
                chart.set_smoothing(weight)
        assert chart.smoothing == 0.6
        with pytest.raises(ValueError, match="smoothing weight"):
            LossChart(smoothing=1.5)


async def test_zoom_shows_the_last_steps_smoothed_over_the_whole_run() -> None:
    train = noisy(1000)  # steps 0..999
    valid = noisy(10, every=100, offset=0.5)  # steps 0..900
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": train, "valid_loss": valid}, title="loss")
        chart.zoom_last(200)
        train_view, valid_view = chart.prepared_series()
        assert min(step for step, _ in train_view.raw) >= 799
        assert train_view.raw[-1] == train[-1]
        # The window ends where the chart ends (step 999), not where each series ends.
        assert [step for step, _ in valid_view.raw] == [800, 900]
        # Smoothing ran over the whole run before the window: the curve does not restart.
        full = debiased_ema([v for _, v in train], 0.6)
        for step, value in train_view.line:
            assert value == pytest.approx(full[step])
        assert "loss · last 200 steps" in text(chart)

        chart.zoom_last(None)
        assert chart.prepared_series()[0].raw[0] == train[0]
        assert "last 200 steps" not in text(chart)
        for bad in (0, -5, 2.5):
            with pytest.raises(ValueError, match="steps to show must be a whole number > 0"):
                chart.zoom_last(bad)  # type: ignore[arg-type]


async def test_long_series_are_thinned_to_the_width_keeping_the_last_point() -> None:
    points = noisy(10_000)
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": points})
        [series] = chart.prepared_series()
        assert len(series.raw) <= 2 * WIDTH and len(series.line) <= WIDTH
        assert len(series.raw) >= WIDTH  # thinned, not decimated to nothing
        assert series.raw[-1] == points[-1]
        assert series.line[-1][0] == points[-1][0]
        # The curve's last value is the smoothing of all 10,000 points, not of the thinned ones.
        assert series.line[-1][1] == pytest.approx(debiased_ema([v for _, v in points], 0.6)[-1])
        assert chart.point_count == 10_000


async def test_eval_loss_with_few_points_gets_markers_and_each_series_its_own() -> None:
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series(
            {
                "train_loss": noisy(1000),
                "valid_loss": noisy(10, every=100, offset=0.5),
                "full_valid_loss": noisy(5, every=200, offset=0.7),
            }
        )
        train, valid, full_valid = chart.prepared_series()
        assert train.point_marker is None
        assert valid.point_marker is not None and full_valid.point_marker is not None
        assert valid.point_marker != full_valid.point_marker
        assert len({train.marker, valid.marker, full_valid.marker}) == 3
        # Each eval point is plotted with its marker, at its raw value.
        marked = [(xs, ys) for _, marker, xs, ys in plotted(chart) if marker == valid.point_marker]
        assert marked == [([s for s, _ in valid.raw], [v for _, v in valid.raw])]


async def test_a_live_series_is_smoothed_on_from_where_it_stopped() -> None:
    points = noisy(300)
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": points[:100]})
        chart.extend("train_loss", points[100:200])
        chart.redraw()
        # The run page's way: the whole grown series handed over again.
        chart.set_series({"train_loss": points})
        assert chart.prepared_series()[0].line[-1][1] == pytest.approx(
            debiased_ema([v for _, v in points], 0.6)[-1]
        )


async def test_a_replaced_series_of_the_same_length_is_smoothed_afresh() -> None:
    first, second = noisy(80), noisy(80, offset=2.0)
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": first})
        chart.set_series({"train_loss": second})
        assert [v for _, v in chart.prepared_series()[0].line] == pytest.approx(
            debiased_ema([v for _, v in second], 0.6)
        )


async def test_non_finite_values_are_left_out_of_the_drawing() -> None:
    points = noisy(50)
    points[20] = (20, math.nan)
    points[30] = (30, math.inf)
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": points})
        [series] = chart.prepared_series()
        assert 20 not in dict(series.line) and 30 not in dict(series.raw)
        assert all(math.isfinite(v) for _, v in series.line + series.raw)
        assert len(series.line) == 48
        assert "train_loss (EMA 0.6)" in text(chart)


async def test_no_series_says_so() -> None:
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": []}, title="loss")
        assert chart.prepared_series() == [] and "no metrics yet" in text(chart)


async def test_faint_points_stay_fainter_than_the_curve_on_light_and_dark_themes() -> None:
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        chart.set_series({"train_loss": noisy(60)})
        for theme in ("textual-dark", "textual-light"):
            pilot.app.theme = theme
            await pilot.pause()
            chart.redraw()
            variables = pilot.app.theme_variables
            raw_colour, curve_colour = colours(chart)
            assert curve_colour == _rgb(variables["primary"])
            # Between the text colour and the background: visible, and quieter than the text.
            foreground, background = _rgb(variables["foreground"]), _rgb(variables["surface"])
            assert _distance(raw_colour, background) < _distance(foreground, background)
            assert _distance(raw_colour, background) > 0.25 * _distance(foreground, background)


def _rgb(value: str) -> tuple[int, int, int]:
    from textual.color import Color

    return Color.parse(value).rgb


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return math.dist(a, b)


async def test_drawing_five_long_series_stays_cheap() -> None:
    series = {f"metric_{k}": noisy(10_000, offset=k) for k in range(5)}
    async with ChartApp().run_test(size=(120, 30)) as pilot:
        chart = pilot.app.query_one(LossChart)
        best = math.inf
        for _ in range(3):
            chart.set_series({})
            start = time.perf_counter()
            chart.set_series(series)
            chart.plt.build()  # what the next paint runs
            best = min(best, time.perf_counter() - start)
        # About 60 ms on a loaded 2-core machine (bench/bench_chart.py); drawing the 50,000
        # points unthinned takes seconds.
        assert best < 0.25, f"set_series + build of 5 x 10,000 points took {best * 1000:.0f} ms"


async def test_cycle_zoom_steps_through_the_presets_narrower_than_the_run() -> None:
    async with ChartApp().run_test(size=(WIDTH, HEIGHT)) as pilot:
        chart = pilot.app.query_one(LossChart)
        assert chart.cycle_zoom() is None  # no series: nothing to zoom into
        chart.set_series({"train_loss": noisy(5000)})
        assert [chart.cycle_zoom() for _ in range(4)] == [1000, 200, 50, None]
        chart.set_series({"train_loss": noisy(120)})
        assert [chart.cycle_zoom() for _ in range(3)] == [50, None, 50]
