"""The public feedback page. A customer (who has no account) follows the signed link of the
delivered message and rates the order from 1 to 5 stars with a comment, once. The page shows the
order number, its date and what was in it, nothing personal; a link that is expired, changed or
made up shows nothing of any order."""

from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.forms import add_service_error

from .forms.tickets import FeedbackForm
from .selectors.tickets import feedback_for_order
from .services import feedback as services

EXPIRED = _("This link has expired. If something about your order is not right, please contact us.")
INVALID = _("This link is not valid. Please use the link from your message exactly as it is.")
ALREADY = _("This order has been rated already. Thank you for your feedback!")
THANKS = _("Thank you! Your rating helps us do better.")
THANKS_LOW = _("Thank you for telling us. We are sorry it was not better: we will get in touch with you.")


def _message(request, text, *, status=200, alert=False):
    return TemplateResponse(
        request, "aftersales/feedback_message.html", {"message": text, "alert": alert}, status=status
    )


def _order_facts(order):
    return {
        "number": order.number,
        "placed_on": order.placed_at,
        "items": [{"name": line.name, "quantity": line.quantity} for line in order.lines.all()],
    }


@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request, token):
    try:
        order = services.order_for_feedback(token)
    except services.FeedbackLinkExpired:
        return _message(request, EXPIRED, status=400, alert=True)
    except services.FeedbackLinkInvalid:
        return _message(request, INVALID, status=404, alert=True)
    if feedback_for_order(order.pk) is not None:
        return _message(request, ALREADY)
    if order.status not in services.RATEABLE:
        return TemplateResponse(request, "aftersales/feedback.html", {**_order_facts(order), "not_arrived": True})
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            given = services.give_feedback(
                token,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except services.FeedbackAlreadyGiven:
            return _message(request, ALREADY)
        except services.FeedbackLinkExpired:
            return _message(request, EXPIRED, status=400, alert=True)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return _message(request, THANKS_LOW if given.ticket_id else THANKS)
    return TemplateResponse(request, "aftersales/feedback.html", {**_order_facts(order), "form": form})
