from django.urls import path

from annotator.audit import views

urlpatterns = [
    path("audit/", views.audit_log, name="audit-log"),
    path("slices/<int:slice_id>/history/", views.slice_history, name="slice-history"),
]
