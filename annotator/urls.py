from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from annotator.accounts.views import LoginView
from annotator.web import export, learning_page, models_page, second_eye, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="label", permanent=False)),
    path("label/", views.label, name="label"),
    path("models/", models_page.models, name="models"),
    path("models/<int:model_id>/", models_page.report, name="model-report-page"),
    path("learning/", learning_page.learning, name="learning"),
    path("models/retrain/", models_page.retrain, name="models-retrain"),
    path("models/<int:model_id>/promote/", models_page.promote, name="models-promote"),
    path("models/<int:model_id>/rollback/", models_page.roll_back, name="models-rollback"),
    path("training-runs/<int:run_id>/cancel/", models_page.cancel, name="models-cancel"),
    path("labels/export.csv", export.labels_csv, name="label-export"),
    path("studies/", second_eye.studies, name="studies"),
    path("studies/<int:study_id>/", second_eye.study_read, name="study-read-page"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    # No password reset by e-mail: the clinic's admin sets a forgotten password with
    # `manage.py adduser NAME --update` or in the Django admin.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("annotator.web.review_urls")),
    path("", include("annotator.quality.urls")),
    path("", include("annotator.audit.urls")),
    path("api/", include("annotator.api.urls")),
    path("api/", include("annotator.review.api_urls")),
    path("admin/", admin.site.urls),
]
