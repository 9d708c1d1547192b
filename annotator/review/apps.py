from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "annotator.review"
    verbose_name = "Review of labels"
