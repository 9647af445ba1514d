"""A real SMTP server on loopback (aiosmtpd) and its mail; one that hangs, one that is slow."""
import asyncio
import email
import email.policy
import logging
import re
import threading

from aiosmtpd.controller import Controller

from tests.http import free_port
from tests.sockets import SilentPort

# aiosmtpd logs every command of every connection at INFO, from its own thread: after a test
# has ended, such lines would reach the terminal (importing app sets the root logger to INFO).
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Mailbox:
    """What the SMTP server received; its DATA handler."""

    def __init__(self):
        self.messages = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count, seconds=60):
        """Wait until *count* messages arrived (sent by another process); them all."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, seconds):
                raise AssertionError(f"{len(self.messages)} mails arrived, not {count}, in "
                                     f"{seconds} s (a guard against a hung test)")
            return list(self.messages)

    def recipients(self):
        return [m["To"] for m in self.messages]

    def codes_for(self, address):
        """The 6-digit codes mailed to *address*, oldest first."""
        return [re.search(r"\b(\d{6})\b", m.get_content()).group(1)
                for m in self.messages if m["To"] == address]

    def last_code(self, address):
        codes = self.codes_for(address)
        assert codes, f"no mail reached {address}"
        return codes[-1]


class SlowMailbox(Mailbox):
    """A Mailbox whose server answers MAIL, RCPT and DATA each *delay* seconds late, as a
    server under load does: every answer comes, none within the time of all three."""

    def __init__(self, delay):
        super().__init__()
        self.delay = delay

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def start_smtp_server(mailbox=None, port=None, authenticator=None):
    """An SMTP server on loopback (on *port*, or a free one), delivering into *mailbox* (a new
    Mailbox unless given); stop() it after. With *authenticator* (aiosmtpd's), clients must
    log in, over plain SMTP as the tests have no TLS."""
    options = {}
    if authenticator is not None:
        options = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(Mailbox() if mailbox is None else mailbox, hostname="127.0.0.1",
                            port=free_port() if port is None else port, **options)
    controller.start()
    return controller


class HangingSMTPServer(SilentPort):
    """An SMTP address that hangs (takes connections and never answers, as a stuck mail
    server does) until ``serve()`` puts a real SMTP server on its port, delivering into
    ``mailbox``. The connections taken while hanging stay open until ``close()``."""

    def __init__(self):
        super().__init__()
        self.mailbox = Mailbox()
        self._server = None

    def serve(self):
        self.stop_listening()
        self._server = start_smtp_server(self.mailbox, port=self.port)

    def close(self):
        super().close()
        if self._server is not None:
            self._server.stop()
