from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "annotator.learning"
    verbose_name = "Training and models"
