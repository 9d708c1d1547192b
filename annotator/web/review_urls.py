from django.urls import path

from annotator.web import review_page

urlpatterns = [
    path("review/", review_page.review, name="review"),
    path("returned/", review_page.returned, name="returned"),
]
