"""Code actions: compiler-verified fixes for findings, and ``//heaplens:ignore`` to
silence them.

A fix is a ``quickfix``, or a ``refactor.rewrite`` when it changes an exported API (see
``fix_actions``); ignoring is a ``quickfix``. Every action carries the diagnostics it
answers. A request's ``context.only`` is honoured, with LSP's hierarchy: ``refactor``
asks for ``refactor.rewrite`` too.

One menu never shows a title twice. Actions that would do the same thing are one action,
with the diagnostics of all of them (two findings in one function offer one "ignore the
function"); two different actions that would share a title are told apart by the line
they are about. The line directive names what it silences: every finding starting on
that line, whichever of them the request was for.

Registered with the document store, the fix verifier (whose verified fixes it offers)
and the settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from lsprotocol import types

from ..model import Finding, Position
from ..positions import Encoding, LineIndex
from ..suppress import DIRECTIVE
from ..syntax import SourceFile
from ..wording import headline
from .client import FeatureHost, SettingsSource
from .convert import from_lsp_range, lines_of, to_lsp_range
from .documents import DocumentStore
from .fix_actions import FixVerifier, Offer, merge_diagnostics
from .pausing import CLIENT_PAUSE, CLIENT_RESUME

Found = Sequence[tuple[Finding, Sequence[types.Diagnostic]]]

#: The kinds this server offers.
KINDS = (types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite)
# A finding quoted in a title is cut to this many characters: a menu line, not a report.
_QUOTE_LIMIT = 40


def wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether a request's ``only`` admits ``kind``: LSP kinds are hierarchical, so
    ``refactor`` admits ``refactor.rewrite``, and the empty kind admits everything."""
    if not only:
        return True
    for o in only:
        value = _value(o)
        if value in ("", kind) or kind.startswith(value + "."):
            return True
    return False


def _value(kind: object) -> str:
    # CodeActionKind is a str enum; a kind it does not know arrives as a plain str.
    return str(getattr(kind, "value", kind))


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _insert(uri: str, line: int, character: int, text: str) -> types.WorkspaceEdit:
    pos = types.Position(line=line, character=character)
    return types.WorkspaceEdit(
        changes={uri: [types.TextEdit(range=types.Range(start=pos, end=pos), new_text=text)]}
    )


def _quoted(f: Finding) -> str:
    text = headline(f)
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1].rstrip() + "…"
    return f"“{text}”"


def _named(findings: Sequence[Finding]) -> str:
    """``“a escapes to heap”``, ``“a…” and “b…”``, ``“a…” and 2 more``."""
    first = _quoted(findings[0])
    if len(findings) == 1:
        return first
    if len(findings) == 2:
        return f"{first} and {_quoted(findings[1])}"
    return f"{first} and {len(findings) - 1} more"


def ignore_actions(
    found: Found,
    shown: Sequence[Finding],
    uri: str,
    source: bytes,
    encoding: Encoding,
) -> list[Offer]:
    """For the requested findings ``found`` (with their diagnostics): the directive at
    the end of each one's line, and above each one's function. ``shown`` is every finding
    the file shows: a line's directive silences all of those that start on the line."""
    lines = lines_of(source)
    return [
        *_line_directives(found, shown, uri, lines, encoding),
        *_function_directives(found, uri, source, lines),
    ]


def _line_directives(
    found: Found, shown: Sequence[Finding], uri: str, lines: LineIndex, encoding: Encoding
) -> list[Offer]:
    """The directive at the end of each requested finding's line, naming every finding
    it silences there."""
    offers: list[Offer] = []
    # By line, once: a request for the whole file covers every finding in it.
    asked: dict[int, list[tuple[Finding, Sequence[types.Diagnostic]]]] = {}
    for f, diags in found:
        asked.setdefault(f.range.start.line, []).append((f, diags))
    silenced: dict[int, list[Finding]] = {}
    for f in shown:
        if f.range.start.line in asked:
            silenced.setdefault(f.range.start.line, []).append(f)
    for line, here in asked.items():
        text = lines(line)
        if b"heaplens:ignore" in text:
            continue
        named = [f for f, _d in here]
        others = sorted(
            (g for g in silenced.get(line, ()) if g not in named), key=lambda g: g.range.start
        )
        end = lines.to_units(line, len(text), encoding)
        offers.append(
            Offer(
                types.CodeAction(
                    title=f"Ignore {_named([*named, *others])}: add {DIRECTIVE} to line {line}",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=merge_diagnostics(d for _f, d in here),
                    edit=_insert(uri, line - 1, end, f" {DIRECTIVE}"),
                ),
                line,
            )
        )
    return offers


def _function_directives(found: Found, uri: str, source: bytes, lines: LineIndex) -> list[Offer]:
    """The directive above the function of each requested finding."""
    offers: list[Offer] = []
    src = SourceFile("", source)
    for f, diags in found:
        decl = _declaration_line(src, f.range.start)
        if decl is None or b"heaplens:ignore" in lines(decl - 1):
            continue
        indent = lines(decl)[: len(lines(decl)) - len(lines(decl).lstrip())]
        name = f.function.split(".func")[0] if f.function else "this function"
        # Two findings in one function give the same action: ``unique`` merges them.
        offers.append(
            Offer(
                types.CodeAction(
                    title=f"Ignore findings in {name}: add {DIRECTIVE} above it",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=list(diags),
                    edit=_insert(
                        uri, decl - 1, 0, indent.decode("utf-8", "replace") + DIRECTIVE + "\n"
                    ),
                ),
                decl,
            )
        )
    return offers


