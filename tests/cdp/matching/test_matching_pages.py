"""The matching page over HTTP, signed in as a browser is, in Chinese: the review queue with each
pair's evidence, read-only for an analyst; an admin's accept and reject through the page's forms
(CSRF token included); the progress fragment htmx polls, which brings the queue once the run is
over.

The profiles are generated fragments (the benchmark's generator) made through the identity
graph's ``resolve_many``, plus three crafted pairs of one person each that the model scores
between the review and the auto-merge thresholds; a real worker runs the matching job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.matching_fragments import matching_bench

import loopcrm.modules.cdp.matching.jobs  # noqa: F401  (registers the matching task)
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
from loopcrm.modules.cdp.matching import service as matching
from loopcrm.modules.cdp.matching.models import CandidateStatus, RunStatus
from loopcrm.platform.unit_of_work import UnitOfWork

from ...support import web_forms
from ...support.web_forms import PASSWORD

AT = datetime(2026, 12, 1, tzinfo=UTC)
MATCHING = "/cdp/matching"
# One person each, written two ways: a Hanzi name and its pinyin, the same city written two ways
# (陈); the same phone in two notations but two cities (孙); one email user at two providers (赵).
CRAFTED = {
    "chen": [
        {"name": "陈静怡", "phone": "139 8765 4321", "city": "杭州"},
        {"name": "Jingyi Chen", "email": "jingyi.chen@example.cn", "city": "杭州市"},
    ],
    "sun": [
        {"name": "孙志强", "phone": "186 0000 1234", "city": "南京"},
        {"name": "Zhiqiang Sun", "phone": "+86 186 0000 1234", "city": "北京"},
    ],
    "zhao": [
        {"name": "赵海燕", "email": "zhao.haiyan@163.com", "city": "成都", "birthday": "1985-06-12"},
        {"name": "Haiyan Zhao", "email": "zhao.haiyan@qq.com", "city": "成都市"},
    ],
}
# Other people, for the model to learn what agreement by chance looks like.
BACKGROUND_FRAGMENTS = 150


def _profiles(uow_factory: Callable[[], UnitOfWork]) -> dict[str, tuple[str, str]]:
    """The crafted pairs and the background as profiles; the crafted pairs' profile ids by key."""
    traits: list[dict[str, Any]] = [fragment for pair in CRAFTED.values() for fragment in pair]
    traits += matching_bench().generate_fragments(BACKGROUND_FRAGMENTS, seed=9).traits
    observations = [
        Observation((Identifier("anonymous_id", f"pages-{index}"),), AT, fragment)
        for index, fragment in enumerate(traits)
    ]
    resolutions = identity.resolve_many(uow_factory(), observations)
    ids = [resolution.profile_id for resolution in resolutions if resolution is not None]
    return {key: (ids[2 * number], ids[2 * number + 1]) for number, key in enumerate(CRAFTED)}


@pytest.fixture
def admin(make_person):
    return make_person("admin", email="admin@example.com", password=PASSWORD)


@pytest.fixture
def matched(uow_factory, work, admin) -> dict[str, str]:
    """A finished run over the profiles: candidate id of each crafted pair, by key."""
    pairs = _profiles(uow_factory)
    matching.start_run(uow_factory(), admin.actor)
    assert work() == 1
    queue = matching.review_queue(uow_factory(), admin.actor, limit=100).items
    by_pair = {frozenset((item.left.id, item.right.id)): item.id for item in queue}
    return {key: by_pair[frozenset(pair)] for key, pair in pairs.items()}


def _card(html: str, candidate_id: str) -> str:
    start = html.index(f'id="candidate-{candidate_id}"')
    end = html.find("</article>", start)
    return html[start:end]


def test_an_analyst_reads_the_queue_and_its_evidence_but_has_no_buttons(client, make_person, matched):
    analyst = make_person("analyst", email="analyst@example.com", password=PASSWORD)
    web_forms.sign_in(client, analyst.user.email)

    page = client.get(MATCHING)

    assert page.status_code == 200, page.text
    assert "<h1>档案匹配</h1>" in page.text
    # The finished run's status is a state, not the "finish time" column heading of other pages.
    assert '<span class="badge badge-success">已完成</span>' in page.text
    assert "完成时间" not in page.text
    assert 'hx-get="/cdp/matching/runs/' not in page.text  # a finished run is not polled
    card = _card(page.text, matched["chen"])
    assert re.search(r"匹配概率 9\d\.\d% · ", card)
    assert '<tr data-comparison="name" data-agreement="similar">' in card
    assert '<th scope="row">姓名</th>' in card
    assert "陈静怡" in card and "Jingyi Chen" in card
    assert '<span class="badge badge-success">一致</span> 城市相同' in card
    assert '<tr data-comparison="phone" data-agreement="missing">' in card
    assert "低于自动合并阈值" in card
    assert "是同一人：合并" not in page.text
    assert "不是同一人" not in page.text
    assert 'id="start-matching"' not in page.text


