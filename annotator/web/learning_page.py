"""The learning page: what the clinic's labels bought, held against the saved benchmark
curves, and how many labeled positives each finding has per split."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ANNOTATOR
from annotator.learning import curves
from annotator.web.plots import Line, learning_svg

PROJECT_COLOUR = "#0b6bcb"
BENCHMARK_COLOURS = {"random": "#7a7a7a"}
OTHER_BENCHMARK_COLOUR = "#d9822b"


@role_required(ANNOTATOR)
def learning(request: HttpRequest) -> HttpResponse:
    points = curves.project_curve()
    benchmarks = curves.benchmarks()
    saved = {b.strategy for b in benchmarks}
    wanted = dict.fromkeys(["random", settings.AL_STRATEGY])  # once each, in this order
    return render(
        request,
        "web/learning.html",
        {
            "points": points,
            "benchmarks": benchmarks,
            "chart": _chart(points, benchmarks) if points or benchmarks else None,
            "missing": [s for s in wanted if s not in saved],
            "counts": curves.label_counts(),
        },
    )


def _chart(points: list[curves.ProjectPoint], benchmarks: list[curves.Benchmark]) -> SafeString:
    lines = []
    if points:
        promoted = next((i for i, p in enumerate(points) if p.promoted), None)
        lines.append(
            Line(
                name="this clinic (validation dogs)",
                points=[(p.labels, p.macro_auroc) for p in points],
                colour=PROJECT_COLOUR,
                highlight=promoted,
                highlight_name="the version in use (promoted)",
            )
        )
    for benchmark in benchmarks:
        lines.append(
            Line(
                name=f"benchmark: {benchmark.strategy} (synthetic test dogs)",
                points=benchmark.points,
                colour=BENCHMARK_COLOURS.get(benchmark.strategy, OTHER_BENCHMARK_COLOUR),
                dashed=True,
            )
        )
    return learning_svg(lines, "labeled training slices", "macro AUROC")
