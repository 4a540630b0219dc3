from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import or export")
        verbose_name_plural = _("imports and exports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} · {self.file_name}"

    @property
    def progress_percent(self):
        return int(100 * self.processed / self.total) if self.total else 0


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
