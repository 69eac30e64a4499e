"""The score histogram of an exercise and its geometry as inline SVG draws it.

Numbers only (nothing from a candidate reaches the SVG but names, escaped by the template).
"""

from __future__ import annotations

from dataclasses import dataclass

from interviews.models import Exercise


@dataclass
class HistogramBin:
    low: int
    high: int
    count: int
    candidates: list[str]


@dataclass
class Distribution:
    exercise: Exercise
    bins: list[HistogramBin]
    scores: list[tuple[str, float, bool]]  # candidate, overall, highlighted
    median: float | None

    @property
    def peak(self) -> int:
        return max((b.count for b in self.bins), default=0)

    @property
    def total(self) -> int:
        return sum(b.count for b in self.bins)

    def chart(self) -> Chart:
        """Geometry of the histogram as inline SVG draws it (numbers only, nothing to escape)."""
        peak = max(self.peak, 1)
        step = CHART_PLOT_WIDTH / len(self.bins)
        bars = []
        for i, b in enumerate(self.bins):
            height = round(CHART_PLOT_HEIGHT * b.count / peak, 1)
            bars.append(
                ChartBar(
                    x=round(CHART_LEFT + i * step + 2, 1),
                    y=round(CHART_TOP + CHART_PLOT_HEIGHT - height, 1),
                    width=round(step - 4, 1),
                    height=height,
                    label_x=round(CHART_LEFT + i * step + step / 2, 1),
                    bin=b,
                )
            )
        # One label row per marker, so names of close scores never overlap.
        marked = sorted((score, name) for name, score, highlighted in self.scores if highlighted)
        markers = []
        for row, (score, name) in enumerate(marked):
            x = round(CHART_LEFT + CHART_PLOT_WIDTH * score / 100, 1)
            anchor = "end" if score > 70 else "start" if score < 30 else "middle"
            markers.append(
                ChartMarker(
                    x=x, name=name, score=score, label_y=CHART_LABELS_TOP + 13 * row, anchor=anchor
                )
            )
        ticks = [(round(CHART_LEFT + CHART_PLOT_WIDTH * v / 100, 1), v) for v in range(0, 101, 20)]
        height = int(CHART_LABELS_TOP + 13 * len(markers) + 6)
        return Chart(bars=bars, markers=markers, ticks=ticks, peak=peak, height=height)


CHART_LEFT, CHART_TOP = 36.0, 24.0
CHART_PLOT_WIDTH, CHART_PLOT_HEIGHT = 440.0, 120.0
CHART_WIDTH, CHART_HEIGHT = 500, 190
CHART_LABELS_TOP = CHART_TOP + CHART_PLOT_HEIGHT + 34


@dataclass
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    label_x: float
    bin: HistogramBin


@dataclass
class ChartMarker:
    x: float
    name: str
    score: float
    label_y: float
    anchor: str


@dataclass
class Chart:
    bars: list[ChartBar]
    markers: list[ChartMarker]
    ticks: list[tuple[float, int]]
    peak: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: float = CHART_LEFT
    top: float = CHART_TOP
    baseline: float = CHART_TOP + CHART_PLOT_HEIGHT
    right: float = CHART_LEFT + CHART_PLOT_WIDTH
