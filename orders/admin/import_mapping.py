"""The mapping step of the order import, and the import profiles it keeps (docs/architecture.md,
"Spreadsheets"). An upload whose headers are neither our template's nor any profile's opens a page
listing each of its columns with a few of its values and a suggested field; the words of its payment,
status and delivery columns are mapped too. Saving keeps the mapping as the channel's profile and
checks the file through it, so the next file from the same place imports without questions. The
same form edits a saved profile; profiles are exported and imported as JSON files."""

from dataclasses import dataclass, field

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin
from core.permissions import Orders, require
from core.spreadsheets.cells import comparable, is_blank, text

from .. import importers
from ..importers import mapping, uploads
from ..importers.marketplaces import BUILT_IN_PROFILES
from ..models import Channel, ImportProfile, PaymentMethod
from ..services import import_profiles
from .imports import task_module

NOT_IMPORTED = ("", _("— not imported —"))
# The fields whose words a file writes its own way, and what each word may mean here.
VALUE_CHOICES = {
    "payment_method": PaymentMethod.choices,
    "status": [
        (mapping.IMPORT, _("Import")),
        (mapping.UNPAID, _("Import as not paid yet")),
        (mapping.SKIP, _("Leave out")),
    ],
    "delivery": [(mapping.EXPRESS, _("Express")), (mapping.STANDARD, _("Standard"))],
}
ROLE_LABELS = {"orders": _("Order report"), "items": _("Items report")}
# How many values of each column the mapping page shows beside it.
SAMPLES_SHOWN = 3
# The most distinct words of a payment, status or delivery column the page asks about.
MAX_WORDS = 60


@dataclass
class MappedFile:
    """One file of the mapping form: its label, its headers, some values of each column by
    position, and the field each column starts on."""

    label: str
    headers: list
    samples: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    role: str = ""


