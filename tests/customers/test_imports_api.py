"""Imports and exports over the REST API: upload, setup, preview, start, follow, report, undo, and
list exports, as an integrator would call them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

import loopcrm.modules.customers.jobs  # noqa: F401  (registers the import tasks)
from loopcrm.app import create_app, register_tasks
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.models import Event
from loopcrm.modules.cdp.schemas import ChannelType, SourceCreate
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate
from loopcrm.modules.customers.service.imports import IMPORT_TASK
from loopcrm.platform.db import create_session_factory, utc_now
from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.permissions import system_actor

ROWS = "姓名,手机,邮箱\n王芳,138 1234 5678,wang@x.cn\n李雷,12345,li@x.cn\n"


def upload(
    client, person, content: bytes = ROWS.encode("gbk"), name: str = "联系人.csv", kind: str = "contact"
):
    return client.post(
        "/api/v1/imports",
        headers=person.headers,
        data={"record_kind": kind},
        files={"file": (name, content, "text/csv")},
    )


def test_an_import_runs_through_the_api_from_upload_to_undo(client, make_person, work):
    rep = make_person("sales_rep")

    uploaded = upload(client, rep)
    assert uploaded.status_code == 201, uploaded.text
    run = uploaded.json()
    assert (run["status"], run["encoding"], run["mapping"]) == (
        "uploaded",
        "gb18030",
        ["full_name", "phone", "email"],
    )

    setup = client.get(f"/api/v1/imports/{run['id']}/setup", headers=rep.headers).json()
    assert setup["sample_rows"] == [["王芳", "138 1234 5678", "wang@x.cn"], ["李雷", "12345", "li@x.cn"]]
    assert "custom_fields" not in {target["key"] for target in setup["targets"]}

    body = {"mapping": run["mapping"], "upsert_key": "email"}
    preview = client.post(f"/api/v1/imports/{run['id']}/preview", headers=rep.headers, json=body).json()
    assert [(row["row_number"], row["outcome"]) for row in preview["rows"]] == [
        (2, "created"),
        (3, "rejected"),
    ]
    assert preview["rows"][1]["problems"] == [
        {
            "field": "phones.0.number",
            "column": 1,
            "code": "value_error",
            "message": "12345 is not a valid phone number",
            "message_id": "{value} is not a valid phone number",
            "params": {"value": "12345"},
        }
    ]

    started = client.post(f"/api/v1/imports/{run['id']}/start", headers=rep.headers, json=body)
    assert (started.status_code, started.json()["status"]) == (202, "queued")
    again = client.post(f"/api/v1/imports/{run['id']}/start", headers=rep.headers, json=body)
    assert again.status_code == 409
    work()

    finished = client.get(f"/api/v1/imports/{run['id']}", headers=rep.headers).json()
    assert (finished["status"], finished["created_count"], finished["rejected_count"]) == ("completed", 1, 1)
    report = client.get(f"/api/v1/imports/{run['id']}/report", headers=rep.headers)
    assert report.headers["content-type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''%E8%81%94%E7%B3%BB%E4%BA%BA-report.csv" in report.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")))) == [
        ["行号", "姓名", "手机", "邮箱", "结果", "原因", "警告"],
        ["3", "李雷", "12345", "li@x.cn", "已拒绝", "手机: 12345 不是有效的电话号码", ""],
    ]
    listed = client.get("/api/v1/imports", headers=rep.headers).json()
    assert [item["id"] for item in listed["items"]] == [run["id"]]

    undone = client.post(f"/api/v1/imports/{run['id']}/undo", headers=rep.headers)
    assert undone.status_code == 202
    work()
    assert client.get(f"/api/v1/imports/{run['id']}", headers=rep.headers).json()["status"] == "undone"
    assert client.get("/api/v1/contacts", headers=rep.headers).json()["items"] == []


def test_bad_uploads_and_mappings_get_problem_documents(client, make_person):
    rep = make_person("sales_rep")
    reader = make_person("read_only")

    unreadable = upload(client, rep, b"\xd0\xcf\x11\xe0old excel", name="old.xls")
    no_header = upload(client, rep, b"\n\n")
    not_allowed = upload(client, reader)
    run = upload(client, rep).json()
    wrong = client.post(
        f"/api/v1/imports/{run['id']}/start",
        headers=rep.headers,
        json={"mapping": ["full_name"], "upsert_key": "phone"},
    )
    other = client.get(f"/api/v1/imports/{run['id']}", headers=make_person("sales_rep").headers)

    assert (unreadable.status_code, unreadable.json()["errors"][0]["field"]) == (422, "file")
    assert "save the file as .xlsx or CSV" in unreadable.json()["errors"][0]["message"]
    assert no_header.status_code == 422
    assert not_allowed.status_code == 403
    assert wrong.status_code == 422
    assert {error["code"] for error in wrong.json()["errors"]} == {"wrong_length", "key_not_mapped"}
    assert other.status_code == 404


def test_exports_follow_the_list_parameters_and_the_readers_scope(client, make_person, uow_factory):
    rep = make_person("sales_rep")
    other = make_person("sales_rep")
    for person, family, given in ((rep, "王", "芳"), (rep, "李", "雷"), (other, "韩", "梅")):
        customers.create_contact(
            uow_factory(), person.actor, ContactCreate(family_name=family, given_name=given, city="福州")
        )

    exported = client.get(
        "/api/v1/contacts/export",
        headers=rep.headers,
        params={"sort": "full_name", "column": ["full_name", "city"], "filter": "city:eq:福州"},
    )
    workbook = client.get("/api/v1/contacts/export", headers=rep.headers, params={"format": "xlsx"})
    refused = client.get("/api/v1/contacts/export", headers=rep.headers, params={"filter": "birthday:empty:"})
    anonymous = client.get("/api/v1/accounts/export")

    assert exported.status_code == 200
    assert exported.content.decode("utf-8-sig").splitlines() == ["姓名,城市", "李雷,福州", "王芳,福州"]
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == ["李雷", "王芳"]
    assert refused.status_code == 422
    assert anonymous.status_code == 401


def test_the_rejected_rows_report_and_exports_are_never_cached(client, make_person, work):
    # Given a finished import with a rejected row, read through the API,
    rep = make_person("sales_rep")
    run = upload(client, rep).json()
    body = {"mapping": run["mapping"], "upsert_key": "email"}
    client.post(f"/api/v1/imports/{run['id']}/start", headers=rep.headers, json=body)
    work()

    # when its report (CSV and XLSX) and a list export are downloaded,
    report = client.get(f"/api/v1/imports/{run['id']}/report", headers=rep.headers)
    workbook = client.get(
        f"/api/v1/imports/{run['id']}/report", headers=rep.headers, params={"format": "xlsx"}
    )
    exported = client.get("/api/v1/contacts/export", headers=rep.headers)

    # then no browser or proxy may keep a copy of the personal data they hold.
    assert (report.status_code, workbook.status_code, exported.status_code) == (200, 200, 200)
    assert report.headers["cache-control"] == "no-store"
    assert workbook.headers["cache-control"] == "no-store"
    assert exported.headers["cache-control"] == "no-store"
    assert "12345" in report.content.decode("utf-8-sig")


def test_a_file_larger_than_a_json_body_may_be_uploaded_up_to_the_upload_limit(settings, engine, make_person):
    # Given JSON bodies limited to 2 KB and uploads to 64 KB,
    limited = settings.model_copy(update={"max_request_bytes": 2048, "max_upload_bytes": 64 * 1024})
    rep = make_person("sales_rep")
    rows = "".join(f"王芳{n},138{n:08d},buyer{n}@x.cn\n" for n in range(400))
    small, large = "姓名,手机,邮箱\n" + rows, "姓名,手机,邮箱\n" + rows * 6
    assert 2048 < len(small.encode()) < 64 * 1024 < len(large.encode())

    with TestClient(create_app(limited, engine=engine)) as client:
        accepted = upload(client, rep, small.encode())
        refused = upload(client, rep, large.encode())
        imports = client.get("/api/v1/imports", headers=rep.headers).json()["items"]
        # The upload's limit is for uploads only: not for a route that takes no file, nor for a
        # body that also calls itself JSON (the app reads the first Content-Type).
        elsewhere = client.post(
            "/api/v1/teams",
            headers=rep.headers,
            data={"name": "x" * 4000},
            files={"file": ("a.csv", small.encode(), "text/csv")},
        )
        json_body = ('{"name": "' + "x" * 4000 + '"}').encode()
        two_types = client.post(
            "/api/v1/imports",
            content=json_body,
            headers=[
                *rep.headers.items(),
                ("content-type", "application/json"),
                ("content-type", "multipart/form-data; boundary=x"),
            ],
        )

    # a file over the JSON limit is taken, one over the upload limit is refused before it is stored.
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["status"], accepted.json()["headers"]) == ("uploaded", ["姓名", "手机", "邮箱"])
    assert (refused.status_code, refused.json()["code"]) == (413, "body_too_large")
    assert [run["id"] for run in imports] == [accepted.json()["id"]]
    assert (elsewhere.status_code, two_types.status_code) == (413, 413)


def test_while_ingestion_is_busy_an_import_sharing_sqlites_lock_lands_small_steps_that_wait(
    client, engine, settings, make_person, uow_factory
):
    # Given an import of 250 contacts started through the API, and events arriving this second,
    register_tasks()  # the CDP registers ingestion as the writer imports make room for
    rep = make_person("sales_rep")
    rows = "".join(f"王芳{n},138{n:08d},buyer{n}@x.cn\n" for n in range(250))
    run = upload(client, rep, ("姓名,手机,邮箱\n" + rows).encode()).json()
    body = {"mapping": run["mapping"], "upsert_key": "email"}
    assert (
        client.post(f"/api/v1/imports/{run['id']}/start", headers=rep.headers, json=body).status_code == 202
    )
    source = cdp.create_source(
        uow_factory(), system_actor(), SourceCreate(name="Shop", channel=ChannelType.WEB)
    )
    events = {"batch": [{"type": "page", "anonymousId": "visitor-1"}], "writeKey": source.write_key}
    assert client.post("/v1/batch", json=events).status_code == 200
    worker = Worker(create_session_factory(engine), settings, run_scheduler=False, embedded=True)

    # when the web process's worker runs a step, and the rest once the events have stopped,
    worker.run_next()
    first = client.get(f"/api/v1/imports/{run['id']}", headers=rep.headers).json()
    with engine.begin() as connection:
        waiting = connection.execute(
            select(Job.run_at).where(Job.name == IMPORT_TASK, Job.status == JobStatus.QUEUED.value)
        ).all()
        [(first_finished,)] = connection.execute(
            select(Job.finished_at).where(Job.name == IMPORT_TASK, Job.status == JobStatus.SUCCEEDED.value)
        ).all()
        connection.execute(update(Event).values(received_at=utc_now() - timedelta(minutes=1)))
        connection.execute(update(Job).where(Job.name == IMPORT_TASK).values(run_at=utc_now()))
    while worker.run_next() is not None:
        pass
    last = client.get(f"/api/v1/imports/{run['id']}", headers=rep.headers).json()
    with engine.connect() as connection:
        steps = connection.scalar(select(func.count()).select_from(Job).where(Job.name == IMPORT_TASK))

    assert (last["status"], last["created_count"], last["processed_rows"]) == ("completed", 250, 250)
    if engine.dialect.name == "sqlite":
        # then on SQLite the busy step landed a hundred lines (the header and 99 rows) and the
        # next was due only a while after it finished; once ingestion was quiet one step landed
        # the other 151.
        assert (first["status"], first["processed_rows"]) == ("running", 99)
        [(next_due,)] = waiting
        assert next_due > first_finished
        assert steps == 2
    else:
        # on PostgreSQL, where the step holds no lock ingestion needs, it landed everything at once.
        assert (first["status"], first["processed_rows"], waiting, steps) == ("completed", 250, [], 1)
