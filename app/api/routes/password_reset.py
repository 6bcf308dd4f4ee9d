"""Password reset by e-mail: asking for a link, then choosing the new password."""

from fastapi import APIRouter, BackgroundTasks, status

from app.api.deps import ResetConfirmLimit, ResetLimits, SessionDep
from app.api.responses import error_responses
from app.models import Message, PasswordResetConfirm, PasswordResetRequest, email_key
from app.services import password_resets

router = APIRouter(prefix="/password-reset", tags=["password reset"])

ON_ITS_WAY = "If the address has an account, a reset link is on its way"


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a password-reset e-mail",
    response_description="The same answer for every address, whether it has an account or not",
    responses={
        202: {"content": {"application/json": {"example": {"message": ON_ITS_WAY}}}},
        **error_responses(400, 413, 429),
    },
)
async def request_password_reset(
    data: PasswordResetRequest, limits: ResetLimits, background: BackgroundTasks
) -> Message:
    """E-mail a reset link to the address, if it has an account. The answer is the same, and
    as fast, for every address: the lookup and the e-mail happen after it."""
    await limits.take(limits.reset_account, email_key(data.email))
    background.add_task(password_resets.send_reset_link, data.email)
    return Message(message=ON_ITS_WAY)


@router.post(
    "/confirm",
    summary="Choose a new password with the e-mailed token",
    response_description="Password updated; every session of the account has ended",
    responses={
        200: {"content": {"application/json": {"example": {"message": "Password updated"}}}},
        **error_responses(
            400,
            413,
            429,
            503,
            _400="Invalid or expired reset token (or a body that cannot be parsed)",
            detail_400=["Invalid or expired reset token", "There was an error parsing the body"],
        ),
    },
    dependencies=[ResetConfirmLimit],
)
async def confirm_password_reset(session: SessionDep, data: PasswordResetConfirm) -> Message:
    """Choose a new password with the token from the e-mail; every session of the account ends."""
    await password_resets.reset_password(session, data)
    return Message(message="Password updated")
