"""Transfers between warehouses in the console (docs/architecture.md, "Transfers between
warehouses"): the list with the units on each, a page to draft one, and each transfer's page with
the steps the reader may take (send, receive with what arrived, cancel a draft)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, badge, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Inventory, require
from core.transitions import TransitionRefused

from .. import selectors, services
from ..forms import ReceiveTransferForm, TransferForm
from ..models import Transfer

REFUSALS = (ValidationError, TransitionRefused, PermissionDenied)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdminMixin, ConsolePageMixin, admin.ModelAdmin):
    list_display = ("transfer_link", "source", "destination", "state", "units", "created_at", "sent_at", "received_at")
    list_display_links = None
    list_filter = ("status", "source", "destination")
    search_fields = ("lines__product__sku",)
    change_list_template = "admin/inventory/transfer/change_list.html"

    def get_queryset(self, request):
        return selectors.transfers_with_units()

    @admin.display(description=_("transfer"), ordering="pk")
    def transfer_link(self, transfer):
        return format_html('<a href="{}">{}</a>', self.admin_view_url("page", transfer.pk), transfer.number)

    @admin.display(description=_("status"), ordering="status")
    def state(self, transfer):
        return badge("transfer", transfer.status, transfer.get_status_display())

    @admin.display(description=_("units"), ordering="units")
    def units(self, transfer):
        return transfer.units

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_draft": request.user.has_perm(Inventory.ADD_TRANSFER)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            return redirect(self.admin_view_url("page", int(object_id)))
        except ValueError:
            raise Http404 from None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("new/", view(self.new_view), name=self.admin_view_name("new")),
            path("<int:transfer_id>/page/", view(self.page_view), name=self.admin_view_name("page")),
            path("<int:transfer_id>/send/", view(self.send_view), name=self.admin_view_name("send")),
            path("<int:transfer_id>/receive/", view(self.receive_view), name=self.admin_view_name("receive")),
            path("<int:transfer_id>/cancel/", view(self.cancel_view), name=self.admin_view_name("cancel")),
        ] + super().get_urls()

    def transfer_or_404(self, transfer_id):
        transfer = selectors.transfers_with_units().filter(pk=transfer_id).first()
        if transfer is None:
            raise Http404(gettext("There is no transfer %(number)s.") % {"number": transfer_id})
        return transfer

    def new_view(self, request):
        require(request.user, Inventory.ADD_TRANSFER, gettext("Your role may not draft transfers."))
        form = TransferForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                transfer = services.create_transfer(
                    source_id=data["source"].pk,
                    destination_id=data["destination"].pk,
                    lines=data["lines"],
                    note=data["note"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("Transfer %(number)s drafted.") % {"number": transfer.number})
                return redirect(self.admin_view_url("page", transfer.pk))
        context = self.page_context(
            request,
            gettext("New transfer"),
            form=form,
            submit_label=gettext("Draft the transfer"),
            cancel_url=self.changelist_url(),
        )
        return TemplateResponse(request, "admin/inventory/transfer/new.html", context)

    def page_view(self, request, transfer_id, receive_form=None):
        require(request.user, Inventory.VIEW_TRANSFER, gettext("Your role may not see transfers."))
        transfer = self.transfer_or_404(transfer_id)
        lines = list(transfer.lines.select_related("product"))
        user = request.user
        status = transfer.status
        if receive_form is None and status == Transfer.Status.IN_TRANSIT and user.has_perm(Inventory.RECEIVE_TRANSFER):
            receive_form = ReceiveTransferForm(lines=lines)
        context = self.page_context(
            request,
            gettext("Transfer %(number)s") % {"number": transfer.number},
            transfer=transfer,
            lines=lines,
            times=[
                (label, short_datetime(moment), who)
                for label, moment, who in (
                    (gettext("Drafted"), transfer.created_at, transfer.created_by),
                    (gettext("Sent"), transfer.sent_at, transfer.sent_by),
                    (gettext("Received"), transfer.received_at, transfer.received_by),
                    (gettext("Cancelled"), transfer.cancelled_at, transfer.cancelled_by),
                )
                if moment
            ],
            may_send=status == Transfer.Status.DRAFT and user.has_perm(Inventory.SEND_TRANSFER),
            may_cancel=status == Transfer.Status.DRAFT and user.has_perm(Inventory.ADD_TRANSFER),
            receive_form=receive_form,
            send_url=self.admin_view_url("send", transfer.pk),
            receive_url=self.admin_view_url("receive", transfer.pk),
            cancel_url=self.admin_view_url("cancel", transfer.pk),
        )
        return TemplateResponse(request, "admin/inventory/transfer/page.html", context)

    def _step(self, request, transfer_id, act, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        transfer = self.transfer_or_404(transfer_id)
        try:
            act(transfer)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, done % {"number": transfer.number})
        return redirect(self.admin_view_url("page", transfer.pk))

    def send_view(self, request, transfer_id):
        return self._step(
            request,
            transfer_id,
            lambda transfer: services.send_transfer(transfer.pk, actor=request.user),
            gettext("Transfer %(number)s sent: its goods are booked out and in transit."),
        )

    def cancel_view(self, request, transfer_id):
        return self._step(
            request,
            transfer_id,
            lambda transfer: services.cancel_transfer(transfer.pk, actor=request.user),
            gettext("Transfer %(number)s cancelled."),
        )

    def receive_view(self, request, transfer_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        require(request.user, Inventory.RECEIVE_TRANSFER, gettext("Your role may not receive transfers."))
        transfer = self.transfer_or_404(transfer_id)
        form = ReceiveTransferForm(request.POST, lines=list(transfer.lines.select_related("product")))
        if form.is_valid():
            try:
                services.receive_transfer(
                    transfer.pk, received=form.received(), reasons=form.reasons(), actor=request.user
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    gettext("Transfer %(number)s received at %(warehouse)s.")
                    % {"number": transfer.number, "warehouse": transfer.destination},
                )
                return redirect(self.admin_view_url("page", transfer.pk))
        return self.page_view(request, transfer_id, receive_form=form)
