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
    responses=error_responses(400, 413, 429),
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
    responses=error_responses(
        400, 413, 429, 503, _400="Invalid or expired reset token (or a body that cannot be parsed)"
    ),
    dependencies=[ResetConfirmLimit],
)
async def confirm_password_reset(session: SessionDep, data: PasswordResetConfirm) -> Message:
    """Choose a new password with the token from the e-mail; every session of the account ends."""
    await password_resets.reset_password(session, data)
    return Message(message="Password updated")
