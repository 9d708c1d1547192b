"""The learning page as Alice (a vet), Carol (the admin) and an anonymous visitor see it."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from annotator.labeling.models import Label
from annotator.learning.models import BenchmarkCurve, Evaluation, ModelVersion, TrainingRun
from tests.factories import make_series

pytestmark = pytest.mark.django_db

RANDOM_COMMAND = "python manage.py simulate_al --strategy random --save"


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class _Table(HTMLParser):
    """The cell texts of one table's rows, found by the table's id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table" and ("id", self.table_id) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def table(page: str, table_id: str) -> list[list[str]]:
    parser = _Table(table_id)
    parser.feed(page)
    return parser.rows


def version(train_count: int, val_auroc: float | None, status: str = "candidate") -> ModelVersion:
    run = TrainingRun.objects.create(trigger="labels", status="finished", train_count=train_count)
    model = ModelVersion.objects.create(run=run, checkpoint_key=f"ab/{run.pk}.pt", status=status)
    if val_auroc is not None:
        Evaluation.objects.create(
            model=model, split="val", n=10, metrics={"macro_auroc": val_auroc}
        )
    return model


def curve(strategy: str, aurocs_per_seed: list[list[float]], dogs: int = 40) -> BenchmarkCurve:
    seeds = {
        str(seed): [
            {"labels": 10 * (i + 1), "macro_auroc": a, "rare_positives": 0}
            for i, a in enumerate(aurocs)
        ]
        for seed, aurocs in enumerate(aurocs_per_seed)
    }
    plan = {"dogs": dogs, "strategy": strategy, "rounds": 2, "batch": 10, "steps": 5, "passes": 1}
    return BenchmarkCurve.objects.create(
        strategy=strategy, settings={**plan, "seeds": list(range(len(seeds)))}, seeds=seeds
    )


def test_alice_sees_each_scored_version_with_the_promoted_one_marked(alice):
    first = version(40, 0.612)
    unscored = version(60, None)  # trained, but never measured on the validation dogs
    Evaluation.objects.create(model=unscored, split="test", n=5, metrics={"macro_auroc": 0.99})
    undefined = version(70, None)
    Evaluation.objects.create(model=undefined, split="val", n=5, metrics={"macro_auroc": None})
    promoted = version(80, 0.734, status="promoted")
    latest = version(120, 0.701)
    page = browser_for(alice).get("/learning/").content.decode()
    assert table(page, "project-points")[1:] == [
        [f"v{first.pk}", "candidate", "40", "0.612"],
        [f"v{promoted.pk}", "promoted (in use)", "80", "0.734"],
        [f"v{latest.pk}", "candidate", "120", "0.701"],
    ]
    assert "this clinic (validation dogs): 80 labels, macro AUROC 0.734" in page  # in the chart
    assert "the version in use (promoted)" in page
    assert 'id="no-model"' not in page


def test_the_latest_random_benchmark_is_drawn_beside_the_default_strategy(alice, settings):
    settings.AL_STRATEGY = "hybrid"
    curve("random", [[0.511, 0.533]])
    curve("random", [[0.60, 0.70], [0.62, 0.74]], dogs=48)  # the newer random curve
    curve("hybrid", [[0.655, 0.801]])
    curve("entropy", [[0.9, 0.95]])  # neither random nor the default: not drawn
    page = browser_for(alice).get("/learning/").content.decode()
    assert table(page, "benchmark-random")[1:] == [["10", "0.610"], ["20", "0.720"]]
    assert table(page, "benchmark-hybrid")[1:] == [["10", "0.655"], ["20", "0.801"]]
    assert "0.511" not in page and "0.533" not in page
    assert "benchmark-entropy" not in page and "0.950" not in page
    assert "48 dogs, 2 seeds, batch 10" in page
    assert "benchmark: random (synthetic test dogs): 20 labels, macro AUROC 0.720" in page
    assert "a yardstick" in page
    assert 'id="no-model"' in page  # no version of the clinic yet, but the chart is drawn
    assert "<svg" in page and RANDOM_COMMAND not in page


def test_without_the_default_strategys_curve_the_page_gives_its_command(alice, settings):
    settings.AL_STRATEGY = "hybrid"
    curve("random", [[0.6, 0.7]])
    page = browser_for(alice).get("/learning/").content.decode()
    assert "python manage.py simulate_al --strategy hybrid --save" in page
    assert "benchmark-hybrid" not in page


def test_the_counts_follow_each_slices_current_label_per_split(alice, bob):
    train = list(make_series(slices=4, split="train").instances.order_by("pk"))
    val = list(make_series(slices=2, split="val").instances.order_by("pk"))
    test = list(make_series(slices=2, split="test").instances.order_by("pk"))

    def label(instance, reader, findings=(), version=1, cant_tell="", withdrawn=False):
        Label.objects.create(
            instance=instance,
            reader=reader,
            author=reader,
            version=version,
            findings=list(findings),
            cant_tell=cant_tell,
            withdrawn=withdrawn,
        )

    label(train[0], alice, ["ivde", "neoplasia"])
    label(train[1], alice, ["ivde"])
    label(train[1], alice, ["ivdp"], version=2)  # an edit: the slice now shows ivdp only
    label(train[2], alice, cant_tell="poor_quality")
    label(train[3], alice, ["ivde"])
    label(train[3], alice, ["ivde"], version=2, withdrawn=True)  # withdrawn: unlabeled
    label(val[0], alice, ["ivde"])
    label(val[0], bob, ["syringomyelia"])  # the newest reader's label stands
    label(val[1], bob, ["unremarkable"])
    label(test[0], bob, ["ivde"])
    page = browser_for(alice).get("/learning/").content.decode()
    rows = {row[0]: row[1:] for row in table(page, "finding-counts")[1:]}
    assert rows == {
        "Unremarkable": ["0", "1", "0", "1"],
        "IVDE": ["1", "0", "1", "2"],
        "IVDP": ["1", "0", "0", "1"],
        "FCE/ANNPE": ["0", "0", "0", "0"],
        "Syringomyelia": ["0", "1", "0", "1"],
        "Neoplasia": ["1", "0", "0", "1"],
        "Can’t tell": ["1", "0", "0", "1"],
        "Labeled slices": ["3", "2", "1", "6"],
    }


def test_an_empty_project_says_how_to_get_each_curve(carol):
    page = browser_for(carol).get("/learning/").content.decode()
    assert 'id="no-model"' in page and "python manage.py retrain" in page
    assert 'id="no-benchmark"' in page and RANDOM_COMMAND in page
    assert "<svg" not in page
    assert 'href="/learning/"' in page  # the nav links here


def test_an_anonymous_visitor_is_sent_to_the_login(alice):
    version(40, 0.612)
    response = Client().get("/learning/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