def test_an_admin_rejects_one_pair_and_accepts_another_through_the_forms(client, uow_factory, admin, matched):
    web_forms.sign_in(client, admin.user.email)
    page = client.get(MATCHING)
    assert 'id="start-matching"' in page.text
    card = _card(page.text, matched["sun"])
    assert f'action="/cdp/matching/review/{matched["sun"]}/reject"' in card
    assert f'action="/cdp/matching/review/{matched["sun"]}/accept"' in card

    # A form posted without the page's CSRF token is refused and changes nothing
    forged = client.post(f"{MATCHING}/review/{matched['sun']}/reject", follow_redirects=False)
    assert forged.status_code == 403
    assert (
        matching.get_candidate(uow_factory(), admin.actor, matched["sun"]).status is CandidateStatus.PENDING
    )

    # When the admin says 孙 and Sun are two people
    rejected = web_forms.post_form(client, MATCHING, f"{MATCHING}/review/{matched['sun']}/reject", {})

    # Then the pair leaves the queue, remembered as rejected
    assert rejected.status_code == 303
    assert rejected.headers["location"] == MATCHING
    after = client.get(MATCHING)
    assert "已保持分开：以后不会再推荐这一对。" in after.text
    assert f'id="candidate-{matched["sun"]}"' not in after.text
    sun = matching.get_candidate(uow_factory(), admin.actor, matched["sun"])
    assert sun.status is CandidateStatus.REJECTED
    assert sun.decided_by == admin.user.id

    # When the admin says 陈静怡 and Jingyi Chen are one person
    accepted = web_forms.post_form(client, MATCHING, f"{MATCHING}/review/{matched['chen']}/accept", {})

    # Then the two profiles are one
    assert accepted.status_code == 303
    after = client.get(MATCHING)
    assert "两个档案已合并。" in after.text
    chen = matching.get_candidate(uow_factory(), admin.actor, matched["chen"])
    assert chen.status is CandidateStatus.ACCEPTED
    assert chen.merge_id is not None
    left, right = chen.left.id, chen.right.id
    assert identity.current_profile_id(uow_factory(), left) == identity.current_profile_id(
        uow_factory(), right
    )

    # And deciding a decided pair again says what became of it, in the reader's words
    again = web_forms.post_form(client, MATCHING, f"{MATCHING}/review/{matched['sun']}/accept", {})
    assert again.status_code == 303
    assert "这一对已经有了决定（已拒绝：保持分开）。" in client.get(MATCHING).text


def test_an_analyst_may_not_decide_through_a_forged_form(client, uow_factory, make_person, matched):
    analyst = make_person("analyst", email="analyst@example.com", password=PASSWORD)
    web_forms.sign_in(client, analyst.user.email)

    answer = web_forms.post_form(client, MATCHING, f"{MATCHING}/review/{matched['chen']}/accept", {})

    assert answer.status_code == 303
    assert "您无权修改客户档案" in client.get(MATCHING).text
    chen = matching.get_candidate(uow_factory(), analyst.actor, matched["chen"])
    assert chen.status is CandidateStatus.PENDING


def test_the_polled_fragment_brings_the_queue_once_the_run_is_over(client, uow_factory, work, admin):
    pairs = _profiles(uow_factory)
    web_forms.sign_in(client, admin.user.email)

    # Given a run started from the page, which no worker has picked up yet
    started = web_forms.post_form(client, MATCHING, f"{MATCHING}/runs", {})
    assert started.status_code == 303
    page = client.get(MATCHING)
    assert "匹配已开始，本页会跟踪进度。" in page.text
    [run] = matching.latest_runs(uow_factory(), admin.actor, limit=1)
    progress_path = f"{MATCHING}/runs/{run.id}/progress"
    assert f'hx-get="{progress_path}" hx-trigger="every 1s"' in page.text
    assert "等待后台任务执行" in page.text
    assert "没有等待决定的档案对。" in page.text

    # Then a poll while it waits is the progress panel alone, still polling
    polled = client.get(progress_path, headers={"HX-Request": "true"})
    assert polled.status_code == 200
    assert f'hx-get="{progress_path}"' in polled.text
    assert 'id="review-queue"' not in polled.text

    # And a second run is refused while this one is in progress
    refused = web_forms.post_form(client, MATCHING, f"{MATCHING}/runs", {})
    assert refused.status_code == 303
    assert f"已有一次匹配正在进行（{run.id}）。" in client.get(MATCHING).text

    # When the worker does the run, the next poll stops polling and brings the queue out of band
    assert work() == 1
    assert matching.get_run(uow_factory(), admin.actor, run.id).status is RunStatus.SUCCEEDED
    polled = client.get(progress_path, headers={"HX-Request": "true"})
    assert 'hx-get="' not in polled.text
    assert 'data-count="percent">100%<' in polled.text
    assert '<section id="review-queue" aria-labelledby="queue-title" hx-swap-oob="true">' in polled.text
    for left, right in pairs.values():
        assert f"/cdp/profiles/{left}" in polled.text or f"/cdp/profiles/{right}" in polled.text
    assert polled.text.count('class="panel match-candidate"') == matching.count_pending(
        uow_factory(), admin.actor
    )