class MappingForm(forms.Form):
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.filter(active=True),
        help_text=_("Where these orders come from; the profile is kept for this channel."),
    )
    name = forms.CharField(
        label=_("Profile name"),
        max_length=100,
        help_text=_("So you know it again, for example “Tmall order report”."),
    )
    order_amount_includes_shipping = forms.BooleanField(
        label=_("The order amount includes postage"),
        required=False,
        initial=True,
        help_text=_("Untick when the file's order amount is for the goods alone."),
    )
    payment_method = forms.ChoiceField(
        label=_("Payment method when the file has no column for it"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.E_WALLET,
    )

    def __init__(self, *args, files, words, initial_values, **kwargs):
        super().__init__(*args, **kwargs)
        self.files, self.words = files, words
        choices = [NOT_IMPORTED, *((item.key, item.label) for item in mapping.FIELDS)]
        for index, mapped in enumerate(files):
            for position, header in enumerate(mapped.headers):
                if not header:
                    continue
                self.fields[self.column_name(index, position)] = forms.ChoiceField(
                    label=header, choices=choices, required=False, initial=mapped.initial.get(position, "")
                )
        for target, written in words.items():
            for number, word in enumerate(written):
                self.fields[self.word_name(target, number)] = forms.ChoiceField(
                    label=word,
                    choices=[("", "—"), *VALUE_CHOICES[target]],
                    required=False,
                    initial=initial_values.get(target, {}).get(word, ""),
                )

    @staticmethod
    def column_name(index, position):
        return f"column-{index}-{position}"

    @staticmethod
    def word_name(target, number):
        return f"word-{target}-{number}"

    def file_tables(self):
        """For the page: each file with its columns (header, values, field)."""
        return [
            {
                "label": mapped.label,
                "columns": [
                    {"header": header, "samples": mapped.samples.get(position, []), "field": self[name]}
                    for position, header in enumerate(mapped.headers)
                    if (name := self.column_name(index, position)) in self.fields
                ],
            }
            for index, mapped in enumerate(self.files)
        ]

    def word_tables(self):
        return [
            {
                "label": mapping.field_label(target),
                "words": [self[self.word_name(target, n)] for n in range(len(written))],
            }
            for target, written in self.words.items()
        ]

    def clean(self):
        cleaned = super().clean()
        for target, written in self.words.items():
            unmapped = [word for n, word in enumerate(written) if not cleaned.get(self.word_name(target, n))]
            if unmapped:
                self.add_error(
                    None,
                    gettext("Say what each word of the %(field)s column means: %(words)s.")
                    % {"field": mapping.field_label(target), "words": "、".join(unmapped)},
                )
        return cleaned

    def definition(self):
        """The profile the form describes. With two files, the one holding the SKU is the items
        report and the other the order report."""
        columns_of = []
        for index, mapped in enumerate(self.files):
            columns = {
                header: self.cleaned_data[self.column_name(index, position)]
                for position, header in enumerate(mapped.headers)
                if header and self.cleaned_data.get(self.column_name(index, position))
            }
            columns_of.append((mapped, columns))
        roles = [
            mapped.role or (mapping.ITEMS_FILE if "sku" in columns.values() else mapping.ORDERS_FILE)
            for mapped, columns in columns_of
        ]
        if len(roles) == 1 and not columns_of[0][0].role:
            # One file holds the orders and their items alike.
            roles = [mapping.ORDERS_FILE]
        elif len(set(roles)) < len(roles):
            # Two files alike (neither, or both, holding the SKU): each keeps its columns, and the
            # profile's check says which fields are in the wrong file.
            roles = [mapping.ORDERS_FILE, mapping.ITEMS_FILE][: len(roles)]
        files = {role: {"columns": columns} for role, (_mapped, columns) in zip(roles, columns_of, strict=True)}
        return {
            "name": self.cleaned_data["name"],
            "files": files,
            "values": {
                target: {word: self.cleaned_data[self.word_name(target, n)] for n, word in enumerate(written)}
                for target, written in self.words.items()
            },
            "order_amount_includes_shipping": self.cleaned_data["order_amount_includes_shipping"],
            "payment_method": self.cleaned_data["payment_method"],
        }


def value_columns(files, data):
    """Which column feeds each field whose words are mapped, as (file index, position) by field:
    from the submitted form when there is one, else from the fields the columns start on."""
    found = {}
    for index, mapped in enumerate(files):
        for position, header in enumerate(mapped.headers):
            chosen = (
                data.get(MappingForm.column_name(index, position), "")
                if data is not None
                else mapped.initial.get(position, "")
            )
            if header and chosen in VALUE_CHOICES:
                found.setdefault(chosen, (index, position))
    return found


def _initial_columns(headers, definition):
    """Each column's field under a profile: {position: field}."""
    by_header = {}
    for spec in definition.get("files", {}).values():
        for header, target in spec.get("columns", {}).items():
            by_header.setdefault(comparable(header), target)
    return {
        position: by_header[comparable(header)]
        for position, header in enumerate(headers)
        if header and comparable(header) in by_header
    }


def upload_mapping_form(job, data=None):
    """The mapping form of an upload waiting for it: the job's files with their values, columns
    starting on the suggested profile's fields or on fields guessed from headers and values."""
    files = uploads.files_of(job)
    suggested = job.parameters.get("suggested") or {}
    mapped_files = []
    for name, content in files:
        headers, samples = mapping.read_samples(content, name)
        if suggested:
            initial = _initial_columns(headers, suggested)
        else:
            guessed = mapping.suggest(headers, samples)
            initial = {position: guessed[header] for position, header in enumerate(headers) if guessed.get(header)}
        mapped_files.append(
            MappedFile(
                label=name,
                headers=headers,
                samples={position: _shown(samples.get(header, [])) for position, header in enumerate(headers)},
                initial=initial,
            )
        )
    words = {}
    for target, (index, position) in value_columns(mapped_files, data).items():
        name, content = files[index]
        words[target] = mapping.distinct_values(content, name, mapped_files[index].headers[position], limit=MAX_WORDS)
    initial_values = {
        target: {**mapping.suggest_values(target, written), **suggested.get("values", {}).get(target, {})}
        for target, written in words.items()
    }
    channel = Channel.objects.filter(code=job.parameters.get("channel", "")).first()
    initial = {
        "channel": channel,
        "name": suggested.get("name", "") or _profile_name(job.file_name),
        "order_amount_includes_shipping": suggested.get("order_amount_includes_shipping", True),
        "payment_method": suggested.get("payment_method", PaymentMethod.E_WALLET),
    }
    return MappingForm(data, files=mapped_files, words=words, initial_values=initial_values, initial=initial)


def _shown(values):
    return [text(value) for value in values if not is_blank(value)][:SAMPLES_SHOWN]


def _profile_name(file_name):
    return file_name.rsplit(".", 1)[0][:100]


def profile_form(profile, data=None):
    """The mapping form of a saved profile: its columns and words as it keeps them."""
    definition = profile.definition
    mapped_files = [
        MappedFile(
            label=str(ROLE_LABELS.get(role, role)),
            headers=list(spec.get("columns", {})),
            initial=dict(enumerate(spec.get("columns", {}).values())),
            role=role,
        )
        for role, spec in definition.get("files", {}).items()
    ]
    # Both the page and the form it posts are built from the stored profile, whose key order the
    # database chooses; the words are sorted so each word keeps its field between the two.
    words = {
        target: sorted(values) for target, values in definition.get("values", {}).items() if target in VALUE_CHOICES
    }
    initial = {
        "channel": profile.channel,
        "name": profile.name,
        "order_amount_includes_shipping": definition.get("order_amount_includes_shipping", True),
        "payment_method": definition.get("payment_method", PaymentMethod.E_WALLET),
    }
    return MappingForm(
        data, files=mapped_files, words=words, initial_values=definition.get("values", {}), initial=initial
    )


class ProfileFileForm(forms.Form):
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.filter(active=True))
    file = forms.FileField(label=_("Profile file (.json)"))


