"""Where the documents of carrier claims are kept (docs/architecture.md, "Lost parcels"): a folder
of their own outside the static files and with no web address, each file under a random name, so
one can be read only through the claim's permission-checked view. What may be kept is decided
here: the size, and the type read from the file's first bytes rather than from its name or the
type the browser claims."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

# Carriers ask for the loss confirmation, the invoice and photos: PDF and the usual image formats.
DOCUMENT_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
}


def document_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a file starting with `head`, or None when it is not a kept type."""
    return next((kind for magic, kind in DOCUMENT_TYPES.items() if head.startswith(magic)), None)


def document_name(document, filename: str) -> str:
    """A random name (128 bits) in a folder per month: nothing in it says whose claim it is, and
    it cannot be guessed from another."""
    extension = os.path.splitext(filename)[1].lower()[:8]
    return f"{document.uploaded_at:%Y/%m}/{secrets.token_hex(16)}{extension}"


@deconstructible
class ClaimDocumentStorage(FileSystemStorage):
    """The files under settings.CLAIM_DOCUMENTS_ROOT, read when used (tests point it elsewhere)."""

    @property
    def base_location(self):
        return settings.CLAIM_DOCUMENTS_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None

    def url(self, name):
        raise ValueError("Claim documents have no web address; they are served by the claim's page.")
