"""Jinja2 with bounded work: a sandbox whose every way of building text or lists is capped, and a render that stops.

A manifest template is untrusted input (a pull request can change it), so rendering one may cost at most:

- ``MAX_STRING`` characters (2 MiB) for any one string and ``MAX_ITEMS`` items for any one list, checked *before*
  the work for the operations that amplify (``*``, ``%``, ``**``, ``+``, ``~``, ``format``, ``center``, ``indent``,
  ``join``, ``replace``, ``wordwrap``, ``batch``, ``slice``, ``str.format``, ``str.center``/``ljust``/``rjust``/
  ``zfill``/``expandtabs``/``replace``/``join``) and after it for everything else;
- ``MAX_BUILT`` characters built in all (64 MiB; every checked result is charged), so a loop cannot grow memory
  by building many large values;
- ``range`` as jinja's sandbox has it (at most 100,000 items); lists and dicts are read-only (no ``append``);
- the output budget (2 MiB), counted while the template streams (``Template.generate``), so rendering stops as soon
  as it is exceeded rather than after;
- ``timeout`` seconds of wall time per file: checked at every sandbox operation, and, on the main thread, enforced by
  a one-shot ``SIGALRM`` timer that interrupts even an empty loop (no thread is started).

Variables are data: a string variable that could change the YAML structure (line breaks, flow indicators, ``: ``,
``#``, quotes...) is written as a quoted YAML scalar when ``{{ }}`` outputs it (``finalize``), so it can never
inject keys or documents.
"""

from __future__ import annotations

import functools
import json
import math
import re
import signal
import string
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import jinja2
import jinja2.compiler
import jinja2.nodes
import jinja2.sandbox

MAX_STRING = 2 * 1024 * 1024  # characters in any one string a template builds (= the output budget)
MAX_ITEMS = 2 * 1024 * 1024  # items in any one list or tuple
MAX_BUILT = 64 * 1024 * 1024  # characters (and list slots) built in all, per file
MAX_INT_BITS = 100_000  # integers a template computes
DEFAULT_TIMEOUT_SECONDS = 10.0


class TemplateLimit(Exception):
    """A template went over one of the limits; ``str()`` is the message for the user."""


class RenderTimeout(TemplateLimit):
    pass


class VarStr(str):
    """A string that came from a variable (``vars``, ``--var``, ``--var-file``): written to YAML as data.

    Slices and characters of it stay data too (jinja compiles slices to plain Python subscripts)."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> VarStr:
        return VarStr(str.__getitem__(self, key))

    def __iter__(self) -> Iterator[VarStr]:
        return (VarStr(ch) for ch in str.__iter__(self))


def as_data(value: Any) -> Any:
    """Mark every string in a variable's value (recursively) as data."""
    if isinstance(value, str):
        return VarStr(value)
    if isinstance(value, dict):
        return {as_data(k) if isinstance(k, str) else k: as_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_data(v) for v in value]
    return value


# A plain scalar that reads back as itself in block and flow context alike: no line break or tab, no YAML
# indicator, no ": " or " #", not empty, no leading/trailing space.
_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\n\r\t\x85\u2028\u2029,\[\]{}\"']*")


def _yaml_text(value: str) -> str:
    if _PLAIN.fullmatch(value) and ": " not in value and " #" not in value and not value.endswith((":", " ")):
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def finalize(value: Any) -> Any:
    if isinstance(value, VarStr):
        return _yaml_text(value)
    return value


