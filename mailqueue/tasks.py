"""The mail job the worker runs: send the code, retry with backoff, never after it expires."""
import logging
import random
import smtplib
import time

from flask import current_app

from mailqueue.sending import is_permanent, send_code

TASK_NAME = "mailqueue.send_code"

log = logging.getLogger(__name__)


def send_code_job(task, email, code, expires_at):
    """Mail *code* to *email* (code None: the notice that *email* has an account already);
    *expires_at* (a Unix time) is when the code stops working."""
    config = current_app.config
    attempt = task.request.retries + 1
    # An attempt must be able to finish while the code is valid: no code arrives expired.
    if time.time() + config["MAIL_TIMEOUT"] > expires_at:
        log.error("Gave up mailing the code to %s: it expires before attempt %d could finish",
                  email, attempt)
        return
    try:
        send_code(email, code)
    except (smtplib.SMTPException, OSError) as exc:
        problem = " ".join(str(exc).split()) or type(exc).__name__
        if is_permanent(exc):
            log.error("Gave up mailing the code to %s: the SMTP server refused it (attempt %d): "
                      "%s", email, attempt, problem)
            return
        delay = backoff(task.request.retries, config["MAIL_RETRY_DELAY"],
                        config["MAIL_RETRY_MAX_DELAY"])
        if time.time() + delay + config["MAIL_TIMEOUT"] > expires_at:
            log.error("Gave up mailing the code to %s after %d attempts: it expires before "
                      "another could finish. Last error: %s", email, attempt, problem)
            return
        log.warning("Could not mail the code to %s (attempt %d): %s; trying again in %.1f s",
                    email, attempt, problem, delay)
        raise task.retry(countdown=delay, exc=exc)
    log.info("Mailed the %s to %s (attempt %d)", "code" if code is not None else "account notice",
             email, attempt)


def backoff(retries, first, most):
    """Seconds before the next attempt: doubling from *first* up to *most*, with jitter so that
    the jobs that failed together do not all come back at the same moment."""
    delay = min(first * 2 ** retries, most)
    return random.uniform(delay / 2, delay)


def register_tasks(celery):
    celery.task(name=TASK_NAME, bind=True, max_retries=None)(send_code_job)
