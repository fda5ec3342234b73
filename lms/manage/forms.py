"""Forms of the assignment pages (admin and unit manager share one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..assignments import KINDS
from ..extensions import db
from ..models import Module, Programme, Topic, Unit


class AssignmentForm(FlaskForm):
    target = SelectField("Nội dung phải học", validate_choice=False)
    units = SelectMultipleField("Đơn vị (giữ Ctrl để chọn nhiều)", coerce=int,
                                validate_choice=False)
    titles_within_units = BooleanField("Chức vụ chỉ tính trong các đơn vị đã chọn")
    job_titles = TextAreaField("Chức vụ (mỗi dòng một chức vụ)", validators=[Length(max=20000)])
    people = TextAreaField("Người học cụ thể (mỗi dòng một email hoặc số điện thoại)",
                           validators=[Length(max=50000)])
    due_date = DateField("Hạn hoàn thành", validators=[Optional()],
                         render_kw={"required": True})
    note = TextAreaField("Ghi chú cho người học", validators=[Length(max=2000)])


class ManagerForm(FlaskForm):
    contact = StringField("Email hoặc số điện thoại của người được giao quản lý",
                          validators=[DataRequired("Hãy nhập email hoặc số điện thoại."),
                                      Length(max=254)])


class ActionForm(FlaskForm):
    """A button-only form (retire): just the CSRF token."""


def target_choices() -> dict[str, list[tuple[str, str]]]:
    """The live catalog as option groups: programmes, topics, modules."""
    programmes = db.session.scalars(select(Programme).where(Programme.retired_at.is_(None))
                                    .order_by(Programme.position, Programme.title)).all()
    topics = db.session.scalars(select(Topic).where(Topic.retired_at.is_(None))
                                .order_by(Topic.programme_id, Topic.position)).all()
    modules = db.session.scalars(select(Module).where(Module.retired_at.is_(None))
                                 .order_by(Module.topic_id, Module.position)).all()
    return {
        KINDS["programme"]: [(f"programme:{p.id}", f"{p.title} ({p.code})") for p in programmes],
        KINDS["topic"]: [(f"topic:{t.id}", f"{t.title} ({t.code})") for t in topics],
        KINDS["module"]: [(f"module:{m.id}", f"{m.title} ({m.code})") for m in modules],
    }


def unit_choices(scope: Unit | None) -> list[tuple[int, str]]:
    if scope is not None:
        return [(scope.id, f"Cả đơn vị {scope.name}")]
    units = db.session.scalars(select(Unit).where(Unit.retired_at.is_(None))
                               .order_by(Unit.kind, Unit.name)).all()
    return [(u.id, f"{u.name} ({u.code})") for u in units]
