"""/coverage for an admin of many villages: never dozens of bars on a phone. The text lists at
most 30 rows (the lowest and the highest, "中间还有…" between), the chart at most 20 bars, the
drill-down buttons are paged; every village is still one press away."""

from __future__ import annotations

from datetime import date, datetime

import handlers.visits.coverage
from bot.services.charts import bar_chart
from bot.simulator import Simulator, texts
from tests.conftest import TOWNSHIP_ADMIN, Org, at
from tests.conftest import TZ as SH
from tests.conftest import labels as keyboard_labels
from tests.helpers.coverage import VILLAGE_ROW, rows
from tests.helpers.visits import add_households, log_visit

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SH)


async def test_forty_villages_show_the_lowest_and_highest_and_page_the_buttons(sim: Simulator, org: Org, monkeypatch) -> None:
    at(sim, NOW)
    repos = sim.app.services.repos
    villages = [org.village, org.other_village]
    for n in range(38):
        villages.append(await repos.org.add_unit(f"新{n:02d}村", "village", org.township.id))
    coverage = {}
    for i, village in enumerate(villages):
        homes = await add_households(sim, village.id, org.member.id, *(f"户{i}-{k}" for k in range(10)))
        visited = i % 11  # 0..10 of 10 households
        for home in homes[:visited]:
            await log_visit(sim, org.member.id, home.id, date(2026, 11, 20))
        coverage[village.name] = visited
    charts = []
    monkeypatch.setattr(handlers.visits.coverage, "bar_chart",
                        lambda labels, values, **kw: charts.append(list(values)) or bar_chart(labels, values, **kw))
    calls = await sim.send("/coverage", TOWNSHIP_ADMIN)
    text = texts(calls)[0]
    listed = rows(text, VILLAGE_ROW)
    assert len(listed) == 30 and "中间还有 10 个" in text
    ordered = sorted(coverage.values())
    assert sorted(v[0] for v in listed.values()) == ordered[:15] + ordered[-15:]
    (values,) = charts
    assert len(values) == 20 and values == sorted(values)
    labels = keyboard_labels(sim, TOWNSHIP_ADMIN)
    village_buttons = [label for label in labels if label.endswith("村")]
    assert len(village_buttons) == 12 and "下一页 ▶" in labels
    seen = set(village_buttons)
    for _ in range(3):
        await sim.press("下一页", TOWNSHIP_ADMIN)
        seen |= {label for label in keyboard_labels(sim, TOWNSHIP_ADMIN) if label.endswith("村")}
    assert seen == set(coverage)
    text = texts(await sim.press(villages[-1].name, TOWNSHIP_ADMIN))[0]
    assert f"📊 {villages[-1].name} 联户走访情况" in text
