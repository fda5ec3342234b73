"""Password reset by an emailed one-time link; also how imported civil servants, whose accounts
carry the "!import" marker instead of a password, set their first password.

- `/forgot` takes an email or a phone number. Every valid request queues the same job and gets
  the same answer (one text for an email typed in, one for a phone number), whether or not the
  account exists: the job, not the request, looks the account up and sends the mail.
- The link `/reset/<token>` is valid PASSWORD_RESET_MAX_AGE seconds (1 hour) and dies as soon
  as the password changes (see lms.security), so it works once.
- Links are built on PUBLIC_URL when set, never on a Host header an attacker could choose.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_user
from flask_wtf import FlaskForm
from sqlalchemy import update
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .. import audit, jobs
from ..accounts import find_by_contact, split_contact
from ..assignments import VIETNAM
from ..extensions import db, limiter
from ..mail import deliver, render_mail, send_mail
from ..models import User
from ..people_import import UNUSABLE_PASSWORD
from ..security import (
    hash_password,
    password_reset_matches,
    password_reset_token,
    read_password_reset_token,
)
from . import bp, contact_format, password_repeat_rules, password_rules

log = logging.getLogger(__name__)


class ForgotPasswordForm(FlaskForm):
    contact = StringField("Email hoặc số điện thoại đã dùng để đăng nhập", validators=[
        DataRequired("Vui lòng nhập email hoặc số điện thoại."), Length(max=254),
        contact_format])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("Mật khẩu mới (ít nhất 8 ký tự)", validators=password_rules())
    password2 = PasswordField("Nhập lại mật khẩu mới", validators=password_repeat_rules())


def _base_url() -> str:
    return current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")


def _reset_account_key() -> str:
    """Rate-limit key per account typed in, normalised like the lookup (every request counts:
    nobody can flood someone's mailbox)."""
    typed = request.form.get("contact", "")
    email, phone = split_contact(typed)
    return f"reset:{email or phone or typed.strip().lower()[:254]}"


def _no_leak(response):
    """The page URL holds the token: never send it on as a Referer, never cache the page."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the job: look up, sign, send -----------------------------------------------------------


def reset_link(user: User, base_url: str) -> str:
    token = password_reset_token(user.id, user.password_hash)
    return f"{base_url.rstrip('/')}/reset/{token}"


def send_reset_link(contact: str, base_url: str) -> bool:
    """Mail a reset link to the account behind `contact` if it has an email (runs in a job)."""
    user = find_by_contact(contact)
    if user is None or not user.email:
        log.info("password reset requested for an unknown account or one without email")
        return False
    mail = render_mail("password_reset", user=user, link=reset_link(user, base_url),
                       valid_for=_valid_for(),
                       first_password=user.password_hash == UNUSABLE_PASSWORD,
                       forgot_link=f"{base_url.rstrip('/')}/forgot")
    deliver(user.email, *mail)
    return True


def _valid_for() -> str:
    """How long a reset link works, in words ("1 giờ", "30 phút")."""
    minutes = int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600)) // 60
    return f"{minutes // 60} giờ" if minutes % 60 == 0 else f"{minutes} phút"


# --- pages ----------------------------------------------------------------------------------


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_RESET_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_RESET_ACCOUNT"], methods=["POST"],
               key_func=_reset_account_key)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email, _phone = split_contact(form.contact.data)
        job = jobs.enqueue(jobs.password_reset_mail, form.contact.data.strip(), _base_url(),
                           queue_name="default")
        if isinstance(job, jobs.LocalJob) and job.status == "failed":
            log.error("password reset mail failed: %s", job.error)  # same answer regardless
        return render_template("forgot_password_sent.html", by_phone=email is None,
                               valid_for=_valid_for())
    return render_template("forgot_password.html", form=form)


def _user_for(token: str) -> User | None:
    claim = read_password_reset_token(token)
    if claim is None:
        return None
    user = db.session.get(User, claim[0])
    if user is None or not password_reset_matches(claim[1], user.password_hash):
        return None
    return user


def _invalid_link():
    return _no_leak(make_response(render_template("reset_password.html", form=None), 400))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = _user_for(token)
    if user is None:
        return _invalid_link()
    first_password = user.password_hash == UNUSABLE_PASSWORD
    form = ResetPasswordForm()
    if form.validate_on_submit():
        old_hash = user.password_hash
        # Only if the hash is still the one the link was made for: of two submissions of the
        # same link at the same moment, one wins and the other finds the link used.
        changed = db.session.execute(
            update(User).where(User.id == user.id, User.password_hash == old_hash)
            .values(password_hash=hash_password(form.password.data))
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if changed != 1:
            db.session.rollback()
            return _invalid_link()
        audit.record("user.password_reset", "user", user.id,
                     before={"password": "import" if first_password else "set"},
                     after={"password": "set", "via": "email_link"}, actor_id=user.id)
        db.session.commit()
        _notify_changed(user)
        login_user(user)
        if first_password:
            flash("Đã đặt mật khẩu. Từ nay bạn đăng nhập bằng email và mật khẩu vừa đặt. "
                  "Chào mừng bạn đến với Học vụ số Hải Phòng!", "success")
        else:
            flash("Đã đổi mật khẩu. Bạn đã được đăng nhập bằng mật khẩu mới.", "success")
        return redirect(url_for("web.index"))
    return _no_leak(make_response(render_template(
        "reset_password.html", form=form, first_password=first_password, user=user)))


def _notify_changed(user: User) -> None:
    """Tell the owner their password changed: if it was not them, they learn it now."""
    if not user.email:
        return
    when = datetime.now(UTC).astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")
    job = send_mail(user.email, *render_mail("password_changed", user=user, when=when,
                                             forgot_link=f"{_base_url()}/forgot"))
    if isinstance(job, jobs.LocalJob) and job.status == "failed":
        log.error("password-changed mail failed: %s", job.error)
