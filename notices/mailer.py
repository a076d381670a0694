"""Sending e-mail: through the configured SMTP server, or into the outbox folder.

Letters go out with their PDF attached; digests and customers' notifications are plain
text. With no ``LEAKWATCH_SMTP_HOST`` (the demo, a laptop) each message is written to
``LEAKWATCH_HOME/outbox/`` as an .eml file readable by its owner only, so nothing is lost
and a newcomer can open what would have been sent. A message is never logged: it may name
a customer's address (only the recipient count and the subject's kind are).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from store.settings import Settings

log = logging.getLogger("leakwatch.mail")
TIMEOUT_S = 30


class MailError(RuntimeError):
    """The message could not be handed over (the message says why, in one line)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


def compose(settings: Settings, to: str, subject: str, body: str,
            attachments: tuple[Attachment, ...] = ()) -> EmailMessage:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.leakwatch_mail_from, to, subject
    msg["Date"], msg["Message-ID"] = formatdate(localtime=False), make_msgid(domain="leakwatch")
    msg.set_content(body, charset="utf-8")
    for a in attachments:
        maintype, _, subtype = a.mime.partition("/")
        msg.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg


def send(settings: Settings, msg: EmailMessage) -> str:
    """Hand the message over; returns where it went (``smtp:host`` or the outbox file)."""
    if not settings.leakwatch_smtp_host:
        return str(_to_outbox(settings.outbox_dir, msg))
    host, port = settings.leakwatch_smtp_host, settings.leakwatch_smtp_port
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
            if settings.leakwatch_smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.leakwatch_smtp_user:
                smtp.login(settings.leakwatch_smtp_user, settings.leakwatch_smtp_password or "")
            refused = smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MailError(f"mail server {host}:{port} did not take the message: {reason}") from None
    if refused:
        raise MailError(f"mail server {host}:{port} refused {len(refused)} recipient(s)")
    log.info("mail handed to %s:%s (%d attachment(s))", host, port,
             sum(1 for _ in msg.iter_attachments()))  # fmt: skip
    return f"smtp:{host}:{port}"


def _to_outbox(folder: Path, msg: EmailMessage) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MailError(f"cannot write to the outbox {folder}: {exc.strerror}") from None
    tmp.rename(path)
    return path
