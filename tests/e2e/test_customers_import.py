"""Importing contacts from a CSV file in a real browser, in Chinese: upload, check the guessed
column mapping, preview, start, watch the job finish, download the report of the rejected row,
run the same file again (nothing changes), then undo the import.

The import runs as a job. The live server here runs the job worker the way ``loopcrm serve``
does on the embedded default: a thread of the web process (``LOOPCRM_EMBEDDED_WORKER``), so the
progress bar follows a real worker, not a test calling the tasks.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ListQuery
from loopcrm.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
FILE_NAME = "展会联系人.csv"
HEADER = ["姓名", "手机", "邮箱", "城市", "职位"]
ROWS = [
    ["王芳", "138 1234 5678", "wang.fang@chenguang.example.cn", "福州", "采购经理"],
    ["李雷", "12345", "li.lei@haiou.example.cn", "厦门", "工程师"],  # not a phone number: rejected
    ["韩梅梅", "139 0000 1111", "han.meimei@haiou.example.cn", "厦门", "销售总监"],
    ["欧阳娜娜", "+86 186 0000 2222", "ouyang.nana@example.cn", "上海", "市场经理"],
]
GOOD_NAMES = ["王芳", "韩梅梅", "欧阳娜娜"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the worker embedded in the web process, polling often."""
    return settings.model_copy(update={"embedded_worker": True, "worker_poll_seconds": 0.1})


def _csv_file() -> bytes:
    """The file as Excel on a Chinese Windows saves it: GBK, CRLF line ends."""
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *ROWS])
    return text.getvalue().encode("gbk")


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("欢迎使用 LoopCRM")


def _upload(page: Page) -> str:
    """Upload the file from the imports page; returns the path of the new import's page."""
    page.goto("/customers/imports")
    expect(page.get_by_role("heading", level=1)).to_have_text("导入")
    page.get_by_label("文件内容").select_option(label="联系人")
    # A file input is a button to assistive technology, named by its label.
    page.get_by_role("button", name="文件", exact=True).set_input_files(
        files=[{"name": FILE_NAME, "mimeType": "text/csv", "buffer": _csv_file()}]
    )
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(FILE_NAME)
    expect(page).to_have_url(re.compile(r"/customers/imports/[^/]+$"))
    return re.sub(r"^https?://[^/]+", "", page.url)


def _counts(page: Page) -> dict[str, str]:
    progress = page.locator("#import-progress")
    return {
        name: progress.locator(f'[data-count="{name}"]').inner_text()
        for name in ("created", "updated", "unchanged", "rejected", "warnings")
    }


def _contact_names(uow_factory, actor) -> list[str]:
    found = customers.list_contacts(uow_factory(), actor, ListQuery(sort="full_name"), limit=50, cursor=None)
    return sorted(contact.full_name for contact in found.items)


def test_a_rep_imports_contacts_gets_the_report_of_the_bad_row_and_undoes_the_import(
    page: Page, make_person, uow_factory, screenshot_dir: Path
):
    rep = make_person("sales_rep", name="陈静", email="rep@example.com", password=PASSWORD)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, rep.user.email)

    # Upload: the mapping is guessed from the Chinese headers, with the first values shown.
    first_path = _upload(page)
    expect(page.get_by_text("编码: GBK/GB18030")).to_be_visible()
    for header, target in zip(HEADER, ("full_name", "phone", "email", "city", "title"), strict=True):
        expect(page.get_by_label(header, exact=True)).to_have_value(target)
    phone_row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="手机"))
    expect(phone_row).to_contain_text("138 1234 5678 · 12345 · 139 0000 1111")
    page.get_by_label("按此查找已有记录").select_option(label="邮箱")

    # Preview (htmx): nothing written yet, the bad row marked with its reason.
    page.get_by_role("button", name="预览前几行").click()
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="预览")).to_be_visible()
    bad_row = preview.locator("tbody tr").filter(has_text="李雷")
    expect(bad_row).to_contain_text("已拒绝")
    expect(bad_row).to_contain_text("手机: 12345 不是有效的电话号码")
    expect(preview.locator("tbody tr.is-rejected")).to_have_count(1)
    assert _contact_names(uow_factory, rep.actor) == []
    page.screenshot(path=str(screenshot_dir / "customers-import-mapping-preview.png"), full_page=True)

    # Start: the worker lands the rows while the progress bar follows.
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator(".flashes")).to_contain_text("导入已开始，本页面会显示进度。")
    expect(page.get_by_role("progressbar", name="已完成")).to_have_attribute("value", "100")
    expect(page.locator("#import-progress")).to_contain_text("已处理 4 / 4 行")
    expect(page.locator("#import-status")).to_have_text("已完成")  # the badge under the heading too
    assert _counts(page) == {
        "created": "3",
        "updated": "0",
        "unchanged": "0",
        "rejected": "1",
        "warnings": "0",
    }
    page.screenshot(path=str(screenshot_dir / "customers-import-done.png"), full_page=True)
    assert _contact_names(uow_factory, rep.actor) == sorted(GOOD_NAMES)

    # The report of the rejected row, as the browser downloads it.
    with page.expect_download() as downloading:
        page.get_by_role("link", name="下载报告（CSV）").click()
    download = downloading.value
    assert download.suggested_filename == "展会联系人-report.csv"
    report = Path(download.path()).read_bytes()
    assert report.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, so Excel reads the Chinese
    assert list(csv.reader(io.StringIO(report.decode("utf-8-sig")))) == [
        ["行号", *HEADER, "结果", "原因", "警告"],
        ["3", *ROWS[1], "已拒绝", "手机: 12345 不是有效的电话号码", ""],
    ]

    # The good rows are in the contact list; the bad one is not.
    page.goto("/customers/contacts")
    results = page.locator("#record-results tbody tr")
    expect(results).to_have_count(3)
    expect(results.filter(has_text="韩梅梅")).to_contain_text("139 0000 1111")
    expect(results.filter(has_text="李雷")).to_have_count(0)

    # The same file again: the mapping is remembered, and every good row comes out unchanged.
    _upload(page)
    expect(page.get_by_text("这是你上次为相同列的文件选择的对应关系。")).to_be_visible()
    expect(page.get_by_label("按此查找已有记录")).to_have_value("email")
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_role("progressbar", name="已完成")).to_have_attribute("value", "100")
    assert _counts(page) == {
        "created": "0",
        "updated": "0",
        "unchanged": "3",
        "rejected": "1",
        "warnings": "0",
    }
    assert _contact_names(uow_factory, rep.actor) == sorted(GOOD_NAMES)

    # Undo the first import: its contacts are gone.
    page.goto(first_path)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="撤销导入").click()
    expect(page.locator(".flashes")).to_contain_text("正在撤销导入。")
    expect(page.get_by_role("progressbar", name="已撤销")).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("已撤销")
    expect(page.locator('#import-progress [data-count="reversed"]')).to_have_text("3")
    expect(page.locator('#import-progress [data-count="skipped"]')).to_have_text("0")
    expect(page.get_by_role("button", name="撤销导入")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "customers-import-undone.png"), full_page=True)
    assert _contact_names(uow_factory, rep.actor) == []
    page.goto("/customers/contacts")
    expect(page.locator("#record-results tbody tr").filter(has_text="王芳")).to_have_count(0)
    page.goto("/customers/imports")
    expect(page.get_by_role("row").filter(has_text=FILE_NAME)).to_have_count(2)
    expect(page.get_by_role("row").filter(has_text="已撤销")).to_have_count(1)
    assert problems == []