class _Budget:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderTimeout(f"rendering took longer than {self.timeout:g} s; stopped")

    def charge(self, size: int, what: str) -> None:
        self.tick()
        if size > MAX_STRING:
            raise TemplateLimit(f"{what} would be {size:,} characters long, over {MAX_STRING:,}; refused")
        self.built += size
        if self.built > MAX_BUILT:
            raise TemplateLimit(f"the template builds more than {MAX_BUILT:,} characters in all; refused")

    def items(self, count: int, what: str) -> None:
        self.tick()
        if count > MAX_ITEMS:
            raise TemplateLimit(f"{what} would have {count:,} items, over {MAX_ITEMS:,}; refused")
        self.built += count
        if self.built > MAX_BUILT:
            raise TemplateLimit(f"the template builds more than {MAX_BUILT:,} characters in all; refused")

    def result(self, value: Any, what: str) -> Any:
        if isinstance(value, str | bytes):
            self.charge(len(value), what)
        elif isinstance(value, list | tuple):
            self.items(len(value), what)
        else:
            self.tick()
        return value


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _check_percent(fmt: str | bytes) -> int:
    """Characters the padding of a %-format may add; refuses ``*`` widths and widths over the limit."""
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    extra = 0
    for m in _PERCENT_SPEC.finditer(text):
        for group in m.groups():
            if group == "*":
                raise TemplateLimit("a '*' width in a %-format is not supported; refused")
            if group is not None:
                extra += int(group)
                if extra > MAX_STRING:
                    raise TemplateLimit(f"a %-format width of {extra:,} is over {MAX_STRING:,}; refused")
    return extra


def _check_braces(fmt: str) -> int:
    """The same for ``str.format``: widths and precisions in the field specs; nested fields are refused."""
    extra = 0
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return 0  # str.format itself reports the syntax error
    for _, name, spec, _ in fields:
        if name is None or not spec:
            continue
        if "{" in spec:
            raise TemplateLimit("nested fields in a format spec are not supported; refused")
        for digits in _DIGITS.findall(spec):
            extra += int(digits) if len(digits) < 12 else MAX_STRING + 1
            if extra > MAX_STRING:
                raise TemplateLimit(f"a format width of {extra:,} is over {MAX_STRING:,}; refused")
    return extra


def _int_arg(value: Any, what: str) -> int:
    if isinstance(value, int) and value > MAX_STRING:
        raise TemplateLimit(f"{what} of {value:,} is over {MAX_STRING:,}; refused")
    return value if isinstance(value, int) else 0


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else len(str(value))


