"""Alembic's INFO lines held back where migration safety says it better itself."""
import contextlib
import logging


@contextlib.contextmanager
def quiet(*names):
    """Loggers *names* at WARNING for the block."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved):
            logger.setLevel(level)
