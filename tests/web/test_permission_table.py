"""Who gets what at every URL: one table, checked against every pattern in annotator.urls.

Four visitors ask each URL: someone not signed in, Alice (annotator), Rita (reviewer) and
Carol (admin). Pages send a visitor without an account to the sign-in page (302) and a
signed-in user whose role is too low to a 403 page; the JSON API answers 403 to both. What
a role may do answers 200/201/202/204, 400 for an empty body where a body is needed, 404
for a row that is not there, 405 for a method the URL does not take: never a 500.

Each request runs against the same rows: it is rolled back after its answer, so an admin
withdrawing a label does not change what the next request finds.
"""

from pathlib import Path

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.crypto import get_random_string
from pydicom.data import get_testdata_file
from rest_framework.test import APIClient

from annotator.imaging.ingest import ingest_paths
from annotator.imaging.models import Instance
from annotator.learning import registry
from annotator.learning.models import Evaluation, ModelVersion, TrainingRun
from tests.conftest import client_for
from tests.factories import label_next, make_series

pytestmark = pytest.mark.django_db

VISITORS = ("anonymous", "annotator", "reviewer", "admin")
MISSING = 999999  # a row that does not exist: 404 once the permission check has passed

# Every 302 for a page sends an anonymous visitor to sign in.
PAGE_DENIED = 302
# {URL name: {method: (anonymous, annotator, reviewer, admin)}}. The one unnamed pattern, the
# site root, is keyed by its path. Pages are asked with GET (and POST where they only take
# POST); the API under /api/ with GET and with POST of an empty JSON body.
TABLE: dict[str, dict[str, tuple[int, int, int, int]]] = {
    # -- pages --------------------------------------------------------------------------
    "/": {"GET": (302, 302, 302, 302)},  # to the labeling page, which then decides
    "label": {"GET": (302, 200, 200, 200)},
    "returned": {"GET": (302, 200, 200, 200)},
    "models": {"GET": (302, 200, 200, 200)},
    "model-report-page": {"GET": (302, 200, 200, 200)},
    "learning": {"GET": (302, 200, 200, 200)},
    "studies": {"GET": (302, 200, 200, 200)},
    "study-read-page": {"GET": (302, 200, 200, 200)},
    "review": {"GET": (302, 403, 200, 200)},
    "quality": {"GET": (302, 403, 200, 200)},
    "slice-history": {"GET": (302, 403, 200, 200)},  # annotators read blind
    "audit-log": {"GET": (302, 403, 403, 200)},
    "label-export": {"GET": (302, 403, 403, 200)},
    # The admin's buttons on the models page: forms that only POST (GET is refused before
    # anything else is looked at); the admin is sent back to the page with a message.
    "models-retrain": {"GET": (405, 405, 405, 405), "POST": (302, 403, 403, 302)},
    "models-promote": {"GET": (405, 405, 405, 405), "POST": (302, 403, 403, 302)},
    "models-rollback": {"GET": (405, 405, 405, 405), "POST": (302, 403, 403, 302)},
    "models-cancel": {"GET": (405, 405, 405, 405), "POST": (302, 403, 403, 404)},
    # -- signing in and out (django.contrib.auth) ---------------------------------------
    "login": {"GET": (200, 302, 302, 302)},  # a signed-in user goes on to the labeling page
    "logout": {"GET": (405, 405, 405, 405), "POST": (302, 302, 302, 302)},
    "password_change": {"GET": (302, 200, 200, 200)},
    "password_change_done": {"GET": (302, 200, 200, 200)},
    # -- the Django admin: all its URLs, one row ----------------------------------------
    "admin": {"GET": (302, 302, 302, 200)},
    # -- API: labeling ------------------------------------------------------------------
    "queue-next": {"GET": (403, 405, 405, 405), "POST": (403, 200, 200, 200)},
    "queue-renew": {"GET": (403, 405, 405, 405), "POST": (403, 200, 409, 409)},  # 409: none held
    "queue-release": {"GET": (403, 405, 405, 405), "POST": (403, 204, 204, 204)},
    "queue-take-back": {"GET": (403, 405, 405, 405), "POST": (403, 400, 400, 400)},
    "preferences": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "workspace-stats": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "recent-labels": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "slice-item": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "slice-study-series": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "annotation-list": {"GET": (403, 200, 200, 200), "POST": (403, 400, 400, 400)},
    "annotation-detail": {"GET": (403, 405, 405, 405), "POST": (403, 405, 405, 405)},
    # Alice's own label: she may withdraw it, and so may an admin; a reviewer may not.
    "annotation-withdraw": {"GET": (403, 405, 405, 405), "POST": (403, 200, 403, 200)},
    # -- API: images --------------------------------------------------------------------
    "slice-dicom": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    # No served model has a heatmap of the slice yet.
    "slice-heatmap": {"GET": (403, 404, 404, 404), "POST": (403, 405, 405, 405)},
    "slice-preview": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "study-list": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "study-read": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    # -- API: models and training -------------------------------------------------------
    "model-list": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "training-run-list": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "model-report": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    "model-retrain": {"GET": (403, 403, 403, 405), "POST": (403, 403, 403, 202)},
    "model-promote": {"GET": (403, 403, 403, 405), "POST": (403, 403, 403, 200)},
    "model-rollback": {"GET": (403, 403, 403, 405), "POST": (403, 403, 403, 404)},
    "training-run-cancel": {"GET": (403, 403, 403, 405), "POST": (403, 403, 403, 404)},
    # -- API: review --------------------------------------------------------------------
    "review-next": {"GET": (403, 403, 405, 405), "POST": (403, 403, 200, 200)},
    "review-list": {"GET": (403, 403, 200, 200), "POST": (403, 403, 400, 400)},
    "review-returned": {"GET": (403, 200, 200, 200), "POST": (403, 405, 405, 405)},
    # -- API: quality -------------------------------------------------------------------
    "quality-agreement": {"GET": (403, 403, 200, 200), "POST": (403, 403, 405, 405)},
}