class _CheckedCodeGenerator(jinja2.compiler.CodeGenerator):
    """``a ~ b`` goes through the environment's bounded join instead of jinja's unchecked ``str_join``."""

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: jinja2.compiler.Frame) -> None:
        self.write("environment.checked_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(jinja2.sandbox.SandboxedEnvironment):
    """Jinja's sandbox with every string, list and number operation bounded (see the module docstring)."""

    code_generator_class = _CheckedCodeGenerator
    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def __init__(self, *args: Any, timeout: float = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, finalize=finalize, **kwargs)
        self.timeout = timeout
        self.budget = _Budget(timeout)
        self.concat = self._checked_concat  # type: ignore[method-assign]
        for name, fn in list(self.filters.items()):
            self.filters[name] = self._checked_filter(name, fn)

    # -- the operations
    def checked_join(self, parts: tuple[Any, ...]) -> str:
        texts = [str(p) for p in parts]
        self.budget.charge(sum(map(len, texts)), "a '~' result")
        joined = "".join(texts)
        return VarStr(joined) if any(isinstance(p, VarStr) for p in parts) else joined

    def _checked_concat(self, parts: Any) -> str:
        texts = list(parts)
        self.budget.charge(sum(len(t) for t in texts), "a block's output")
        return "".join(texts)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        self.budget.tick()
        pre = _BINOP_CHECKS.get(operator)
        if pre is not None:
            pre(self, left, right)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | bytes | list | tuple):
            self.budget.result(result, f"a '{operator}' result")
        if isinstance(result, str) and (isinstance(left, VarStr) or isinstance(right, VarStr)):
            return VarStr(result)
        return result

    def _pre_mul(self, left: Any, right: Any) -> None:
        if isinstance(left, _SEQ) and isinstance(right, int):
            self._sized(left, _size(left) * max(right, 0), "a '*' result")
        elif isinstance(right, _SEQ) and isinstance(left, int):
            self._sized(right, _size(right) * max(left, 0), "a '*' result")
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS
        ):
            raise TemplateLimit(f"a '*' result over {MAX_INT_BITS:,} bits; refused")

    def _pre_pow(self, left: Any, right: Any) -> None:
        big = isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
        if big and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise TemplateLimit(f"a '**' result over {MAX_INT_BITS:,} bits; refused")

    def _pre_mod(self, left: Any, right: Any) -> None:
        if isinstance(left, str | bytes):
            args = right if isinstance(right, tuple) else (right,)
            extra = _check_percent(left)
            self.budget.charge(len(left) + extra + sum(_size(a) for a in args), "a '%' result")

    def _pre_add(self, left: Any, right: Any) -> None:
        if isinstance(left, _SEQ) and isinstance(right, _SEQ):
            self._sized(left, _size(left) + _size(right), "a '+' result")

    def _sized(self, like: Any, size: int, what: str) -> None:
        if isinstance(like, list | tuple):
            self.budget.items(size, what)
        else:
            self.budget.charge(size, what)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.budget.tick()
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str | bytes):
            __self._check_str_method(owner, name, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        result = __self.budget.result(result, f"the result of {name or 'a call'}()")
        if isinstance(owner, VarStr) and isinstance(result, str):
            return VarStr(result)
        return result

    def _check_str_method(
        self, s: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        check = _STR_METHOD_CHECKS.get(name)
        if check is not None:
            check(self.budget, s, args, kwargs, f"{name}()")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        env = self

        def checked(*args: Any, **kwargs: Any) -> str:
            budget = env.budget
            extra = _check_braces(fmt)
            values = list(args) + list(kwargs.values())
            if len(args) == 1 and isinstance(args[0], dict):
                values += list(args[0].values())
            budget.charge(len(fmt) + extra + sum(_size(v) for v in values), f"{value.__name__}()")
            result = wrapped(*args, **kwargs)
            budget.charge(len(result), f"{value.__name__}()")
            return VarStr(result) if isinstance(fmt, VarStr) else result

        return functools.update_wrapper(checked, wrapped)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if jinja2.sandbox.modifies_known_mutable(obj, attr):
            return (
                False  # lists, dicts and sets are read-only: growing one in a loop is not bounded otherwise
            )
        return super().is_safe_attribute(obj, attr, value)

    # -- filters
    def _checked_filter(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        passes = getattr(fn, "jinja_pass_arg", None) is not None
        env = self
        pre = _FILTER_CHECKS.get(name)

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            budget = env.budget
            budget.tick()
            rest = args[1:] if passes else args
            if pre is not None and rest:
                pre(budget, rest[0], rest[1:], kwargs)
            result = fn(*args, **kwargs)
            if isinstance(result, Iterator | range) or not hasattr(result, "__len__"):
                return result
            result = budget.result(result, f"the result of |{name}")
            if rest and isinstance(rest[0], VarStr) and isinstance(result, str) and name not in _DATA_FILTERS:
                return VarStr(result)
            return result

        return checked


_SEQ = (str, bytes, list, tuple)

_BINOP_CHECKS: dict[str, Callable[[BoundedSandbox, Any, Any], None]] = {
    "*": BoundedSandbox._pre_mul,
    "**": BoundedSandbox._pre_pow,
    "%": BoundedSandbox._pre_mod,
    "+": BoundedSandbox._pre_add,
}

StrArgs = tuple[Any, ...]


def _str_pad(b: _Budget, s: str | bytes, args: StrArgs, kwargs: dict[str, Any], what: str) -> None:
    if args:
        b.charge(max(len(s), _int_arg(args[0], f"the width of {what}")), what)


def _str_expandtabs(b: _Budget, s: str | bytes, args: StrArgs, kwargs: dict[str, Any], what: str) -> None:
    size = args[0] if args else kwargs.get("tabsize", 8)
    tabs = s.count("\t") if isinstance(s, str) else s.count(b"\t")
    b.charge(len(s) + tabs * max(0, _int_arg(size, "the tab size")), what)


def _str_replace(b: _Budget, s: str | bytes, args: StrArgs, kwargs: dict[str, Any], what: str) -> None:
    if len(args) < 2:
        return
    old, new = args[0], args[1]
    if isinstance(old, str | bytes) and isinstance(new, str | bytes):
        hits = s.count(old) if old else len(s) + 1  # type: ignore[arg-type]
        b.charge(len(s) + hits * max(0, len(new) - len(old)), what)


def _str_join(b: _Budget, s: str | bytes, args: StrArgs, kwargs: dict[str, Any], what: str) -> None:
    items = args[0] if args else None
    if isinstance(items, range):
        raise TemplateLimit("join() of a range; convert the items to strings first")
    if isinstance(items, list | tuple):
        b.charge(sum(_size(i) for i in items) + len(s) * len(items), what)


# str and bytes methods checked before they run (the others are charged on their result)
_STR_METHOD_CHECKS: dict[str, Callable[[_Budget, str | bytes, StrArgs, dict[str, Any], str], None]] = {
    "center": _str_pad,
    "ljust": _str_pad,
    "rjust": _str_pad,
    "zfill": _str_pad,
    "expandtabs": _str_expandtabs,
    "replace": _str_replace,
    "join": _str_join,
}

_DATA_FILTERS = {"tojson"}  # their output is already a safe YAML scalar


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _lines(value: Any) -> int:
    return str(value).count("\n") + 1


def _pre_center(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    width = _int_arg(_arg(args, kw, 0, "width", 80), "the width of |center")
    b.charge(max(_size(value), width), "|center")


def _pre_indent(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    width = _arg(args, kw, 0, "width", 4)
    per_line = len(width) if isinstance(width, str) else _int_arg(width, "the width of |indent")
    b.charge(_size(value) + _lines(value) * per_line, "|indent")


def _pre_format(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    extra = _check_percent(str(value))
    b.charge(_size(value) + extra + sum(_size(a) for a in (*args, *kw.values())), "|format")


def _pre_join(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    sep = str(_arg(args, kw, 0, "d", ""))
    if isinstance(value, list | tuple):
        b.charge(sum(_size(v) for v in value) + len(sep) * len(value), "|join")
    elif isinstance(value, range):
        b.charge(len(value) * (len(str(value.stop)) + len(sep)), "|join")


def _pre_replace(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    old, new = str(_arg(args, kw, 0, "old", "")), str(_arg(args, kw, 1, "new", ""))
    text = str(value)
    hits = text.count(old) if old else len(text) + 1
    b.charge(len(text) + hits * max(0, len(new) - len(old)), "|replace")


def _pre_wordwrap(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    wrap = _arg(args, kw, 2, "wrapstring", None)
    text = str(value)
    b.charge(len(text) * (1 + len(str(wrap or "\n"))), "|wordwrap")


def _pre_batch(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    count = _arg(args, kw, 0, "linecount", 1)
    if isinstance(count, int):
        b.items(max(count, 0), "|batch")


def _pre_slice(b: _Budget, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    count = _arg(args, kw, 0, "slices", 1)
    if isinstance(count, int):
        b.items(max(count, 0), "|slice")


_FILTER_CHECKS: dict[str, Callable[[_Budget, Any, tuple[Any, ...], dict[str, Any]], None]] = {
    "center": _pre_center,
    "indent": _pre_indent,
    "format": _pre_format,
    "join": _pre_join,
    "replace": _pre_replace,
    "wordwrap": _pre_wordwrap,
    "batch": _pre_batch,
    "slice": _pre_slice,
}


def render(env: BoundedSandbox, template: jinja2.Template, max_output: int) -> str:
    """Render with the output budget counted as the template streams, within the environment's time budget."""
    env.budget = _Budget(env.timeout)
    chunks: list[str] = []
    size = 0
    with _alarm(env.timeout):
        for chunk in template.generate():
            size += len(chunk)
            if size > max_output:
                raise TemplateLimit(f"rendered output is larger than {max_output:,} bytes; stopped")
            chunks.append(chunk)
    return "".join(chunks)


class _alarm:
    """A one-shot SIGALRM after ``seconds`` that raises RenderTimeout in the rendering (main) thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        self.previous: Any = None

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        raise RenderTimeout(f"rendering took longer than {self.seconds:g} s; stopped")

    def __enter__(self) -> None:
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
