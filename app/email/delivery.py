"""Delivering e-mails: written to the log (EMAIL_BACKEND=console, the default outside
production) or sent through an SMTP server with aiosmtplib. Delivery happens after the
response (a background task): a failure is logged, with the request id, and never raised."""

import logging
from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib

from app.core.config import settings
from app.email.messages import Email

logger = logging.getLogger("app.email")


def _mime(email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.EMAIL_FROM
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.text)
    return message


async def deliver(email: Email) -> bool:
    """Deliver `email`; False when it could not be (the reason is logged)."""
    if settings.email_backend == "console":
        logger.info(
            "e-mail written here, not sent (EMAIL_BACKEND=console): to %s, subject %r\n%s",
            email.to,
            email.subject,
            email.text,
        )
        return True
    security = settings.SMTP_SECURITY
    try:
        # The envelope is the stored address alone, never what a parsed `To:` header says:
        # a header decodes RFC 2047 encoded-words, and could name more than one recipient.
        await aiosmtplib.send(
            _mime(email),
            sender=parseaddr(settings.EMAIL_FROM)[1],  # the operator's setting
            recipients=[email.to],
            hostname=settings.SMTP_HOST,
            port=settings.SMTP_PORT,
            username=settings.SMTP_USERNAME,
            password=settings.SMTP_PASSWORD,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            timeout=settings.SMTP_TIMEOUT,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        logger.error(
            "e-mail to %s not sent, SMTP server %s:%s: %s: %s",
            email.to,
            settings.SMTP_HOST,
            settings.SMTP_PORT,
            type(error).__name__,
            error,
        )
        return False
    logger.info("e-mail sent to %s: %r", email.to, email.subject)
    return True
