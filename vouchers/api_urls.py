"""Voucher routes under /api/v1/ (included by config/api_urls.py)."""

from django.urls import path

from vouchers import api

urlpatterns = [
    path("vouchers/", api.VoucherListView.as_view(), name="voucher-list"),
    path("vouchers/<int:pk>/", api.VoucherDetailView.as_view(), name="voucher-detail"),
    path("vouchers/validate", api.VoucherValidateView.as_view(), name="voucher-validate"),
    path("vouchers/redeem", api.VoucherRedeemView.as_view(), name="voucher-redeem"),
]
