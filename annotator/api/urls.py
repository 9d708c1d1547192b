from django.urls import path

from annotator.api import views

urlpatterns = [
    path("queue/next/", views.queue_next, name="queue-next"),
    path("annotations/", views.annotations, name="annotation-list"),
    path("slices/<int:slice_id>/dicom/", views.slice_dicom, name="slice-dicom"),
    path("models/", views.model_versions, name="model-list"),
    path("models/retrain/", views.retrain, name="model-retrain"),
]
