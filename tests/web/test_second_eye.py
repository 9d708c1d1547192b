"""The second-eye pages as Alice, a vet, sees them; an anonymous visitor is sent to log in."""

import pytest
from django.test import Client

from annotator.learning.models import ModelVersion
from tests.api.test_second_eye import predict, report_on_test_dogs, served_model
from tests.factories import make_series

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def study_with_ivde():
    """One sagittal T2W series whose third slice looks like IVDE; a test report exists."""
    series = make_series(slices=4)
    model = served_model()
    for instance, ivde in zip(series.instances.all(), [0.1, 0.6, 0.95, 0.2], strict=True):
        predict(model, instance, ivde=ivde)
    report_on_test_dogs(model)
    return series.study


def test_an_anonymous_visitor_is_sent_to_log_in(study_with_ivde):
    for url in ["/studies/", f"/studies/{study_with_ivde.pk}/"]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_study_is_a_404(alice):
    assert browser_for(alice).get("/studies/424242/").status_code == 404


def test_the_list_links_each_study_with_its_status(alice, study_with_ivde):
    unscored = make_series(slices=2)
    page = browser_for(alice).get("/studies/").content.decode()
    assert 'href="/studies/"' in page  # the nav link
    assert f'href="/studies/{study_with_ivde.pk}/"' in page
    assert "scored: 1 suspected finding: " in page
    assert f'<tr class="study-not_scored" data-study="{unscored.study.pk}">' in page
    assert page.index(f'data-study="{unscored.study.pk}"') < page.index(
        f'data-study="{study_with_ivde.pk}"'
    )  # newest first


def test_the_read_page_shows_the_call_the_key_slices_and_the_heatmaps(alice, study_with_ivde):
    page = browser_for(alice).get(f"/studies/{study_with_ivde.pk}/").content.decode()
    assert '<span class="call">IVDE</span>' in page
    assert "66.7% <small>(2/3 dogs)</small>" in page  # IVDE's sensitivity on the test dogs
    assert "on the 4 test dogs" in page
    third = study_with_ivde.series.get().instances.get(instance_number=3)
    assert f'<figure class="key-slice" data-slice="{third.pk}">' in page
    assert f'src="/api/slices/{third.pk}/preview.png"' in page
    # No heatmap was stored for it: the page does not ask for one.
    assert f'src="/api/slices/{third.pk}/heatmap/"' not in page
    assert "no heatmap" in page
    assert 'id="overlay-toggle"' in page


def test_a_heatmap_is_laid_over_the_key_slice_that_has_one(alice, study_with_ivde):
    import zlib

    from annotator.learning.models import Heatmap

    third = study_with_ivde.series.get().instances.get(instance_number=3)
    Heatmap.objects.create(
        instance=third,
        model=ModelVersion.objects.get(status="promoted"),
        finding="ivde",
        width=2,
        height=2,
        data=zlib.compress(bytes([0, 255, 255, 0])),
    )
    page = browser_for(alice).get(f"/studies/{study_with_ivde.pk}/").content.decode()
    assert f'<img class="heatmap" src="/api/slices/{third.pk}/heatmap/"' in page


def test_an_unscored_study_says_so_and_how_many_slices_are_scored(alice):
    series = make_series(slices=3)
    model = served_model()
    page = browser_for(alice).get(f"/studies/{series.study.pk}/").content.decode()
    assert "Not scored yet: 0 of 3 slices" in page
    predict(model, series.instances.first(), ivde=0.2)
    page = browser_for(alice).get(f"/studies/{series.study.pk}/").content.decode()
    assert "Partly scored: 1 of 3 slices" in page
    assert '<span class="call">Unremarkable</span>' in page
    assert "no report on the test dogs yet" in page


def test_without_a_served_model_the_page_says_so(alice):
    series = make_series(slices=2)
    page = browser_for(alice).get(f"/studies/{series.study.pk}/").content.decode()
    assert "No model is served yet" in page
    assert "no model served" in browser_for(alice).get("/studies/").content.decode()
