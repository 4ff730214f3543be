"""Token pages under /settings/ (included by rapport/urls.py); the API itself is in urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<int:token_id>/revoke/", views.revoke_api_token, name="revoke_api_token"),
]
