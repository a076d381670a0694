"""Attachments to a customer's report: what they are is read from the bytes, never the name.

Only images (JPEG, PNG, GIF, WebP, HEIC) and PDF are taken, at most ``MAX_FILES`` of at most
``MAX_BYTES`` each. A file whose bytes are something else — an executable named .jpg, an
HTML page named .pdf, a ZIP — is refused with a reason that names the file. The name a
browser sent is cleaned to a safe display name; it decides nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

MAX_FILES = 3
MAX_BYTES = 5 * 1024 * 1024

# (magic at offset 0, content type); HEIC and WebP need a second look below.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_UNSAFE_NAME = re.compile(r"[^\w.\-()（）\u3000-\u30ff\u4e00-\u9fff ]+")


class AttachmentError(ValueError):
    """A file that is refused (the message names it and says why)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # cleaned, for display only
    content_type: str  # sniffed
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def sniff(content: bytes) -> str | None:
    """The content type the bytes are, among those accepted; None for anything else."""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:8] == b"ftyp" and content[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    return None


def clean_name(name: str) -> str:
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .") or "file"
    return base[:100]


def accept(files: list[tuple[str, bytes]]) -> list[Attachment]:
    """The attachments of one report, checked: AttachmentError for the first refused."""
    files = [(name, data) for name, data in files if name or data]
    if len(files) > MAX_FILES:
        raise AttachmentError(f"at most {MAX_FILES} files per report")
    out = []
    for name, data in files:
        shown = clean_name(name)
        if not data:
            raise AttachmentError(f"{shown}: the file is empty")
        if len(data) > MAX_BYTES:
            raise AttachmentError(f"{shown}: larger than {MAX_BYTES // (1024 * 1024)} MB")
        kind = sniff(data)
        if kind is None:
            raise AttachmentError(f"{shown}: not an image or a PDF")
        out.append(Attachment(shown, kind, data))
    return out
