"""Invites: every way a code can be wrong, who may invite whom, and joining by name, by roster
pick, or by switching roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.simulator import Simulator, texts
from tests.conftest import (
    DISTRICT_ADMIN,
    MEMBER,
    SECRETARY,
    STRANGER,
    TOWNSHIP_ADMIN,
    Org,
    start_sim,
)
from tests.helpers.org import NEWCOMER, code_of, invite_member_of_village

OTHER_PHONE = 602


async def test_secretary_invites_a_roster_member_who_joins_by_link(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    waiting = await repos.org.add_person("钱多多", "member", org.village.id, phone="13700000009")
    calls = await sim.send("/invite", SECRETARY)
    assert "红旗村" in texts(calls)[0]
    labels = [b["text"] for b in calls[-1].buttons()]
    assert "钱多多" in labels and not any("书记" in label for label in labels)  # members only
    code = code_of(await sim.press("钱多多", SECRETARY))
    calls = await sim.send(f"/start {code}", NEWCOMER)
    assert "钱多多,欢迎您" in texts(calls)[0]
    assert (await repos.org.person_by_telegram(NEWCOMER)) == await repos.org.person(waiting.id)
    # the secretary who invited is told
    assert any(c.chat_id == SECRETARY and "钱多多 已通过您的邀请加入" in c.text for c in calls)


async def test_an_invite_for_someone_new_asks_their_name_once(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    code = await invite_member_of_village(sim, org)
    calls = await sim.send(f"/start {code}", NEWCOMER)
    assert "请输入您的姓名" in texts(calls)[0]
    for bad in ("12345", "@@", "张" * 30):
        assert "只输入您的姓名" in texts(await sim.send(bad, NEWCOMER))[0]
    assert "只输入您的姓名" in texts(await sim.sticker(NEWCOMER))[0]
    calls = await sim.send("王小名", NEWCOMER)
    assert "您的姓名是“王小名”,对吗?" in texts(calls)[0]
    await sim.press("不对", NEWCOMER)
    await sim.send("王 小明", NEWCOMER)
    calls = await sim.press("对,就是这个名字", NEWCOMER)
    assert "王 小明,欢迎您" in texts(calls)[0]
    person = await repos.org.person_by_telegram(NEWCOMER)
    assert person is not None and person.role == "member" and person.unit_id == org.village.id


async def test_the_name_question_survives_a_restart_and_can_be_cancelled(sim: Simulator, org: Org, settings) -> None:
    code = await invite_member_of_village(sim, org)
    await sim.send(f"/start {code}", NEWCOMER)
    await sim.stop()
    again = await start_sim(settings)
    try:
        await again.send("赵四", NEWCOMER)
        calls = await again.press("对", NEWCOMER)
        assert "赵四,欢迎您" in texts(calls)[0]
    finally:
        await again.stop()
        await sim.start()
    second = await invite_member_of_village(sim, org)
    await sim.send(f"/start {second}", OTHER_PHONE)
    assert "已取消" in texts(await sim.send("/cancel", OTHER_PHONE))[0]
    assert "您还没有加入" in texts(await sim.send("钱五", OTHER_PHONE))[0]  # no longer asked
    # and a stray text long after an abandoned question is never taken as a name unasked
    third = await invite_member_of_village(sim, org)
    await sim.send(f"/start {third}", OTHER_PHONE)
    assert "对吗" in texts(await sim.send("你好", OTHER_PHONE))[0]
    assert await sim.app.services.repos.org.person_by_telegram(OTHER_PHONE) is None


async def test_expired_revoked_reused_and_mistyped_codes(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    long_ago = datetime.now(UTC) - timedelta(days=8)
    expired = await repos.invites.create(org.village.id, "member", created_by=org.secretary.id, now=long_ago)
    calls = await sim.send(f"/start {expired.code}", NEWCOMER)
    assert "已经过期" in texts(calls)[0] and "有效期到" in texts(calls)[0]

    code = await invite_member_of_village(sim, org)
    calls = await sim.send("/invites", SECRETARY)
    assert code in texts(calls)[0]
    calls = await sim.press(f"撤销 {code}", SECRETARY)
    assert any("已撤销" in str(c.params.get("text")) for c in calls)
    assert "已经被撤销" in texts(await sim.send(f"/start {code}", NEWCOMER))[0]

    code = await invite_member_of_village(sim, org)
    await sim.send(f"/start {code}", NEWCOMER)
    await sim.send("冯一", NEWCOMER)
    await sim.press("对", NEWCOMER)
    assert "已经被使用过" in texts(await sim.send(f"/start {code}", OTHER_PHONE))[0]
    assert "您已经加入了" in texts(await sim.send(f"/start {code}", NEWCOMER))[0]  # their own link again

    assert "不对" in texts(await sim.send("/start ZZZZ2222", OTHER_PHONE))[0]
    assert await repos.org.person_by_telegram(OTHER_PHONE) is None


async def test_a_typed_code_may_be_lower_case_or_split(sim: Simulator, org: Org) -> None:
    await sim.app.services.repos.org.add_person("钱多多", "member", org.village.id)
    code = await invite_member_of_village(sim, org, "钱多多")
    calls = await sim.send(f" {code[:4].lower()}-{code[4:].lower()} ", NEWCOMER)
    assert "钱多多,欢迎您" in texts(calls)[0]


async def test_too_many_wrong_codes_are_stopped(sim: Simulator, org: Org) -> None:
    for n in range(5):
        assert "不对" in texts(await sim.send(f"/start WRNG{n + 2}222", STRANGER))[0]
    assert "次数太多" in texts(await sim.send("/start WRNG7777", STRANGER))[0]


async def test_a_person_already_bound_to_another_account_is_refused_and_the_admin_told(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    person = await repos.org.add_person("钱多多", "member", org.village.id)
    code = await invite_member_of_village(sim, org, "钱多多")
    await repos.org.bind_telegram(person.id, NEWCOMER)  # they joined some other way meanwhile
    calls = await sim.send(f"/start {code}", OTHER_PHONE)
    assert "已经绑定了另一个 Telegram 账号" in texts(calls)[0]
    told = [c for c in calls if c.chat_id == SECRETARY]
    assert told and str(OTHER_PHONE) in told[0].text and "解除绑定" in told[0].text
    assert (await repos.org.person(person.id)).telegram_id == NEWCOMER  # type: ignore[union-attr]


async def test_someone_already_joined_is_asked_before_switching_roles(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await sim.send("/invite", TOWNSHIP_ADMIN)
    await sim.press("向阳村", TOWNSHIP_ADMIN)
    await sim.press("驻村第一书记", TOWNSHIP_ADMIN)
    code = code_of(await sim.press("名单以外的新人", TOWNSHIP_ADMIN))
    await sim.send(f"/start {code}", MEMBER)
    await sim.send("李党员", MEMBER)
    calls = await sim.press("对", MEMBER)
    assert "您现在的身份是 示例区 › 东风镇 › 红旗村 的党员" in texts(calls)[0]
    await sim.press("不改", MEMBER)
    assert (await repos.org.person_by_telegram(MEMBER)).role == "member"  # type: ignore[union-attr]
    await sim.send(f"/start {code}", MEMBER)
    await sim.send("李党员", MEMBER)
    await sim.press("对", MEMBER)
    calls = await sim.press("确定", MEMBER)
    assert "驻村第一书记" in texts(calls)[0]
    now_person = await repos.org.person_by_telegram(MEMBER)
    assert now_person is not None and now_person.role == "secretary" and now_person.first_secretary
    assert now_person.unit_id == org.other_village.id
    assert (await repos.org.person(org.member.id)).telegram_id is None  # type: ignore[union-attr]


async def test_who_may_invite_whom(sim: Simulator, org: Org) -> None:
    # the district admin walks the tree: the district itself (district admins), a township...
    calls = await sim.send("/invite", DISTRICT_ADMIN)
    labels = [b["text"] for b in calls[-1].buttons()]
    assert any("示例区" in label for label in labels) and any("东风镇" in label for label in labels)
    calls = await sim.press("东风镇", DISTRICT_ADMIN)
    labels = [b["text"] for b in calls[-1].buttons()]
    assert {"红旗村", "向阳村"} <= set(labels)
    calls = await sim.press("红旗村", DISTRICT_ADMIN)
    roles = [b["text"] for b in calls[-1].buttons()]
    assert roles[:3] == ["村(社区)党组织书记", "驻村第一书记", "党员"]
    # a township admin cannot open the district
    calls = await sim.click("inv:pick:" + str(org.district.id), TOWNSHIP_ADMIN)
    assert any("不在您管理的范围" in str(c.params.get("text")) for c in calls)
    # a secretary cannot invite into another village, even with a forged payload
    await sim.send("/invite", SECRETARY)
    token = sim.app.user_data[SECRETARY]["invite_token"]
    calls = await sim.click(f"inv:new:{org.other_village.id}-m.{token}", SECRETARY)
    assert any("不在您管理的范围" in str(c.params.get("text")) for c in calls)
    calls = await sim.click(f"inv:new:{org.village.id}-s.{token}", SECRETARY)  # a secretary invite
    assert not any(c.method == "sendPhoto" for c in calls)
    # a member is refused, naming the roles
    calls = await sim.click(f"inv:new:{org.village.id}-m.{token}", MEMBER)
    assert any("仅限" in str(c.params.get("text")) for c in calls)


async def test_a_double_tap_makes_one_invite(sim: Simulator, org: Org) -> None:
    await sim.send("/invite", SECRETARY)
    call, _ = sim.last_keyboard(SECRETARY)
    token = sim.app.user_data[SECRETARY]["invite_token"]
    first = await sim.click(f"inv:new:{org.village.id}-m.{token}", SECRETARY, message_call=call)
    second = await sim.click(f"inv:new:{org.village.id}-m.{token}", SECRETARY, message_call=call)
    assert [c.method for c in first].count("sendPhoto") == 1
    assert not any(c.method == "sendPhoto" for c in second)
    assert any("已经生成过了" in str(c.params.get("text")) for c in second)
    assert len(await sim.app.services.repos.invites.open_in([org.village.id], datetime.now(UTC))) == 1


async def test_invites_lists_only_my_codes_and_can_show_one_again(sim: Simulator, org: Org) -> None:
    mine = await invite_member_of_village(sim, org)
    await sim.send("/invite", TOWNSHIP_ADMIN)
    await sim.press("向阳村", TOWNSHIP_ADMIN)
    await sim.press("党员", TOWNSHIP_ADMIN)
    theirs = code_of(await sim.press("名单以外的新人", TOWNSHIP_ADMIN))
    listing = texts(await sim.send("/invites", SECRETARY))[0]
    assert mine in listing and theirs not in listing
    listing = texts(await sim.send("/invites", TOWNSHIP_ADMIN))[0]
    assert mine in listing and theirs in listing
    calls = await sim.click(f"invs:show:{mine}", SECRETARY)
    assert code_of(calls) == mine
    calls = await sim.click(f"invs:revoke:{theirs}", SECRETARY)  # forged: not hers
    assert any("失效或不在您的管理范围" in str(c.params.get("text")) for c in calls)
    assert (await sim.app.services.repos.invites.get(theirs)).revoked_at is None  # type: ignore[union-attr]


async def test_multi_use_code_confirms_the_name_and_offers_help_when_missing(sim: Simulator, org: Org) -> None:
    repos = sim.app.services.repos
    await repos.org.add_person("钱多多", "member", org.village.id)
    await sim.send("/invite", SECRETARY)
    code = code_of(await sim.press("全村党员通用邀请码", SECRETARY))
    calls = await sim.send(f"/start {code}", NEWCOMER)
    assert calls[-1].buttons()[0]["text"] == "钱多多"
    await sim.press("钱多多", NEWCOMER)
    calls = await sim.press("不是", NEWCOMER)
    assert "请在名单中点选" in texts(calls)[0]
    calls = await sim.press("名单里没有我", NEWCOMER)
    assert "请联系 示例区 › 东风镇 › 红旗村 的村书记" in texts(calls)[0]
    assert await repos.org.person_by_telegram(NEWCOMER) is None
    # a forged pick of someone in another village is refused
    calls = await sim.click(f"join:yes:{code}.{org.other_member.id}", NEWCOMER)
    assert "不能用来加入" in texts(calls)[0]
    # asking for the same code again reuses it
    await sim.send("/invite", SECRETARY)
    assert code_of(await sim.press("全村党员通用邀请码", SECRETARY)) == code


async def test_other_deep_links_are_left_to_start(sim: Simulator, org: Org) -> None:
    calls = await sim.send("/start rpt_7", STRANGER)
    assert len(texts(calls)) == 1 and "不对" not in texts(calls)[0]
    assert "邀请链接" in texts(calls)[0]  # the plain /start greeting for a newcomer


async def test_english_speakers_are_greeted_in_english(sim: Simulator, org: Org) -> None:
    await sim.app.services.repos.org.add_person("Li Ming", "member", org.village.id)
    code = await invite_member_of_village(sim, org, "Li Ming")
    sim.user(NEWCOMER).language_code = "en"
    calls = await sim.send(f"/start {code}", NEWCOMER)
    assert texts(calls)[0].startswith("🎉 Welcome, Li Ming!")


async def test_invite_lifetime_follows_the_setting(settings) -> None:
    from dataclasses import replace
    from datetime import timedelta

    from tests.conftest import start_sim

    sim = await start_sim(replace(settings, invite_days=3))  # CADRE_INVITE_DAYS=3
    try:
        repos = sim.app.services.repos
        district = await repos.org.add_unit("示例区", "district")
        township = await repos.org.add_unit("东风镇", "township", district.id)
        village = await repos.org.add_unit("红旗村", "village", township.id)
        await repos.org.add_person("孙书记", "secretary", village.id, telegram_id=SECRETARY)
        await repos.org.add_person("钱多多", "member", village.id)
        await sim.send("/invite", SECRETARY)
        code = code_of(await sim.press("钱多多", SECRETARY))
        invite = await repos.invites.get(code)
        assert invite is not None
        assert timedelta(days=3) - timedelta(minutes=5) < invite.expires_at - invite.created_at <= timedelta(days=3)
    finally:
        await sim.stop()


async def test_the_name_question_ends_pauses_and_times_out_as_every_form(sim: Simulator, org: Org, settings) -> None:
    code = await invite_member_of_village(sim, org)
    await sim.send(f"/start {code}", NEWCOMER)
    (bye,) = texts(await sim.send("算了,不填了", NEWCOMER))  # typed cancel words, not a name
    assert "已取消加入" in bye
    assert "您还没有加入" in texts(await sim.send("钱五", NEWCOMER))[0]
    # a command in the middle pauses it and runs at once; later text is not taken for the name
    assert "请输入您的姓名" in texts(await sim.send(code, NEWCOMER))[0]  # the code typed in works too
    paused, *help_text = texts(await sim.send("/help", NEWCOMER))
    assert "加入先暂停" in paused and help_text
    assert "您还没有加入" in texts(await sim.send("钱五", NEWCOMER))[0]
    assert "请输入您的姓名" in texts(await sim.send(f"/start {code}", NEWCOMER))[0]
    assert "对吗" in texts(await sim.send("钱五", NEWCOMER))[0]
    assert await sim.app.services.repos.org.person_by_telegram(NEWCOMER) is None
    # the link again before confirming: the name typed is offered, then confirmed
    assert "“钱五”,还没有确认" in texts(await sim.send(f"/start {code}", NEWCOMER))[-1]
    assert "对吗" in texts(await sim.press("继续填写", NEWCOMER))[0]
    assert "钱五,欢迎您" in texts(await sim.press("对,就是这个名字", NEWCOMER))[0]
    # the 30-minute timeout, as in every form (a simulator whose job queue runs)
    timed = await start_sim(settings, jobs=True)
    try:
        await timed.send(f"/start {await invite_member_of_village(timed, org)}", OTHER_PHONE)
        (job,) = [j for j in timed.app.job_queue.jobs() if getattr(j.callback, "__name__", "") == "_trigger_timeout"]
        before = len(timed.api.calls)
        await job.run(timed.app)
        (note,) = texts(timed.api.calls[before:])
        assert "30分钟没有输入姓名" in note
        assert "您还没有加入" in texts(await timed.send("孙六", OTHER_PHONE))[0]
    finally:
        await timed.stop()
