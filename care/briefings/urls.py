from django.urls import path

from care.briefings import views

app_name = "briefings"

urlpatterns = [
    path("", views.board, name="board"),
    path("board/live/", views.board_fragment, name="board_live"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("incidents/<str:reference>/", views.briefing, name="briefing"),
    path("incidents/<str:reference>/live/", views.briefing_live, name="briefing_live"),
    path("customers/", views.customer_search, name="customer_search"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
    path("customers/<int:pk>/notes/", views.contact_note_create, name="contact_note_create"),
]
