"""Reminder scheduling and the development mail folder (the SMTP path is covered in
test_assignments.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from lms import jobs
from lms.assignments import today_vn
from lms.extensions import db
from lms.models import Assignment, AssignmentAudience, ReminderSent, Unit, User

VN = timezone(timedelta(hours=7))


def test_next_run_is_the_next_reminder_hour_in_hai_phong(app, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_HOUR", 7)
    with app.app_context():
        before = datetime(2025, 6, 30, 6, 30, tzinfo=VN)
        assert jobs.next_reminder_run(before) == datetime(2025, 6, 30, 7, 0, tzinfo=VN)
        at_seven = datetime(2025, 6, 30, 7, 0, 20, tzinfo=VN)  # the run itself: tomorrow
        assert jobs.next_reminder_run(at_seven) == datetime(2025, 7, 1, 7, 0, tzinfo=VN)
        utc_evening = datetime(2025, 6, 30, 23, 30, tzinfo=UTC)  # 06:30 on 1 July in VN
        assert jobs.next_reminder_run(utc_evening) == datetime(2025, 7, 1, 7, 0, tzinfo=VN)


def test_without_redis_nothing_is_scheduled(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    with app.app_context():
        assert jobs.schedule_reminders() is None


def _redis_url(app) -> str:
    url = app.config.get("REDIS_URL")
    if url:
        return url
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    url = "redis://127.0.0.1:6379/12"
    try:
        Redis.from_url(url).ping()
    except RedisDown:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis on 127.0.0.1")
    return url


def test_one_scheduled_run_per_day_however_many_workers_start(app, monkeypatch):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    url = _redis_url(app)
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    with app.app_context():
        q = Queue("default", connection=jobs._redis(url))
        registry = ScheduledJobRegistry(queue=q)
        for job_id in registry.get_job_ids():
            if job_id.startswith("lms-reminders-"):
                registry.remove(job_id, delete_job=True)
        first = jobs.schedule_reminders()
        second = jobs.schedule_reminders()  # a second worker starting
        assert first == second == f"lms-reminders-{jobs.next_reminder_run().date()}"
        ids = [i for i in registry.get_job_ids() if i.startswith("lms-reminders-")]
        assert ids == [first]
        job = jobs.fetch(first)
        assert job.func_name == "lms.jobs.send_reminders"
        registry.remove(first, delete_job=True)


def test_development_default_writes_reminders_as_eml_files(app, mail_log):
    with app.app_context():
        unit = Unit(code="T1", name="Phường Thử", kind="phuong")
        db.session.add(unit)
        db.session.flush()
        user = User(email="hoc@t.vn", name="Người Học", role="learner", unit_id=unit.id,
                    password_hash="!x")
        db.session.add(user)
        from lms.models import Module, Programme, Topic

        prog = Programme(code="p", title="Lớp thử", kind="class")
        topic = Topic(programme=prog, code="t", title="Chuyên đề thử")
        db.session.add_all([prog, topic, Module(topic=topic, code="m", title="Bài thử")])
        db.session.flush()
        due = today_vn() - timedelta(days=1)
        db.session.add(Assignment(target_type="programme", target_id=prog.id, due_date=due,
                                  audiences=[AssignmentAudience(unit_id=unit.id)]))
        db.session.commit()
        result = jobs.send_reminders()
        assert result["learners"] == 1
        (row,) = db.session.scalars(select(ReminderSent)).all()
        assert row.items == [{"target": f"programme:{prog.id}", "due_date": due.isoformat()}]
    (path,) = mail_log.glob("*.eml")
    msg = message_from_bytes(path.read_bytes(), policy=default)
    assert msg["To"] == "hoc@t.vn"
    assert msg["Subject"] == "Nhắc việc: nội dung học bắt buộc đã quá hạn hoàn thành"
    body = msg.get_body(("plain",)).get_content()
    assert f"Lớp thử (chương trình): hạn hoàn thành {due.strftime('%d/%m/%Y')}" in body
    assert "đã quá hạn 1 ngày" in body
    html = msg.get_body(("html",)).get_content()
    assert "Lớp thử" in html and due.strftime("%d/%m/%Y") in html
