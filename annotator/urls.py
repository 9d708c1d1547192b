from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from annotator import pages

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="label", permanent=False)),
    path("label/", pages.label, name="label"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("annotator.api.urls")),
    path("admin/", admin.site.urls),
]
