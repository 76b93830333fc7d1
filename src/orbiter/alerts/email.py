"""The email action: the event as a plain-text message over SMTP (`ORBITER_SMTP_*`), with
aiosmtplib. Rules with an email action are refused at save when no SMTP host is set; an
attempt made after the setting was removed fails and is recorded like any other."""

from __future__ import annotations

import time
from email.message import EmailMessage

import aiosmtplib

from orbiter.alerts.outcome import Outcome, elapsed_ms, failed
from orbiter.core.settings import Settings


def message_of(settings: Settings, to: list[str], subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    return message


async def send_email(settings: Settings, *, to: list[str], subject: str, text: str) -> Outcome:
    started = time.monotonic()
    if not settings.smtp_host:
        return failed(started, "SMTP is not configured (ORBITER_SMTP_HOST)")
    try:
        await aiosmtplib.send(
            message_of(settings, to, subject, text),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.alert_delivery_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return failed(started, f"{type(exc).__name__}: {exc}")
    return Outcome(True, elapsed_ms(started))
