"""The active-learning benchmark runs end to end in a scratch database, the same cold start
for every strategy, and never touches the configured database."""

import io
import json

import pytest
from django.core.management import call_command
from PIL import Image

from annotator.imaging.models import Instance
from annotator.labeling.models import Label
from annotator.learning.models import BenchmarkCurve

pytestmark = pytest.mark.django_db


def simulate(strategy: str, cohorts, **extra) -> dict:
    out = io.StringIO()
    call_command(
        "simulate_al",
        "--dogs=8",
        f"--strategy={strategy}",
        "--seeds=3",
        "--rounds=2",
        "--batch=12",
        "--steps=10",
        "--passes=3",
        "--jobs=1",
        f"--cohorts={cohorts}",
        "--json",
        *extra.get("args", []),
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue())


def test_two_strategies_share_the_cold_start_and_report_their_curves(tmp_path, monkeypatch):
    monkeypatch.setenv("DACHS_LOCALISER_STEPS", "20")  # the children read the environment
    monkeypatch.setenv("DACHS_LOCALISER_MAX_SLICES", "200")
    cohorts = tmp_path / "cohorts"
    plot = tmp_path / "curve.png"
    hybrid = simulate("hybrid", cohorts, args=["--save"])
    (tmp_path / "hybrid.json").write_text(json.dumps(hybrid))
    random = simulate(
        "random", cohorts, args=[f"--plot={plot}", f"--compare={tmp_path / 'hybrid.json'}"]
    )

    for result in (hybrid, random):
        assert result["settings"]["seeds"] == [3]
        curve = result["seeds"]["3"]
        assert [p["labels"] for p in curve] == [12, 24]
        assert all(0.0 <= p["macro_auroc"] <= 1.0 for p in curve if p["macro_auroc"] is not None)
        assert all(isinstance(p["rare_positives"], int) for p in curve)
    # the first round is the cold start: the same slices whatever the strategy
    assert hybrid["seeds"]["3"][0]["rare_positives"] == random["seeds"]["3"][0]["rare_positives"]
    assert hybrid["seeds"]["3"][0]["auroc"] == random["seeds"]["3"][0]["auroc"]

    assert Image.open(plot).size == (800, 500)
    saved = BenchmarkCurve.objects.get()
    assert saved.strategy == "hybrid" and saved.seeds == hybrid["seeds"]
    # all of it happened in scratch databases
    assert not Instance.objects.exists() and not Label.objects.exists()


def test_bad_arguments_are_refused_before_any_work(tmp_path):
    with pytest.raises(Exception, match="--seeds"):
        simulate("hybrid", tmp_path, args=["--seeds=a,b"])
    with pytest.raises(Exception, match="invalid choice"):
        simulate("clever", tmp_path)
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(Exception, match="not a simulate_al --json output"):
        simulate("random", tmp_path, args=[f"--compare={tmp_path / 'junk.json'}"])
