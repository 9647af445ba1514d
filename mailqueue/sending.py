"""The registration-code mail, sent over SMTP with a timeout on every call (or printed)."""
import smtplib

from flask import current_app
from flask_mail import Message, sanitize_address, sanitize_addresses


def code_message(email, code):
    minutes = current_app.config["CAPTCHA_TTL_SECONDS"] // 60
    return Message(
        subject="Your Q&A registration code",
        recipients=[email],
        body=(f"Your registration code is {code}\n\n"
              f"It is valid for {minutes} minutes and can be used once.\n"
              "If you did not ask for it, ignore this email.\n"),
    )


def send_code(email, code):
    """Send the code to *email* now; raises smtplib.SMTPException or OSError if not taken."""
    message = code_message(email, code)
    if current_app.config["MAIL_CONSOLE"]:
        current_app.logger.warning(
            "MAIL_SERVER is not set, so this mail is printed instead of sent:\n"
            "To: %s\nSubject: %s\n\n%s", email, message.subject, message.body)
        return
    deliver(message)


def deliver(message):
    """Hand *message* to the SMTP server of MAIL_*; each SMTP call waits MAIL_TIMEOUT at most."""
    state = current_app.extensions["mail"]
    smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
    smtp = smtp_class(state.server, state.port, timeout=current_app.config["MAIL_TIMEOUT"])
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
