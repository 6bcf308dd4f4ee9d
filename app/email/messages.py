"""The messages the service sends."""

from dataclasses import dataclass

from app.core.config import settings


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


def password_reset_email(to: str, token: str) -> Email:
    """The link to reset a password (PASSWORD_RESET_URL), and the token itself, for clients
    without a web page (and for Swagger: POST /password-reset/confirm)."""
    link = settings.PASSWORD_RESET_URL.replace("{token}", token)  # the token is URL-safe
    minutes = settings.PASSWORD_RESET_EXPIRE_MINUTES
    text = (
        "Someone, most likely you, asked to reset the password of the account of this "
        "address.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"    {link}\n\n"
        "Or send this reset token, with your new password, to POST /password-reset/confirm:\n\n"
        f"    {token}\n\n"
        "It works once. If you did not ask for it, ignore this e-mail: your password stays as "
        "it is.\n"
    )
    return Email(to=to, subject="Reset your password", text=text)
