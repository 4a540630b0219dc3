"""For OrderAdmin: the order page's "Edit order" and "Split" pages, the release of goods held back
for a later parcel, and the links between split orders (docs/architecture.md, "Orders that change")."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext

from core.console import refusal_message
from core.forms import add_service_error
from core.permissions import Orders, require

from .. import selectors, services
from ..forms import (
    SERVICE_LINE_KEY,
    NewLineFormSet,
    OrderLineEditFormSet,
    OrderMoneyForm,
    SplitForm,
)
from ..models import Allocation, Order
from ..services.checks import describe
from .display import REFUSALS


def _seen(value):
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def may_change(user, order):
    return user.has_perm(Orders.EDIT_ORDER) and order.status in Order.BEFORE_PICKING


class OrderChangeViews:
    """Editing and splitting an order before picking, from its page."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/edit/", wrap(self.edit_view), name="orders_order_edit"),
            path("<path:object_id>/split/", wrap(self.split_view), name="orders_order_split"),
            path("<path:object_id>/release-later/", wrap(self.release_later_view), name="orders_order_release_later"),
        ] + super().get_urls()

    def changes_context(self, request, order):
        """What the order page shows of edits and splits, from an order fetched by order_for_page."""
        user = request.user
        held_back = any(
            allocation.ship_later and allocation.state == Allocation.State.RESERVED
            for line in order.lines.all()
            for allocation in line.allocations.all()
        )
        changeable = may_change(user, order)
        return {
            "edit_url": reverse("admin:orders_order_edit", args=[order.pk]) if changeable else "",
            "split_url": reverse("admin:orders_order_split", args=[order.pk]) if changeable else "",
            "release_later_url": (
                reverse("admin:orders_order_release_later", args=[order.pk])
                if held_back and user.has_perm(Orders.EDIT_ORDER)
                else ""
            ),
            "held_back": held_back,
            "linked_orders": [
                {"order": linked, "url": reverse("admin:orders_order_change", args=[linked.pk])}
                for linked in selectors.linked_orders(order)
            ],
        }

    def _changeable_order(self, request, object_id):
        order = self.viewable_order(request, object_id, fetch=selectors.order_for_page)
        require(request.user, Orders.EDIT_ORDER)
        return order

    # Edit order -----------------------------------------------------------------------------------

    def edit_view(self, request, object_id):
        order = self._changeable_order(request, object_id)
        if order.status not in Order.BEFORE_PICKING:
            self.message_user(
                request,
                gettext("Order %(number)s is %(status)s: it can no longer be edited.")
                % {"number": order.number, "status": order.get_status_display()},
                messages.ERROR,
            )
            return self.back_to_order(request, order.pk)
        prices = {"may_set_prices": services.may_set_prices(request.user)}
        lines = list(order.lines.all())
        if request.method == "POST":
            money = OrderMoneyForm(request.POST, **prices)
            line_formset = OrderLineEditFormSet(request.POST, prefix="lines", form_kwargs=prices)
            new_formset = NewLineFormSet(request.POST, prefix="new", form_kwargs=prices)
            if money.is_valid() and line_formset.is_valid() and new_formset.is_valid():
                done = self._edit(request, order, money, line_formset, new_formset, prices)
                if done is not None:
                    return done
        else:
            money = OrderMoneyForm(
                initial={
                    "seen": order.updated_at.isoformat(),
                    "shipping_fee": order.shipping_fee,
                    "discount": order.discount,
                },
                **prices,
            )
            line_formset = OrderLineEditFormSet(
                prefix="lines",
                initial=[
                    {"line_id": line.pk, "quantity": line.quantity, "unit_price": line.unit_price} for line in lines
                ],
                form_kwargs=prices,
            )
            new_formset = NewLineFormSet(prefix="new", form_kwargs=prices)
        line_of = {line.pk: line for line in lines}
        rows = []
        for form in line_formset:
            line_id = form["line_id"].value()
            rows.append((line_of.get(int(line_id)) if str(line_id or "").isdigit() else None, form))
        context = {
            **prices,
            **self.page_context(request, gettext("Edit order %(number)s") % {"number": order.number}),
            "order": order,
            "money_form": money,
            "line_formset": line_formset,
            "line_rows": rows,
            "new_formset": new_formset,
            "order_url": reverse("admin:orders_order_change", args=[order.pk]),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/orders/order/edit.html", context)

    def _edit(self, request, order, money, line_formset, new_formset, prices):
        new_forms = new_formset.filled_forms()
        changes = [
            services.LineChange(
                form.cleaned_data["line_id"],
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data.get("unit_price"),
            )
            for form in line_formset
        ]
        add = [
            services.LineInput(
                sku=form.cleaned_data["sku"],
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data.get("unit_price"),
            )
            for form in new_forms
        ]
        try:
            result = services.edit_order(
                order.pk,
                actor=request.user,
                changes=changes,
                add=add,
                shipping_fee=money.cleaned_data["shipping_fee"],
                discount=money.cleaned_data["discount"] if prices["may_set_prices"] else None,
                seen_updated_at=_seen(money.cleaned_data.get("seen")),
            )
        except ValidationError as error:
            _show_edit_error(error, money, line_formset, new_forms)
            return None
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
            return self.back_to_order(request, order.pk)
        edited = result.order
        if result.held:
            self.message_user(
                request,
                gettext("Order %(number)s is changed and held for review: %(reasons)s")
                % {
                    "number": edited.number,
                    "reasons": " ".join(describe(reason) for reason in edited.hold_reasons)
                    or gettext("its risk score is high."),
                },
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                gettext("Order %(number)s is changed: %(summary)s")
                % {"number": edited.number, "summary": result.summary},
                messages.SUCCESS,
            )
        if result.refunds:
            self.message_user(
                request,
                gettext("A refund of %(amount)s is requested for the lower total; Finance approves it.")
                % {"amount": sum(refund.amount for refund in result.refunds)},
                messages.INFO,
            )
        return self.back_to_order(request, order.pk)

    # Split ----------------------------------------------------------------------------------------

    def split_view(self, request, object_id):
        order = self._changeable_order(request, object_id)
        lines = list(order.lines.all())
        if request.method == "POST":
            form = SplitForm(request.POST, lines=lines)
            if form.is_valid():
                done = self._split(request, order, form)
                if done is not None:
                    return done
        else:
            form = SplitForm(initial={"seen": order.updated_at.isoformat()}, lines=lines)
        context = {
            **self.page_context(request, gettext("Split order %(number)s") % {"number": order.number}),
            "order": order,
            "form": form,
            "order_url": reverse("admin:orders_order_change", args=[order.pk]),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/orders/order/split.html", context)

    def _split(self, request, order, form):
        seen = _seen(form.cleaned_data.get("seen"))
        try:
            if form.cleaned_data["mode"] == SplitForm.NEW_ORDER:
                result = services.split_off(order.pk, form.units(), actor=request.user, seen_updated_at=seen)
                message = gettext("Order %(number)s is split: the units chosen are now order %(new)s.") % {
                    "number": order.number,
                    "new": result.new_order.number,
                }
            else:
                services.ship_later(order.pk, form.units(), actor=request.user, seen_updated_at=seen)
                message = gettext(
                    "Order %(number)s is split: the units chosen stay reserved and wait for a later parcel."
                ) % {"number": order.number}
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for key, texts in error.message_dict.items():
                    field = f"units-{key.removeprefix('line-')}" if key.startswith("line-") else None
                    form.add_error(field if field in form.fields else None, texts)
            else:
                form.add_error(None, error.messages)
            return None
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
            return self.back_to_order(request, order.pk)
        self.message_user(request, message, messages.SUCCESS)
        return self.back_to_order(request, order.pk)

    def release_later_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        require(request.user, Orders.EDIT_ORDER)
        try:
            services.release_ship_later(order.pk, actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The goods held back of order %(number)s may go on the next pick list.")
                % {"number": order.number},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))


def _show_edit_error(error, money, line_formset, new_forms):
    """A service refusal next to what it names: `line-<id>.<field>` at that line, `lines[n].<field>`
    at the n-th new line, shipping and discount on their fields, the rest above the form."""
    if not hasattr(error, "error_dict"):
        money.add_error(None, error.messages)
        return
    by_line = {form.cleaned_data.get("line_id"): form for form in line_formset}
    rest = {}
    for key, texts in error.message_dict.items():
        if key.startswith("line-") and "." in key:
            line_id, field = key.removeprefix("line-").split(".", 1)
            form = by_line.get(int(line_id)) if line_id.isdigit() else None
            if form is not None and field in form.fields:
                form.add_error(field, texts)
                continue
        match = SERVICE_LINE_KEY.match(key)
        if match:
            index, field = int(match.group(1)) - 1, match.group(2)
            if 0 <= index < len(new_forms) and field in new_forms[index].fields:
                new_forms[index].add_error(field, texts)
                continue
        rest[key] = texts
    add_service_error(money, ValidationError(rest))
