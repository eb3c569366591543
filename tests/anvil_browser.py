"""A stand-in for the browser side of Anvil, so the app in anvil_app/ runs under CPython in tests.

Only what cannot run outside a browser is replaced, and it follows the app's own files:
- components: one class per Anvil component type used, taking only the properties, events and layout
  properties that type has in Anvil's runtime (client/js/components/*.tsx), so a misspelt property in
  a template or a form fails here as it would in the browser;
- each form's `_anvil_designer` module, which Anvil generates from the form's form_template.yaml: it
  builds the components, sets their properties, lays them out and binds the handlers the template names;
- `anvil.server.call`, which runs the real uplink server functions in this process. Arguments and
  results pass the checks the wire makes (JSON values and Media only; Media cross as fresh copies), and a
  server exception reaches the page as Anvil's client raises it: an `AnvilWrappedError` with its message;
- `anvil.js`: a DOM node per component that records event listeners, so a test can drop files on a page.

`Browser` is a context manager: inside it `import anvil` is this stand-in and the app's client code is
the package `anvil_app`; on leaving, both are gone and the real anvil-uplink package is back.
"""

import ast
import importlib
import importlib.util
import mimetypes
import sys
import types
from pathlib import Path

import yaml

# --- components --------------------------------------------------------------------------------------

# Anvil's property groups (client/js/PyDefUtils/property-groups.ts) and which each component has.
_GROUPS = {
    "text": {"text", "align", "font_size", "font", "bold", "italic", "underline"},
    "icon": {"icon", "icon_align"},
    "appearance": {"background", "foreground", "border", "visible", "role"},
    "visibility": {"visible"},
    "interaction": {"enabled"},
    "height": {"height"},
    "layout": {"width", "spacing_above", "spacing_below"},
    "layout_spacing": {"spacing"},
    "layout_margin": {"margin"},
    "containers": {"row_spacing"},
    "user data": {"tag"},
    "tooltip": {"tooltip"},
}
_COLUMN_LAYOUT = {"grid_position", "full_width_row", "row_background", "index"}

# type: (property groups, its own properties, its own events, layout properties of its children or None)
COMPONENT_SPECS = {
    "Label": (["layout", "layout_spacing", "text", "appearance", "icon", "tooltip", "user data"],
              set(), set(), None),
    "Link": (["text", "icon", "appearance", "layout", "layout_spacing", "containers", "tooltip", "user data"],
             {"url", "text_padding", "col_widths", "col_spacing", "wrap_on"}, {"click"}, _COLUMN_LAYOUT),
    "Button": (["layout", "layout_spacing", "interaction", "text", "appearance", "icon", "user data", "tooltip"],
               set(), {"click"}, None),
    "Image": (["layout", "layout_margin", "height", "appearance", "tooltip", "user data"],
              {"source", "display_mode", "alt_text", "border_radius", "horizontal_align", "vertical_align"},
              {"mouse_down", "mouse_up", "mouse_move", "mouse_enter", "mouse_leave"}, None),
    "DropDown": (["layout", "layout_margin", "interaction", "text", "appearance", "user data", "tooltip"],
                 {"items", "selected_value", "include_placeholder", "placeholder"}, {"change"}, None),
    "FileLoader": (["layout", "layout_spacing", "text", "appearance", "icon", "interaction", "user data",
                    "tooltip"],
                   {"multiple", "show_state", "file", "files", "file_types"},
                   {"change", "focus", "lost_focus"}, None),
    "Plot": (["layout", "layout_margin", "height", "visibility", "tooltip", "user data"],
             {"data", "layout", "config", "figure", "interactive"},
             {"click", "double_click", "afterplot", "select", "hover", "unhover"}, None),
    "Spacer": (["visibility", "layout", "height", "tooltip", "user data"], set(), set(), None),
    "ColumnPanel": (["layout", "layout_spacing", "containers", "appearance", "user data", "tooltip"],
                    {"col_widths", "col_spacing", "wrap_on"}, set(), _COLUMN_LAYOUT),
    "FlowPanel": (["appearance", "user data", "layout", "layout_spacing", "tooltip"],
                  {"align", "vertical_align", "gap"}, set(), {"width", "expand", "index"}),
    "HtmlTemplate": (["appearance", "tooltip", "user data"], {"html"}, set(), {"slot", "index"}),
}
UNIVERSAL_EVENTS = {"show", "hide"}
_DEFAULTS = {"visible": True, "enabled": True, "text": "", "items": [], "files": [], "multiple": False,
             "show_state": True, "include_placeholder": False, "interactive": True}


