"""A channel's API token in the console: made or rotated from the channel's page and shown once,
on the page that made it. Only its hash is kept, so nobody can look it up later."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.console import ConsolePageMixin
from core.permissions import Orders

from ..models import ChannelToken
from ..services import issue_token, revoke_token


class ChannelTokenAdminMixin(ConsolePageMixin):
    """For ChannelAdmin: an "API token" column and a token page behind a button on the channel."""

    change_form_template = "admin/orders/channel/change_form.html"

    def get_list_display(self, request):
        return (*super().get_list_display(request), "api_token_prefix")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("api_token")

    @admin.display(description=gettext_lazy("API token"))
    def api_token_prefix(self, channel):
        token = self._token(channel)
        return f"{token.prefix}…" if token else "—"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/api-token/",
                self.admin_site.admin_view(self.api_token_view),
                name="orders_channel_api_token",
            ),
            *super().get_urls(),
        ]

    def may_manage_tokens(self, request):
        return request.user.has_perm(Orders.ADD_CHANNELTOKEN)

    def render_change_form(self, request, context, *args, **kwargs):
        context["may_manage_tokens"] = self.may_manage_tokens(request)
        return super().render_change_form(request, context, *args, **kwargs)

    @staticmethod
    def _token(channel):
        try:
            return channel.api_token
        except ChannelToken.DoesNotExist:
            return None

    def api_token_view(self, request, object_id):
        channel = self.get_object(request, unquote(object_id))
        if channel is None:
            raise Http404
        if not self.may_manage_tokens(request):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("do") == "revoke":
            revoke_token(channel.pk, actor=request.user)
            self.log_change(request, channel, _("Revoked the API token."))
            messages.success(request, _("The API token of %(channel)s is revoked.") % {"channel": channel})
            return redirect(reverse("admin:orders_channel_change", args=[channel.pk]))
        token, secret = self._token(channel), None
        if request.method == "POST":
            issued = issue_token(channel.pk, actor=request.user)
            self.log_change(request, channel, _("Made a new API token %(prefix)s…") % {"prefix": issued.token.prefix})
            token, secret = issued.token, issued.secret
        context = {
            **self.page_context(request, _("API token of %(channel)s") % {"channel": channel}),
            "channel": channel,
            "token": token,
            "secret": secret,
            "api_docs_url": reverse("api-docs"),
        }
        return TemplateResponse(request, "admin/orders/channel/api_token.html", context)
