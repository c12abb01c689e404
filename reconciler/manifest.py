"""Render, parse and validate manifests into the desired state, collecting every problem with its file and line.

Per file: refuse what is too big or not UTF-8 → jinja2 (sandboxed, StrictUndefined, includes only from the manifest
root) → YAML (safe loader, duplicate keys refused, alias expansion and nesting bounded) → pydantic per document →
cross-document checks (unique names, references, one source per resource ARN, region rules).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import jinja2.sandbox
import yaml
from pydantic import BaseModel, ValidationError

from . import catalog, hints, kinds, manifest_rules, templating
from .aws import region_problem
from .config import Project
from .errors import ManifestError, Problem
from .models import (
    DERIVED,
    DOC_MODELS,
    DeliveryDestinationDoc,
    DeliveryDoc,
    DeliverySelectorDoc,
    DeliverySourceDoc,
    Resource,
    model_at,
    parse_destination_arn,
)
from .scopes import project_accounts
from .selectors import Selector

MAX_FILE_BYTES = 2 * 1024 * 1024  # per manifest file, before and after rendering
MAX_NODES = 200_000  # YAML nodes after alias expansion, per file
MAX_DEPTH = 50  # YAML nesting
MAX_FILES = 5_000
CALLER_ACCOUNT = "(caller)"  # placeholder when neither manifest nor project names an account

_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    file: str
    line: int
    index: int
    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


@dataclass
class DesiredState:
    resources: list[Resource]
    digest: str  # sha256 of the rendered manifests, in file order
    files: list[str] = field(default_factory=list)
    selectors: list[Selector] = field(default_factory=list)  # expanded at plan time (selectors.py)

    def scopes(self) -> list[tuple[str, str]]:
        return sorted({(r.account, r.region) for r in self.resources})


# ---- file discovery ------------------------------------------------------------------------------------------


def discover(paths: list[Path], root: Path) -> tuple[list[Path], list[Problem]]:
    """Manifest files under the given paths, sorted; symlinks that leave the root are refused."""
    found: list[Path] = []
    problems: list[Problem] = []
    real_root = root.resolve()

    def inside(p: Path) -> bool:
        try:
            p.resolve().relative_to(real_root)
            return True
        except ValueError:
            return False

    for base in paths:
        if not base.exists():
            problems.append(Problem(_display(base), 1, "", "", "no such file or directory"))
            continue
        if base.is_file():
            candidates: Iterator[Path] = iter([base])
        else:
            candidates = (p for p in sorted(base.rglob("*")) if p.suffix in (".yaml", ".yml"))
        for path in candidates:
            if path.is_symlink() and not inside(path):
                problems.append(
                    Problem(_display(path), 1, "", "", "symlink leaves the manifest root; refused")
                )
                continue
            if path.is_file():
                found.append(path)
    unique = sorted(dict.fromkeys(found), key=lambda p: str(p))
    if len(unique) > MAX_FILES:
        problems.append(Problem(_display(paths[0]), 1, "", "", f"more than {MAX_FILES} manifest files"))
        unique = unique[:MAX_FILES]
    return unique, problems


def display_path(path: Path) -> str:
    """A manifest path as messages show it: relative to the working directory when inside it."""
    return _display(path)


def _display(path: Path) -> str:
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ---- rendering -----------------------------------------------------------------------------------------------


class _RootLoader(jinja2.FileSystemLoader):
    """Includes and imports resolve inside the manifest root only: FileSystemLoader refuses '..', and a symlink
    whose target lies outside the root is refused here."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        root = os.path.realpath(self.searchpath[0])
        if os.path.commonpath([root, os.path.realpath(filename)]) != root:
            raise jinja2.TemplateNotFound(template)
        return source, filename, uptodate


def make_environment(
    root: Path, variables: dict[str, Any], timeout: float = templating.DEFAULT_TIMEOUT_SECONDS
) -> templating.BoundedSandbox:
    env = templating.BoundedSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        loader=_RootLoader(str(root), followlinks=False),
        timeout=timeout,
    )
    data = templating.as_data(dict(variables))
    env.globals.clear()
    env.globals.update(
        {"range": jinja2.sandbox.safe_range, "dict": dict, "namespace": jinja2.utils.Namespace, "vars": data}
    )
    env.globals.update(data)
    env.filters["tojson"] = env._checked_filter("tojson", lambda value: json.dumps(value, sort_keys=True))
    return env


