"""The quality page as Rita (reviewer) and Carol (admin) see it; Alice (annotator) and an
anonymous visitor are turned away."""

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import person
from tests.quality import clinic

pytestmark = pytest.mark.django_db
URL = "/quality/"


class _Rows(HTMLParser):
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


def rows(page: str, table_id: str) -> list[list[str]]:
    parser = _Rows(table_id)
    parser.feed(page)
    return parser.rows


def page_for(user) -> str:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def built(alice, bob, rita, carol):
    return clinic.build(alice, bob, rita, carol, person("dana", "annotator"))


def test_the_page_has_its_name():
    assert reverse("quality") == URL


def test_rita_sees_agreement_per_finding_with_intervals_and_a_chart(built, rita):
    page = page_for(rita)
    overall = {row[0]: row[1] for row in rows(page, "overall")}
    assert overall["Double-read slices"] == "5"
    assert overall["Can’t-tell reads left out"] == "1"
    assert overall["Same findings (first two reads)"].startswith("60.0% (")
    per_finding = {row[0]: row for row in rows(page, "per-finding")[1:]}
    # IVDE: 5 slices, 5 reads with it, 80% raw agreement, Fleiss' kappa 0.60
    assert per_finding["IVDE"][1:3] == ["5", "5"]
    assert per_finding["IVDE"][3].startswith("80.0% (")
    assert per_finding["IVDE"][4].startswith("0.60 (")
    assert per_finding["Neoplasia"][4] == "undefined"
    assert 'class="kappa-chart"' in page
    assert "<script" not in page.split("</header>")[1]  # server-rendered only
    assert "No double reads yet" not in page


def test_the_page_shows_pairs_and_each_annotators_agreement(built, carol):
    page = page_for(carol)
    pair = rows(page, "pairs")[1]
    assert pair[:3] == ["alice / bob", "5 (+1 can’t tell)", "60.0%"]
    annotators = {row[0]: row for row in rows(page, "annotators")[1:]}
    assert annotators["alice"][1] == "4"
    assert annotators["alice"][2].startswith("50.0% (")
    assert annotators["bob"][1:3] != annotators["alice"][1:3]
    assert annotators["bob"][3:6] == ["1", "0", "1"]  # approved, corrected, rejected


def test_with_no_double_reads_the_page_says_so(rita):
    page = page_for(rita)
    assert "No double reads yet" in page
    assert 'class="kappa-chart"' not in page
    assert rows(page, "annotators")[1] == ["No read has been reviewed yet."]


def test_alice_is_turned_away_with_the_role_she_would_need(alice):
    client = Client()
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 403
    assert b"reviewer" in response.content
    assert b"Double reads" not in response.content


def test_an_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
