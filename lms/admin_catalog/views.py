"""Pages of the catalog admin: list, create/edit, reorder, retire/restore."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from ..extensions import db
from ..models import AuditLog, Module, Package, Programme, Topic
from . import bp, service
from .forms import ActionForm, ModuleForm, ProgrammeForm, TopicForm, module_form_class
from .text import _

MODELS: dict[str, type[service.CatalogItem]] = {
    "programme": Programme, "topic": Topic, "module": Module}


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


@bp.context_processor
def _template_helpers() -> dict:
    return {"_": _}


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _get(kind: str, item_id: int) -> service.CatalogItem:
    model = MODELS.get(kind) or abort(404)
    return db.session.get(model, item_id) or abort(404)


def _attach(form, problems: list[tuple[str, str]]) -> list[str]:
    """Put each problem next to its field; return those that belong to no field."""
    general = []
    for field, message in problems:
        if field and field in form:
            form[field].errors = [*form[field].errors, message]
        else:
            general.append(message)
    return general


def _history(kind: str, item_id: int) -> list[AuditLog]:
    return list(db.session.scalars(
        select(AuditLog).where(AuditLog.target_type == kind, AuditLog.target_id == str(item_id))
        .order_by(AuditLog.id.desc()).limit(20)))


def _render(template: str, form, status_errors: list[str] | None = None, **context):
    status = 422 if (form.errors or status_errors) and request.method == "POST" else 200
    return render_template(f"admin_catalog/{template}", form=form,
                           general_errors=status_errors or [], **context), status


@bp.get("/")
def index():
    fw = service.framework()
    packages = {p.id: p for p in db.session.scalars(select(Package))}
    return render_template("admin_catalog/index.html", programmes=service.programmes(),
                           framework=fw, packages=packages, groups=dict(service.target_groups(fw)),
                           warning=service.rule_warning)


# --- programmes -----------------------------------------------------------------------------


def _programme_form() -> ProgrammeForm:
    form = ProgrammeForm()
    form.audience.choices = _choices(service.target_groups(service.framework()))
    return form


@bp.route("/programmes/new", methods=["GET", "POST"])
def programme_new():
    form = _programme_form()
    general: list[str] = []
    if form.validate_on_submit():
        try:
            programme = service.save_programme(None, form.values())
        except service.CatalogInvalid as exc:
            general = _attach(form, exc.problems)
        else:
            flash(_("Đã tạo «%(t)s».", t=programme.title), "success")
            return redirect(url_for("admin_catalog.index", _anchor=f"p-{programme.id}"))
    return _render("programme_form.html", form, general, programme=None)


@bp.route("/programmes/<int:programme_id>", methods=["GET", "POST"])
def programme_edit(programme_id: int):
    programme = db.session.get(Programme, programme_id) or abort(404)
    form = _programme_form()
    general: list[str] = []
    if request.method == "GET":
        form.fill(programme)
    elif form.validate_on_submit():
        try:
            service.save_programme(programme, form.values())
        except service.CatalogInvalid as exc:
            general = _attach(form, exc.problems)
        else:
            flash(_("Đã lưu «%(t)s».", t=programme.title), "success")
            return redirect(url_for("admin_catalog.index", _anchor=f"p-{programme.id}"))
    form.code.data = programme.code
    return _render("programme_form.html", form, general, programme=programme,
                   required=service.required_module_count(programme),
                   history=_history("programme", programme.id))


# --- topics ---------------------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/topics/new", methods=["GET", "POST"])
def topic_new(programme_id: int):
    programme = db.session.get(Programme, programme_id) or abort(404)
    form = TopicForm()
    general: list[str] = []
    if form.validate_on_submit():
        try:
            topic = service.save_topic(programme, None, form.values())
        except service.CatalogInvalid as exc:
            general = _attach(form, exc.problems)
        else:
            flash(_("Đã thêm chuyên đề «%(t)s».", t=topic.title), "success")
            return redirect(url_for("admin_catalog.index", _anchor=f"t-{topic.id}"))
    return _render("topic_form.html", form, general, programme=programme, topic=None)


@bp.route("/topics/<int:topic_id>", methods=["GET", "POST"])
def topic_edit(topic_id: int):
    topic = db.session.get(Topic, topic_id) or abort(404)
    form = TopicForm()
    general: list[str] = []
    if request.method == "GET":
        form.code.data, form.title.data = topic.code, topic.title
        form.description.data = topic.description
    elif form.validate_on_submit():
        try:
            service.save_topic(topic.programme, topic, form.values())
        except service.CatalogInvalid as exc:
            general = _attach(form, exc.problems)
        else:
            flash(_("Đã lưu chuyên đề «%(t)s».", t=topic.title), "success")
            return redirect(url_for("admin_catalog.index", _anchor=f"t-{topic.id}"))
    form.code.data = topic.code
    return _render("topic_form.html", form, general, programme=topic.programme, topic=topic,
                   history=_history("topic", topic.id))


# --- modules --------------------------------------------------------------------------------


def _module_form() -> ModuleForm:
    fw = service.framework()
    competencies = list(fw.competencies) if fw else []
    form = module_form_class(competencies, service.levels(fw))()
    form.audience.choices = _choices(service.target_groups(fw))
    packages = db.session.scalars(select(Package).order_by(Package.title, Package.id))
    form.package_id.choices = [SelectChoice("", _("— Chọn gói —"))] + [
        SelectChoice(p.id, f"{p.title} (#{p.id}, SCORM "
                           f"{p.current_version.edition if p.current_version else '?'})")
        for p in packages]
    return form


def _module_context(form: ModuleForm) -> dict:
    fw = service.framework()
    domains: dict[str, list] = {}
    for comp, name in form.competency_fields:
        domains.setdefault(f"{comp.domain_code}. {comp.domain_name}", []).append(form[name])
    return {"framework": fw, "domains": domains}


@bp.route("/topics/<int:topic_id>/modules/new", methods=["GET", "POST"])
def module_new(topic_id: int):
    topic = db.session.get(Topic, topic_id) or abort(404)
    form = _module_form()
    general: list[str] = []
    if request.method == "GET":
        form.audience.data = list(topic.programme.audience or [])
    elif form.validate_on_submit():
        try:
            module = service.save_module(topic, None, form.values())
        except service.CatalogInvalid as exc:
            general = _attach(form, exc.problems)
        else:
            flash(_("Đã thêm học phần «%(t)s».", t=module.title), "success")
            warning = service.rule_warning(topic.programme)
            if warning:
                flash(warning, "error")
            return redirect(url_for("admin_catalog.index", _anchor=f"m-{module.id}"))
    return _render("module_form.html", form, general, topic=topic, module=None,
                   package_locked=False, **_module_context(form))


@bp.route("/modules/<int:module_id>", methods=["GET", "POST"])
def module_edit(module_id: int):
    module = db.session.get(Module, module_id) or abort(404)
    form = _module_form()
    general: list[str] = []
    if request.method == "GET":
        form.fill(module)
    elif form.validate_on_submit():
        try:
            service.save_module(module.topic, module, form.values())
        except service.CatalogInvalid as exc:
            general = _attach(form, exc.problems)
        else:
            flash(_("Đã lưu học phần «%(t)s».", t=module.title), "success")
            warning = service.rule_warning(module.topic.programme)
            if warning:
                flash(warning, "error")
            return redirect(url_for("admin_catalog.index", _anchor=f"m-{module.id}"))
    form.code.data = module.code
    return _render("module_form.html", form, general, topic=module.topic, module=module,
                   package_locked=service.package_used(module.package_id),
                   history=_history("module", module.id), **_module_context(form))


# --- order, retire, restore -----------------------------------------------------------------


@bp.post("/<kind>/<int:item_id>/<action>")
def item_action(kind: str, item_id: int, action: str):
    item = _get(kind, item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    anchor = f"{kind[0]}-{item.id}"
    try:
        if action in ("up", "down"):
            if not service.move(item, -1 if action == "up" else 1):
                flash(_("Mục này đã ở vị trí đầu/cuối."), "error")
        elif action in ("retire", "restore"):
            service.set_retired(item, action == "retire")
            if action == "retire":
                flash(_("Đã ngừng sử dụng «%(t)s»: học viên không còn thấy mục này, mọi kết quả "
                        "học tập vẫn được giữ.", t=item.title), "success")
            else:
                flash(_("Đã khôi phục «%(t)s».", t=item.title), "success")
            warning = service.rule_warning(service.programme_of(item))
            if warning:
                flash(warning, "error")
        else:
            abort(404)
    except service.CatalogInvalid as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin_catalog.index", _anchor=anchor))
