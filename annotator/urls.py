from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from annotator.accounts.views import LoginView
from annotator.web import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="label", permanent=False)),
    path("label/", views.label, name="label"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("annotator.api.urls")),
    path("admin/", admin.site.urls),
]
