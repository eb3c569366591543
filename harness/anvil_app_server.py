"""A loopback app server for browser tests: it does for the tests what the Anvil App Server does for users.

It serves the app in anvil_app/ (Anvil's git format) to Anvil's real client runtime, built from
anvil-works/anvil-runtime (see scripts/build_anvil_runtime.sh), and passes every server call the page
makes on to the functions an uplink client (`digits serve`) registered with an `AnvilStandIn`.
What the browser needs, as anvil-runtime's own server gives it:

- `/`: the runtime's page template, `dist/runner2.html`, its `{{...}}` slots filled as
  `serve_app/core.clj` fills them: the theme's CSS (with `%color:NAME%` as CSS variables), the app
  itself (`app_json`: the shape `read_app_storage.clj` and `app_data.clj` give it), and the code that
  loads the app and opens its startup form;
- `/_/static/runtime/<path>`: the runtime's files; `/_/theme/<name>`: the theme's assets;
- `/_/ws/...`: the page's WebSocket. Its framing is the Uplink's (shared with anvil_stand_in.py), so a
  CALL from the browser, Media and all, goes to the stand-in's `call`, and the answer or the error comes
  back the same way. No uplink for a function: `anvil.server.NoServerFunctionError`, as Anvil says it.
"""

import json
import mimetypes
import re
import secrets
import threading
import time
from pathlib import Path

import yaml
from harness.anvil_stand_in import AnvilStandIn, FramedReceiver, RemoteError, send_framed, take_out_media
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.sync.server import ServerConnection, serve

RUNTIME_PATH = "/_/static/runtime/"
THEME_PATH = "/_/theme/"
# Legacy pieces the runtime's server adds for an app whose runtime_options.version is below 3.
LEGACY_CSS = ["css/bootstrap.css", "css/bootstrap-theme.min.css", "css/lib/animate.min.css",
              "dist/static/css/runner.min.css"]
LEGACY_JS = ["js/lib/bootstrap.min.js"]


# --- the app, as the runtime's server reads it from git format ----------------------------------------

def app_json(app_dir: Path) -> dict:
    """anvil.yaml plus every form and module of client_code/, and the theme, trimmed for the client."""
    app = yaml.safe_load((app_dir / "anvil.yaml").read_text())
    client_code = app_dir / "client_code"
    forms, modules = [], []
    for code in sorted(client_code.rglob("*.py")):
        package = code.name == "__init__.py"
        dotted = ".".join(code.relative_to(client_code).with_suffix("").parts[:-1 if package else None])
        template = code.parent / "form_template.yaml"
        if package and template.is_file():
            forms.append({**yaml.safe_load(template.read_text()), "class_name": dotted, "code": code.read_text(),
                          "is_package": True})
        elif dotted:
            modules.append({"name": dotted, "code": code.read_text(), "is_package": package})
    runtime_options = {key: value for key, value in app["runtime_options"].items()
                       if key in ("version", "client_version", "no_jquery", "preview_v3", "legacy_features")}
    return {
        "name": app["name"], "package_name": app["package_name"], "forms": forms, "modules": modules,
        "startup": app.get("startup"), "startup_form": app.get("startup_form"), "services": app.get("services") or [],
        "theme": {"html": {path.name: path.read_text() for path in (app_dir / "theme" / "assets").glob("*.html")},
                  "color_scheme": theme_colours(app_dir)},
        "dependency_code": {}, "dependency_order": [], "dependency_ids": {},
        "allow_embedding": app.get("allow_embedding", False), "runtime_options": runtime_options, "config": {},
    }


def theme_colours(app_dir: Path) -> dict[str, str]:
    parameters = yaml.safe_load((app_dir / "theme" / "parameters.yaml").read_text())
    return {colour["name"]: colour["color"] for colour in parameters["color_scheme"]["colors"]}


def colour_variables(colours: dict[str, str]) -> dict[str, str]:
    """{colour name: CSS variable}, named as app_data.clj names them."""
    return {name: "--anvil-color-" + re.sub(r"[^A-Za-z0-9]", "-", name) + "-" + secrets.token_hex(1)
            for name in colours}