def _template_line(tb: TracebackType | None, filename: str) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_file(env: templating.BoundedSandbox, path: Path, root: Path) -> tuple[str | None, list[Problem]]:
    name = _display(path)
    text, problem = _read_text(path, name)
    if text is None:
        return None, [problem] if problem is not None else []
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return text, []
    try:
        template = env.from_string(text)
        rendered = templating.render(env, template, MAX_FILE_BYTES)
    except (
        Exception
    ) as exc:  # any template error, down to a bad filter argument or a division by zero: one line
        return None, [_template_problem(name, exc)]
    if len(rendered.encode("utf-8")) > MAX_FILE_BYTES:
        return None, [
            Problem(name, 1, "", "template", f"rendered output is larger than {MAX_FILE_BYTES} bytes")
        ]
    return rendered, []


def _read_text(path: Path, name: str) -> tuple[str | None, Problem | None]:
    """The file's text, or the one problem that refuses it (unreadable, too large, binary, not UTF-8)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, Problem(name, 1, "", "", f"cannot read: {exc.strerror}")
    if len(raw) > MAX_FILE_BYTES:
        return None, Problem(name, 1, "", "", f"file is larger than {MAX_FILE_BYTES} bytes; refused")
    if b"\x00" in raw:
        return None, Problem(name, 1, "", "", "binary file (NUL byte); refused")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(name, line, "", "", f"not valid UTF-8 (byte offset {exc.start}); refused")


_TEMPLATE_ERRORS: tuple[tuple[type[BaseException], Callable[[Any], str]], ...] = (
    (templating.TemplateLimit, str),
    (jinja2.TemplateNotFound, lambda e: f"include {e.name!r} not found inside the manifest root"),
    (jinja2.exceptions.SecurityError, lambda e: f"refused by the sandbox: {e}"),
    (jinja2.UndefinedError, lambda e: f"undefined variable: {e.message}"),
)


def _template_problem(name: str, exc: Exception) -> Problem:
    """One line for a template that failed to render, at the template line the traceback points to."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return Problem(name, exc.lineno or 1, "", "template", exc.message or "syntax error")
    if isinstance(exc, RecursionError):
        return Problem(name, 1, "", "template", "recursion too deep")
    if isinstance(exc, MemoryError):
        return Problem(name, 1, "", "template", "out of memory while rendering; refused")
    line = _template_line(exc.__traceback__, "<template>") or 1
    message = next((say(exc) for kind, say in _TEMPLATE_ERRORS if isinstance(exc, kind)), None)
    return Problem(name, line, "", "template", f"{type(exc).__name__}: {exc}" if message is None else message)


# ---- YAML with lines -----------------------------------------------------------------------------------------


class _YamlProblem(Exception):
    def __init__(self, line: int, message: str, field: str = "") -> None:
        self.line = line
        self.message = message
        self.field = field


_YAML_TAG = "tag:yaml.org,2002:"
# Tags whose values are not text, numbers or plain collections: a name or an account written with one would be
# coerced silently (pydantic reads bytes as text).
_REFUSED_TAGS = {f"{_YAML_TAG}{t}": f"!!{t}" for t in ("binary", "set", "omap", "pairs")}
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")


def _check_scalar(node: yaml.ScalarNode, path: Path_) -> None:
    where = ".".join(map(str, path))
    if node.tag in _REFUSED_TAGS:
        raise _YamlProblem(
            node.start_mark.line + 1,
            f"YAML tag {_REFUSED_TAGS[node.tag]} is not supported; write a string",
            where,
        )
    if node.tag == f"{_YAML_TAG}int" and not _DECIMAL.fullmatch(node.value):
        raise _YamlProblem(
            node.start_mark.line + 1,
            f"{node.value!r} is not a plain decimal number (YAML 1.1 would read it as "
            f"{yaml.safe_load(node.value)!r}); write the digits alone, or quote it",
            where,
        )


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], depth: int, budget: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise _YamlProblem(node.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels; refused")
    budget[0] -= 1
    if budget[0] < 0:
        raise _YamlProblem(
            node.start_mark.line + 1, f"more than {MAX_NODES} nodes after alias expansion; refused"
        )
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        _check_scalar(node, path)
    elif node.tag in _REFUSED_TAGS:
        raise _YamlProblem(node.start_mark.line + 1, f"YAML tag {_REFUSED_TAGS[node.tag]} is not supported")
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _YamlProblem(key_node.start_mark.line + 1, "YAML merge keys (<<) are not supported")
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key in seen:
                raise _YamlProblem(
                    key_node.start_mark.line + 1, f"duplicate key {key!r} (first on line {seen[key]})"
                )
            seen[key] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, depth + 1, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, depth + 1, budget)


