from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "annotator.imaging"
    verbose_name = "Images (dogs, studies, series, slices)"
