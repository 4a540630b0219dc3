"""Where django-import-export keeps an upload between its preview and the confirmation: a BulkJob
row in the database, so the confirmation may reach any app server (nothing is kept on one
machine's disk) and the import is listed with the others. Set in the settings as
IMPORT_EXPORT_TMP_STORAGE_CLASS = "orders.importers.storage.BulkJobStorage"."""

from django.utils import timezone
from import_export.tmp_storages import BaseStorage

from ..models import BulkJob


class BulkJobStorage(BaseStorage):
    """`name` is the job's id. The console passes `job_kind` (import_products, import_stock) and
    the uploaded file's name."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kind = kwargs.get("job_kind") or BulkJob.Kind.IMPORT_PRODUCTS
        self.upload_name = kwargs.get("upload_name", "")

    def save(self, data):
        content = data.encode(self.encoding or "utf-8") if isinstance(data, str) else data
        job = BulkJob.objects.create(
            kind=self.kind, status=BulkJob.Status.PREVIEWED, file_name=self.upload_name[:255], source=content
        )
        self.name = str(job.pk)

    def read(self):
        content = bytes(BulkJob.objects.values_list("source", flat=True).get(pk=self._job_id()))
        return content if "b" in self.read_mode else content.decode(self.encoding or "utf-8")

    def remove(self):
        """The import was confirmed and has run: the job is done (the file stays with it)."""
        BulkJob.objects.filter(pk=self._job_id()).update(status=BulkJob.Status.DONE, finished_at=timezone.now())

    def _job_id(self):
        if not str(self.name).isdigit():
            raise BulkJob.DoesNotExist(f"No stored upload {self.name!r}.")
        return int(self.name)
