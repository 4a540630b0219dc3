"""Lost parcels in the console (docs/architecture.md, "Lost parcels"): the claims against carriers,
listed with filters and an Excel export, each on a page of its own where the carrier's answer, its
payment and the documents are recorded; filing a claim and sending a lost parcel again start from
the parcel. A document is served only here, after the claim's view permission is checked."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, badge, money, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Logistics, require
from core.spreadsheets.console import ExportMixin
from orders.admin.display import REFUSALS

from .. import selectors, services
from ..exports import CLAIMS
from ..forms import AcceptClaimForm, ClaimDocumentForm, ClaimForm, RejectClaimForm
from ..models import CarrierClaim, ClaimDocument, Shipment
from ..services.claims import is_lost


def shipment_page(shipment_id):
    return reverse("admin:logistics_shipment_change", args=[shipment_id])


def order_page(order_id):
    return reverse("admin:orders_order_change", args=[order_id])


def lost_parcel_context(request, shipment):
    """What the parcel's page shows about a lost parcel (its claim, its replacement, the buttons to
    file or send again for those who may) or about a replacement (the parcel it replaces)."""
    replacing = getattr(shipment, "replacing", None) if shipment.purpose == Shipment.Purpose.REPLACEMENT else None
    if not is_lost(shipment) and replacing is None:
        return {}
    followup = selectors.lost_parcel_followups([shipment.pk])[shipment.pk]
    claim, replacement = followup["claim"], followup["replacement"]
    user = request.user
    return {
        "lost_parcel": {
            "is_lost": is_lost(shipment),
            "claim": claim,
            "claim_url": (
                reverse("admin:logistics_carrierclaim_claim", args=[claim.pk])
                if claim and user.has_perm(Logistics.VIEW_CARRIERCLAIM)
                else ""
            ),
            "file_url": (
                reverse("admin:logistics_carrierclaim_file", args=[shipment.pk])
                if claim is None and is_lost(shipment) and user.has_perm(Logistics.FILE_CLAIM)
                else ""
            ),
            "replacement_url": shipment_page(replacement) if replacement else "",
            "replace_url": (
                reverse("admin:logistics_carrierclaim_replace", args=[shipment.pk])
                if replacement is None and is_lost(shipment) and user.has_perm(Logistics.SEND_REPLACEMENT)
                else ""
            ),
            "replaces_url": shipment_page(replacing.lost_id) if replacing else "",
        }
    }


@admin.register(CarrierClaim)
class CarrierClaimAdmin(ReadOnlyAdminMixin, ExportMixin, admin.ModelAdmin):
    list_display = ("claim_link", "order_number", "parcel", "state", "claimed", "settled", "filed_at", "filed_by")
    list_display_links = None
    list_filter = ("status", "carrier", "filed_at")
    search_fields = ("shipment__tracking_number", "shipment__order__number", "carrier_reference")
    exports = (CLAIMS,)
    change_list_template = "admin/spreadsheets/export/change_list.html"

    def get_queryset(self, request):
        return selectors.carrier_claims()

    @admin.display(description=_("claim"), ordering="pk")
    def claim_link(self, claim):
        return format_html('<a href="{}">{}</a>', self.admin_view_url("claim", claim.pk), claim.pk)

    @admin.display(description=_("order"), ordering="shipment__order__number")
    def order_number(self, claim):
        return format_html('<a href="{}">{}</a>', order_page(claim.shipment.order_id), claim.shipment.order.number)

    @admin.display(description=_("lost parcel"))
    def parcel(self, claim):
        return format_html('<a href="{}">{}</a>', shipment_page(claim.shipment_id), claim.shipment)

    @admin.display(description=_("status"), ordering="status")
    def state(self, claim):
        return badge("claim", claim.status, claim.get_status_display())

    @admin.display(description=_("amount claimed"), ordering="claimed_amount")
    def claimed(self, claim):
        return money(claim.claimed_amount, claim.currency)

    @admin.display(description=_("amount settled"), ordering="settled_amount")
    def settled(self, claim):
        return money(claim.settled_amount, claim.currency) if claim.settled_amount is not None else "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A claim has no form of its own: its page shows it with the steps it may take.
        try:
            return redirect(self.admin_view_url("claim", int(object_id)))
        except ValueError:
            raise Http404 from None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("file/<int:shipment_id>/", view(self.file_view), name=self.admin_view_name("file")),
            path("replace/<int:shipment_id>/", view(self.replace_view), name=self.admin_view_name("replace")),
            path("<int:claim_id>/page/", view(self.claim_view), name=self.admin_view_name("claim")),
            path("<int:claim_id>/accept/", view(self.accept_view), name=self.admin_view_name("accept")),
            path("<int:claim_id>/reject/", view(self.reject_view), name=self.admin_view_name("reject")),
            path("<int:claim_id>/paid/", view(self.paid_view), name=self.admin_view_name("paid")),
            path("<int:claim_id>/documents/", view(self.attach_view), name=self.admin_view_name("attach")),
            path("document/<int:document_id>/", view(self.document_view), name=self.admin_view_name("document")),
        ] + super().get_urls()

    # Pages ---------------------------------------------------------------------------------------

    def require_view(self, request):
        require(request.user, Logistics.VIEW_CARRIERCLAIM, gettext("Your role may not see claims against carriers."))

    def claim_or_404(self, claim_id):
        try:
            return selectors.carrier_claim(claim_id)
        except CarrierClaim.DoesNotExist:
            raise Http404(gettext("There is no claim %(number)s.") % {"number": claim_id}) from None

    def lost_parcel_or_404(self, shipment_id):
        try:
            return Shipment.objects.select_related("order", "carrier", "warehouse").get(pk=shipment_id)
        except Shipment.DoesNotExist:
            raise Http404(gettext("There is no parcel %(number)s.") % {"number": shipment_id}) from None

    def file_view(self, request, shipment_id):
        require(request.user, Logistics.FILE_CLAIM, gettext("Your role may not file claims against carriers."))
        shipment = self.lost_parcel_or_404(shipment_id)
        form = ClaimForm(request.POST or None, initial={"amount": services.goods_value(shipment)})
        if request.method == "POST" and form.is_valid():
            try:
                claim = services.file_claim(shipment.pk, actor=request.user, **form.cleaned_data)
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("%(claim)s filed.") % {"claim": claim})
                return redirect(self.admin_view_url("claim", claim.pk))
        context = self.page_context(
            request,
            gettext("Claim for lost parcel %(shipment)s") % {"shipment": shipment},
            shipment=shipment,
            form=form,
            submit_label=gettext("File the claim"),
            cancel_url=shipment_page(shipment.pk),
            order_url=order_page(shipment.order_id),
            not_lost="" if is_lost(shipment) else gettext("This parcel is not reported lost."),
        )
        return TemplateResponse(request, "admin/logistics/carrierclaim/file.html", context)

    def claim_view(self, request, claim_id):
        self.require_view(request)
        claim = self.claim_or_404(claim_id)
        return self.render_claim(request, claim)

    def render_claim(self, request, claim, **forms):
        may_file = request.user.has_perm(Logistics.FILE_CLAIM)
        filed = claim.status == CarrierClaim.Status.FILED
        context = self.page_context(
            request,
            str(claim),
            claim=claim,
            shipment=claim.shipment,
            order_url=order_page(claim.shipment.order_id),
            shipment_url=shipment_page(claim.shipment_id),
            documents=[
                {"document": document, "url": self.admin_view_url("document", document.pk)}
                for document in claim.documents.all()
            ],
            accept_form=forms.get("accept_form") or (AcceptClaimForm() if may_file and filed else None),
            reject_form=forms.get("reject_form") or (RejectClaimForm() if may_file and filed else None),
            attach_form=forms.get("attach_form")
            or (ClaimDocumentForm() if may_file and claim.status != CarrierClaim.Status.PAID else None),
            may_record_payment=claim.status == CarrierClaim.Status.ACCEPTED
            and request.user.has_perm(Logistics.RECORD_CLAIM_PAYMENT),
            accept_url=self.admin_view_url("accept", claim.pk),
            reject_url=self.admin_view_url("reject", claim.pk),
            paid_url=self.admin_view_url("paid", claim.pk),
            attach_url=self.admin_view_url("attach", claim.pk),
            filed_at=short_datetime(claim.filed_at),
        )
        return TemplateResponse(request, "admin/logistics/carrierclaim/claim.html", context)

    def _step_view(self, request, claim_id, form_class, form_key, act, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        require(request.user, Logistics.FILE_CLAIM, gettext("Your role may not record a carrier's answer to a claim."))
        claim = self.claim_or_404(claim_id)
        form = form_class(request.POST, request.FILES)
        if form.is_valid():
            try:
                act(claim, form.cleaned_data)
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, done % {"claim": claim})
                return redirect(self.admin_view_url("claim", claim.pk))
        return self.render_claim(request, claim, **{form_key: form})

    def accept_view(self, request, claim_id):
        return self._step_view(
            request,
            claim_id,
            AcceptClaimForm,
            "accept_form",
            lambda claim, data: services.accept_claim(claim.pk, actor=request.user, **data),
            gettext("%(claim)s accepted."),
        )

    def reject_view(self, request, claim_id):
        return self._step_view(
            request,
            claim_id,
            RejectClaimForm,
            "reject_form",
            lambda claim, data: services.reject_claim(claim.pk, actor=request.user, **data),
            gettext("%(claim)s rejected."),
        )

    def attach_view(self, request, claim_id):
        return self._step_view(
            request,
            claim_id,
            ClaimDocumentForm,
            "attach_form",
            lambda claim, data: services.attach_claim_document(claim.pk, data["file"], actor=request.user),
            gettext("Document attached to %(claim)s."),
        )

    def paid_view(self, request, claim_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        require(request.user, Logistics.RECORD_CLAIM_PAYMENT, gettext("Your role may not record payments of claims."))
        claim = self.claim_or_404(claim_id)
        try:
            services.record_claim_payment(claim.pk, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, gettext("%(claim)s paid.") % {"claim": claim})
        return redirect(self.admin_view_url("claim", claim.pk))

    def document_view(self, request, document_id):
        """The document's bytes, to those who may see claims, as a download (never shown inline, so
        a file that is not what it claims cannot run in the console's pages)."""
        self.require_view(request)
        try:
            document = selectors.claim_document(document_id)
        except ClaimDocument.DoesNotExist:
            raise Http404(gettext("There is no such document.")) from None
        try:
            handle = document.file.open("rb")
        except FileNotFoundError:
            raise Http404(gettext("The document's file is no longer kept.")) from None
        response = FileResponse(
            handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def replace_view(self, request, shipment_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(Logistics.SEND_REPLACEMENT):
            raise PermissionDenied
        try:
            replacement = services.send_replacement(shipment_id, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
            return redirect(shipment_page(shipment_id))
        messages.success(
            request,
            gettext(
                "The goods of parcel %(lost)s are sent again: replacement parcel %(parcel)s waits in %(warehouse)s."
            )
            % {
                "lost": replacement.lost,
                "parcel": replacement.parcel_id,
                "warehouse": replacement.parcel.warehouse.code,
            },
        )
        return redirect(shipment_page(replacement.parcel_id))