# Path parameters are filled with the rows `rows` makes, by parameter name, except here:
# another row, or MISSING.
CHOSEN: dict[str, dict[str, str | int]] = {
    "models-promote": {"model_id": "candidate_id"},  # the served model cannot be promoted
    "model-promote": {"model_id": "candidate_id"},
    "models-cancel": {"run_id": MISSING},
    "model-rollback": {"model_id": MISSING},
    "training-run-cancel": {"run_id": MISSING},
}


def walk(patterns, prefix: str = "", namespace: str | None = None):
    """(row key, URL pattern, its full route) for every pattern, through includes."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if namespace == "admin":
                yield "admin", pattern, route
            else:
                yield pattern.name or f"/{route}", pattern, route


def patterns() -> dict[str, list[URLPattern]]:
    found: dict[str, list[URLPattern]] = {}
    for key, pattern, _ in walk(get_resolver("annotator.urls").url_patterns):
        found.setdefault(key, []).append(pattern)
    return found


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rows(alice, rita, carol, rq_redis, settings) -> dict[str, object]:
    """Something behind every parameter: a stored slice, a labeled one, a served model."""
    # Single reads only: Alice's label then waits for review, whichever slice she gets.
    settings.DOUBLE_READ_SHARE = 0
    ingest_paths([Path(get_testdata_file("MR_small.dcm", download=False))])
    stored = Instance.objects.get()
    make_series(slices=6)
    label = label_next(alice, ["ivde"])
    run = TrainingRun.objects.create(trigger="manual", status="finished")
    model = ModelVersion.objects.create(run=run, checkpoint_key="ab/permissions.pt")
    registry.promote_if_chosen(model, 0.9, None, None)
    Evaluation.objects.create(model=model, split="test", n=4, metrics={"macro_auroc": 0.9})
    newer = TrainingRun.objects.create(trigger="labels", status="finished")
    candidate = ModelVersion.objects.create(run=newer, checkpoint_key="ab/candidate.pt")
    return {
        "candidate_id": candidate.pk,
        "slice_id": stored.pk,
        "study_id": stored.series.study_id,
        "label_id": label.pk,
        "model_id": model.pk,
        "run_id": run.pk,
        "uidb64": "MQ",
        "token": "not-a-valid-token",
    }


def visitor(kind: str, people: dict) -> APIClient:
    """A client that sends a CSRF token like the pages do, signed in unless anonymous."""
    if kind != "anonymous":
        return client_for(people[kind])
    client = APIClient(enforce_csrf_checks=True)
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def urls_for(key: str, pattern: URLPattern, ids: dict) -> list[str]:
    if key == "admin":  # its front page and every model's list stand for the whole site
        return [reverse("admin:index")] + [
            reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
            for m in admin.site._registry
        ]
    if key.startswith("/"):
        return [key]
    chosen = CHOSEN.get(key, {})
    kwargs = {}
    for name in pattern.pattern.converters:
        value = chosen.get(name, name)
        kwargs[name] = value if value == MISSING else ids[value]
    return [reverse(key, kwargs=kwargs)]


def ask(client: APIClient, method: str, url: str):
    """One request, rolled back afterwards so every request meets the same rows."""
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif url.startswith("/api/"):
            response = client.post(url, {}, format="json")
        else:
            response = client.post(url)
        transaction.set_rollback(True)
    return response


def where_to(response) -> str:
    return f" -> {response['Location']}" if response.has_header("Location") else ""


def test_every_url_pattern_has_a_row():
    missing = sorted(set(patterns()) - set(TABLE))
    assert not missing, (
        f"URL patterns without a row in the permission table: {missing}. Add a row saying "
        "what anonymous visitors, annotators, reviewers and admins get there."
    )


def test_every_row_names_a_url_pattern():
    absent = sorted(set(TABLE) - set(patterns()))
    assert not absent, f"rows for URLs that are not in annotator.urls (yet): {absent}"


def test_every_visitor_gets_what_the_table_says(rows, alice, rita, carol):
    people = {"annotator": alice, "reviewer": rita, "admin": carol}
    found = patterns()
    wrong = []
    for key, expected in TABLE.items():
        if key not in found:
            continue  # reported by test_every_row_names_a_url_pattern
        urls = [u for p in found[key] for u in urls_for(key, p, rows)]
        for method, statuses in expected.items():
            for url in dict.fromkeys(urls):
                for who, want in zip(VISITORS, statuses, strict=True):
                    got = ask(visitor(who, people), method, url)
                    if got.status_code != want:
                        wrong.append(
                            f"{key}: {method} {url} as {who}: "
                            f"{got.status_code}{where_to(got)}, table says {want}"
                        )
                    elif want == PAGE_DENIED and who == "anonymous" and key != "/":
                        sign_in = "/admin/login/" if key == "admin" else "/accounts/login/"
                        if not got["Location"].startswith(sign_in):
                            wrong.append(f"{key}: {url} sends {who} to {got['Location']}")
    assert not wrong, "\n".join(["answers that differ from the table:", *wrong])
