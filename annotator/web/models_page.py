"""The models page: training runs and their progress, model versions, the Table-2 report,
the admin's buttons (retrain, cancel, promote, roll back) as plain forms, and for the admin
what the model trains on (label counts by review status)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from annotator.accounts.decorators import role_required
from annotator.accounts.roles import ADMIN, ANNOTATOR, is_admin
from annotator.errors import DomainError
from annotator.learning import policy, progress, registry
from annotator.learning.models import ModelVersion, TrainingRun
from annotator.review import status
from annotator.web.plots import roc_svg


@role_required(ANNOTATOR)
def models(request: HttpRequest) -> HttpResponse:
    runs = list(TrainingRun.objects.order_by("-id")[:10])
    active = [
        r for r in runs if r.status in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)
    ]
    versions = Paginator(
        ModelVersion.objects.select_related("run").prefetch_related("evaluations").order_by("-id"),
        20,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "web/models.html",
        {
            "runs": [(run, progress.of(run)) for run in runs],
            "refresh": bool(active),
            "versions": [(v, _macro(v, "val"), _macro(v, "test")) for v in versions],
            "page": versions,
            "can_manage": is_admin(request.user),
            "training_data": _training_data() if is_admin(request.user) else None,
        },
    )


# (status, what the admin reads): the rows of the "Training data" table.
TRAINING_DATA_ROWS = [
    (status.SUBMITTED, "Submitted, awaiting review"),
    (status.APPROVED, "Approved"),
    (status.CORRECTED, "Corrected by a reviewer"),
    (status.IMPORTED, "Imported"),
    (status.REJECTED, "Rejected"),
]
TRAINS_ON = {
    "submitted": "submitted labels (every label not rejected)",
    "accepted": (
        "accepted labels (approved, corrected or imported) of training dogs; validation and "
        "test dogs' labels are used from submission"
    ),
}


def _training_data() -> dict:
    """Label chains by review status and split, and which of them train (DACHS_TRAIN_ON)."""
    counts = status.counts_by_status()
    trains = status.TRAINS[settings.TRAIN_ON]
    splits = [*status.SPLITS, "total"]
    rows = [
        (name, [counts[s][key] for s in splits], "yes" if key in trains else "no")
        for key, name in TRAINING_DATA_ROWS
    ]
    cant_tell = [counts[s]["cant_tell"] for s in splits]
    rows.append(("Can't tell (counted above too; never trains)", cant_tell, "no"))
    return {"rows": rows, "trains_on": TRAINS_ON[settings.TRAIN_ON]}


@role_required(ANNOTATOR)
def report(request: HttpRequest, model_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=model_id)
    evaluation = version.evaluations.filter(split="test").first()
    body = evaluation.metrics if evaluation else None
    table = _table(body) if body else None
    curves = (
        {finding: roc_svg(curve) for finding, curve in body.get("roc", {}).items()} if body else {}
    )
    return render(
        request,
        "web/model_report.html",
        {"version": version, "report": body, "table": table, "curves": curves},
    )


def _macro(version: ModelVersion, split: str) -> float | None:
    for evaluation in version.evaluations.all():
        if evaluation.split == split:
            return evaluation.metrics.get("macro_auroc")
    return None


COLUMNS = [("sagittal", "T1W"), ("sagittal", "T2W"), ("transverse", "T1W"), ("transverse", "T2W")]


def _table(body: dict) -> dict:
    """Rows of the reference study's Table 2: one per finding, one cell per plane×weighting."""
    cells = {(c["finding"], c["plane"], c["sequence"]): c for c in body.get("cells", [])}
    return {
        "columns": COLUMNS,
        "rows": [
            (finding, [cells.get((finding, plane, sequence)) for plane, sequence in COLUMNS])
            for finding in body.get("classes", [])
        ],
    }


def _admin_action(request: HttpRequest, action, success: str) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied("Only an administrator can do this.")
    try:
        action()
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("models")


@require_POST
@role_required(ADMIN)
def retrain(request: HttpRequest) -> HttpResponse:
    return _admin_action(
        request,
        lambda: policy.request_training(TrainingRun.Trigger.MANUAL, request.user),
        "Training requested: a worker picks it up.",
    )


@require_POST
@role_required(ADMIN)
def cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun, pk=run_id)
    return _admin_action(
        request, lambda: policy.cancel(run, request.user), f"Training run {run.pk} cancelled."
    )


@require_POST
@role_required(ADMIN)
def promote(request: HttpRequest, model_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=model_id)

    def act() -> None:
        registry.promote_by_hand(version, request.user)
        policy.request_scoring(version)

    return _admin_action(request, act, f"Model v{version.pk} is served now.")


@require_POST
@role_required(ADMIN)
def roll_back(request: HttpRequest, model_id: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=model_id)

    def act() -> None:
        before = registry.roll_back(version, request.user)
        policy.request_scoring(before)

    return _admin_action(request, act, f"Rolled back from model v{version.pk}.")
