"""`GET /api/quality/agreement/` as Rita (reviewer) and Carol (admin) read it, and what
Alice (annotator) and an anonymous visitor get instead."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.quality import reads
from annotator.quality.kappa import ALL_SAME
from annotator.vocab import FINDINGS
from tests.conftest import client_for, person
from tests.quality import clinic

pytestmark = pytest.mark.django_db
URL = "/api/quality/agreement/"


@pytest.fixture
def dana(db):
    return person("dana", "annotator")


@pytest.fixture
def built(alice, bob, rita, carol, dana):
    return clinic.build(alice, bob, rita, carol, dana)


def agreement(user) -> dict:
    response = client_for(user).get(URL)
    assert response.status_code == 200, response.content
    json.dumps(response.json(), allow_nan=False)  # no NaN sneaks into the JSON
    return response.json()


def test_the_url_has_its_name():
    assert reverse("quality-agreement") == URL


def test_overall_counts_and_agreement_of_the_double_reads(built, rita):
    overall = agreement(rita)["overall"]
    # s1-s5 are double reads; s6 lost Alice's can't-tell read; Dana withdrew hers
    assert overall["slices"] == 5
    assert overall["left_out_cant_tell"] == 1
    assert overall["raw_agreement"] == 0.6  # s1, s3, s4 have the same findings
    assert overall["fleiss_slices"] == 4  # s5's first read names two findings
    assert overall["fleiss_kappa"] == pytest.approx(13 / 21, abs=1e-4)
    low, high = overall["raw_agreement_ci"]
    assert 0 <= low <= 0.6 <= high <= 1


def test_per_finding_counts_and_kappa(built, rita):
    per_finding = agreement(rita)["per_finding"]
    assert list(per_finding) == FINDINGS
    ivde = per_finding["ivde"]
    # present/absent for ivde on s1..s5: (1,1) (1,0) (0,0) (0,0) (1,1)
    # P_i = 1, 0, 1, 1, 1 -> P_bar = 0.8; present 5 of 10 ratings -> Pe = 0.25 + 0.25 = 0.5
    # kappa = (0.8 - 0.5) / (1 - 0.5) = 0.6
    assert ivde["slices"] == 5
    assert ivde["positive_reads"] == 5  # Alice's ivde on s2 stands, whatever Rita corrected
    assert ivde["raw_agreement"] == 0.8
    assert ivde["fleiss_kappa"] == pytest.approx(0.6)
    assert ivde["fleiss_kappa_undefined"] is None
    neoplasia = per_finding["neoplasia"]
    assert neoplasia["positive_reads"] == 0  # Dana's withdrawn read does not count
    assert neoplasia["raw_agreement"] == 1.0
    assert neoplasia["fleiss_kappa"] is None
    assert neoplasia["fleiss_kappa_ci"] is None
    assert neoplasia["fleiss_kappa_undefined"] == ALL_SAME


def test_pairs_have_their_two_by_two_counts_and_cohen_kappa(built, rita):
    pairs = agreement(rita)["pairs"]
    assert [p["annotators"] for p in pairs] == [["alice", "bob"]]
    pair = pairs[0]
    assert pair["slices"] == 5
    assert pair["left_out_cant_tell"] == 1
    assert pair["exact_agreement"] == 0.6
    ivde = pair["per_finding"]["ivde"]
    assert (ivde["both"], ivde["only_first"], ivde["only_second"], ivde["neither"]) == (2, 1, 0, 2)
    # po = 4/5 = 0.8; Alice says present 3/5, Bob 2/5; pe = 0.6*0.4 + 0.4*0.6 = 0.48
    # kappa = (0.8 - 0.48) / (1 - 0.48) = 0.32 / 0.52 = 8/13
    assert ivde["cohen_kappa"] == pytest.approx(8 / 13, abs=1e-4)
    assert ivde["raw_agreement"] == 0.8
    low, high = ivde["cohen_kappa_ci"]
    assert low <= high
    assert pair["per_finding"]["neoplasia"]["cohen_kappa"] is None
    assert pair["per_finding"]["neoplasia"]["cohen_kappa_undefined"] == ALL_SAME


def test_each_annotator_against_the_accepted_labels(built, rita):
    rows = {row["annotator"]: row for row in agreement(rita)["annotators"]}
    assert set(rows) == {"alice", "bob"}
    # Alice: s1 against Bob's approved ivde (agrees), s2 corrected to ivdp (disagrees),
    # s4 and s7 against Carol's imports (agrees, disagrees); her approved s6 was can't tell.
    alice = rows["alice"]
    assert alice["reviewed_slices"] == 4
    assert alice["agreement_with_accepted"] == 0.5
    assert (alice["approved"], alice["corrected"], alice["rejected"]) == (0, 1, 0)
    assert (alice["other_read"], alice["import"], alice["left_out_cant_tell"]) == (1, 2, 1)
    # Bob: s1 approved, s2 against Alice's correction ivdp (agrees), s3 rejected (disagrees),
    # s4 against the import (agrees); nobody checked s5; s6 held against Alice's approved
    # can't tell is left out.
    bob = rows["bob"]
    assert bob["reviewed_slices"] == 4
    assert bob["agreement_with_accepted"] == 0.75
    assert (bob["approved"], bob["corrected"], bob["rejected"]) == (1, 0, 1)
    assert (bob["other_read"], bob["import"], bob["left_out_cant_tell"]) == (1, 1, 1)
    low, high = bob["agreement_with_accepted_ci"]
    assert 0 <= low <= 0.75 <= high <= 1


def test_the_answer_has_every_documented_key(built, carol):
    body = agreement(carol)
    assert set(body) == {"overall", "per_finding", "pairs", "annotators"}
    assert {
        "slices",
        "left_out_cant_tell",
        "raw_agreement",
        "raw_agreement_ci",
        "fleiss_kappa",
        "fleiss_kappa_ci",
        "fleiss_slices",
    } <= set(body["overall"])
    assert {
        "slices",
        "positive_reads",
        "raw_agreement",
        "raw_agreement_ci",
        "fleiss_kappa",
        "fleiss_kappa_ci",
    } <= set(body["per_finding"]["ivdp"])
    pair = body["pairs"][0]
    assert {"annotators", "slices", "per_finding", "exact_agreement"} <= set(pair)
    assert {
        "cohen_kappa",
        "cohen_kappa_ci",
        "raw_agreement",
        "both",
        "neither",
        "only_first",
        "only_second",
    } <= set(pair["per_finding"]["ivde"])
    assert {
        "annotator",
        "reviewed_slices",
        "agreement_with_accepted",
        "agreement_with_accepted_ci",
        "approved",
        "corrected",
    } <= set(body["annotators"][0])


def test_an_empty_clinic_gets_zeros_and_nulls(rita):
    body = agreement(rita)
    assert body["overall"]["slices"] == 0
    assert body["overall"]["raw_agreement"] is None
    assert body["pairs"] == []
    assert body["annotators"] == []


def test_an_annotator_may_not_read_the_agreement(alice):
    response = client_for(alice).get(URL)
    assert response.status_code == 403


def test_an_anonymous_visitor_may_not_read_the_agreement():
    assert APIClient(enforce_csrf_checks=True).get(URL).status_code == 403


def test_the_numbers_cost_the_same_two_queries_however_many_labels(
    built, alice, bob, django_assert_num_queries
):
    with django_assert_num_queries(2):
        small = reads.load()
    for instance in clinic.make_series(slices=30).instances.all():
        clinic.version(instance, alice, findings=["ivde"])
        clinic.version(instance, bob, findings=["ivdp"])
    with django_assert_num_queries(2):
        large = reads.load()
    assert len(large[0]) == len(small[0]) + 60