def parse_yaml(text: str, name: str) -> tuple[list[Document], list[Problem]]:
    docs: list[Document] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=_YAML_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return [], [Problem(name, line, "", "", f"invalid YAML: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return [], [Problem(name, 1, "", "", f"invalid YAML: {str(exc).splitlines()[0]}")]
    except RecursionError:
        return [], [Problem(name, 1, "", "", f"nesting deeper than {MAX_DEPTH} levels; refused")]
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")
    for index, node in enumerate(nodes):
        if node is None:
            continue
        lines: dict[Path_, int] = {}
        try:
            _walk(node, (), lines, 0, [MAX_NODES])
            data = _construct(node, constructor)
        except _YamlProblem as exc:
            problems.append(Problem(name, exc.line, _doc_label(_plain(node)), exc.field, exc.message))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            return docs, [Problem(name, mark.line + 1 if mark else 1, "", "", f"invalid YAML: {problem}")]
        except RecursionError:
            return docs, [Problem(name, node.start_mark.line + 1, "", "", "nesting too deep; refused")]
        if data is None:
            continue
        docs.append(Document(name, node.start_mark.line + 1, index, data, lines))
    return docs, problems


_STR, _MAP, _SEQ, _MERGE = (f"{_YAML_TAG}{t}" for t in ("str", "map", "seq", "merge"))


def _construct(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    """The document's Python value, as ``SafeLoader.construct_document`` builds it, faster for what manifests hold:
    plain mappings, sequences and strings are built here; every other node (ints, booleans, timestamps, merge keys,
    sets, unknown tags — which raise as before) goes through the safe constructor."""
    if isinstance(node, yaml.ScalarNode):
        return node.value if node.tag == _STR else constructor.construct_document(node)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        return [_construct(item, constructor) for item in node.value]
    if (
        isinstance(node, yaml.MappingNode)
        and node.tag == _MAP
        and not any(k.tag == _MERGE for k, _ in node.value)
    ):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, constructor)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found unhashable key",
                    key_node.start_mark,
                ) from None
            out[key] = _construct(value_node, constructor)
        return out
    return constructor.construct_document(node)


def _plain(node: yaml.Node) -> Any:
    """kind and metadata.name of a document node, read without constructing anything else (for labels)."""
    out: dict[str, Any] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "kind"
                and isinstance(value, yaml.ScalarNode)
            ):
                out["kind"] = value.value
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "metadata"
                and isinstance(value, yaml.MappingNode)
            ):
                for k2, v2 in value.value:
                    if (
                        isinstance(k2, yaml.ScalarNode)
                        and k2.value == "name"
                        and isinstance(v2, yaml.ScalarNode)
                    ) and v2.tag == f"{_YAML_TAG}str":
                        out["metadata"] = {"name": v2.value}
    return out


# ---- validation ----------------------------------------------------------------------------------------------

_FIELD_PREFIX = re.compile(r"^([A-Za-z][\w.]*): (.*)$", re.S)


