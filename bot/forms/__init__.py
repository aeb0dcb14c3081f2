"""The form engine: a step-by-step conversation described as data (:mod:`bot.forms.core`,
no Telegram) and run by one python-telegram-bot handler for all forms (:mod:`bot.forms.ptb`).

A new form is one file of about 40 lines: see the toy form in ``tests/bot/forms/test_core.py``.
What the engine unified between the flows ported onto it is listed in ``UNIFIED.md``.
"""
