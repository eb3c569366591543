"""A loopback stand-in for Anvil's Uplink endpoint, so tests can drive the real anvil-uplink client.

anvil.works cannot be reached from tests, so this plays Anvil's side of the Uplink wire protocol, as
the anvil-uplink client (anvil/server.py, anvil/_serialise.py, anvil/_threaded_server.py) speaks it:

- The uplink opens a WebSocket and sends {"key": ..., "v": protocol version}, then one
  {"type": "REGISTER", "name": ...} per callable. Anvil answers {"auth": "OK", ...}, or
  {"error": "Incorrect uplink key"} and closes.
- Anvil calls a function with {"type": "CALL", "id", "command", "args", "kwargs", "objects"}; the uplink
  answers {"id", "response"} or {"id", "error": {"type", "message", "trace"}}.
- Media travel out of band: in the JSON they are null, with a descriptor in "objects" naming their path
  (["args", 0], ["response", "preview"], ...). Their bytes follow as 64 KiB chunks, each a
  {"type": "CHUNK_HEADER", "requestId", "mediaId", "chunkIndex", "lastChunk"} text message followed by
  one binary message.
- The uplink calls back into Anvil the same way: "anvil.private.echo" every 10 s as a keep-alive, and
  "anvil.private.fetch_lazy_media" to read a LazyMedia (a file Anvil hands over by reference).

Tests use `AnvilStandIn` as a context manager: `url` for ANVIL_UPLINK_URL, `wait_for_functions`,
`call` (Media in, Media out, as `MediaFile`), `drop_connections`, and `HeldMedia` to know for certain
that a server function is running (it is fetching the file) and to choose when it may go on.
"""

import itertools
import json
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

CHUNK_BYTES = 65536  # what the uplink client uses too
APP_INFO = {"id": "STAND_IN_APP", "branch": "master", "environment": {"description": "Stand-in", "tags": []}}


@dataclass(frozen=True)
class MediaFile:
    """A file travelling as Anvil Media, in either direction."""

    content_type: str
    data: bytes = field(repr=False)
    name: str | None = None


@dataclass
class HeldMedia:
    """A file passed by reference, as Anvil passes files from Data Tables (a LazyMedia).

    The server function reads it with a call back to Anvil, so `fetched` is set while the function is
    running; the stand-in answers that call only once `release()` is called.
    """

    media: MediaFile
    fetched: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class RemoteError(Exception):
    """A call's error as Anvil hands it to the page: the exception type, its message, its trace."""

    def __init__(self, error: dict):
        self.type = error.get("type")
        self.message = error.get("message", "")
        self.trace = error.get("trace", [])
        super().__init__(f"{self.type}: {self.message}")


class ConnectionLostError(Exception):
    pass


# --- the framing, shared with the app server for browser tests (harness/anvil_app_server.py) -------------

def take_out_media(message: dict, held: dict[str, HeldMedia], ids) -> tuple[dict, list]:
    """Null each MediaFile/HeldMedia in `message`; return it (with its "objects") and the bytes that follow it."""
    objects, to_send = [], []

    def walk(value, path):
        if isinstance(value, dict):
            return {key: walk(item, [*path, key]) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item, [*path, index]) for index, item in enumerate(value)]
        if isinstance(value, HeldMedia):
            media_id = f"lazy-{next(ids)}"
            held[media_id] = value
            objects.append({"type": ["LazyMedia"], "path": path, "id": media_id, "manager": "stand-in",
                            "mime-type": value.media.content_type, "name": value.media.name,
                            "length": len(value.media.data)})
            return None
        if isinstance(value, MediaFile):
            media_id = f"media-{next(ids)}"
            objects.append({"type": ["DataMedia"], "path": path, "id": media_id,
                            "mime-type": value.content_type, "name": value.name})
            to_send.append((media_id, value.data))
            return None
        return value

    message = walk(message, [])
    if objects:
        message["objects"] = objects
    return message, to_send


