"""The page header: each person sees their role and only the pages they may open.

Alice labels (annotator), Rita reviews (reviewer), Carol runs the clinic's Dachs (admin).
"""

import re

import pytest
from django.shortcuts import render
from django.test import Client
from django.urls import NoReverseMatch, path, reverse

from annotator.accounts import context_processors
from tests.conftest import person

pytestmark = pytest.mark.django_db

# The header's links per role, in order. A page whose URL is not in the URLconf yet is
# hidden; `built()` drops it from what is expected, so this list holds the whole design.
ANNOTATORS = ["Label", "Returned to me", "Models", "Learning", "Second eye"]
REVIEWERS = ["Label", "Review", "Returned to me", "Models", "Learning", "Second eye", "Quality"]
HEADER = {
    "annotator": ANNOTATORS,
    "reviewer": REVIEWERS,
    "admin": [*REVIEWERS, "Audit log", "Users & admin"],
}
NAMES = {title: name for name, title, _ in context_processors.PAGES}
LINK = re.compile(r'<a href="([^"]+)" data-page="[^"]+"(?: aria-current="page")?>([^<]+)</a>')


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def built(titles: list[str]) -> list[str]:
    def exists(title: str) -> bool:
        try:
            reverse(NAMES[title])
        except NoReverseMatch:
            return False
        return True

    return [t for t in titles if exists(t)]


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def header_links(page: str) -> list[tuple[str, str]]:
    header = page.split("</header>")[0]
    return [(title.replace("&amp;", "&"), href) for href, title in LINK.findall(header)]


@pytest.mark.parametrize("role", ["annotator", "reviewer", "admin"])
def test_each_role_sees_exactly_its_pages_and_can_open_each(role):
    user = person(f"dr-{role}", role)
    client = browser_for(user)

    page = client.get("/models/").content.decode()

    links = header_links(page)
    assert [title for title, _ in links] == built(HEADER[role])
    for title, href in links:
        response = client.get(href)
        assert response.status_code == 200, f"{role} is shown {title} ({href}) but gets {response}"


def test_the_role_stands_next_to_the_name(alice, rita, carol):
    for user, role in [(alice, "annotator"), (rita, "reviewer"), (carol, "admin")]:
        page = browser_for(user).get("/models/").content.decode()
        assert f'<strong id="username">{user.username}</strong>' in page
        assert f'<span id="role" class="role">({role})</span>' in page


def test_the_open_page_is_marked_current(alice):
    page = browser_for(alice).get("/models/").content.decode()
    assert 'href="/models/" data-page="models" aria-current="page">Models</a>' in page
    assert 'data-page="label">Label</a>' in page


def test_annotators_never_see_the_admins_links(alice):
    page = browser_for(alice).get("/label/").content.decode()
    assert "Audit log" not in page
    assert "Users &amp; admin" not in page
    assert 'href="/admin/' not in page


def test_an_account_without_a_role_sees_no_links_and_is_told_why(django_user_model):
    nobody = django_user_model.objects.create_user("newcomer", password="x-pass-123")

    response = browser_for(nobody).get("/label/")

    page = response.content.decode()
    assert response.status_code == 403
    assert header_links(page) == []
    assert "(no role)" in page
    assert "Your account has no role in Dachs yet" in page


def test_the_forbidden_page_names_the_users_role(alice):
    page = browser_for(alice).get("/audit/").content.decode()
    assert "This page is for the role <strong>admin</strong>" in page
    assert "you are signed in as <strong>annotator</strong>" in page


def bare_page(request):
    return render(request, "web/base.html")


# A URLconf without most pages, as while they are being built.
urlpatterns = [
    path("label/", bare_page, name="label"),
    path("accounts/logout/", bare_page, name="logout"),
]


@pytest.mark.urls(__name__)
def test_a_page_missing_from_the_urlconf_is_left_out_of_the_header(carol):
    page = browser_for(carol).get("/label/").content.decode()
    assert header_links(page) == [("Label", "/label/")]