def page_html(runtime_dir: Path, app_dir: Path, origin: str, session: str) -> str:
    """runner2.html with its slots filled, as serve-app fills them."""
    app = app_json(app_dir)
    colours = app["theme"]["color_scheme"]
    variables = colour_variables(colours)
    app["theme"]["vars"] = variables
    css = (app_dir / "theme" / "assets" / "theme.css").read_text()
    for name, variable in variables.items():
        css = css.replace(f"%color:{name}%", f"var({variable})")
    css = css.replace("%anvil-banner-height%", "0px")
    runtime = f"{origin}{RUNTIME_PATH}"
    slots = {
        **_legacy_slots(runtime, app["runtime_options"].get("version", 0) < 3),
        "{{app-name}}": app["name"], "{{meta-title}}": app["name"], "{{meta-og-title}}": app["name"],
        "{{meta-description}}": "", "{{meta-og-description}}": "", "{{meta-fields}}": "", "{{body-class}}": "",
        "{{favicon}}": f"{runtime}img/default-icon.png", "{{social-image}}": f"{runtime}img/default-icon.png",
        "{{meta-og-image}}": "", "{{ms-tile-image}}": "", "{{manifest-url}}": f"{origin}/_/manifest.json",
        "{{theme-color}}": next(iter(colours.values()), "#2ab1eb"), "{{shim-css}}": "",
        "{{root-vars}}": ":root {\n" + "".join(f"{variables[n]}:{c};\n" for n, c in colours.items()) + "}",
        "{{theme-css}}": f"\n<style>\n{css}\n</style>\n", "{{head-html}}": "", "{{extra-snippets}}": "",
        "{{runtime-common-url}}": origin, "{{environment-origin}}": origin, "{{anvil-version}}": "loopback",
        "{{session-token}}": session, "{{oauth-info}}": "", "{{google-api-key}}": "",
        "{{app-info-object}}": json.dumps({"id": "", "branch": None, "environment": {"description": "Loopback",
                                                                                      "tags": []}}),
        "{{load-app-code}}": _load_app_code(app, origin),
    }
    html = (runtime_dir / "dist" / "runner2.html").read_text()
    for slot, value in slots.items():
        html = html.replace(slot, value)
    for slot, value in {"{{canonical-url}}": origin, "{{cdn-origin}}": f"{origin}/_/static",
                        "{{app-origin}}": origin}.items():
        html = html.replace(slot, value)
    return html


def _legacy_slots(runtime: str, legacy: bool) -> dict[str, str]:
    """Bootstrap 3 and the old class names, which apps below runtime version 3 get."""
    def stylesheet(path):
        return f'<link rel="stylesheet" href="{runtime}{path}" crossorigin/>\n'

    return {"{{legacy-bootstrap-css}}": "".join(map(stylesheet, LEGACY_CSS[:3])) if legacy else "",
            "{{legacy-classnames}}": stylesheet(LEGACY_CSS[3]) if legacy else "",
            "{{legacy-bootstrap-js}}": f'<script src="{runtime}{LEGACY_JS[0]}" crossorigin></script>' if legacy else "",
            "{{legacy-head-class}}": "runner" if legacy else ""}


def _load_app_code(app: dict, origin: str) -> str:
    """window.loadApp(...) with the app, then its startup form (or module) opened, as serve-app writes it."""
    startup = app["startup"] or {"type": "form", "module": app["startup_form"]}
    opener = "openMainModule" if startup["type"] == "module" else "openForm"
    parameters = {"app": app, "appId": "LOOPBACK", "appOrigin": origin, "appStartupData": None, "runtimeVersion": 3}
    return ("\n$(function() {"
            f"const loadApp = window.loadApp({json.dumps(parameters)});"
            "const loadAppAfter = window.anvil._loadAppAfter || [];"
            "loadApp.then(function() { Promise.all(loadAppAfter).then(function() {"
            f"window.{opener}({json.dumps(startup['module'])});"
            "});});});")


# --- the server ---------------------------------------------------------------------------------------

