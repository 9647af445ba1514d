"""Hand a code's mail over: to the queue when a broker is configured, else send it at once."""
import smtplib
from datetime import timezone

from flask import current_app

import logging_config
from mailqueue.extension import BrokerError
from mailqueue.sending import send_code


class MailNotSent(Exception):
    """The mail was neither sent nor safely queued: the code must not count as sent."""


def hand_over_code(email, code, expires_at):
    """Send or queue the mail of *code* (None: the notice that *email* has an account);
    *expires_at* is when the code expires (naive = UTC).

    Returns once the SMTP server took the mail, or once the broker confirmed it holds the job;
    raises MailNotSent otherwise.
    """
    queue = current_app.extensions["mail_queue"]
    try:
        if queue is None:
            send_code(email, code)
        else:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=timezone.utc)
            queue.publish(email, code, expires_at, logging_config.current_request_id.get())
    except (smtplib.SMTPException, OSError, BrokerError) as exc:
        raise MailNotSent(" ".join(str(exc).split()) or type(exc).__name__) from exc
