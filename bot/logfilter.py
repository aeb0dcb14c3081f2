"""Logs at every level carry no bot token and no personal data.

At DEBUG, python-telegram-bot logs each Bot API call with its parameters (message texts:
household heads, concern texts, phone numbers) and httpx logs the request URL, which holds
the token; aiosqlite logs every statement with its parameters. :func:`install_log_redaction`
wraps the log record factory, so every record is cleaned when it is made, whichever handler
later writes it (a file, the console, pytest's capture):

* records of the libraries (``telegram``, ``httpx``, ``httpcore``, ``aiosqlite``,
  ``apscheduler``, ``tornado``...) keep their message template, while their arguments are
  replaced by ``…`` unless they are numbers or plain names (a method name such as
  ``sendMessage``);
* every record (ours too), and the text of an attached exception, has the token (the one in
  use and anything shaped like a token), ``/bot<token>/`` in URLs and phone numbers replaced.

The bot's own loggers (``cadre.*``) log ids and kinds only, never message contents.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

LIBRARIES = ("telegram", "httpx", "httpcore", "aiosqlite", "apscheduler", "tornado", "asyncio", "hpack")
TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}")
BOT_URL = re.compile(r"/bot[^/\s'\"]+")
# mainland mobile numbers (with or without +86) and other long digit runs that look dialable
PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,60}")
HIDDEN = "…"

_tokens: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """``text`` without tokens, bot URLs and phone numbers."""
    for token in _tokens:
        if token in text:
            text = text.replace(token, "<token>")
    text = TOKEN_SHAPE.sub("<token>", text)
    text = BOT_URL.sub("/bot<token>", text)
    return PHONE.sub("<phone>", text)


def _safe_arg(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and PLAIN.fullmatch(value):
        return value
    return HIDDEN


def _is_library(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in LIBRARIES)


def clean(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place (its message is rendered once, its arguments dropped)."""
    args = record.args
    if args and _is_library(record.name):
        if isinstance(args, dict):
            args = {k: _safe_arg(v) for k, v in args.items()}
        else:
            args = tuple(_safe_arg(a) for a in args)
    try:
        message = str(record.msg) % args if args else str(record.msg)
    except (TypeError, ValueError, KeyError):
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        # formatters print exc_text when it is set instead of formatting exc_info again
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_log_redaction(token: str | None = None) -> None:
    """Clean every log record from now on (idempotent); ``token`` is also removed verbatim."""
    global _installed
    if token:
        _tokens.add(token)
        secret = token.split(":", 1)[-1]
        if len(secret) >= 8:
            _tokens.add(secret)
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return clean(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