def _response(status: int, body: bytes, content_type: str) -> Response:
    headers = Headers({"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close",
                       "Cache-Control": "no-store"})
    return Response(status, "OK" if status == 200 else "Not Found", headers, body)


def _error(call_id: str, error_type: str, message: str, trace=()) -> dict:
    return {"id": call_id, "error": {"type": error_type, "message": message, "trace": list(trace)}}


class AnvilAppServer:
    """The app on 127.0.0.1, on a free port; server calls go to `stand_in`'s uplinks."""

    def __init__(self, app_dir: Path, runtime_dir: Path, stand_in: AnvilStandIn):
        self.app_dir, self.runtime_dir, self.stand_in = Path(app_dir), Path(runtime_dir), stand_in
        self.session = secrets.token_urlsafe(16)
        self.calls: list[tuple[str, float]] = []  # (function, seconds the uplink took) for every call, in order
        self.unanswered_paths: list[str] = []  # what the page asked for that is not here
        self._server = serve(self._handle_websocket, "127.0.0.1", 0, process_request=self._handle_http,
                             compression=None, max_size=None)
        self.url = f"http://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="anvil-app-server")

    def __enter__(self) -> "AnvilAppServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _handle_http(self, connection: ServerConnection, request) -> Response | None:
        path = request.path.split("?")[0]
        if path.startswith("/_/ws/"):
            return None  # the page's WebSocket: go on with the handshake
        if path == "/":
            html = page_html(self.runtime_dir, self.app_dir, self.url, self.session)
            return _response(200, html.encode(), "text/html; charset=utf-8")
        if path == "/_/check-app-online":
            return _response(200, b"OK", "text/plain")
        if path == "/_/manifest.json":
            manifest = {"name": app_json(self.app_dir)["name"], "start_url": "/", "display": "standalone"}
            return _response(200, json.dumps(manifest).encode(), "application/manifest+json")
        if path == "/_/service-worker":
            return _response(200, (self.runtime_dir / "dist/static/js/sw.bundle.js").read_bytes(),
                             "application/javascript")
        for prefix, folder in ((RUNTIME_PATH, self.runtime_dir), (THEME_PATH, self.app_dir / "theme" / "assets")):
            if path.startswith(prefix):
                file = (folder / path.removeprefix(prefix)).resolve()
                if file.is_relative_to(folder.resolve()) and file.is_file():
                    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                    return _response(200, file.read_bytes(), content_type)
        self.unanswered_paths.append(path)
        return _response(404, b"not found", "text/plain")

    def _handle_websocket(self, websocket: ServerConnection) -> None:
        receiver, send_lock = FramedReceiver(), threading.Lock()
        try:
            for raw in websocket:
                message = receiver.receive(raw)
                if message is not None and message.get("type") == "CALL":
                    threading.Thread(target=self._answer, args=(websocket, send_lock, message), daemon=True).start()
        except ConnectionClosed:
            pass

    def _answer(self, websocket: ServerConnection, send_lock: threading.Lock, call: dict) -> None:
        reply, media = self._reply(call)
        try:
            with send_lock:
                send_framed(websocket, reply, media)
        except ConnectionClosed:
            pass  # the page went away before its answer was ready

    def _reply(self, call: dict) -> tuple[dict, list]:
        command, call_id = call["command"], call["id"]
        if command == "anvil.private.echo":
            return {"id": call_id, "response": call["args"][0], "objects": []}, []
        started = time.perf_counter()
        try:
            response = self.stand_in.call(command, *call.get("args", []), timeout=60, **call.get("kwargs") or {})
        except LookupError:
            return _error(call_id, "anvil.server.NoServerFunctionError",
                          f'No server function matching "{command}" has been registered'), []
        except RemoteError as error:
            return _error(call_id, error.type, error.message, error.trace), []
        except Exception as error:  # the uplink vanished mid-call, or took too long
            return _error(call_id, "anvil.server.UplinkDisconnectedError",
                          f"The uplink server did not answer: {error}"), []
        finally:
            self.calls.append((command, time.perf_counter() - started))
        reply, media = take_out_media({"id": call_id, "response": response}, {}, self.stand_in.ids)
        reply.setdefault("objects", [])
        return reply, media
