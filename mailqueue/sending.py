"""Registration mail (a code or an account notice): sent over SMTP within a deadline, or printed."""
import smtplib
import time

from flask import current_app
from flask_mail import Message, sanitize_address, sanitize_addresses


def ascii_email(address):
    """*address* as SMTP carries it: the domain in its IDNA form (xn--...)."""
    # Imported at the first mail (20 ms of regexes), not at every start of the app.
    from email_validator import validate_email

    return validate_email(address, check_deliverability=False, allow_smtputf8=False).ascii_email


def code_message(email, code):
    """The mail of *code*; with code None, the notice that *email* has an account already."""
    if code is None:
        # Asking for a code must not tell a stranger that the address has an account: its
        # owner learns it here instead.
        return Message(
            subject="Your Q&A account",
            recipients=[ascii_email(email)],
            body=("Someone, maybe you, asked to register on Q&A with this address, but it has "
                  "an account already: log in with it instead.\n"
                  "If you did not ask, ignore this email.\n"),
        )
    minutes = current_app.config["CAPTCHA_TTL_SECONDS"] // 60
    return Message(
        subject="Your Q&A registration code",
        recipients=[ascii_email(email)],
        body=(f"Your registration code is {code}\n\n"
              f"It is valid for {minutes} minutes and can be used once.\n"
              "If you did not ask for it, ignore this email.\n"),
    )


def send_code(email, code):
    """Send the mail of *code* (None: the account notice) to *email* now; raises
    smtplib.SMTPException or OSError if the SMTP server did not take it within MAIL_TIMEOUT."""
    message = code_message(email, code)
    if current_app.config["MAIL_CONSOLE"]:
        current_app.logger.warning(
            "MAIL_SERVER is not set, so this mail is printed instead of sent:\n"
            "To: %s\nSubject: %s\n\n%s", email, message.subject, message.body)
        return
    deliver(message)


class Deadline:
    """The time left of *seconds* for all the calls of one SMTP exchange: each read and write
    waits only for what is left (a server that answers each command just before a per-call
    timeout would otherwise hold the caller many times over)."""

    def __init__(self, seconds):
        self._end = time.monotonic() + seconds

    def left(self):
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left


def _within(deadline, smtp_class):
    class Bounded(smtp_class):
        def send(self, s):
            if self.sock is not None:
                self.sock.settimeout(deadline.left())
            return super().send(s)

        def getreply(self):
            if self.sock is not None:
                self.sock.settimeout(deadline.left())
            return super().getreply()

    return Bounded


def deliver(message):
    """Hand *message* to the SMTP server of MAIL_*, within MAIL_TIMEOUT seconds in all."""
    state = current_app.extensions["mail"]
    deadline = Deadline(current_app.config["MAIL_TIMEOUT"])
    smtp_class = _within(deadline, smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP)
    smtp = smtp_class(state.server, state.port, timeout=deadline.left())
    try:
        if state.use_tls:
            smtp.starttls()
        if state.username and state.password:
            smtp.login(state.username, state.password)
        smtp.sendmail(sanitize_address(message.sender), list(sanitize_addresses(message.send_to)),
                      message.as_bytes(), message.mail_options, message.rcpt_options)
    except BaseException:
        smtp.close()  # not QUIT: a server that timed out once would make us wait again
        raise
    # Once the server took the mail, a QUIT that fails must not make it look unsent (a retry
    # would mail it twice).
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def is_permanent(exc):
    """True when the SMTP server refused for good (5xx): trying again cannot help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, smtplib.SMTPNotSupportedError)
