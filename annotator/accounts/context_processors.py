"""The page header: the signed-in user's role and the pages that role may open.

A link the role could not follow is never shown, so nobody meets a 403 page by clicking
through the header. A page whose URL is not in the URLconf (yet) is left out, too.
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from annotator.accounts.roles import ADMIN, ANNOTATOR, REVIEWER, has_role, role_of


@dataclass(frozen=True)
class Page:
    name: str  # the URL name
    title: str
    url: str
    current: bool


# (URL name, title, the least role that may open it), in the header's order.
PAGES: list[tuple[str, str, str]] = [
    ("label", "Label", ANNOTATOR),
    ("review", "Review", REVIEWER),
    ("returned", "Returned to me", ANNOTATOR),
    ("models", "Models", ANNOTATOR),
    ("learning", "Learning", ANNOTATOR),
    ("studies", "Second eye", ANNOTATOR),
    ("quality", "Quality", REVIEWER),
    ("audit-log", "Audit log", ADMIN),
    ("admin:index", "Users & admin", ADMIN),
]


def navigation(request: HttpRequest) -> dict:
    """`role` (None without one) and `site_pages`, the header's links for this user."""
    user = getattr(request, "user", None)
    role = role_of(user)
    if role is None:
        return {"role": None, "site_pages": []}
    pages = []
    for name, title, least in PAGES:
        if not has_role(user, least):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        pages.append(Page(name, title, url, current=request.path.startswith(url)))
    return {"role": role, "site_pages": pages}
