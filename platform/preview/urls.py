from django.urls import path

from preview import views

app_name = "preview"
urlpatterns = [
    path("room/live", views.room_live, name="room"),
    path("interviews/<int:interview_id>/live", views.console_live, name="console"),
    path("interviews/<int:interview_id>/live/scenario", views.console_scenario, name="scenario"),
]
