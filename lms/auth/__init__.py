"""Login, logout and bearer-token authentication."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from ..extensions import db, login_manager
from ..models import ApiToken, User
from ..security import token_digest, verify_password

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
    email = EmailField(
        "Email", validators=[DataRequired("Vui lòng nhập email."), Email("Email không hợp lệ.")]
    )
    password = PasswordField(
        "Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu."), Length(max=200)]
    )


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user and verify_password(user.password_hash, form.password.data):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Email hoặc mật khẩu không đúng.", "error")
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
