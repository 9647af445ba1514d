"""A real SMTP server on loopback (aiosmtpd) and what it received."""
import email
import email.policy
import re

from aiosmtpd.controller import Controller

from tests.http import free_port


class Mailbox:
    """What the SMTP server received; its DATA handler."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def codes_for(self, address):
        """The 6-digit codes mailed to *address*, oldest first."""
        return [re.search(r"\b(\d{6})\b", m.get_content()).group(1)
                for m in self.messages if m["To"] == address]

    def last_code(self, address):
        codes = self.codes_for(address)
        assert codes, f"no mail reached {address}"
        return codes[-1]


def start_smtp_server():
    """An SMTP server on a free loopback port, delivering into a Mailbox; stop() it after."""
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller
