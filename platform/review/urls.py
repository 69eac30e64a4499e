from django.urls import path

from review import views

app_name = "review"
urlpatterns = [
    path("", views.review_list, name="list"),
    path("compare/", views.compare, name="compare"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.json", views.export_json, name="export_json"),
    path("exercise/<slug:slug>/distribution/", views.distribution, name="distribution"),
    path("<int:pk>/", views.scorecard, name="scorecard"),
    path("<int:pk>/replay/", views.replay, name="replay"),
    path("<int:pk>/decision/", views.decide, name="decide"),
    path("<int:pk>/regrade/", views.regrade, name="regrade"),
]
