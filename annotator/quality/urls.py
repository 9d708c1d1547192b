from django.urls import path

from annotator.quality import views

urlpatterns = [
    path("quality/", views.quality, name="quality"),
    path("api/quality/agreement/", views.agreement_api, name="quality-agreement"),
]