class UploadMappingMixin:
    """The mapping page of an upload, added to the order list's admin beside the import pages."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/<int:job_id>/map/", wrap(self.import_mapping_view), name="orders_order_import_map"),
        ] + super().get_urls()

    def import_mapping_view(self, request, job_id):
        job = self.import_job(request, job_id)
        require(request.user, Orders.ADD_IMPORTPROFILE)
        if not importers.needs_mapping(job):
            return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))
        data = request.POST if request.method == "POST" else None
        form = upload_mapping_form(job, data)
        if data is not None and form.is_valid():
            try:
                mapped = importers.map_order_import(
                    job.pk,
                    actor=request.user,
                    channel=form.cleaned_data["channel"],
                    name=form.cleaned_data["name"],
                    definition=form.definition(),
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                task_module().start_check(mapped)
                return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))
        return self.import_page(
            request,
            "mapping.html",
            gettext("Map the columns of %(file)s") % {"file": job.file_name},
            job=job,
            form=form,
            suggested=(job.parameters.get("suggested") or {}).get("name", ""),
            missing_headers="、".join(job.parameters.get("missing_headers", [])),
        )


def _form_errors(form, error):
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


@admin.register(ImportProfile)
class ImportProfileAdmin(ConsolePageMixin, admin.ModelAdmin):
    list_display = ("name", "channel", "based_on_name", "updated_at", "last_used_at")
    list_filter = ("channel",)
    search_fields = ("name",)
    list_select_related = ("channel",)

    def has_add_permission(self, request):
        # A profile is made by mapping an upload, or imported from a file.
        return False

    @admin.display(description=_("based on"))
    def based_on_name(self, profile):
        names = {definition["key"]: definition["name"] for definition in BUILT_IN_PROFILES}
        return names.get(profile.based_on, "—")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_file_view), name="orders_importprofile_import"),
            path("<int:profile_id>/export/", wrap(self.export_view), name="orders_importprofile_export"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "import_url": reverse("admin:orders_importprofile_import")
            if request.user.has_perm(Orders.ADD_IMPORTPROFILE)
            else "",
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        if profile is None:
            raise Http404(gettext("No import profile %(id)s.") % {"id": object_id})
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        may_change = request.user.has_perm(Orders.CHANGE_IMPORTPROFILE)
        if request.method == "POST" and not may_change:
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = profile_form(profile, data)
        if data is not None and form.is_valid():
            try:
                import_profiles.save_profile(
                    channel=form.cleaned_data["channel"],
                    name=form.cleaned_data["name"],
                    definition=form.definition(),
                    actor=request.user,
                    profile_id=profile.pk,
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                self.message_user(
                    request, gettext("The profile “%(name)s” was saved.") % {"name": form.cleaned_data["name"]}
                )
                return HttpResponseRedirect(self.changelist_url())
        return TemplateResponse(
            request,
            "admin/orders/importprofile/change.html",
            self.page_context(
                request,
                gettext("Import profile: %(name)s") % {"name": profile.name},
                form=form,
                profile=profile,
                may_change=may_change,
                export_url=reverse("admin:orders_importprofile_export", args=[profile.pk]),
                delete_url=reverse("admin:orders_importprofile_delete", args=[profile.pk])
                if self.has_delete_permission(request, profile)
                else "",
            ),
        )

    def export_view(self, request, profile_id):
        profile = self.get_object(request, str(profile_id))
        if profile is None:
            raise Http404(gettext("No import profile %(id)s.") % {"id": profile_id})
        response = HttpResponse(import_profiles.export_profile(profile), content_type="application/json")
        response["Content-Disposition"] = content_disposition_header(True, f"{profile.name}.json")
        return response

    def import_file_view(self, request):
        require(request.user, Orders.ADD_IMPORTPROFILE)
        form = ProfileFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                profile = import_profiles.import_profile(
                    form.cleaned_data["file"].read(), channel=form.cleaned_data["channel"], actor=request.user
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                self.message_user(request, gettext("The profile “%(name)s” was imported.") % {"name": profile.name})
                return HttpResponseRedirect(self.changelist_url())
        return TemplateResponse(
            request,
            "admin/orders/importprofile/import.html",
            self.page_context(request, gettext("Import a profile"), form=form),
        )
