from django.urls import path

from web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("interviews/", views.dashboard, name="dashboard"),
    path("interviews/schedule", views.schedule, name="schedule"),
    path("interviews/<int:interview_id>/", views.console, name="console"),
    path("interviews/<int:interview_id>/invite/reissue", views.invite_reissue, name="reissue"),
    path("interviews/<int:interview_id>/invite/revoke", views.invite_revoke, name="revoke"),
    path("i/<str:token>", views.invite, name="invite"),
    path("room/", views.room, name="room"),
    path("room/take-over", views.room_take_over, name="take_over"),
]