class Component:
    """A stand-in Anvil component: a bag of the properties its type really has, plus events."""

    component_type = "Component"
    properties = frozenset()
    events = frozenset(UNIVERSAL_EVENTS)
    strict = True  # forms subclass these and keep attributes of their own, so they turn this off

    def __init__(self, **properties):
        object.__setattr__(self, "_handlers", {})
        object.__setattr__(self, "parent", None)
        for name in self.properties:
            default = _DEFAULTS.get(name)
            object.__setattr__(self, name, list(default) if isinstance(default, list) else default)
        for name, value in properties.items():
            setattr(self, name, value)

    def __setattr__(self, name, value):
        if self.strict and name not in self.properties and not name.startswith("_"):
            raise AttributeError(f"an Anvil {self.component_type} has no property {name!r}")
        object.__setattr__(self, name, value)

    def set_event_handler(self, event_name, handler):
        self._check_event(event_name)
        self._handlers[event_name] = [handler] if handler else []

    def add_event_handler(self, event_name, handler):
        self._check_event(event_name)
        self._handlers.setdefault(event_name, []).append(handler)

    def raise_event(self, event_name, **event_args):
        self._check_event(event_name)
        for handler in self._handlers.get(event_name, []):
            handler(sender=self, event_name=event_name, **event_args)

    def remove_from_parent(self):
        if self.parent is not None:
            self.parent._children.remove(self)
            object.__setattr__(self, "parent", None)

    def _check_event(self, event_name):
        if event_name not in self.events:
            raise ValueError(f"an Anvil {self.component_type} has no {event_name!r} event")


class Container(Component):
    layout_properties = frozenset()

    def __init__(self, **properties):
        object.__setattr__(self, "_children", [])
        super().__init__(**properties)

    def add_component(self, component, **layout):
        unknown = set(layout) - self.layout_properties
        if unknown:
            raise TypeError(f"an Anvil {self.component_type} takes no layout properties {sorted(unknown)}")
        index = layout.get("index")
        self._children.insert(len(self._children) if index is None else index, component)
        object.__setattr__(component, "parent", self)

    def get_components(self):
        return list(self._children)

    def clear(self):
        for child in self._children:
            object.__setattr__(child, "parent", None)
        self._children.clear()


class DropDown(Component):
    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name == "items" and not self.include_placeholder:
            values = [item[1] if isinstance(item, (tuple, list)) else item for item in value]
            if self.selected_value not in values:  # Anvil selects the first item, as a <select> does
                object.__setattr__(self, "selected_value", values[0] if values else None)


class FileLoader(Component):
    def clear(self):
        object.__setattr__(self, "files", [])
        object.__setattr__(self, "file", None)


def _component_class(type_name):
    groups, own, events, child_layout = COMPONENT_SPECS[type_name]
    base = {"DropDown": DropDown, "FileLoader": FileLoader}.get(type_name)
    base = base or (Container if child_layout else Component)
    attributes = {
        "component_type": type_name,
        "properties": frozenset(own.union(*(_GROUPS[g] for g in groups))),
        "events": frozenset(events | UNIVERSAL_EVENTS),
    }
    if child_layout:
        attributes["layout_properties"] = frozenset(child_layout)
    return type(type_name, (base,), attributes)


COMPONENT_TYPES = {name: _component_class(name) for name in COMPONENT_SPECS}


# --- Media, as the browser has it ---------------------------------------------------------------------

class Media:
    def __init__(self, content_type, content, name=None):
        self.content_type, self._content, self.name = content_type, bytes(content), name

    def get_bytes(self):
        return self._content

    @property
    def length(self):
        return len(self._content)


BlobMedia = Media


# --- forms: what Anvil's designer generates from form_template.yaml -------------------------------------

def template_components(template: dict):
    """Every component a form template declares, depth first, as its yaml dict."""
    pending = list(template.get("components", []))
    while pending:
        component = pending.pop(0)
        yield component
        pending[:0] = component.get("components", [])


def _template_class(form_name: str, template: dict):
    container = template["container"]
    base = COMPONENT_TYPES[container["type"]]

    def build(form, spec, parent):
        component = COMPONENT_TYPES[spec["type"]](**spec.get("properties", {}))
        setattr(form, spec["name"], component)
        parent.add_component(component, **spec.get("layout_properties", {}))
        for event, handler in spec.get("event_bindings", {}).items():
            component.set_event_handler(event, getattr(form, handler))
        for child in spec.get("components", []):
            build(form, child, component)

    def init_components(self, **properties):
        base.__init__(self)
        for name, value in container.get("properties", {}).items():
            if name not in base.properties:
                raise AttributeError(f"an Anvil {base.component_type} has no property {name!r}")
            object.__setattr__(self, name, value)
        for spec in template.get("components", []):
            build(self, spec, self)
        for event, handler in container.get("event_bindings", {}).items():
            self.set_event_handler(event, getattr(self, handler))
        for name, value in properties.items():
            setattr(self, name, value)

    return type(f"{form_name}Template", (base,), {"strict": False, "init_components": init_components})


