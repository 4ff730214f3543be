"""Deal pages: the board, the list, the deal page and its forms. `urlpatterns` is collected by
rapport/sales/urls.py (mounted at the site root)."""

from django.urls import path

from . import board, export, pages, parts

urlpatterns = [
    path("deals/", board.deal_list, name="deal_list"),
    path("deals/export/", export.deal_export, name="deal_export"),
    path("deals/board/", board.deal_board, name="deal_board"),
    path("deals/board/<int:pipeline_id>/", board.deal_board, name="deal_board"),
    path("deals/board/column/<int:stage_id>/", board.deal_board_column, name="deal_board_column"),
    path("deals/new/", pages.deal_create, name="deal_create"),
    path("deals/<int:deal_id>/", pages.deal_detail, name="deal_detail"),
    path("deals/<int:deal_id>/edit/", pages.deal_edit, name="deal_edit"),
    path("deals/<int:deal_id>/delete/", pages.deal_delete, name="deal_delete"),
    path("deals/<int:deal_id>/restore/", pages.deal_restore, name="deal_restore"),
    path("deals/<int:deal_id>/move/", board.deal_move, name="deal_move"),
    path("deals/<int:deal_id>/activities/", pages.deal_log_activity, name="deal_log_activity"),
    path("deals/<int:deal_id>/contacts/", parts.deal_contact_set, name="deal_contact_set"),
    path("deals/<int:deal_id>/contacts/<int:contact_id>/remove/", parts.deal_contact_remove,
         name="deal_contact_remove"),
    path("deals/<int:deal_id>/lines/", parts.deal_line_add, name="deal_line_add"),
    path("deals/<int:deal_id>/lines/<int:item_id>/", parts.deal_line_edit, name="deal_line_edit"),
    path("deals/<int:deal_id>/lines/<int:item_id>/remove/", parts.deal_line_remove, name="deal_line_remove"),
    path("deals/<int:deal_id>/win/", parts.deal_win, name="deal_win"),
    path("deals/<int:deal_id>/lose/", parts.deal_lose, name="deal_lose"),
    path("deals/<int:deal_id>/reopen/", parts.deal_reopen, name="deal_reopen"),
]
