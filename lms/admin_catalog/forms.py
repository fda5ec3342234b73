"""Forms of the catalog admin (Flask-WTF, so every POST carries a CSRF token).

The forms only read the input; what is allowed is decided by `rules.py` (shared with the YAML
seed) and `service.py`. Built-in WTForms messages are English, so every field here supplies
its own Vietnamese message.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import FrameworkCompetency, Module, Programme
from . import rules
from .text import _l


class WholeNumberField(IntegerField):
    """An integer input whose "not a number" message is ours (empty → None)."""

    def __init__(self, label: object = None, validators: list | None = None,
                 invalid_message: object = "", **kwargs: object) -> None:
        super().__init__(label, validators, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0].strip() if valuelist else ""
        if not raw:
            self.data = None
            return
        try:
            self.data = int(raw)
        except ValueError:
            self.data = None
            raise ValueError(str(self.invalid_message)) from None


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _code_field() -> StringField:
    return StringField(
        _l("Mã (chữ thường không dấu, số, dấu '-')"),
        validators=[Length(max=rules.CODE_MAX, message=_l("Mã dài tối đa %(max)d ký tự."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"})


def _title_field() -> StringField:
    return StringField(_l("Tên"), validators=[
        Length(max=rules.TITLE_MAX, message=_l("Tên dài tối đa %(max)d ký tự."))])


class ProgrammeForm(FlaskForm):
    code = _code_field()
    kind = SelectField(_l("Loại"), validate_choice=False, choices=[
        SelectChoice("class", _l("Lớp học")), SelectChoice("programme", _l("Chương trình"))])
    title = _title_field()
    description = TextAreaField(_l("Mô tả"), validators=[
        Length(max=5000, message=_l("Mô tả dài tối đa %(max)d ký tự."))])
    audience = CheckboxesField(_l("Nhóm đối tượng"), validate_choice=False)
    open = BooleanField(_l("Mở cho mọi người tự đăng ký và học thử không cần tài khoản"))
    target_rate = WholeNumberField(
        _l("Tỉ lệ hoàn thành mục tiêu (%)"), default=80,
        invalid_message=_l("Tỉ lệ mục tiêu phải là số nguyên từ 0 đến 100."))
    completion_mode = SelectField(_l("Quy tắc hoàn thành"), validate_choice=False, choices=[
        SelectChoice("all", _l("Đạt tất cả học phần bắt buộc")),
        SelectChoice("count", _l("Đạt ít nhất N học phần bắt buộc"))])
    completion_count = WholeNumberField(
        _l("Số học phần cần đạt (N)"),
        invalid_message=_l("Số học phần cần đạt phải là số nguyên từ 1 trở lên."))
    certificate = BooleanField(_l("Cấp chứng nhận khi hoàn thành"), default=True)

    def fill(self, programme: Programme) -> None:
        rule = programme.completion_rule or {}
        self.code.data = programme.code
        self.kind.data = programme.kind
        self.title.data = programme.title
        self.description.data = programme.description
        self.audience.data = list(programme.audience or [])
        self.open.data = programme.open
        self.target_rate.data = programme.target_rate
        self.completion_mode.data = rule.get("mode", "all")
        self.completion_count.data = rule.get("count")
        self.certificate.data = programme.certificate

    def values(self) -> dict:
        mode = self.completion_mode.data
        completion: dict = {"mode": mode}
        if mode == "count":
            completion["count"] = self.completion_count.data
        return {"code": (self.code.data or "").strip(), "kind": self.kind.data,
                "title": self.title.data or "", "description": self.description.data or "",
                "audience": list(self.audience.data or []), "open": self.open.data,
                "target_rate": self.target_rate.data, "completion": completion,
                "certificate": self.certificate.data}


class TopicForm(FlaskForm):
    code = _code_field()
    title = _title_field()
    description = TextAreaField(_l("Mô tả"), validators=[
        Length(max=5000, message=_l("Mô tả dài tối đa %(max)d ký tự."))])

    def values(self) -> dict:
        return {"code": (self.code.data or "").strip(), "title": self.title.data or "",
                "description": self.description.data or ""}


class ModuleForm(FlaskForm):
    """The competency levels are extra fields `level_<competency id>` added by
    `module_form_class` for the active framework."""

    code = _code_field()
    title = _title_field()
    summary = TextAreaField(_l("Giới thiệu ngắn"), validators=[
        Length(max=2000, message=_l("Phần giới thiệu dài tối đa %(max)d ký tự."))])
    objectives = TextAreaField(_l("Mục tiêu (mỗi dòng một mục tiêu, 2–4 dòng)"), validators=[
        Length(max=4000, message=_l("Mục tiêu dài tối đa %(max)d ký tự."))])
    audience = CheckboxesField(_l("Nhóm đối tượng"), validate_choice=False)
    minutes = WholeNumberField(_l("Thời lượng (phút)"),
                               invalid_message=_l("Thời lượng phải là số phút (số nguyên)."))
    required = BooleanField(_l("Bắt buộc để hoàn thành chương trình"), default=True)
    done_when = SelectField(_l("Học phần hoàn thành khi"), validate_choice=False, choices=[
        SelectChoice("passed", _l("Đạt bài kiểm tra cuối bài")),
        SelectChoice("completed", _l("Học xong bài"))])
    package_id = SelectField(_l("Gói SCORM (đã nhập)"), validate_choice=False,
                             coerce=lambda v: int(v) if str(v).isdigit() else None)

    competency_fields: list[tuple[FrameworkCompetency, str]] = []

    def fill(self, module: Module) -> None:
        self.code.data = module.code
        self.title.data = module.title
        self.summary.data = module.summary
        self.objectives.data = "\n".join(module.objectives or [])
        self.audience.data = list(module.audience or [])
        self.minutes.data = module.minutes
        self.required.data = module.required
        self.done_when.data = module.done_when
        self.package_id.data = module.package_id
        levels = {mc.competency_id: mc.level for mc in module.competencies}
        for comp, name in self.competency_fields:
            self[name].data = levels.get(comp.id, 0)

    def values(self) -> dict:
        objectives = [line.strip() for line in (self.objectives.data or "").splitlines()
                      if line.strip()]
        competencies = {comp.code: self[name].data for comp, name in self.competency_fields
                        if self[name].data}
        return {"code": (self.code.data or "").strip(), "title": self.title.data or "",
                "summary": self.summary.data or "", "objectives": objectives,
                "audience": list(self.audience.data or []), "minutes": self.minutes.data,
                "required": self.required.data, "done_when": self.done_when.data,
                "package_id": self.package_id.data, "competencies": competencies}


def module_form_class(competencies: list[FrameworkCompetency],
                      levels: list[tuple[int, str]]) -> type[ModuleForm]:
    """A ModuleForm with one level select per competency of the framework (— = not mapped)."""

    def to_level(value: object) -> int:
        text = str(value).strip()
        return int(text) if text.isdigit() else -1  # -1: refused by rules.check_competencies

    attrs: dict = {"competency_fields": []}
    for comp in competencies:
        name = f"level_{comp.id}"
        attrs[name] = SelectField(f"{comp.code} {comp.name}", coerce=to_level, default=0,
                                  validate_choice=False,
                                  choices=[SelectChoice(0, "—")]
                                  + [SelectChoice(n, label) for n, label in levels])
        attrs["competency_fields"].append((comp, name))
    return type("ModuleFormFor", (ModuleForm,), attrs)


class ActionForm(FlaskForm):
    """A button-only form (move, retire, restore): just the CSRF token."""
