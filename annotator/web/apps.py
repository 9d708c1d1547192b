from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "annotator.web"
    verbose_name = "Pages"