def send_framed(websocket, message: dict, media: list[tuple[str, bytes]] = ()) -> None:
    """The message, then each Media's bytes in chunks; the caller holds the socket's send lock."""
    websocket.send(json.dumps(message))
    for media_id, data in media:
        chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
        for index, chunk in enumerate(chunks):
            websocket.send(json.dumps({
                "type": "CHUNK_HEADER", "requestId": message["id"], "mediaId": media_id,
                "chunkIndex": index, "lastChunk": index == len(chunks) - 1}))
            websocket.send(chunk)


def _put_at(message: dict, path: list, value) -> None:
    container = message
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value


class _IncomingMessage:
    """A JSON message whose Media are still arriving in chunks."""

    def __init__(self, message: dict):
        self.message = message
        self.descriptors = {d["id"]: d for d in message.pop("objects", []) if "DataMedia" in d["type"]}
        self.chunks = {media_id: [] for media_id in self.descriptors}
        self.complete = set()

    def add_chunk(self, header: dict, data: bytes) -> None:
        self.chunks[header["mediaId"]].append(data)
        if header["lastChunk"]:
            self.complete.add(header["mediaId"])

    def is_ready(self) -> bool:
        return len(self.complete) == len(self.descriptors)

    def assembled(self) -> dict:
        for media_id, descriptor in self.descriptors.items():
            media = MediaFile(descriptor["mime-type"], b"".join(self.chunks[media_id]), descriptor.get("name"))
            _put_at(self.message, descriptor["path"], media)
        return self.message


class FramedReceiver:
    """Turns the frames one WebSocket receives back into whole messages, their Media as MediaFile."""

    def __init__(self):
        self._waiting: dict[str, _IncomingMessage] = {}
        self._next_chunk_header: dict | None = None

    def receive(self, raw: str | bytes) -> dict | None:
        """The message `raw` completes, or None while its Media are still on the way."""
        if isinstance(raw, bytes):
            header, self._next_chunk_header = self._next_chunk_header, None
            incoming = self._waiting[header["requestId"]]
            incoming.add_chunk(header, raw)
            if not incoming.is_ready():
                return None
            del self._waiting[header["requestId"]]
            return incoming.assembled()
        message = json.loads(raw)
        if message.get("type") == "CHUNK_HEADER":
            self._next_chunk_header = message
            return None
        if not any("DataMedia" in d.get("type", ()) for d in message.get("objects", ())):
            return message
        self._waiting[message["id"]] = _IncomingMessage(message)
        return None


class _UplinkConnection:
    """One uplink's WebSocket: what it registered, and the replies it owes."""

    def __init__(self, stand_in: "AnvilStandIn", websocket: ServerConnection):
        self.stand_in = stand_in
        self.websocket = websocket
        self.registered: set[str] = set()
        self.open = True
        self._send_lock = threading.Lock()  # a chunk header and its bytes must stay together
        self._replies: dict[str, Future] = {}
        self._receiver = FramedReceiver()

    def send(self, message: dict, media: list[tuple[str, bytes]] = ()) -> None:
        with self._send_lock:
            send_framed(self.websocket, message, media)

    def expect_reply(self, call_id: str) -> Future:
        future: Future = Future()
        self._replies[call_id] = future
        return future

    def receive(self, raw: str | bytes) -> None:
        message = self._receiver.receive(raw)
        if message is None:
            return
        kind = message.get("type")
        if kind == "REGISTER":
            self.registered.add(message["name"])
        elif kind == "CALL":
            threading.Thread(target=self._answer_call_from_uplink, args=(message,), daemon=True).start()
        elif "id" in message and ("response" in message or "error" in message):
            future = self._replies.pop(message["id"], None)
            if future is not None:
                future.set_result(message)
        else:
            self.stand_in.unexpected_messages.append(message)

    def _answer_call_from_uplink(self, message: dict) -> None:
        command = message.get("command")
        if command == "anvil.private.echo":
            self.send({"id": message["id"], "response": message["args"][0]})
        elif command == "anvil.private.fetch_lazy_media":
            held = self.stand_in.held_media[message["args"][0]["id"]]  # the LazyMedia's own descriptor
            held.fetched.set()
            held.released.wait()
            reply, media = take_out_media({"id": message["id"], "response": held.media},
                                           {}, self.stand_in.ids)
            self.send(reply, media)
        else:
            self.send({"id": message["id"], "error": {
                "type": "anvil.server.NoServerFunctionError",
                "message": f"No server function matching {command!r} has been registered"}})

    def lost(self) -> None:
        self.open = False
        for future in self._replies.values():
            future.set_exception(ConnectionLostError("the uplink disconnected before answering"))
        self._replies.clear()


