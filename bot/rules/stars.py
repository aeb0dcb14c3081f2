"""Star ratings per area (五星支部): a village is rated on five areas, and its overall star
derives from them.

The five areas of the seeds, in their order: 基层党建 (``party``), 集体经济 (``economy``), 产业发展
(``industry``), 美丽村庄 (``village``), 基层治理 (``governance``). In each area a village either
meets the standard (达标: it earns that area's star) or does not, or is not rated yet (还没评).
Once all five are rated, the overall star is the number of areas met, as in the 五星支部
campaign: a village that meets all five is a five-star branch (五星支部), one that meets three
is three-star; a village that meets none has no star (shown as 未评星). While any area is still
not rated, the overall star is not derived: it keeps its current value (set directly, e.g. from
a roster), so that recording one area met never lowers a village's star because the other
four are still blank. Each change of an area is kept with the date it counts from and its
basis (why: the monthly inspection, the annual assessment ...).

Pure: no I/O, no clock, no user-facing text (labels are catalog keys ``stars.area.<code>`` and
``stars.basis.<code>``).
"""

from __future__ import annotations

from collections.abc import Mapping

AREAS: tuple[str, ...] = ("party", "economy", "industry", "village", "governance")
# What a change of an area may rest on (catalog keys stars.basis.<code>): the monthly
# supervision (督导检查), the annual assessment (年度考评), the villagers' appraisal (群众评议),
# the bi-monthly observation visit (观摩评比), and a re-check after rectification (整改复核).
BASES: tuple[str, ...] = ("inspection", "annual", "appraisal", "observation", "recheck")
MAX_STARS = len(AREAS)


def unrated_areas(met: Mapping[str, bool]) -> list[str]:
    """The areas not rated yet (missing from ``met``), in the order of the seeds."""
    return [area for area in AREAS if area not in met]


def overall_stars(met: Mapping[str, bool], current: int | None) -> int | None:
    """The overall star once all five areas are rated: how many are met (None when none is).

    While an area is not rated yet (missing from ``met``), the overall star is ``current``
    unchanged. Unknown area codes are ignored.
    """
    if unrated_areas(met):
        return current
    count = sum(1 for area in AREAS if met[area])
    return count or None


def missing_areas(met: Mapping[str, bool]) -> list[str]:
    """The areas still to be met for the next star, in the order of the seeds."""
    return [area for area in AREAS if not met.get(area)]


def valid_area(code: str) -> bool:
    return code in AREAS


def valid_basis(code: str) -> bool:
    return code in BASES