def _declaration_line(src: SourceFile, pos: Position) -> int | None:
    """The line of the top-level function declaration that contains ``pos``."""
    node = src.node_at(pos)
    decl = None
    while node is not None:
        if node.type in ("function_declaration", "method_declaration"):
            decl = node
        node = node.parent
    return decl.start_point.row + 1 if decl is not None else None


def unique(offers: Iterable[Offer]) -> list[types.CodeAction]:
    """The actions, no title twice. The same title doing the same thing is one action
    (the first), with the diagnostics of all; different things under one title each say
    the line they are about."""
    kept: list[Offer] = []
    by_title: dict[str, list[Offer]] = {}
    for offer in offers:
        action = offer.action
        same = by_title.setdefault(action.title, [])
        twin = next((o for o in same if _effect(o.action) == _effect(action)), None)
        if twin is not None:
            twin.action.diagnostics = merge_diagnostics(
                [twin.action.diagnostics, action.diagnostics]
            )
            continue
        same.append(offer)
        kept.append(offer)
    taken: set[str] = set()
    for offer in kept:
        title = offer.action.title
        if len(by_title[title]) > 1:
            title = f"{title} (line {offer.line})"
        base, n = title, 2
        while title in taken:  # two different things about one line: rare, but distinct
            title, n = f"{base} ({n})", n + 1
        taken.add(title)
        offer.action.title = title
    return [o.action for o in kept]


def _effect(action: types.CodeAction) -> tuple[object, ...]:
    """What choosing the action does: its edit, or what resolving it will find."""
    return (action.kind, action.edit, action.data, action.command)


def pause_action(uri: str, found: Found) -> types.CodeAction:
    """ "heaplens: pause in this package": the client's command, which asks the server for
    the new ``exclude`` list and keeps it in the client's settings."""
    return types.CodeAction(
        title="heaplens: pause in this package",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=merge_diagnostics(d for _f, d in found),
        command=types.Command(
            title="heaplens: pause in this package", command=CLIENT_PAUSE, arguments=[uri]
        ),
    )


def resume_action(uri: str, doc_lines: LineIndex, asked: types.Range) -> types.CodeAction | None:
    """ "heaplens: resume in this package", offered on the package clause of a paused
    package's file (it shows no diagnostic to offer it on)."""
    line = next((n for n in range(1, 200) if doc_lines(n).startswith(b"package ")), None)
    if line is None or not asked.start.line <= line - 1 <= asked.end.line:
        return None
    return types.CodeAction(
        title="heaplens: resume in this package",
        kind=types.CodeActionKind.QuickFix,
        command=types.Command(
            title="heaplens: resume in this package", command=CLIENT_RESUME, arguments=[uri]
        ),
    )


def register(
    server: FeatureHost,
    docs: DocumentStore,
    fixer: FixVerifier,
    settings: SettingsSource,
    paused: Callable[[str], bool] = lambda _directory: False,
) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True),
    )
    def code_actions(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        doc = docs.get(params.text_document.uri)
        if doc is None:
            return None
        # The user is in this file: its fixes are verified first from now on.
        docs.mark_active(doc.uri)
        only = params.context.only
        if not any(wanted(_value(k), only) for k in KINDS):
            return None
        encoding = server.encoding()
        if paused(os.path.dirname(doc.path)):
            resume = resume_action(doc.uri, doc.lines, params.range)
            quick = wanted(_value(types.CodeActionKind.QuickFix), only)
            return [resume] if resume is not None and quick else None
        kinds = settings().kind_set
        shown = [f for f in docs.findings(doc.path).findings if f.kind in kinds]
        found = _requested(shown, params, doc.lines, encoding)
        if not found:
            return None
        properties = server.capability(
            "text_document", "code_action", "resolve_support", "properties"
        )
        resolve = bool(properties and "edit" in properties)
        offers = fixer.actions(doc.path, found, resolve)
        if wanted(_value(types.CodeActionKind.QuickFix), only):
            offers.extend(ignore_actions(found, shown, doc.uri, doc.text, encoding))
            offers.append(Offer(pause_action(doc.uri, found), 0))
        actions = unique(o for o in offers if wanted(_value(o.action.kind or ""), only))
        return actions or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve_code_action(action: types.CodeAction) -> types.CodeAction:
        return fixer.resolve(action)


def _requested(
    shown: Sequence[Finding], params: types.CodeActionParams, lines: LineIndex, encoding: Encoding
) -> list[tuple[Finding, Sequence[types.Diagnostic]]]:
    """The shown findings the request's range touches, each with the request's heaplens
    diagnostics that overlap it."""
    asked = from_lsp_range(lines, params.range, encoding)
    found: list[tuple[Finding, Sequence[types.Diagnostic]]] = []
    for f in shown:
        if f.range.end < asked.start or asked.end < f.range.start:
            continue
        lsp_range = to_lsp_range(lines, f.range, encoding)
        related = [
            d
            for d in params.context.diagnostics
            if d.source == "heaplens" and _overlaps(d.range, lsp_range)
        ]
        found.append((f, related))
    return found
