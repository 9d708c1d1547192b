from django.urls import path

from annotator.review import api

urlpatterns = [
    path("reviews/next/", api.review_next, name="review-next"),
    path("reviews/returned/", api.returned, name="review-returned"),
    path("reviews/", api.reviews, name="review-list"),
]
