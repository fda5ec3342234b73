"""Login, logout, self-registration, bearer-token authentication and (in reset.py) password
reset by an emailed link."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, ValidationError

from ..accounts import find_by_contact, split_contact
from ..extensions import db, limiter, login_manager
from ..models import ApiToken, Unit, User
from ..security import hash_password, token_digest, verify_password
from ..units import COMMUNE_KINDS

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def load_user_from_request(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = db.session.scalar(
        db.select(ApiToken).where(ApiToken.token_hash == token_digest(header[7:].strip()))
    )
    return token.user if token else None


class LoginForm(FlaskForm):
    email = StringField("Email hoặc số điện thoại",
                        validators=[DataRequired("Vui lòng nhập email hoặc số điện thoại."),
                                    Length(max=254)])
    password = PasswordField(
        "Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu."), Length(max=200)]
    )


def password_rules() -> list:
    """What a new password must satisfy: sign-up and password reset alike."""
    return [DataRequired("Vui lòng đặt mật khẩu."),
            Length(min=8, max=200, message="Mật khẩu cần ít nhất 8 ký tự.")]


def password_repeat_rules() -> list:
    return [EqualTo("password", message="Hai mật khẩu không khớp.")]


def contact_format(form, field) -> None:
    """An email or a 10-digit mobile number (sign-up and password reset alike)."""
    email, phone = split_contact(field.data or "")
    if email is None and phone is None:
        raise ValidationError("Hãy nhập email hoặc số điện thoại di động 10 số (ví dụ 0912345678).")
    if email is not None and ("." not in email.split("@")[-1] or email.count("@") != 1):
        raise ValidationError("Email không hợp lệ.")


def _contact_valid(form, field) -> None:
    contact_format(form, field)
    if find_by_contact(field.data) is not None:
        raise ValidationError("Email hoặc số điện thoại này đã được đăng ký. Hãy đăng nhập.")


class RegisterForm(FlaskForm):
    contact = StringField("Email hoặc số điện thoại",
                          validators=[DataRequired("Vui lòng nhập email hoặc số điện thoại."),
                                      Length(max=254), _contact_valid])
    name = StringField("Họ và tên", validators=[DataRequired("Vui lòng nhập họ và tên."),
                                                Length(max=200)])
    birth_year = IntegerField("Năm sinh", validators=[
        DataRequired("Vui lòng nhập năm sinh (4 chữ số)."),
        NumberRange(min=1900, max=date.today().year, message="Năm sinh không hợp lệ.")])
    residence = SelectField("Xã, phường, đặc khu nơi ở", coerce=int,
                            validate_choice=True)
    password = PasswordField("Mật khẩu (ít nhất 8 ký tự)", validators=password_rules())
    password2 = PasswordField("Nhập lại mật khẩu", validators=password_repeat_rules())


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.index")


def _login_account_key() -> str:
    """Rate-limit key per account: whatever was typed, normalised like the lookup does."""
    email, phone = split_contact(request.form.get("email", ""))
    return f"login:{email or phone or request.form.get('email', '')[:254]}"


def _failed(response) -> bool:
    # Only failed attempts count: a successful login redirects.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"], methods=["POST"],
               key_func=_login_account_key, deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_by_contact(form.email.data)
        if user and verify_password(user.password_hash, form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Email/số điện thoại hoặc mật khẩu không đúng.", "error")
    return render_template("login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER_IP"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = RegisterForm()
    communes = db.session.scalars(
        select(Unit).where(Unit.kind.in_(COMMUNE_KINDS), Unit.retired_at.is_(None))
        .order_by(Unit.name)
    ).all()
    form.residence.choices = [(0, "— Chọn xã, phường, đặc khu —")] + [
        (u.id, u.name) for u in communes]
    if form.validate_on_submit():
        if not form.residence.data:
            form.residence.errors.append("Vui lòng chọn nơi ở.")
        else:
            email, phone = split_contact(form.contact.data)
            user = User(email=email, phone=phone, name=" ".join(form.name.data.split()),
                        birth_year=form.birth_year.data, residence_unit_id=form.residence.data,
                        password_hash=hash_password(form.password.data), role="learner")
            db.session.add(user)
            db.session.commit()
            login_user(user)
            flash("Đăng ký thành công. Chào mừng bạn đến với Học vụ số Hải Phòng!", "success")
            return redirect(url_for("web.index"))
    return render_template("register.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


from . import reset  # noqa: E402,F401  (registers /forgot and /reset/<token> on bp)
