from django.urls import path

from annotator.api.views import imaging, labeling, learning, second_eye, study_series, workspace

urlpatterns = [
    path("queue/next/", labeling.queue_next, name="queue-next"),
    path("queue/renew/", workspace.queue_renew, name="queue-renew"),
    path("queue/release/", workspace.queue_release, name="queue-release"),
    path("queue/take-back/", workspace.queue_take_back, name="queue-take-back"),
    path("me/preferences/", workspace.preferences, name="preferences"),
    path("me/stats/", workspace.stats, name="workspace-stats"),
    path("me/recent-labels/", workspace.recent_labels, name="recent-labels"),
    path("slices/<int:slice_id>/item/", workspace.slice_item, name="slice-item"),
    path("annotations/", labeling.labels, name="annotation-list"),
    path("annotations/<int:label_id>/", labeling.label_detail, name="annotation-detail"),
    path(
        "annotations/<int:label_id>/withdraw/", labeling.label_withdraw, name="annotation-withdraw"
    ),
    path("slices/<int:slice_id>/dicom/", imaging.slice_dicom, name="slice-dicom"),
    path("slices/<int:slice_id>/heatmap/", imaging.slice_heatmap, name="slice-heatmap"),
    path(
        "slices/<int:slice_id>/study-series/",
        study_series.slice_study_series,
        name="slice-study-series",
    ),
    path("slices/<int:slice_id>/preview.png", second_eye.slice_preview, name="slice-preview"),
    path("studies/", second_eye.StudyList.as_view(), name="study-list"),
    path("studies/<int:study_id>/read/", second_eye.study_read, name="study-read"),
    path("models/", learning.ModelVersionList.as_view(), name="model-list"),
    path("training-runs/", learning.TrainingRunList.as_view(), name="training-run-list"),
    path("models/retrain/", learning.retrain, name="model-retrain"),
    path("models/<int:model_id>/report/", learning.report, name="model-report"),
    path("models/<int:model_id>/promote/", learning.promote, name="model-promote"),
    path("models/<int:model_id>/rollback/", learning.roll_back, name="model-rollback"),
    path("training-runs/<int:run_id>/cancel/", learning.cancel_run, name="training-run-cancel"),
]
