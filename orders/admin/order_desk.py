"""The order list at volume (docs/architecture.md, "The order list at volume"): status tabs with
capped counts, each person's saved views, tags (a column, a filter, bulk add and remove), and the
bulk actions that ask something first (a note, another warehouse), plus those apps above orders
offer through orders.events.ORDER_LIST_ACTIONS (the carrier service, printing)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.forms import add_service_error
from core.permissions import Orders, may

from .. import selectors, services
from ..events import ORDER_LIST_ACTIONS
from ..forms import AddTagForm, NoteForm, RemoveTagForm, SaveViewForm, WarehouseChoiceForm
from ..models import SavedView
from ..services.saved_views import clean_query
from .actions import FAILURES_LISTED
from .tabs import tab_rows

CONFIRM = "confirm_action"


class TagFilter(admin.SimpleListFilter):
    """Orders with a tag: read through the tag's index (order_tagged_once, tag first)."""

    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(str(tag.pk), tag.name) for tag in selectors.order_tags()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(taggings__tag_id=int(value))


class OrderDeskMixin:
    """For the order list's ModelAdmin (with OrderActionsMixin)."""

    # The list -----------------------------------------------------------------------------------

    @admin.display(description=_("tags"))
    def tags_display(self, order):
        return format_html_join(
            " ", '<span class="oc-tag oc-tag-{}">{}</span>', ((tag.colour, tag.name) for tag in order.tags.all())
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        changelist = (context or {}).get("cl")
        if changelist is None:
            return response
        # The page's tags in one query.
        prefetch_related_objects(changelist.result_list, "tags")
        query = request.GET.copy()
        for marker in ("p", "e"):
            query.pop(marker, None)
        context.update(
            {
                "tabs": tab_rows(self, request, changelist),
                "saved_views": list(selectors.saved_views_of(request.user)),
                "save_view_form": SaveViewForm(initial={"query": query.urlencode()}),
                "current_query": query.urlencode(),
            }
        )
        return response

    # Saved views --------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("views/save/", wrap(self.save_view_view), name="orders_order_save_view"),
            path("views/<int:view_id>/delete/", wrap(self.delete_view_view), name="orders_order_delete_view"),
        ] + super().get_urls()

    def save_view_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SaveViewForm(request.POST)
        query = request.POST.get("query", "")
        if form.is_valid():
            try:
                view = services.save_view(form.cleaned_data["name"], form.cleaned_data["query"], actor=request.user)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                self.message_user(request, gettext("View “%(name)s” saved.") % {"name": view.name}, messages.SUCCESS)
                return HttpResponseRedirect(self.changelist_url(view.query))
        for error in form.errors.values():
            self.message_user(request, " ".join(error), messages.ERROR)
        return HttpResponseRedirect(self.changelist_url(clean_query(query)))

    def delete_view_view(self, request, view_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            services.delete_view(view_id, actor=request.user)
        except SavedView.DoesNotExist:
            self.message_user(request, gettext("That view no longer exists."), messages.ERROR)
        else:
            self.message_user(request, gettext("View deleted."), messages.SUCCESS)
        return HttpResponseRedirect(self.changelist_url())

    # Actions contributed by apps above orders ---------------------------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return actions
        for offered in ORDER_LIST_ACTIONS.publish():
            for action in offered or ():
                if may(request.user, action["permission"]):
                    actions[action["name"]] = (action["function"], action["name"], action["description"])
        return actions

    # Asking before acting, and saying what was done ----------------------------------------------

    def ask(self, request, queryset, action_name, form, *, title, explanation, button):
        """The chosen orders and the valid form once the person confirmed; otherwise (None, the
        page asking, or None when too many orders were chosen)."""
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return None, None
        if form.is_bound and form.is_valid():
            return selected, form
        return None, self.asking_page(request, selected, action_name, form, title, explanation, button)

    def asking_page(self, request, selected, action_name, form, title, explanation, button):
        context = {
            **self.page_context(request, title),
            "explanation": explanation,
            "button": button,
            "form": form,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "confirm": CONFIRM,
            "order_numbers": [number for _order_id, number in selected],
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/orders/order/action_form.html", context)

    def bound(self, request, form_class, **kwargs):
        return form_class(request.POST if CONFIRM in request.POST else None, **kwargs)

    def report(self, request, done_message, refused, *notes):
        """One summary: how many were done, then each refusal with why (at most FAILURES_LISTED)."""
        if done_message:
            self.message_user(request, done_message, messages.SUCCESS)
        for note in notes:
            if note:
                self.message_user(request, note, messages.WARNING)
        refused = list(refused.items())
        for number, reason in refused[:FAILURES_LISTED]:
            self.message_user(request, f"{number}: {reason}", messages.ERROR)
        if len(refused) > FAILURES_LISTED:
            hidden = len(refused) - FAILURES_LISTED
            self.message_user(
                request,
                ngettext("… and %(count)d more order was refused.", "… and %(count)d more orders were refused.", hidden)
                % {"count": hidden},
                messages.ERROR,
            )

    # Tags and notes ------------------------------------------------------------------------------

    def has_tag_permission(self, request):
        return request.user.has_perm(Orders.TAG_ORDER)

    def has_note_permission(self, request):
        return request.user.has_perm(Orders.ADD_ORDERNOTE)

    def has_change_warehouse_permission(self, request):
        return request.user.has_perm(Orders.CHANGE_ORDER_WAREHOUSE)

    @admin.action(description=_("Add a tag to selected orders…"), permissions=["tag"])
    def add_tag_selected(self, request, queryset):
        may_create = request.user.has_perm(Orders.ADD_ORDERTAG)
        form = self.bound(request, AddTagForm, may_create=may_create)
        texts = {
            "title": _("Add a tag"),
            "explanation": _("Choose a tag, or type the name of a new one.")
            if may_create
            else _("Choose the tag to put on these orders."),
            "button": _("Add the tag"),
        }
        selected, answer = self.ask(request, queryset, "add_tag_selected", form, **texts)
        if selected is None:
            return answer
        tag = form.cleaned_data["tag"]
        try:
            result = services.tag_orders(
                [order_id for order_id, _number in selected],
                actor=request.user,
                tag_id=tag.pk if tag else None,
                name=form.cleaned_data.get("name", ""),
            )
        except ValidationError as error:
            add_service_error(form, error)
            return self.asking_page(request, selected, "add_tag_selected", form, **texts)
        self.report(
            request,
            ngettext(
                "Tag “%(tag)s” added to %(count)d order.", "Tag “%(tag)s” added to %(count)d orders.", result.changed
            )
            % {"tag": result.tag, "count": result.changed},
            {},
            ngettext("%(count)d order had it already.", "%(count)d orders had it already.", result.unchanged)
            % {"count": result.unchanged}
            if result.unchanged
            else "",
        )
        return None

    @admin.action(description=_("Remove a tag from selected orders…"), permissions=["tag"])
    def remove_tag_selected(self, request, queryset):
        form = self.bound(request, RemoveTagForm)
        selected, answer = self.ask(
            request,
            queryset,
            "remove_tag_selected",
            form,
            title=_("Remove a tag"),
            explanation=_("Choose the tag to take off these orders."),
            button=_("Remove the tag"),
        )
        if selected is None:
            return answer
        result = services.untag_orders(
            [order_id for order_id, _number in selected], tag_id=form.cleaned_data["tag"].pk, actor=request.user
        )
        self.report(
            request,
            ngettext(
                "Tag “%(tag)s” removed from %(count)d order.",
                "Tag “%(tag)s” removed from %(count)d orders.",
                result.changed,
            )
            % {"tag": result.tag, "count": result.changed},
            {},
        )
        return None

    @admin.action(description=_("Add a note to selected orders…"), permissions=["note"])
    def add_note_selected(self, request, queryset):
        form = self.bound(request, NoteForm)
        texts = {
            "title": _("Add a note"),
            "explanation": _("The same staff note goes on each order's timeline."),
            "button": _("Add the note"),
        }
        selected, answer = self.ask(request, queryset, "add_note_selected", form, **texts)
        if selected is None:
            return answer
        try:
            notes = services.add_notes(
                [order_id for order_id, _number in selected], author=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            add_service_error(form, error)
            return self.asking_page(request, selected, "add_note_selected", form, **texts)
        self.report(
            request,
            ngettext("Note added to %(count)d order.", "Note added to %(count)d orders.", len(notes))
            % {"count": len(notes)},
            {},
        )
        return None

    # Another warehouse --------------------------------------------------------------------------

    @admin.action(description=_("Change warehouse of selected orders…"), permissions=["change_warehouse"])
    def change_warehouse_selected(self, request, queryset):
        form = self.bound(request, WarehouseChoiceForm)
        texts = {
            "title": _("Change warehouse"),
            "explanation": _(
                "Each order not yet picking has its reserved stock moved to this warehouse, whole or not "
                "at all: an order the warehouse cannot fill stays where it is, with the SKUs it lacks."
            ),
            "button": _("Move the orders"),
        }
        selected, answer = self.ask(request, queryset, "change_warehouse_selected", form, **texts)
        if selected is None:
            return answer
        warehouse = form.cleaned_data["warehouse"]
        try:
            result = services.change_warehouse(
                [order_id for order_id, _number in selected], warehouse.pk, actor=request.user
            )
        except ValidationError as error:
            add_service_error(form, error)
            return self.asking_page(request, selected, "change_warehouse_selected", form, **texts)
        self.report(
            request,
            ngettext(
                "%(count)d order now has its stock reserved in %(warehouse)s.",
                "%(count)d orders now have their stock reserved in %(warehouse)s.",
                len(result.done),
            )
            % {"count": len(result.done), "warehouse": warehouse}
            if result.done
            else "",
            result.refused,
            ngettext(
                "%(count)d order had nothing reserved elsewhere.",
                "%(count)d orders had nothing reserved elsewhere.",
                len(result.unchanged),
            )
            % {"count": len(result.unchanged)}
            if result.unchanged
            else "",
        )
        return None


ORDER_DESK_ACTIONS = ["add_tag_selected", "remove_tag_selected", "add_note_selected", "change_warehouse_selected"]
