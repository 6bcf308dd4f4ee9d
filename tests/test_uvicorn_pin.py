"""app/web/http_protocol.py subclasses uvicorn's httptools protocol, a private module: uvicorn
is pinned (pyproject.toml) to the versions it was tested on, and these tests fail with a clear
message when an upgrade moves what the subclass relies on. What it does is tested against a
real server in tests/test_slow_clients.py and tests/test_hardening.py."""

import inspect
from importlib.metadata import version

from packaging.specifiers import SpecifierSet
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The versions BoundedHttpToolsProtocol was tested on: the pin in pyproject.toml.
TESTED = SpecifierSet(">=0.54.0,<0.55")
UPGRADE_HINT = (
    "app/web/http_protocol.py subclasses uvicorn.protocols.http.httptools_impl, a private "
    "module. Check it against the new uvicorn (run tests/test_slow_clients.py and "
    "tests/test_hardening.py), then widen the pin in pyproject.toml and TESTED here."
)

# The methods the subclass overrides, with the signatures it was written for.
OVERRIDDEN = {
    "__init__": ["self", "config", "server_state", "app_state", "_loop"],
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "data_received": ["self", "data"],
    "on_message_begin": ["self"],
    "on_headers_complete": ["self"],
    "send_400_response": ["self", "msg"],
}
# The state of the parent that it reads.
ATTRIBUTES = ("self.url", "self.cycle", "self.flow", "self.loop", "self.transport")


def test_uvicorn_is_a_version_the_protocol_was_tested_on() -> None:
    installed = version("uvicorn")
    assert installed in TESTED, f"uvicorn {installed} is outside {TESTED}. {UPGRADE_HINT}"


def test_the_methods_the_protocol_overrides_are_unchanged() -> None:
    for name, parameters in OVERRIDDEN.items():
        method = getattr(HttpToolsProtocol, name, None)
        assert callable(method), f"HttpToolsProtocol.{name} is gone. {UPGRADE_HINT}"
        found = list(inspect.signature(method).parameters)
        assert found == parameters, f"HttpToolsProtocol.{name}{found} changed. {UPGRADE_HINT}"


def test_the_state_the_protocol_reads_is_still_there() -> None:
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ATTRIBUTES:
        assert attribute in source, f"HttpToolsProtocol no longer sets {attribute}. {UPGRADE_HINT}"
