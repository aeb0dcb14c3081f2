"""Message catalogs: gettext ``.po`` files in ``locales/<lang>/LC_MESSAGES/``, read with Babel
at start: ``messages.po`` for shared words and one domain file per feature, so that features
do not edit one file.

No compile step: the ``.po`` files are parsed directly, so a fresh install cannot miss a
``.mo``. Nothing is installed process-wide: each update gets the :class:`Translator` of its
user's language. Message ids are stable keys (``report.saved``); every key used in code must
have a non-empty translation in every catalog (``tests/test_catalogs.py`` checks it).

Placeholders use ``str.format`` names: ``t("report.saved", number=12)``. Plural forms use
``t.n("visits.count", count)`` with ``msgid_plural`` entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po

from bot.settings import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def catalog_files(lang: str, directory: Path = LOCALES_DIR) -> list[Path]:
    """``messages.po`` (shared words) and one domain per feature (``reports.po``...)."""
    return sorted((directory / lang / "LC_MESSAGES").glob("*.po"))


def load_catalog(lang: str, directory: Path = LOCALES_DIR) -> dict[str, str | tuple[str, ...]]:
    out: dict[str, str | tuple[str, ...]] = {}
    for path in catalog_files(lang, directory):
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, domain=path.stem)
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            if key in out:
                raise ValueError(f"{path}: message id {key!r} is defined twice")
            out[key] = tuple(message.string) if isinstance(message.string, tuple) else message.string
    return out


@dataclass(frozen=True)
class Translator:
    lang: str
    messages: dict[str, str | tuple[str, ...]]
    fallback: dict[str, str | tuple[str, ...]]

    def __call__(self, key: str, /, **kwargs: object) -> str:
        text = self.messages.get(key) or self.fallback.get(key) or key
        if isinstance(text, tuple):
            text = text[0]
        return text.format(**kwargs) if kwargs else text

    def n(self, key: str, count: int, /, **kwargs: object) -> str:
        forms = self.messages.get(key) or self.fallback.get(key) or (key,)
        if isinstance(forms, str):
            forms = (forms,)
        index = self.babel_locale.plural_form(count)
        plural = {"one": 0}.get(index, 1)
        text = forms[min(plural, len(forms) - 1)]
        return text.format(count=count, **kwargs)

    @cached_property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.lang)

    def date(self, value: date) -> str:
        """A date in full, in the language's full format, weekday included."""
        return _date_text(value, "full", self.lang)

    def short_date(self, value: date) -> str:
        return _date_text(value, "medium", self.lang)

    def datetime(self, value: datetime) -> str:
        return format_datetime(value, format="medium", tzinfo=value.tzinfo, locale=self.babel_locale)


@lru_cache(maxsize=4096)
def _date_text(value: date, form: str, lang: str) -> str:
    """A date as Babel writes it (about 10 us each): the same few days come back on every
    screen of a form, so each is written once per language."""
    return format_date(value, format=form, locale=Locale.parse(lang))


class Catalogs:
    """All catalogs, loaded once at start; ``get(lang)`` gives a :class:`Translator`."""

    def __init__(self, default: str = "zh_CN", directory: Path = LOCALES_DIR) -> None:
        self.default = default
        self._messages = {lang: load_catalog(lang, directory) for lang in SUPPORTED_LOCALES}
        self._translators = {
            lang: Translator(lang, msgs, self._messages[default])
            for lang, msgs in self._messages.items()
        }

    @property
    def languages(self) -> tuple[str, ...]:
        return SUPPORTED_LOCALES

    def get(self, lang: str | None) -> Translator:
        if lang and lang not in self._translators and lang.startswith("zh"):
            lang = "zh_CN"
        if lang and lang not in self._translators and lang.startswith("en"):
            lang = "en"
        return self._translators.get(lang or self.default, self._translators[self.default])

    def keys(self, lang: str) -> dict[str, str | tuple[str, ...]]:
        return self._messages[lang]
