from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def who_acted(verbose_name, **options):
    """The staff member who did something to a row: empty when the system did it
    (docs/architecture.md, "Permissions": the system is stored as no user). A user who acted is
    never deleted from under the history (PROTECT), and no reverse accessor is added to the user."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
        **options,
    )


class OneRowSettings(models.Model):
    """Settings a manager edits in the console, kept in one row: `current()` reads it, making it
    with its defaults the first time it is asked for."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class Job(models.Model):
    """A spreadsheet import or export that may run in the background (docs/architecture.md, "Jobs").
    Its files are kept in the row, so any app server or worker can read them and nothing lives on
    one machine's disk. Its life (claimed, progress, finished, failed, the file it produced) is
    `core.jobs`; `kind` is a code the app that runs the job declares (`core.jobs.JobKind`), so this
    model knows no app."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        PREVIEWED = "previewed", _("Checked, waiting for confirmation")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=24)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField(_("file"), max_length=255)
    source = models.BinaryField(_("uploaded file"), null=True, blank=True)
    result_file = models.BinaryField(_("result file"), null=True, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    total = models.PositiveIntegerField(_("rows in all"), default=0)
    processed = models.PositiveIntegerField(_("rows done"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_by = who_acted(_("started by"))
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Signs of life of a running stage (docs/architecture.md, "Jobs"): the sweep takes a running
    # job whose heartbeat is old for one whose worker stopped.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    cancel_requested_at = models.DateTimeField(_("cancel requested at"), null=True, blank=True)
    cancelled_by = who_acted(_("cancelled by"))
    # Its files were emptied JOB_FILES_KEPT_DAYS after it finished (docs/architecture.md, "Personal data").
    files_discarded_at = models.DateTimeField(_("files discarded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import or export")
        verbose_name_plural = _("imports and exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_by_status_heartbeat")]

    def __str__(self):
        return f"{self.kind} · {self.file_name}"

    @property
    def progress_percent(self):
        return int(100 * self.processed / self.total) if self.total else 0


class PersonalDataAccess(models.Model):
    """One time someone saw, exported, handed out or erased customers' personal data
    (docs/architecture.md, "Personal data"). Core knows no customer model: the customer and order
    are kept by id and number, so the log outlives anonymisation and speaks of any app's rows."""

    class Action(models.TextChoices):
        VIEWED = "viewed", _("Opened unmasked details")
        EXPORTED = "exported", _("Exported a list")
        SUBJECT_ACCESS = "subject_access", _("Handed a customer their data")
        ERASED = "erased", _("Erased a customer's data")
        ERASURE_REFUSED = "erasure_refused", _("Erasure refused")
        ANONYMISED = "anonymised", _("Anonymised after the retention period")

    actor = who_acted(_("who"), help_text=_("Empty when the system did it (a scheduled command)."))
    action = models.CharField(_("what"), max_length=16, choices=Action.choices)
    customer_id = models.PositiveBigIntegerField(_("customer"), null=True, blank=True)
    order_number = models.CharField(_("order number"), max_length=24, blank=True)
    subject = models.CharField(
        _("details"),
        max_length=255,
        blank=True,
        help_text=_("The page, the list exported or why an erasure was refused."),
    )
    fields = models.CharField(_("seen in full"), max_length=64, blank=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["-created_at"], name="pda_by_time"),
            models.Index(fields=["customer_id", "-created_at"], name="pda_by_customer"),
            models.Index(fields=["actor", "-created_at"], name="pda_by_actor"),
            models.Index(fields=["order_number"], name="pda_by_order"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} · {self.created_at:%Y-%m-%d %H:%M}"


class RateCount(models.Model):
    """One counter of `core.counters` kept in the database (when no Redis is configured): how many
    times `key` was counted until `expires_at` (docs/architecture.md, "The channel API")."""

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    count = models.PositiveBigIntegerField(_("count"), default=0)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("rate count")
        verbose_name_plural = _("rate counts")

    def __str__(self):
        return f"{self.key}: {self.count}"
