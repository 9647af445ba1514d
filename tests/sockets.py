"""A loopback port standing in for a server that hangs or drops every connection."""
import socket
import struct
import threading


class SilentPort:
    """A loopback port that takes every connection and never says a word.

    As a stuck server does, it keeps each connection open and keeps what the client sends on
    it, until the client hangs up or ``close()``. With *drop*, it resets each connection as
    soon as it is taken instead, as a server going down does (a closed port refuses too, but
    nothing could count the attempts). ``accepted`` counts the connections.
    ``stop_listening()`` frees the port for a real server; connections taken stay as they are.
    """

    def __init__(self, drop=False):
        self._drop = drop
        self._changed = threading.Condition()
        self._held = []  # per connection taken: [socket, bytes the client sent, hung up]
        self._threads = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # stop_listening()
            held = [connection, b"", False]
            # Counted before the reset: once a client has seen it, the count includes it.
            with self._changed:
                self._held.append(held)
                self._changed.notify_all()
            if self._drop:
                # Linger 0: close() sends a reset, not an orderly end.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.close()
            else:
                reader = threading.Thread(target=self._listen_to, args=(held,), daemon=True)
                self._threads.append(reader)
                reader.start()

    def _listen_to(self, held):
        while True:
            try:
                data = held[0].recv(4096)
            except OSError:
                return  # close()
            with self._changed:
                if not data:
                    held[2] = True
                    self._changed.notify_all()
                    return
                held[1] += data

    @property
    def accepted(self):
        with self._changed:
            return len(self._held)

    def received(self):
        """What the client sent on each connection, in the order they came."""
        with self._changed:
            return [held[1] for held in self._held]

    def _wait(self, counted, noun, count, seconds):
        with self._changed:
            if not self._changed.wait_for(lambda: counted() >= count, seconds):
                raise AssertionError(f"{counted()} {noun}, not {count}, in {seconds} s "
                                     "(a guard against a hung test)")

    def wait_for_connections(self, count, seconds=60):
        self._wait(lambda: len(self._held), "connections", count, seconds)

    def wait_for_hangups(self, count, seconds=60):
        self._wait(lambda: sum(1 for held in self._held if held[2]), "hang-ups", count, seconds)

    def stop_listening(self):
        # shutdown() wakes the accept() blocked in the thread; close() alone would not, and
        # the port would stay taken.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already shut
        self._listener.close()
        self._accepter.join(10)

    def close(self):
        """Stop listening and close every connection still held."""
        self.stop_listening()
        with self._changed:
            connections = [held[0] for held in self._held]
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client hung up already
            connection.close()
        for reader in self._threads:
            reader.join(10)