def _doc_label(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        return f"{kind}/{name}"
    return kind if isinstance(kind, str) else ""


def _validation_problems(doc: Document, exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    out = []
    label = _doc_label(doc.data)
    errors = exc.errors()
    explained = _explained_missing(errors, model)
    for err in errors:
        loc: Path_ = tuple(err["loc"])
        if err["type"] == "missing" and loc in explained:
            continue
        msg = _validation_message(err, model)
        match = _FIELD_PREFIX.match(msg)
        if match and loc in ((), ("spec",)):
            loc = (*loc, *match.group(1).split("."))
            msg = match.group(2)
        out.append(Problem(doc.file, doc.line_of(loc), label, ".".join(str(p) for p in loc), msg))
    return out


def _explained_missing(errors: list[Any], model: type[BaseModel]) -> set[Path_]:
    """Required fields a misspelt one stands for: one mistake, one line (the unknown field's, with its hint)."""
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    explained: set[Path_] = set()
    for err in errors:
        loc: Path_ = tuple(err["loc"])
        if err["type"] != "extra_forbidden" or not loc:
            continue
        holder = model_at(model, loc[:-1])
        best = hints.closest(str(loc[-1]), holder.model_fields if holder is not None else [])
        if best and (*loc[:-1], best[0]) in missing:
            explained.add((*loc[:-1], best[0]))
    return explained


def _validation_message(err: Any, model: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        holder = model_at(model, loc[:-1])
        return "unknown field" + hints.did_you_mean(
            str(loc[-1]), holder.model_fields if holder is not None else [], quote=False
        )
    if err["type"] == "missing":
        return "required field is missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "literal_error":
        allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        if len(allowed) > 1:
            msg += hints.did_you_mean(str(err.get("input")), allowed)
    return msg


@dataclass
class _Parsed:
    doc: Document
    model: DeliverySourceDoc | DeliveryDestinationDoc | DeliveryDoc | DeliverySelectorDoc
    account: str
    region: str

    @property
    def label(self) -> str:
        return f"{self.model.kind}/{self.model.metadata.name}"

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.doc.file, self.doc.line_of(path), self.label, ".".join(map(str, path)), message)


def _check_document(doc: Document) -> tuple[Any, list[Problem]]:
    data = doc.data
    if not isinstance(data, dict):
        return None, [Problem(doc.file, doc.line, "", "", "a manifest document must be a mapping")]
    kind = data.get("kind")
    if kind not in DOC_MODELS:
        known = ", ".join(DOC_MODELS)
        hint = hints.did_you_mean(kind, DOC_MODELS, quote=False) if isinstance(kind, str) else ""
        return None, [
            Problem(
                doc.file, doc.line_of(("kind",)), "", "kind", f"must be one of {known}, got {kind!r}{hint}"
            )
        ]
    try:
        return DOC_MODELS[kind].model_validate(data), []
    except ValidationError as exc:
        return None, _validation_problems(doc, exc, DOC_MODELS[kind])


def _stub_identity(doc: Document, account: str, region: str) -> tuple[str, str, str, str] | None:
    """(kind, account, region, name) of a document that failed validation, when those parts are usable: it still
    counts for references, so one mistake in it is one line rather than one more per reference to it."""
    data = doc.data
    if not isinstance(data, dict) or data.get("kind") not in DOC_MODELS:
        return None
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    acct = meta.get("account")
    reg = meta.get("region")
    return (
        str(data["kind"]),
        acct if isinstance(acct, str) else account,
        reg if isinstance(reg, str) else region,
        meta["name"],
    )


def load(
    project: Project,
    paths: list[Path] | None = None,
    default_account: str | None = None,
    check_accounts: bool = True,
) -> DesiredState:
    """Render and validate the manifests into the desired state; raise ManifestError with every problem."""
    return place(read(project, paths), project, default_account, check_accounts)


@dataclass
class Rendered:
    """The manifests rendered and parsed, before any account is assigned (``read``); ``place`` turns them into the
    desired state once the default account is known, so a project whose account comes from the caller's identity
    renders its manifests once."""

    files: list[Path]
    problems: list[Problem]
    documents: list[tuple[Document, Any]]  # (document, its model, or None when it failed validation)
    digest: str


def read(project: Project, paths: list[Path] | None = None) -> Rendered:
    """Render (jinja2), parse (YAML) and validate (pydantic) each manifest document; no account is assumed yet."""
    files, problems = discover(paths or project.manifest_paths, project.root)
    env = make_environment(project.root, project.vars, project.timeouts.renderSeconds)
    hasher = hashlib.sha256()
    documents: list[tuple[Document, Any]] = []
    for path in files:
        text, file_problems = render_file(env, path, project.root)
        problems.extend(file_problems)
        if text is None:
            continue
        name = _display(path)
        hasher.update(name.encode() + b"\0" + text.encode() + b"\0")
        docs, yaml_problems = parse_yaml(text, name)
        problems.extend(yaml_problems)
        for doc in docs:
            model, doc_problems = _check_document(doc)
            problems.extend(doc_problems)
            documents.append((doc, model))
    return Rendered(files, problems, documents, hasher.hexdigest())


def place(
    rendered: Rendered,
    project: Project,
    default_account: str | None = None,
    check_accounts: bool = True,
) -> DesiredState:
    """The rendered documents in their accounts and regions, cross-checked; raise ManifestError with every problem."""
    problems = list(rendered.problems)
    account = default_account or project.account or CALLER_ACCOUNT
    # without a known default account (validate, no project account) an account under no key may be the caller's
    known = default_account or project.account
    known_accounts = set(project_accounts(project, known)) if known and check_accounts else None
    parsed: list[_Parsed] = []
    invalid: set[tuple[str, str, str, str]] = set()  # documents that failed validation, by identity
    for doc, model in rendered.documents:
        if model is not None:
            meta = model.metadata
            item = _Parsed(doc, model, meta.account or account, meta.region or project.region)
            if meta.region is None or region_problem(meta.region) is None:  # else: one line, below
                problems.extend(_scope_problems(item, project, known_accounts))
            parsed.append(item)
        else:
            stub = _stub_identity(doc, account, project.region)
            if stub is not None:
                invalid.add(stub)
    resources, cross = _cross_checks(parsed, project, invalid)
    problems.extend(cross)
    selectors, selector_problems = _selectors(parsed)
    problems.extend(selector_problems)
    if problems:
        raise ManifestError(problems)
    return DesiredState(resources, rendered.digest, [_display(f) for f in rendered.files], selectors)


def check_accounts(state: DesiredState, project: Project, default_account: str) -> None:
    """``load``'s account check, for manifests loaded before ``accounts.fromOrganization`` was resolved (a second
    load of a large estate costs seconds)."""
    known = set(project_accounts(project, default_account))
    problems = set()
    for r in state.resources:
        if r.account in known or not r.origin:
            continue
        file, _, line = r.origin.split(" ", 1)[0].rpartition(":")
        problems.add(Problem(file, int(line), f"{r.kind.value}/{r.name}", "metadata.account",
                             f"{r.account} is not one of the project's accounts ({', '.join(sorted(known))}); "
                             f"add it to accounts in {project.config_name}"))  # fmt: skip
    if problems:
        raise ManifestError(sorted(problems))


def _selectors(parsed: list[_Parsed]) -> tuple[list[Selector], list[Problem]]:
    """DeliverySelector documents: unique names, no metadata account/region, a destination the manifests name."""
    problems: list[Problem] = []
    out: dict[str, Selector] = {}
    dest_names = {p.model.metadata.name for p in parsed if isinstance(p.model, DeliveryDestinationDoc)}
    for p in parsed:
        if not isinstance(p.model, DeliverySelectorDoc):
            continue
        meta, spec = p.model.metadata, p.model.spec
        if meta.account is not None or meta.region is not None:
            field_name = "account" if meta.account is not None else "region"
            problems.append(
                p.problem(
                    ("metadata", field_name),
                    "a selector covers the project's scopes; use spec.accounts / spec.regions",
                )
            )
        if not spec.destination.startswith("arn:") and spec.destination not in dest_names:
            problems.append(
                p.problem(("spec", "destination"), f"no DeliveryDestination named {spec.destination!r}")
            )
        elif spec.destination.startswith("arn:") and parse_destination_arn(spec.destination) is None:
            problems.append(
                p.problem(("spec", "destination"), f"{spec.destination!r} is not a delivery-destination ARN")
            )
        if meta.name in out:
            continue  # reported by the duplicate-name check
        out[meta.name] = Selector(meta.name, spec, f"{p.doc.file}:{p.doc.line}")
    return sorted(out.values(), key=lambda s: s.name), problems


def _scope_problems(p: _Parsed, project: Project, accounts: set[str] | None) -> list[Problem]:
    """A manifest may only name an account and region the project declares (so prune and drift read it)."""
    out = []
    if p.region not in project.regions:
        out.append(
            p.problem(
                ("metadata", "region"),
                f"{p.region} is not one of the project's regions ({', '.join(project.regions)}); "
                f"add it to regions in {project.config_name}",
            )
        )
    if accounts is not None and p.account not in accounts:
        out.append(
            p.problem(
                ("metadata", "account"),
                f"{p.account} is not one of the project's accounts ({', '.join(sorted(accounts))}); "
                f"add it to accounts in {project.config_name}",
            )
        )
    return out


def _cross_checks(
    parsed: list[_Parsed], project: Project, invalid: set[tuple[str, str, str, str]] | None = None
) -> tuple[list[Resource], list[Problem]]:
    """The rules across documents (manifest_rules.py), then the resources of the documents they admit."""
    admitted, problems = manifest_rules.admit(parsed)
    ix = manifest_rules.index(admitted, invalid or set())
    problems.extend(manifest_rules.check(ix))
    return _resources(ix, project), problems


def _resources(ix: manifest_rules.Index, project: Project) -> list[Resource]:
    out: list[Resource] = []
    for p in ix.admitted.values():
        if isinstance(p.model, DeliverySourceDoc):
            out.append(_source_resource(p, p.model, project))
        elif isinstance(p.model, DeliveryDestinationDoc):
            out.extend(_destination_resources(p, p.model, project))
    for link in ix.links:
        if link.source is not None and link.destination_arn is not None and link.duplicate_of is None:
            out.append(_delivery_resource(link, project))
    return out


def _source_resource(p: _Parsed, model: DeliverySourceDoc, project: Project) -> Resource:
    spec = model.spec
    return kinds.source.resource(
        p.account,
        p.region,
        model.metadata.name,
        spec.resourceArn,
        spec.logType,
        spec.deliverySourceConfiguration,
        {**project.default_tags, **spec.tags},
        f"{p.doc.file}:{p.doc.line}",
    )


def _destination_resources(p: _Parsed, model: DeliveryDestinationDoc, project: Project) -> list[Resource]:
    dspec, name, origin = model.spec, model.metadata.name, f"{p.doc.file}:{p.doc.line}"
    out = [
        kinds.destination.resource(
            p.account,
            p.region,
            name,
            dspec.resolved_type,
            dspec.outputFormat,
            dspec.destinationResourceArn,
            dspec.roleArn,
            dspec.grants,
            {**project.default_tags, **dspec.tags},
            origin,
        )
    ]
    if dspec.policy is not None:
        out.append(kinds.policy.resource(p.account, p.region, name, dspec.policy, origin))
    return out


def _delivery_resource(link: manifest_rules.Link, project: Project) -> Resource:
    src, dest, p, spec_d = link.source_doc, link.destination_doc, link.p, link.spec
    assert src is not None and link.destination_arn is not None
    src_arn = catalog.split_arn(src.spec.resourceArn)
    known = kinds.delivery.Target(
        sourceService=src_arn[1] if src_arn else None,
        sourceResourceArn=src.spec.resourceArn,
        sourceLogType=src.spec.logType,
        targetResourceArn=dest.spec.destinationResourceArn if dest is not None else None,
        targetOutputFormat=dest.spec.outputFormat if dest is not None else None,
        targetAccount=link.destination.account if link.destination is not None else None,
    )
    return kinds.delivery.resource(
        p.account,
        p.region,
        p.model.metadata.name,
        spec_d.source,
        link.destination_arn,
        dest.spec.resolved_type if dest is not None else None,
        known,
        spec_d,
        {**project.default_tags, **spec_d.tags},
        f"{p.doc.file}:{p.doc.line}",
    )


def render_documents(state: DesiredState) -> list[dict[str, Any]]:
    """The desired state as plain documents in a stable order (for ``reconciler render``)."""
    out = []
    for r in sorted(state.resources, key=lambda r: (r.account, r.region, r.kind.value, r.name)):
        meta = {"name": r.name, "account": r.account, "region": r.region}
        if r.selector:
            meta["generatedBy"] = f"DeliverySelector/{r.selector}"
        out.append(
            {
                "kind": r.kind.value,
                "metadata": meta,
                "spec": {
                    **{k: v for k, v in r.attrs.items() if v is not None and k not in DERIVED},
                    "tags": dict(sorted(r.tags.items())),
                },
            }
        )
    return out
