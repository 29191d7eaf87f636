"""The import pages and the list exports over HTTP, signed in as a browser is: upload, mapping
errors kept on the page, preview fragment, start, progress fragment, report, undo; exports with
the list's query."""

from __future__ import annotations

import csv
import io
import re

import loopcrm.modules.customers.jobs  # noqa: F401  (registers the import tasks)
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ContactCreate

from ..support import web_forms
from ..support.web_forms import PASSWORD

FILE = "姓名,手机,邮箱\n王芳,138 1234 5678,wang@x.cn\n李雷,12345,li@x.cn\n".encode("gbk")


def test_an_import_goes_from_upload_to_report_and_undo_in_the_pages(
    client, make_person, sign_in, form_token, work
):
    make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    sign_in("rep@example.com")
    token = form_token(client.get("/customers/imports").text)

    uploaded = client.post(
        "/customers/imports",
        data={"record_kind": "contact", "csrf_token": token},
        files={"file": ("联系人.csv", FILE, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    path = uploaded.headers["location"]
    mapping_page = client.get(path)
    assert mapping_page.status_code == 200
    assert '<option value="full_name" selected>姓名</option>' in mapping_page.text
    assert "138 1234 5678" in mapping_page.text  # the first values of each column

    form = {
        "csrf_token": token,
        "column_0": "full_name",
        "column_1": "phone",
        "column_2": "email",
        "upsert_key": "email",
    }
    preview = client.post(f"{path}/preview", data=form, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert "<html" not in preview.text  # a fragment for htmx
    assert "手机: 12345 不是有效的电话号码" in preview.text

    wrong = client.post(f"{path}/start", data={**form, "column_2": "full_name"})
    assert wrong.status_code == 422
    assert 'id="f-column_2-error"' in wrong.text

    started = client.post(f"{path}/start", data=form, follow_redirects=False)
    assert (started.status_code, started.headers["location"]) == (303, path)
    polling = client.get(f"{path}/progress")
    assert 'hx-trigger="every 1s"' in polling.text
    work()
    done = client.get(f"{path}/progress")
    assert "hx-trigger" not in done.text
    assert 'data-count="created">1<' in done.text and 'data-count="rejected">1<' in done.text
    # The outcomes have msgids of their own: a bare "Created" is the lists' date column (创建时间).
    assert "<dt>已创建</dt>" in done.text and "<dt>已拒绝</dt>" in done.text and "创建时间" not in done.text

    report = client.get(f"{path}/report")
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[1] == ["3", "李雷", "12345", "li@x.cn", "已拒绝", "手机: 12345 不是有效的电话号码", ""]

    undone = client.post(f"{path}/undo", data={"csrf_token": token}, follow_redirects=False)
    assert undone.status_code == 303
    work()
    assert 'data-count="reversed">1<' in client.get(path).text
    listing = client.get("/customers/imports")
    assert "联系人.csv" in listing.text and "已撤销" in listing.text
    assert '<th scope="col" class="numeric">已创建</th>' in listing.text and "创建时间" not in listing.text


def test_an_upload_without_a_file_or_with_a_bad_file_keeps_the_form(client, make_person, sign_in, form_token):
    make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    sign_in("rep@example.com")
    token = form_token(client.get("/customers/imports").text)

    missing = client.post("/customers/imports", data={"record_kind": "contact", "csrf_token": token})
    broken = client.post(
        "/customers/imports",
        data={"record_kind": "account", "csrf_token": token},
        files={"file": ("old.xls", b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel")},
    )

    assert missing.status_code == 422
    assert 'id="f-file-error"' in missing.text
    assert broken.status_code == 422
    assert "旧版 .xls" in broken.text


def test_the_list_export_uses_the_lists_query(client, make_person, sign_in, uow_factory):
    rep = make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    for family, given, city in (("王", "芳", "福州"), ("李", "雷", "厦门")):
        customers.create_contact(
            uow_factory(), rep.actor, ContactCreate(family_name=family, given_name=given, city=city)
        )
    sign_in("rep@example.com")

    exported = client.get(
        "/customers/contacts/export", params={"filter": "city:eq:福州", "column": "full_name"}
    )
    refused = client.get(
        "/customers/contacts/export", params={"filter": "birthday:empty:"}, follow_redirects=False
    )

    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith('attachment; filename="contacts-')
    assert exported.content.decode("utf-8-sig").splitlines() == ["姓名", "王芳"]
    assert (refused.status_code, refused.headers["location"]) == (303, "/customers/contacts")


def test_the_customer_lists_link_to_the_imports_for_those_who_may_import(client, make_person):
    make_person("sales_rep", email="rep@example.com", password=PASSWORD)
    make_person("read_only", email="reader@example.com", password=PASSWORD)

    def pages_of(email: str) -> tuple[str, str, object]:
        client.cookies.clear()
        web_forms.sign_in(client, email)
        accounts, contacts = client.get("/customers/accounts"), client.get("/customers/contacts")
        assert (accounts.status_code, contacts.status_code) == (200, 200)
        return accounts.text, contacts.text, client.get("/customers/imports", params={"kind": "account"})

    rep_accounts, rep_contacts, rep_imports = pages_of("rep@example.com")
    reader_accounts, reader_contacts, reader_imports = pages_of("reader@example.com")

    for page, kind in ((rep_accounts, "account"), (rep_contacts, "contact")):
        buttons = page[page.index('<div class="header-buttons">') :]
        buttons = buttons[: buttons.index("</div>")]
        link = re.search(
            rf'<a class="button button-secondary" href="/customers/imports\?kind={kind}">(.*?)</a>', buttons
        )
        assert link and link.group(1).endswith("导入")
        tabs = page[page.index('<nav class="tabs"') :]
        assert re.search(
            r'<a href="/customers/imports"><svg [^>]*>.*?</svg>导入</a>', tabs[: tabs.index("</nav>")]
        )
    # The import page opens on the kind of the list it was reached from.
    assert rep_imports.status_code == 200
    assert re.search(r'<option value="account"[^>]*selected', rep_imports.text)
    # A read-only user may create nothing, so may not import: no link, and the page refuses.
    for page in (reader_accounts, reader_contacts):
        assert "/customers/imports" not in page
    assert reader_imports.status_code == 403