def form_templates(client_code: Path) -> dict:
    """{dotted form name: parsed form_template.yaml} for every package-style form in client_code."""
    return {".".join(path.parent.relative_to(client_code).parts): yaml.safe_load(path.read_text())
            for path in sorted(client_code.rglob("form_template.yaml"))}


# --- the wire between the page and the uplink server ---------------------------------------------------

class AnvilWrappedError(Exception):
    pass


class NoServerFunctionError(Exception):
    pass


def _across_the_wire(value, media_type, make_media, path="value"):
    """A copy of `value` as the other side receives it; TypeError for what Anvil cannot send."""
    if isinstance(value, media_type):
        return make_media(value.content_type, value.get_bytes(), value.name)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_across_the_wire(v, media_type, make_media, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{path}: Anvil sends only dicts with string keys")
        return {k: _across_the_wire(v, media_type, make_media, f"{path}[{k!r}]") for k, v in value.items()}
    raise TypeError(f"{path}: a {type(value).__name__} cannot be sent between the page and the server")


class _DomNode:
    def __init__(self):
        self.listeners = {}

    def addEventListener(self, event_type, listener):  # noqa: N802 (the DOM's name)
        self.listeners.setdefault(event_type, []).append(listener)

    def dispatch(self, event_type, event):
        for listener in self.listeners.get(event_type, []):
            listener(event)


class JsFile:
    """A browser File: what a drop event carries."""

    def __init__(self, name, data, content_type):
        self.name, self.type, self.data = name, content_type, data


class DragEvent:
    def __init__(self, files=()):
        file_list = types.SimpleNamespace(length=len(files), item=lambda i: files[i])
        self.dataTransfer = types.SimpleNamespace(files=file_list)  # noqa: N815 (the DOM's name)
        self.default_prevented = False

    def preventDefault(self):  # noqa: N802
        self.default_prevented = True


# --- the browser ----------------------------------------------------------------------------------------

class Browser:
    """Runs the Anvil app in `app_dir` against `server_functions` ({name: function}, called in-process)."""

    package = "anvil_app"

    def __init__(self, app_dir: Path, server_functions: dict):
        self.app_dir = Path(app_dir)
        self.server_functions = dict(server_functions)
        self.calls = []  # (function name, arguments as the server received them)
        self.on_call = None  # optional hook(name, args), run just before each server function
        self.open_forms = []  # every form opened, in order
        self._dom_nodes = {}
        self._saved_modules = {}
        self._client_modules = {}

    # -- entering and leaving --

    def __enter__(self):
        import anvil  # the real anvil-uplink package: what server functions take and return

        self._server_media, self._server_blob_media = anvil.Media, anvil.BlobMedia
        self._saved_modules = {name: module for name, module in sys.modules.items() if _is_anvil_module(name)}
        for name in self._saved_modules:
            del sys.modules[name]
        self._client_modules = self._make_client_modules()
        sys.modules.update(self._client_modules)
        self._load_app_package()
        return self

    def __exit__(self, *exc_info):
        for name in [name for name in sys.modules if _is_anvil_module(name) or _in_package(name, self.package)]:
            del sys.modules[name]
        sys.modules.update(self._saved_modules)

    def _make_client_modules(self):
        anvil = types.ModuleType("anvil")
        anvil.__path__ = []  # a package, so `import anvil.server` works
        exported = dict(COMPONENT_TYPES, Component=Component, Container=Container, Media=Media,
                        BlobMedia=BlobMedia, open_form=self.open_form, get_open_form=self.get_open_form,
                        alert=self.alert)
        for name, value in exported.items():
            setattr(anvil, name, value)
        anvil.__all__ = list(exported)

        server = types.ModuleType("anvil.server")
        server.call = self.call
        server.AnvilWrappedError, server.NoServerFunctionError = AnvilWrappedError, NoServerFunctionError

        js = types.ModuleType("anvil.js")
        js.get_dom_node = self.dom_node
        js.to_media = lambda blob, content_type="", name=None: Media(content_type or blob.type, blob.data, name)

        anvil.server, anvil.js = server, js
        return {"anvil": anvil, "anvil.server": server, "anvil.js": js}

    def _load_app_package(self):
        spec = importlib.util.spec_from_file_location(
            self.package, self.app_dir / "__init__.py", submodule_search_locations=[str(self.app_dir)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[self.package] = package
        spec.loader.exec_module(package)  # its __init__ points the package at client_code/
        for form_name, template in form_templates(self.app_dir / "client_code").items():
            designer = types.ModuleType(f"{self.package}.{form_name}._anvil_designer")
            class_name = form_name.rsplit(".", 1)[-1]
            setattr(designer, f"{class_name}Template", _template_class(class_name, template))
            sys.modules[designer.__name__] = designer

    # -- what the app calls --

    def open_form(self, form, *args, **kwargs):
        if isinstance(form, str):
            module = importlib.import_module(f"{self.package}.{form}")
            form = getattr(module, form.rsplit(".", 1)[-1])(*args, **kwargs)
        self.open_forms.append(form)
        return form

    def get_open_form(self):
        return self.open_forms[-1] if self.open_forms else None

    def alert(self, content, **options):
        raise AssertionError(f"the app opened an alert: {content!r}")

    def dom_node(self, component):
        return self._dom_nodes.setdefault(id(component), _DomNode())

    def call(self, name, *args, **kwargs):
        if name not in self.server_functions:
            raise NoServerFunctionError(f'No server function matching "{name}" has been registered')
        to_server = lambda value: _across_the_wire(value, Media, self._server_blob_media)  # noqa: E731
        args, kwargs = to_server(list(args)), to_server(kwargs)
        self.calls.append((name, args))
        if self.on_call:
            self.on_call(name, args)
        # The server side runs with the real anvil package, as it would in its own process.
        client_modules = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_anvil_module(name)}
        sys.modules.update(self._saved_modules)
        try:
            result = self.server_functions[name](*args, **kwargs)
        except Exception as error:
            message = getattr(error, "message", None) or str(error)
            raise AnvilWrappedError(message) from None
        finally:
            for module_name in [m for m in sys.modules if _is_anvil_module(m)]:
                self._saved_modules[module_name] = sys.modules.pop(module_name)
            sys.modules.update(client_modules)
        return _across_the_wire(result, self._server_media, Media)

    # -- what a person does --

    def start(self):
        """Open the app as a visitor does: its startup form."""
        app = yaml.safe_load((self.app_dir / "anvil.yaml").read_text())
        startup = app.get("startup") or {"type": "form", "module": app["startup_form"]}
        assert startup["type"] == "form", startup
        return self.open_form(startup["module"])

    @staticmethod
    def file(path: Path, name: str | None = None, content: bytes | None = None) -> Media:
        """A file as a FileLoader hands it to the page."""
        name = name or Path(path).name
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Media(content_type, Path(path).read_bytes() if content is None else content, name)

    @staticmethod
    def choose_files(file_loader, files):
        """Pick files in a FileLoader's dialog: it holds them and raises "change"."""
        object.__setattr__(file_loader, "files", list(files))
        object.__setattr__(file_loader, "file", files[0] if files else None)
        file_loader.raise_event("change", file=file_loader.file, files=list(files))

    def drop_files(self, component, files) -> DragEvent:
        """Drag files over `component` and drop them there (each a Media, as `file` makes them)."""
        node = self.dom_node(component)
        js_files = [JsFile(f.name, f.get_bytes(), f.content_type) for f in files]
        over, drop = DragEvent(js_files), DragEvent(js_files)
        node.dispatch("dragover", over)
        node.dispatch("drop", drop)
        assert over.default_prevented, "the page must accept the drag (preventDefault on dragover)"
        return drop


def _is_anvil_module(name):
    return name == "anvil" or name.startswith("anvil.")


def _in_package(name, package):
    return name == package or name.startswith(package + ".")


# --- reading the app's code without running it ----------------------------------------------------------

def parse(path: Path) -> ast.Module:
    return ast.parse(Path(path).read_text(), filename=str(path))


def form_class(module: ast.Module, name: str) -> ast.ClassDef:
    for node in module.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise LookupError(f"the form's code defines no class {name}")


def self_attributes(cls: ast.ClassDef) -> tuple[set, set]:
    """(attributes of self the class reads, attributes it assigns itself)."""
    read, assigned = set(), set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            (assigned if isinstance(node.ctx, ast.Store) else read).add(node.attr)
    return read, assigned


def server_calls(module: ast.Module) -> list:
    """The first argument of every anvil.server.call(...) in the module (an ast node)."""
    return [node.args[0] for node in ast.walk(module)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "anvil.server.call"]