class AnvilStandIn:
    """Anvil's side of the Uplink on 127.0.0.1, on a free port."""

    def __init__(self, key: str):
        self.key = key
        self.connections: list[_UplinkConnection] = []  # every connection so far, open or closed
        self.held_media: dict[str, HeldMedia] = {}
        self.unexpected_messages: list[dict] = []
        self.ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/uplink"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="anvil-stand-in")

    def __enter__(self) -> "AnvilStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _handle(self, websocket: ServerConnection) -> None:
        hello = json.loads(websocket.recv())
        if hello.get("key") != self.key:
            websocket.send(json.dumps({"error": "Incorrect uplink key"}))
            websocket.close()
            return
        connection = _UplinkConnection(self, websocket)
        with self._lock:
            self.connections.append(connection)
        websocket.send(json.dumps({"auth": "OK", "priv": "uplink", "app-info": APP_INFO}))
        try:
            for raw in websocket:
                connection.receive(raw)
        except ConnectionClosed:
            pass
        finally:
            connection.lost()

    def open_connections(self) -> list[_UplinkConnection]:
        with self._lock:
            return [c for c in self.connections if c.open]

    def registered_functions(self) -> set[str]:
        return set().union(*(c.registered for c in self.open_connections()))

    def wait_for_functions(self, names, connections: int = 1, timeout: float = 60.0) -> None:
        """Wait until `connections` open uplinks have each registered every one of `names`."""
        deadline = time.monotonic() + timeout
        while sum(set(names) <= c.registered for c in self.open_connections()) < connections:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no uplink registered {sorted(names)} within {timeout} s "
                                   f"(registered: {sorted(self.registered_functions())})")
            time.sleep(0.05)

    def call(self, function: str, *args, timeout: float = 30.0, via: "_UplinkConnection | None" = None,
             session: str | None = None, ip: str = "127.0.0.1", **kwargs):
        """Call a registered function as the page would; Media come back as MediaFile.

        `via` sends it to one uplink; otherwise the calls are spread over them all, as Anvil does.
        `session` and `ip` are what Anvil tells the uplink of the caller: the page's session id (none
        by default) and the browser's address.
        """
        candidates = [c for c in self.open_connections() if function in c.registered]
        if not candidates:
            raise LookupError(f"no open uplink has registered {function!r}")
        connection = via or candidates[next(self.ids) % len(candidates)]
        call_id = f"call-{next(self.ids)}"
        message = {"type": "CALL", "id": call_id, "command": function, "args": list(args), "kwargs": kwargs,
                   "client": {"type": "browser", "ip": ip}, "call-stack": [{"type": "browser"}]}
        if session is not None:
            message["session-id"] = session
        message, media = take_out_media(message, self.held_media, self.ids)
        reply = connection.expect_reply(call_id)
        connection.send(message, media)
        answer = reply.result(timeout)
        if "error" in answer:
            raise RemoteError(answer["error"])
        return answer["response"]

    def drop_connections(self) -> None:
        """Cut every uplink off without a goodbye, as a network failure or an Anvil restart would."""
        for connection in self.open_connections():
            connection.open = False
            connection.websocket.socket.shutdown(socket.SHUT_RDWR)
