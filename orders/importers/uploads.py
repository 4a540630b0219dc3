"""The files of one order upload, as the import job keeps them: one workbook as it came, or a
marketplace's two (its order report and its items report) packed together, so a worker reads
exactly what was uploaded."""

import io
import zipfile

from core.spreadsheets import reading


def pack(files):
    """(file name, content, parameters) for a job holding `files` ((name, bytes) pairs)."""
    if len(files) == 1:
        name, content = files[0]
        return name, content, {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (_name, content) in enumerate(files):
            archive.writestr(f"{index}", content)
    return " + ".join(name for name, _content in files), buffer.getvalue(), {"files": [name for name, _ in files]}


def files_of(job):
    """The uploaded files of a job, as (name, bytes) pairs in the order they were uploaded."""
    names = job.parameters.get("files")
    if not names:
        return [(job.file_name, bytes(job.source))]
    with zipfile.ZipFile(io.BytesIO(bytes(job.source))) as archive:
        return [(name, archive.read(f"{index}")) for index, name in enumerate(names)]


def count_rows(files, *, stop_after=None):
    return sum(reading.count_rows(content, name, stop_after=stop_after) for name, content in files)
