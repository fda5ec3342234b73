"""Registrations, attempts and commits: the server side of SCORM run-time tracking.

A commit is one full CMI snapshot of one SCO. It is validated by the engine, its statuses are
evaluated by the engine, and it is stored with one upsert that only wins over an older
sequence number, so a late or replayed commit never overwrites newer progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .extensions import db
from .models import (
    Attempt,
    Interaction,
    LearnerGlobal,
    Objective,
    Package,
    PackageVersion,
    Registration,
    ScoState,
    User,
)
from .scorm import datamodel, status
from .scorm.duration import format_duration
from .scorm.manifest import Manifest

SEQ_BITS = 20  # a session may send up to 2**20 commits per SCO
COMPLETE = {"completed"}
RANK_SUCCESS = {"unknown": 0, "failed": 1, "passed": 2}
RANK_COMPLETION = {"not attempted": 0, "unknown": 0, "incomplete": 1, "completed": 2}


class CommitRejected(Exception):
    def __init__(self, status_code: int, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True)
class ScoInfo:
    item_id: str
    title: str
    launch: str
    scorm_type: str
    definition: status.ScoDefinition
    data_from_lms: str | None
    max_time_allowed: str | None
    time_limit_action: str | None


@dataclass(frozen=True)
class VersionInfo:
    id: int
    package_id: int
    scorm_version: str
    scos: dict[str, ScoInfo]
    order: tuple[str, ...]
    objectives_global: bool
    shared_data_global: bool


@lru_cache(maxsize=512)
def _version_info_cached(version_id: int) -> VersionInfo:
    version = db.session.get(PackageVersion, version_id)
    manifest = Manifest.from_json(version.manifest)
    scos: dict[str, ScoInfo] = {}
    for item in manifest.scos():
        scos[item.identifier] = ScoInfo(
            item_id=item.identifier,
            title=item.title,
            launch=item.launch or "",
            scorm_type=item.scorm_type or "sco",
            definition=status.ScoDefinition(
                version=manifest.version,
                mastery_score=item.mastery_score,
                completion_threshold=item.completion_threshold,
                scaled_passing_score=item.scaled_passing_score,
            ),
            data_from_lms=item.data_from_lms,
            max_time_allowed=item.max_time_allowed,
            time_limit_action=item.time_limit_action,
        )
    org = manifest.organization
    return VersionInfo(
        id=version.id,
        package_id=version.package_id,
        scorm_version=manifest.version,
        scos=scos,
        order=tuple(scos),
        objectives_global=org.objectives_global_to_system,
        shared_data_global=org.shared_data_global_to_system,
    )


def version_info(version: PackageVersion | int) -> VersionInfo:
    """Immutable per-version metadata, cached per process (a version never changes)."""
    return _version_info_cached(version if isinstance(version, int) else version.id)


def now() -> datetime:
    return datetime.now(UTC)


# --- registrations and attempts -------------------------------------------------------------


def register(user: User, package: Package) -> Registration:
    reg = db.session.scalar(
        select(Registration).where(
            Registration.user_id == user.id, Registration.package_id == package.id
        )
    )
    if reg is None:
        if package.current_version_id is None:
            raise ValueError("package has no version")
        reg = Registration(
            user_id=user.id, package_id=package.id, package_version_id=package.current_version_id
        )
        db.session.add(reg)
        db.session.commit()
    return reg


def current_attempt(reg: Registration) -> Attempt | None:
    return db.session.scalars(
        select(Attempt).where(Attempt.registration_id == reg.id).order_by(Attempt.number.desc())
    ).first()


def open_session(reg: Registration) -> Attempt:
    """Start a player session: the current attempt, or a new one if the last has ended."""
    attempt = current_attempt(reg)
    info = version_info(reg.package_version_id)
    if attempt is None or (
        attempt.ended and (info.scorm_version == "2004" or reg.completion_status == "completed")
    ):
        if attempt is not None and reg.package.current_version_id != reg.package_version_id:
            # A finished attempt is the moment a learner moves to the newest version.
            reg.package_version_id = reg.package.current_version_id
        attempt = Attempt(
            registration_id=reg.id, number=(attempt.number + 1) if attempt else 1, session_count=0
        )
        db.session.add(attempt)
    attempt.session_count = (attempt.session_count or 0) + 1
    attempt.ended = False
    db.session.commit()
    return attempt


# --- launch state ---------------------------------------------------------------------------


def _needs_new_sco_attempt(info: VersionInfo, state: ScoState) -> bool:
    """SCORM 2004: once a SCO exited other than by suspend, its next delivery is a new attempt."""
    return info.scorm_version == "2004" and state.exited and state.exit != "suspend"


def sco_launch_state(attempt: Attempt, item_id: str, user: User) -> dict[str, str]:
    """The flat CMI the runtime is initialised with for one SCO delivery."""
    reg = attempt.registration
    info = version_info(reg.package_version_id)
    sco = info.scos[item_id]
    state = db.session.scalar(
        select(ScoState).where(ScoState.attempt_id == attempt.id, ScoState.item_id == item_id)
    )
    if state is None:
        state = ScoState(
            attempt_id=attempt.id,
            item_id=item_id,
            seq=0,
            cmi={},
            base_session=attempt.session_count,
            entry="ab-initio",
        )
        db.session.add(state)
    elif _needs_new_sco_attempt(info, state):
        state.cmi = {}
        state.completion_status = "not attempted"
        state.success_status = "unknown"
        state.score_scaled = state.score_raw = None
        state.total_seconds = state.base_seconds = 0.0
        state.base_session = attempt.session_count
        state.entry = "ab-initio"
        state.exit = ""
        state.exited = False
    state.launched = True
    attempt.current_item = item_id  # where the next launch reopens
    done_now = False
    if sco.scorm_type == "asset":
        # Assets never talk to the API: delivering one is all there is to complete it.
        state.completion_status = "completed"
        state.exited = True
        done_now = _store_rollup(registration_row(reg.id), attempt.id,
                                 _attempt_progress(attempt.id, info), now())
    db.session.commit()
    if done_now:
        _module_done(reg.id)

    cmi = {k: v for k, v in (state.cmi or {}).items()}
    cmi.update(_server_values(info, sco, state, user))
    return cmi


# Where each server-owned launch value lives in each version's data model.
_SERVER_ELEMENTS: dict[str, dict[str, str]] = {
    "1.2": {
        "learner_id": "cmi.core.student_id", "learner_name": "cmi.core.student_name",
        "entry": "cmi.core.entry", "credit": "cmi.core.credit", "mode": "cmi.core.lesson_mode",
        "total_time": "cmi.core.total_time", "launch_data": "cmi.launch_data",
        "mastery_score": "cmi.student_data.mastery_score",
        "max_time_allowed": "cmi.student_data.max_time_allowed",
        "time_limit_action": "cmi.student_data.time_limit_action",
    },
    "2004": {
        "learner_id": "cmi.learner_id", "learner_name": "cmi.learner_name",
        "entry": "cmi.entry", "credit": "cmi.credit", "mode": "cmi.mode",
        "total_time": "cmi.total_time", "launch_data": "cmi.launch_data",
        "completion_threshold": "cmi.completion_threshold",
        "scaled_passing_score": "cmi.scaled_passing_score",
        "max_time_allowed": "cmi.max_time_allowed",
        "time_limit_action": "cmi.time_limit_action",
    },
}


def _server_values(info: VersionInfo, sco: ScoInfo, state: ScoState, user: User) -> dict:
    version = info.scorm_version
    defn = sco.definition
    logical = {
        "learner_id": str(user.id),
        "learner_name": _name_12(user.name) if version == "1.2" else user.name,
        "entry": state.entry or "",
        "credit": "credit",
        "mode": "normal",
        "total_time": format_duration(version, state.total_seconds or 0.0),
        "launch_data": sco.data_from_lms or "",
        "mastery_score": _num(defn.mastery_score),
        "completion_threshold": _num(defn.completion_threshold),
        "scaled_passing_score": _num(defn.scaled_passing_score),
        "max_time_allowed": sco.max_time_allowed,
        "time_limit_action": sco.time_limit_action,
    }
    return {
        element: logical[name]
        for name, element in _SERVER_ELEMENTS[version].items()
        if logical[name] is not None
    }


def _name_12(name: str) -> str:
    """SCORM 1.2 asks for "Last, First"; Vietnamese names put the given name last."""
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name


def _num(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


# --- commits --------------------------------------------------------------------------------


@dataclass
class CommitResult:
    accepted: bool
    seq: int
    completion_status: str
    success_status: str


def _upsert(table):
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(table)


# Everything a commit needs to know about its attempt, in one query.
_COMMIT_CONTEXT = (
    select(
        Attempt.session_count, Attempt.number, Registration.id,
        Registration.package_version_id, Registration.user_id,
        Registration.completion_status, Registration.success_status,
        Package.completion_fallback,
    )
    .join(Registration, Registration.id == Attempt.registration_id)
    .join(Package, Package.id == Registration.package_id)
    .where(Attempt.id == bindparam("attempt_id"))
)


@lru_cache(maxsize=4)
def _sco_upsert(dialect: str):
    """The one statement that stores a commit, built once per dialect with bound parameters.

    It only wins over an older sequence number, and it counts a session's time once: the
    first commit of a new session moves the running total into base_seconds.
    """
    t = ScoState.__table__
    cols = [
        "attempt_id", "item_id", "seq", "cmi", "completion_status", "success_status",
        "score_scaled", "score_raw", "base_seconds", "base_session", "total_seconds", "exit",
        "entry", "launched", "exited", "updated_at",
    ]
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_fn(t).values({c: bindparam(c, type_=t.c[c].type) for c in cols})
    ex = stmt.excluded
    new_session = t.c.base_session < ex.base_session
    return stmt.on_conflict_do_update(
        index_elements=[t.c.attempt_id, t.c.item_id],
        set_={
            "seq": ex.seq, "cmi": ex.cmi,
            "completion_status": ex.completion_status, "success_status": ex.success_status,
            "score_scaled": ex.score_scaled, "score_raw": ex.score_raw,
            "base_seconds": case((new_session, t.c.total_seconds), else_=t.c.base_seconds),
            "total_seconds": case(
                (new_session, t.c.total_seconds + ex.total_seconds),
                else_=t.c.base_seconds + ex.total_seconds,
            ),
            "base_session": ex.base_session,
            "exit": ex.exit, "entry": ex.entry, "launched": True, "exited": ex.exited,
            "updated_at": ex.updated_at,
        },
        where=t.c.seq < ex.seq,
    ).returning(t.c.id, t.c.total_seconds)


def parse_commit(payload: object) -> tuple[str, int, int, dict, bool]:
    if not isinstance(payload, dict):
        raise CommitRejected(400, "The commit body must be a JSON object.")
    item = payload.get("item")
    session, local = payload.get("session"), payload.get("seq")
    cmi = payload.get("cmi")
    if not isinstance(item, str) or not item:
        raise CommitRejected(422, "'item' (the SCO identifier) is required.")
    if not isinstance(session, int) or not isinstance(local, int) or session < 1 or local < 0:
        raise CommitRejected(422, "'session' and 'seq' must be non-negative integers.")
    if local >= 1 << SEQ_BITS:
        raise CommitRejected(422, "'seq' is too large.")
    if not isinstance(cmi, dict):
        raise CommitRejected(422, "'cmi' must be an object of data-model elements.")
    return item, session, local, cmi, bool(payload.get("terminate"))


def apply_commit(attempt_id: int, user_id: int, payload: object) -> CommitResult:
    item, session, local, cmi, terminate = parse_commit(payload)
    # The hot path runs Core statements on the session's connection (same transaction): the
    # ORM layer would only add per-statement overhead here.
    conn = db.session.connection()
    row = conn.execute(_COMMIT_CONTEXT, {"attempt_id": attempt_id}).first()
    if row is None or row.user_id != user_id:
        raise CommitRejected(404, "No such attempt.")
    session_count, version_id = row.session_count, row.package_version_id
    if session > session_count:
        raise CommitRejected(422, "Unknown session number.")
    info = version_info(version_id)
    sco = info.scos.get(item)
    if sco is None:
        raise CommitRejected(422, f"'{item}' is not a SCO of this package.")

    clean, violations = datamodel.validate_commit(info.scorm_version, cmi)
    if violations:
        raise CommitRejected(
            422, "The commit contains invalid data-model values.", [v.as_dict() for v in violations]
        )
    if sco.scorm_type == "asset":
        raise CommitRejected(422, f"'{item}' is an asset; assets are not tracked by commits.")
    outcome = status.evaluate(sco.definition, clean)
    seq = (session << SEQ_BITS) | local
    # SCORM 1.2 leaves attempts to the LMS: we keep a 1.2 SCO's data after a normal exit, so its
    # next launch is a re-entry (entry ""), not a new attempt. SCORM 2004 starts a new attempt.
    sco_attempt_ends = outcome.attempt_ended and info.scorm_version == "2004"
    next_entry = status.next_entry(info.scorm_version, outcome.exit, sco_attempt_ends)
    stamp = now()

    values = dict(
        attempt_id=attempt_id, item_id=item, seq=seq, cmi=clean,
        completion_status=outcome.completion_status, success_status=outcome.success_status,
        score_scaled=outcome.score_scaled, score_raw=outcome.score_raw,
        base_seconds=0.0, base_session=session, total_seconds=outcome.session_seconds,
        exit=outcome.exit, entry=next_entry if terminate else "resume" if outcome.suspended else "",
        launched=True, exited=terminate, updated_at=stamp,
    )
    stmt = _sco_upsert(db.engine.dialect.name)
    stored = conn.execute(stmt, values).first()
    if stored is None:
        db.session.rollback()
        return CommitResult(False, seq, outcome.completion_status, outcome.success_status)
    sco_state_id = stored[0]

    if any(k.startswith(("cmi.interactions.", "cmi.objectives.")) for k in clean):
        _store_details(info.scorm_version, sco_state_id, clean)
    _store_globals(user_id, info, payload, attempt_id)
    if isinstance(payload.get("sequencing"), str):
        db.session.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id, Attempt.sequencing_seq < seq)
            .values(sequencing_state=payload["sequencing"], sequencing_seq=seq,
                    current_item=item)
        )
    ended = terminate and outcome.attempt_ended and (
        len(info.order) == 1 or bool(payload.get("session_end"))
    )
    if ended:
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(ended=True))
    if len(info.order) == 1:  # the common case: no need to read the row back
        progress = [status.ScoProgress(outcome, stored[1], True, terminate)]
    else:
        progress = _attempt_progress(attempt_id, info)
    done_now = _store_rollup(row, attempt_id, progress, stamp)
    db.session.commit()
    if done_now:
        _module_done(row.id)
    return CommitResult(True, seq, outcome.completion_status, outcome.success_status)


def _module_done(registration_id: int) -> None:
    """A module just became completed or passed: certificates may be due (a queued job)."""
    from .certificates.hooks import module_done

    module_done(registration_id)


def _store_details(version: str, sco_state_id: int, clean: dict[str, str]) -> None:
    db.session.execute(delete(Interaction).where(Interaction.sco_state_id == sco_state_id))
    db.session.execute(delete(Objective).where(Objective.sco_state_id == sco_state_id))
    rows = [
        {
            "sco_state_id": sco_state_id, "idx": r["index"], "interaction_id": r.get("id") or "",
            "type": r.get("type"), "learner_response": r.get("learner_response"),
            "result": r.get("result"), "correct_responses": r.get("correct_responses") or [],
            "weighting": r.get("weighting"), "latency": r.get("latency"),
            "timestamp": r.get("timestamp"), "description": r.get("description"),
        }
        for r in datamodel.interactions(version, clean)
    ]
    if rows:
        db.session.execute(insert(Interaction), rows)
    objs = [
        {
            "sco_state_id": sco_state_id, "idx": o["index"], "objective_id": o.get("id") or "",
            "success_status": o.get("success_status"),
            "completion_status": o.get("completion_status"),
            "score_scaled": _float(o.get("score_scaled")), "score_raw": _float(o.get("score_raw")),
            "progress_measure": _float(o.get("progress_measure")),
        }
        for o in datamodel.objectives(version, clean)
    ]
    if objs:
        db.session.execute(insert(Objective), objs)


def _float(value: object) -> float | None:
    try:
        return None if value in (None, "") else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _scope(is_global: bool, attempt_id: int) -> str:
    """Global to the system, or (objectivesGlobalToSystem="false") to this package attempt."""
    return "system" if is_global else f"attempt:{attempt_id}"


def _store_globals(user_id: int, info: VersionInfo, payload: dict, attempt_id: int) -> None:
    for kind, key, scope_global in (
        ("objective", "globals", info.objectives_global),
        ("shared_data", "shared", info.shared_data_global),
    ):
        snapshot = payload.get(key)
        if not isinstance(snapshot, dict) or not snapshot:
            continue
        scope = _scope(scope_global, attempt_id)
        for name, value in snapshot.items():
            if not isinstance(name, str) or len(name) > 1000:
                continue
            stmt = _upsert(LearnerGlobal.__table__).values(
                user_id=user_id, kind=kind, scope=scope, key=name,
                value={"v": value}, updated_at=now(),
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["user_id", "kind", "scope", "key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            )
            db.session.execute(stmt)


def learner_globals(user_id: int, info: VersionInfo, attempt_id: int) -> tuple[dict, dict]:
    scopes = {
        "objective": _scope(info.objectives_global, attempt_id),
        "shared_data": _scope(info.shared_data_global, attempt_id),
    }
    objectives: dict = {}
    shared: dict = {}
    rows = db.session.execute(
        select(LearnerGlobal.kind, LearnerGlobal.scope, LearnerGlobal.key, LearnerGlobal.value)
        .where(LearnerGlobal.user_id == user_id)
    )
    for kind, scope, key, value in rows:
        if scopes.get(kind) == scope:
            (objectives if kind == "objective" else shared)[key] = value.get("v")
    return objectives, shared


def _attempt_progress(attempt_id: int, info: VersionInfo) -> list[status.ScoProgress]:
    rows = db.session.execute(
        select(
            ScoState.item_id, ScoState.completion_status, ScoState.success_status,
            ScoState.score_scaled, ScoState.score_raw, ScoState.total_seconds, ScoState.launched,
            ScoState.exited, ScoState.exit,
        ).where(ScoState.attempt_id == attempt_id)
    ).all()
    by_item = {r.item_id: r for r in rows}
    progress = []
    for item_id in info.order:
        r = by_item.get(item_id)
        if r is None:
            progress.append(status.ScoProgress(None, 0.0, False, False))
            continue
        outcome = status.ScoOutcome(
            completion_status=r.completion_status, success_status=r.success_status,
            score_scaled=r.score_scaled, score_raw=r.score_raw, session_seconds=0.0,
            exit=r.exit or "", suspended=r.exit == "suspend", attempt_ended=False,
            lesson_status=None,
        )
        progress.append(status.ScoProgress(outcome, r.total_seconds or 0.0, r.launched, r.exited))
    return progress


def _store_rollup(reg, attempt_id: int, progress: list[status.ScoProgress],
                  stamp: datetime) -> bool:
    """Write the package-level rollup; `reg` is a row with the registration's current values.

    The best result wins: a later, weaker attempt never takes a completion or a pass away.
    Returns True when this write made the module completed or passed (a transition).
    """
    cfg = reg.completion_fallback or {}
    fallback = status.CompletionFallback(mode=cfg.get("mode", "none"), minutes=cfg.get("minutes"))
    result = status.rollup(progress, fallback)
    values: dict = {"updated_at": stamp}
    if RANK_COMPLETION.get(result.completion_status, 0) >= RANK_COMPLETION.get(
        reg.completion_status, 0
    ):
        values["completion_status"] = result.completion_status
        if result.completion_status == "completed" and reg.completion_status != "completed":
            values["completed_at"] = stamp
            values["decided_by"] = result.decided_by
    if RANK_SUCCESS.get(result.success_status, 0) >= RANK_SUCCESS.get(reg.success_status, 0):
        values["success_status"] = result.success_status
    if result.score_scaled is not None:
        values["score_scaled"] = result.score_scaled
    prior = _prior_attempts_seconds(reg.id, attempt_id) if reg.number > 1 else 0.0
    values["total_seconds"] = result.total_seconds + prior
    db.session.connection().execute(_registration_update(tuple(sorted(values))),
                                    {**values, "reg_id": reg.id})
    return (values.get("completion_status") == "completed"
            and reg.completion_status != "completed") or (
        values.get("success_status") == "passed" and reg.success_status != "passed")


@lru_cache(maxsize=32)
def _registration_update(keys: tuple[str, ...]):
    """UPDATE registrations for one set of changed columns, built once per set."""
    t = Registration.__table__
    return (t.update().where(t.c.id == bindparam("reg_id"))
            .values({k: bindparam(k, type_=t.c[k].type) for k in keys}))


def _prior_attempts_seconds(reg_id: int, attempt_id: int) -> float:
    return float(
        db.session.scalar(
            select(func.coalesce(func.sum(ScoState.total_seconds), 0.0))
            .join(Attempt, Attempt.id == ScoState.attempt_id)
            .where(Attempt.registration_id == reg_id, Attempt.id != attempt_id)
        )
        or 0.0
    )


def registration_row(reg_id: int):
    """The registration values _store_rollup needs, as one row."""
    return db.session.execute(
        select(
            Registration.id, Registration.completion_status, Registration.success_status,
            Package.completion_fallback,
            func.coalesce(func.max(Attempt.number), 1).label("number"),
        )
        .join(Package, Package.id == Registration.package_id)
        .outerjoin(Attempt, Attempt.registration_id == Registration.id)
        .where(Registration.id == reg_id)
        .group_by(Registration.id, Package.completion_fallback)
    ).first()
