"""``sync-pool``: a per-call scratch value that escapes only because it is handed to an
interface or to a callee the compiler cannot see through is taken from a package-level
``sync.Pool`` instead, reset, and put back when the function returns.

The pooled memory is handed to the next caller as soon as the function returns, so the
fix is only safe when nothing of it outlives the call: a slice returned by ``b.Bytes()``
that the caller keeps would be overwritten under its feet. Every use is checked, and when
one cannot be shown harmless there is no fix (a missed fix costs an allocation, an unsafe
one corrupts data). It is offered only when:

* the value is ``&bytes.Buffer{}``, ``new(bytes.Buffer)``, ``new(T)`` or ``&T{...}`` of a
  user type, or ``make([]T, N)`` with a constant ``N``, bound by ``v := ...`` at the top
  level of a function body (not in a loop, branch or closure). Never a
  ``strings.Builder``: its ``String`` shares its storage and ``Reset`` drops it, so a pool
  could only hand out aliased strings and would save nothing;
* the compiler's flow reaches no result and no package variable, the reason is an
  interface conversion or a call that lets it escape, and where the flow says it reaches
  the heap through a call, that call is one known to keep nothing (below);
* ``v`` is only a receiver, an argument, indexed, sliced or ranged over, never captured
  by a closure, a goroutine or a deferred call, never reassigned, never addressed;
* nothing that may share its memory or hold it (``v`` itself, ``v.Bytes()``, ``v[:n]``,
  ``bufio.NewReader(v)``: what a call given any of them returns) is returned, assigned
  (but to ``_``, or a call's result to a new local variable, whose uses are then checked
  alike), put in a composite literal or sent. Copies (``v.String()`` of a
  ``bytes.Buffer``, ``string(...)``, an element, a field) may go anywhere;
* every call it (or memory of it) is handed to is known to keep nothing once it returns:
  a builtin, a standard-library function in ``_SINKS`` (each with the reason the
  compiler cannot see it), an io.Reader/io.Writer method (their contracts forbid
  retaining), a method of a listed wrapper, or a plain function of this file whose
  parameters the compiler reports leak nowhere but to its results (which are then
  followed). An interface method, a function value, ``unsafe.Pointer`` on its way to an
  atomic store, any other package's function: an unknown callee means no pool.

A missed pool costs one allocation per call; a wrong one hands live memory to the next
caller.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import reasons
from ..model import Finding, Kind, ReasonCode
from ..syntax import SourceFile
from .edits import Edit
from .fixer import Proposal, Refusal, Verdict, accept_if_gone, off_the_heap
from .imports import ensure_import
from .model import SYNC_POOL, Alternative, Candidate
from .treeutil import ancestor, line_indent, line_start, text, walk

if TYPE_CHECKING:
    from tree_sitter import Node

_FUNCS = ("function_declaration", "method_declaration")

#: Methods of ``bytes.Buffer`` whose results share no memory with the buffer: counts,
#: bytes, runes, errors, or copies (``String``, ``ReadString``, ``ReadBytes`` copy).
#: ``Bytes``, ``Next`` and ``AvailableBuffer`` return the buffer's own storage; a method
#: not listed here is taken to do the same.
_BUFFER_COPIES = frozenset(
    {
        "Available",
        "Cap",
        "Grow",
        "Len",
        "Read",
        "ReadByte",
        "ReadBytes",
        "ReadFrom",
        "ReadRune",
        "ReadString",
        "Reset",
        "String",
        "Truncate",
        "UnreadByte",
        "UnreadRune",
        "Write",
        "WriteByte",
        "WriteRune",
        "WriteString",
        "WriteTo",
    }
)


class _Returns(enum.Enum):
    """What a call known not to keep its arguments gives back of them."""

    #: Counts, errors, booleans or copies: nothing of the argument's memory.
    NOTHING = "nothing"
    #: Possibly (part of) the argument's own memory: a subslice, or an appended slice.
    PART = "part"
    #: A value that holds the argument for as long as the value itself lives (a reader
    #: or writer wrapping it); its uses are then followed like the argument's.
    HOLDER = "holder"


@dataclass(frozen=True)
class _Sink:
    returns: _Returns
    #: Why the function keeps nothing of what it is given once it returns, although the
    #: compiler (which stops at interface calls and reflection) says its parameter leaks.
    why: str
    #: It may call methods of the value (String, MarshalJSON: ``_CALLED_BACK``).
    calls_back: bool = False


def _sinks(names: str, returns: _Returns, why: str, calls_back: bool = False) -> dict[str, _Sink]:
    return dict.fromkeys(names.split(), _Sink(returns, why, calls_back))


#: Standard-library functions the compiler cannot see through but that keep none of
#: their arguments once they return, by import path and name (a package imported as
#: ``json`` need not be encoding/json). A pooled value may be handed to these, to the io
#: methods below, and to this file's functions the compiler shows keep nothing: an
#: unknown callee means no pool.
_SINKS: dict[str, _Sink] = {
    **_sinks(
        "fmt.Fprint fmt.Fprintf fmt.Fprintln",
        _Returns.NOTHING,
        "formats the operands into a private buffer and hands it to w in one Write call",
        calls_back=True,
    ),
    **_sinks(
        "fmt.Sprint fmt.Sprintf fmt.Sprintln fmt.Print fmt.Printf fmt.Println",
        _Returns.NOTHING,
        "formats the operands into a fresh string or onto stdout",
        calls_back=True,
    ),
    **_sinks(
        "fmt.Append fmt.Appendf fmt.Appendln",
        _Returns.PART,
        "appends the formatted operands to b, returning b's array when it had room",
        calls_back=True,
    ),
    **_sinks(
        "io.Copy io.CopyBuffer io.CopyN io.ReadAll io.ReadAtLeast io.ReadFull io.WriteString",
        _Returns.NOTHING,
        "moves bytes between its arguments with Read and Write, which must not retain them",
    ),
    **_sinks(
        "encoding/json.Marshal encoding/json.MarshalIndent "
        "encoding/xml.Marshal encoding/xml.MarshalIndent",
        _Returns.NOTHING,
        "reads the value through reflection into a fresh slice",
        calls_back=True,
    ),
    **_sinks(
        "encoding/json.NewEncoder encoding/json.NewDecoder "
        "encoding/xml.NewEncoder encoding/xml.NewDecoder bufio.NewReader bufio.NewReaderSize "
        "bufio.NewWriter bufio.NewWriterSize "
        "bufio.NewScanner bytes.NewReader io.LimitReader io.MultiReader io.MultiWriter "
        "io.TeeReader",
        _Returns.HOLDER,
        "wraps its argument in the value it returns and keeps it nowhere else",
    ),
    **_sinks(
        "encoding/binary.Write encoding/binary.Read",
        _Returns.NOTHING,
        "reads or fills the value through reflection and moves bytes with Read or Write",
    ),
    **_sinks(
        "encoding/binary.Append encoding/binary.AppendUvarint encoding/binary.AppendVarint "
        "strconv.AppendBool strconv.AppendFloat strconv.AppendInt strconv.AppendQuote "
        "strconv.AppendQuoteRune "
        "strconv.AppendQuoteRuneToASCII strconv.AppendQuoteToASCII strconv.AppendUint "
        "unicode/utf8.AppendRune",
        _Returns.PART,
        "appends to dst, returning dst's array when it had room",
    ),
    **_sinks(
        "bytes.Compare bytes.Contains bytes.ContainsAny bytes.ContainsRune bytes.Count "
        "bytes.Equal bytes.EqualFold bytes.HasPrefix bytes.HasSuffix bytes.Index "
        "bytes.IndexAny bytes.IndexByte bytes.IndexRune bytes.LastIndex bytes.LastIndexByte "
        "unicode/utf8.DecodeLastRune unicode/utf8.DecodeRune unicode/utf8.FullRune "
        "unicode/utf8.RuneCount unicode/utf8.Valid "
        "encoding/binary.Uvarint encoding/binary.Varint encoding/hex.Encode encoding/hex.Decode",
        _Returns.NOTHING,
        "reads (or fills) the slice and returns numbers or booleans",
    ),
    **_sinks(
        "string bytes.Clone strings.Clone slices.Clone encoding/hex.EncodeToString",
        _Returns.NOTHING,
        "returns a copy",
    ),
    **_sinks(
        "bytes.TrimSpace bytes.TrimRight bytes.TrimLeft bytes.TrimPrefix bytes.TrimSuffix "
        "bytes.Trim bytes.Fields bytes.Split bytes.SplitN bytes.Cut",
        _Returns.PART,
        "returns subslices of its argument",
    ),
}

#: Methods that, by the io.Reader / io.Writer contracts ("implementations must not
#: retain p"), neither keep the bytes they are given nor return them: they report a
#: count and an error. They are known by name, whoever implements them.
_IO_METHODS = frozenset(
    {"Read", "ReadAt", "ReadFrom", "Write", "WriteAt", "WriteString", "WriteTo"}
)

#: Methods the formatting and encoding sinks may call back on a value they are given: a
#: user type whose String or MarshalJSON keeps its receiver makes them keepers too.
_CALLED_BACK = frozenset(
    {
        "Error",
        "Format",
        "GoString",
        "MarshalBinary",
        "MarshalJSON",
        "MarshalText",
        "MarshalXML",
        "String",
        "UnmarshalBinary",
        "UnmarshalJSON",
        "UnmarshalText",
        "UnmarshalXML",
    }
)

#: Builtins that keep nothing and return no memory of their arguments.
_SCALAR_BUILTINS = frozenset({"cap", "clear", "close", "copy", "delete", "len", "print", "println"})

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "&&", "||"})


#: Test functions: their allocations are no hot path.
_RUN_ONCE = ("Test", "Example", "Fuzz")


def candidates(findings: list[Finding], src: SourceFile) -> list[Candidate]:
    keepers = _parameters_kept(findings)
    out = []
    for f in findings:
        if f.kind is not Kind.ESCAPES_TO_HEAP or f.file != src.path:
            continue
        if src.path.endswith("_test.go") and f.function.startswith(_RUN_ONCE):
            continue  # a test runs once: a pool there is noise (a benchmark is a hot path)
        cand = _candidate(f, src, keepers)
        if cand is not None:
            out.append(cand)
    return out


def _short(function: str) -> str:
    """``(*T).Register`` → ``Register``: how a call names the function."""
    return function.rsplit(".", 1)[-1]


def _passed_to_callee(f: Finding) -> bool:
    """The value (or parameter) is on the heap because a callee keeps it."""
    code = f.reason.code
    return code is ReasonCode.KEPT_BY_CALLEE or (
        code is ReasonCode.VARIADIC_KEPT and bool(f.reason.name)
    )


def _handed_on(f: Finding) -> bool:
    """The value reaches the heap only by being handed to a call: an interface
    conversion for it, or a callee that keeps it."""
    return f.reason.code is ReasonCode.INTERFACE or _passed_to_callee(f)


def _parameters_kept(findings: list[Finding]) -> frozenset[str]:
    """Short names of the functions of this package that may keep a parameter (or what
    it points to) after they return: every one the compiler reports a parameter of
    leaking to the heap. A leak to a result alone is not keeping: the caller's use of the
    result is followed instead. The compiler explains one path per leak, never all of
    them, so a leak through a harmless call does not clear the function."""
    return frozenset(
        _short(f.function)
        for f in findings
        if f.kind is Kind.LEAKING_PARAM and (f.leak is None or f.leak.heap_derefs is not None)
    )


def _file_functions(src: SourceFile) -> frozenset[str]:
    """Names of the plain functions this file declares: callees the compiler's leak
    findings describe (a method or a function value may be anything)."""
    return frozenset(
        text(n.child_by_field_name("name")) for n in src.nodes_of_type("function_declaration")
    )


def _sink(name: str, imports: dict[str, str]) -> _Sink | None:
    """The listed sink a call's function text names (``json.NewEncoder``), if any."""
    qualifier, dot, member = name.partition(".")
    if not dot:
        return _SINKS.get(name)  # a builtin conversion: string(b)
    path = imports.get(qualifier)
    return _SINKS.get(f"{path}.{member}") if path is not None else None


def _known_callee(callee: str, uses: _Uses) -> bool:
    """A callee named by the compiler's flow keeps nothing it is given: a listed sink, an
    io method, or one of this file's functions that the compiler shows keeps nothing."""
    if _sink(callee, uses.imports) is not None or callee.rsplit(".", 1)[-1] in _IO_METHODS:
        return True
    return callee in uses.functions and callee not in uses.keepers


def _candidate(f: Finding, src: SourceFile, keepers: frozenset[str]) -> Candidate | None:
    if not f.subject.startswith(("&", "new(", "make(")):
        return None  # only allocations can come from a pool
    if not _handed_on(f):
        return None
    # A result of this function ends the chain, or a return statement of its own (not of
    # a callee inlined into it, whose result temporaries are also named ~r0).
    own = [s for s in f.flow if s.inlined_from is None]
    if any(s.why == "return" for s in own) or (f.flow and reasons.is_result(f.flow[-1].dst)):
        return None
    offset = src.offset(f.point or f.range.start)
    if offset is None:
        return None
    node = src.tree.root_node.descendant_for_byte_range(offset, offset)
    expr = _allocation(node)
    if expr is None:
        return None
    shape = _shape(expr, src)
    if shape is None:
        return None
    decl = expr.parent.parent if expr.parent is not None else None  # expression_list → decl
    if decl is None or decl.type != "short_var_declaration":
        return None
    left = decl.child_by_field_name("left")
    right = decl.child_by_field_name("right")
    if (
        left is None
        or right is None
        or len(left.named_children) != 1
        or len(right.named_children) != 1
    ):
        return None
    var = text(left.named_children[0])
    fn = ancestor(decl, (*_FUNCS, "func_literal"))
    if fn is None or fn.type not in _FUNCS:
        return None
    body = fn.child_by_field_name("body")
    if body is None or decl.parent is None or decl.parent.parent is None:
        return None
    if decl.parent.parent.id != body.id:
        return None  # not at the top level of the function body
    uses = _Uses(shape, keepers, _file_functions(src), src.imports, body)
    # Where the compiler says the value reaches the heap, the call must be one known to
    # keep nothing (``atomic.StorePointer`` is not), whatever the source walk finds.
    for step in own:
        known = _known_callee(reasons.callee(step.what), uses)
        if step.why == "call parameter" and step.dst == "{heap}" and not known:
            return None
    if not _only_borrowed(var, decl, _Held.POOLED, uses):
        return None
    return _rewrite(f, src, fn, decl, var, shape)


def _allocation(node: Node | None) -> Node | None:
    cur = node
    while cur is not None and cur.type not in ("unary_expression", "call_expression"):
        if cur.type in ("block", "short_var_declaration"):
            return None
        cur = cur.parent
    return cur


@dataclass(frozen=True)
class _Shape:
    kind: str  # "buffer", "value", "slice"
    type_text: str
    init: str  # how to reset a value: its initial composite, or ""
    size: str = ""
    #: Methods whose results share no memory with the value.
    copies: frozenset[str] = frozenset()
    #: The value's fields, when all of them are known (reading one copies it out).
    fields: frozenset[str] = frozenset()
    #: A type of this package that embeds nothing: all its methods are this package's,
    #: so the compiler's leak findings say which of them keep the receiver.
    methods_known: bool = False


def _shape(expr: Node, src: SourceFile) -> _Shape | None:
    if expr.type == "unary_expression" and text(expr.child_by_field_name("operator")) == "&":
        lit = expr.child_by_field_name("operand")
        if lit is None or lit.type != "composite_literal":
            return None
        typ = text(lit.child_by_field_name("type"))
        if typ == "bytes.Buffer":
            body = lit.child_by_field_name("body")
            empty = body is not None and not body.named_children
            return _Shape("buffer", typ, "", copies=_BUFFER_COPIES) if empty else None
        if _is_user_type(typ, src):
            fields = _struct_fields(typ, src)
            return _Shape(
                "value",
                typ,
                text(lit),
                fields=fields or frozenset(),
                methods_known=fields is not None,
            )
        return None
    if expr.type != "call_expression":
        return None
    fn = text(expr.child_by_field_name("function"))
    args = expr.child_by_field_name("arguments")
    named = args.named_children if args is not None else []
    if fn == "new" and len(named) == 1:
        typ = text(named[0])
        if typ == "bytes.Buffer":
            return _Shape("buffer", typ, "", copies=_BUFFER_COPIES)
        if _is_user_type(typ, src):
            fields = _struct_fields(typ, src)
            return _Shape(
                "value", typ, "", fields=fields or frozenset(), methods_known=fields is not None
            )
    if fn == "make" and len(named) == 2 and named[0].type == "slice_type":
        size = text(named[1])
        if re.match(r"^(\d+|\d+ ?[*<]+ ?\d+|[A-Z_a-z]\w*)$", size) and (
            size[0].isdigit() or _is_constant(size, src)
        ):
            return _Shape("slice", text(named[0]), "", size)
    return None


def _is_user_type(name: str, src: SourceFile) -> bool:
    return bool(re.match(r"^[A-Za-z_]\w*$", name)) and name in src.declared_types


def _struct_fields(name: str, src: SourceFile) -> frozenset[str] | None:
    """The fields of type ``name`` declared in this file (none for a type that is not a
    struct); None when it embeds a type, whose promoted fields and methods cannot be told
    apart here, or is not declared in this file."""
    for spec in src.nodes_of_type("type_spec"):
        if text(spec.child_by_field_name("name")) != name:
            continue
        typ = spec.child_by_field_name("type")
        if typ is None or typ.type != "struct_type":
            return frozenset()
        fields: set[str] = set()
        for group in typ.named_children:
            for decl in group.named_children:
                names = decl.children_by_field_name("name")
                if decl.type == "field_declaration" and not names:
                    return None
                fields.update(text(n) for n in names)
        return frozenset(fields)
    return None


def _is_constant(name: str, src: SourceFile) -> bool:
    return any(
        text(c) == name
        for n in src.nodes_of_type("const_spec")
        for c in n.children_by_field_name("name")
    )


class _Held(enum.Enum):
    """What an expression holds of the pooled value."""

    #: The pooled pointer or slice itself.
    POOLED = "pooled"
    #: Something that may point into the pooled memory: ``b.Bytes()``, ``s[:n]``, what a
    #: call given either returns.
    DERIVED = "derived"
    #: What one of this file's functions given the pooled pointer returns: it may hold
    #: the pointer. Its methods may be anything.
    HOLDER = "holder"
    #: What a listed wrapper given the pooled pointer returns (``bufio.NewReader(b)``):
    #: it holds the pointer, and its methods, the standard library's, report on it
    #: rather than hand out what it wraps (``json.NewEncoder(b).Encode(v)`` returns an
    #: error).
    WRAPPED = "wrapped"
    #: A field or an element read out of it: a copy, harmful only if addressed or sliced.
    COPY = "copy"


@dataclass(frozen=True)
class _Uses:
    shape: _Shape
    keepers: frozenset[str]
    #: This file's plain functions (see ``_file_functions``).
    functions: frozenset[str]
    #: Import paths by the name the file uses for them.
    imports: dict[str, str]
    body: Node
    #: Variables already followed, by declaration and name, so each is walked once.
    followed: set[tuple[int, str]] = field(default_factory=set)


def _only_borrowed(var: str, decl: Node, held: _Held, uses: _Uses) -> bool:
    """Nothing of the pooled memory outlives the call through ``var`` (declared by
    ``decl`` and holding ``held``), whatever its uses after the declaration do (see the
    module's docstring for the rules)."""
    if (decl.id, var) in uses.followed:
        return True
    uses.followed.add((decl.id, var))
    for n in walk(uses.body):
        if n.type != "identifier" or text(n) != var or n.start_byte < decl.end_byte:
            continue
        # A closure or a goroutine may keep it; a deferred call runs after the code the
        # rest of the rules look at, and may hand it on too.
        if ancestor(n, ("func_literal", "go_statement", "defer_statement")) is not None:
            return False
        if not _harmless(n, held, uses):
            return False
    return True


def _harmless(node: Node, held: _Held, uses: _Uses) -> bool:
    """Whether where ``node`` (holding ``held`` of the pooled value) goes keeps nothing of
    the pooled memory past the call. Expressions that carry it on are followed up."""
    parent = node.parent
    if parent is None:
        return False
    kind = parent.type
    if kind in ("parenthesized_expression", "type_conversion_expression"):
        return _harmless(parent, held, uses)  # []byte(b) of a []byte is b's memory
    if kind == "type_assertion_expression":
        return _harmless(parent, held, uses)
    if kind == "selector_expression":
        return _selected(parent, held, uses)
    if kind == "index_expression":
        if parent.child_by_field_name("operand") == node:
            return _stored_into(parent) or _harmless(parent, _Held.COPY, uses)
        # As an index: a lookup keeps nothing, a map key being stored is kept.
        return held is _Held.COPY or not _stored_into(parent)
    if kind == "slice_expression":
        if parent.child_by_field_name("operand") == node:
            return _harmless(parent, _Held.DERIVED, uses)
        return True  # a bound is a number
    if kind == "unary_expression":
        op = text(parent.child_by_field_name("operator"))
        if op == "&":
            return False
        if op == "*":
            return _stored_into(parent) or _harmless(parent, _Held.COPY, uses)
        if op == "<-":
            return _harmless(parent, _Held.DERIVED, uses)
        return True  # -x, !x, ^x: a new number
    if kind == "binary_expression":
        if held is _Held.COPY or text(parent.child_by_field_name("operator")) in _COMPARISONS:
            return True
        return _harmless(parent, held, uses)  # s + "" is s itself, not a copy
    if kind == "argument_list":
        return _passed(node, parent, held, uses, spread=False)
    if kind == "variadic_argument":
        args = parent.parent
        return args is not None and _passed(parent, args, held, uses, spread=True)
    if kind == "call_expression":
        return _harmless(parent, _Held.DERIVED, uses)  # calling a function value got from it
    if held is _Held.COPY:
        return True  # a value copied out may go anywhere
    if kind in ("expression_statement", "inc_statement", "dec_statement"):
        return True
    if kind == "expression_list":
        return _assigned(parent, held, uses)
    if kind == "range_clause":
        # Ranging copies the elements out; those of a holder may be the pointer.
        holds = held in (_Held.HOLDER, _Held.WRAPPED)
        return parent.child_by_field_name("right") == node and not holds
    if kind in ("if_statement", "for_statement", "expression_switch_statement"):
        return node in (
            parent.child_by_field_name("condition"),
            parent.child_by_field_name("value"),
        )
    return False  # returned, sent, in a composite literal, a case list...


def _selected(sel: Node, held: _Held, uses: _Uses) -> bool:
    """``v.name``: a method call, a field, or a method value."""
    name = text(sel.child_by_field_name("field"))
    call = sel.parent
    if (
        call is not None
        and call.type == "call_expression"
        and call.child_by_field_name("function") == sel
    ):
        if held is _Held.WRAPPED:
            return True  # a listed wrapper's methods report on it (Encode returns an error)
        if name in uses.keepers:
            return False  # a method of this package that keeps its receiver
        if held is _Held.POOLED:
            if name in uses.shape.copies:
                return True
            if uses.shape.kind == "buffer" or uses.shape.methods_known:
                # Bytes, Next, AvailableBuffer; or the type's own method, which the
                # compiler shows keeps nothing (above): what it returns may point in.
                return _harmless(call, _Held.DERIVED, uses)
        # A method of a field may take the field's address, which is pooled memory; a
        # method of a promoted field or of memory derived from it may be anything.
        return False
    if _stored_into(sel):
        return True  # v.f = x writes into the pooled value
    if held is _Held.POOLED and name in uses.shape.fields:
        return _harmless(sel, _Held.COPY, uses)
    return False  # a method value binds the receiver; an unknown field may be one


def _passed(arg: Node, args: Node, held: _Held, uses: _Uses, *, spread: bool) -> bool:
    """``arg`` (holding ``held``) is an argument of the call ``args`` belongs to."""
    call = args.parent
    if call is None or call.type != "call_expression":
        return False
    fn = call.child_by_field_name("function")
    name = text(fn)
    if name in _SCALAR_BUILTINS:
        return True
    if name == "panic":
        return False  # a recover() anywhere up the stack may keep it
    if name == "append":
        first = bool(args.named_children) and args.named_children[0] == arg
        if held is _Held.COPY or (spread and not first):
            return True  # the elements are copied in
        return _harmless(call, _Held.DERIVED, uses)  # the result may share the array
    if held is _Held.COPY:
        return True
    pointer = held in (_Held.POOLED, _Held.HOLDER, _Held.WRAPPED) and uses.shape.kind != "slice"
    sink = _sink(name, uses.imports)
    if sink is not None:
        if uses.shape.kind == "value" and sink.calls_back and uses.keepers & _CALLED_BACK:
            return False  # it may call a String or MarshalJSON of ours that keeps it
        if sink.returns is _Returns.NOTHING:
            return True
        if sink.returns is _Returns.HOLDER:
            return _harmless(call, _Held.WRAPPED if pointer else _Held.DERIVED, uses)
        return _harmless(call, _Held.DERIVED, uses)
    if (
        fn is not None
        and fn.type == "selector_expression"
        and text(fn.child_by_field_name("field")) in _IO_METHODS
        and name.rsplit(".", 1)[-1] not in uses.keepers
    ):
        return True  # by the io contracts it keeps nothing and returns a count
    if (
        fn is not None
        and fn.type == "identifier"
        and name in uses.functions
        and name not in uses.keepers
        and not _declared_locally(name, uses.body.parent or uses.body)
    ):
        # One of this file's functions, that the compiler shows keeps no parameter: it
        # may still return (part of) what it was given, as bytes.TrimRight does.
        return _harmless(call, _Held.HOLDER if pointer else _Held.DERIVED, uses)
    # Anything else may keep what it is given: an interface method, a function value,
    # another package's function, unsafe.Pointer on its way to an atomic store.
    return False


def _declared_locally(name: str, fn: Node) -> bool:
    """``name`` is declared in the function, parameters included (a local func value
    shadowing ours)."""
    for n in walk(fn):
        if n.type in ("short_var_declaration", "var_spec", "parameter_declaration"):
            left = n.child_by_field_name("left") if n.type == "short_var_declaration" else n
            names = (
                left.named_children
                if n.type == "short_var_declaration" and left is not None
                else n.children_by_field_name("name")
            )
            if any(text(c) == name for c in names):
                return True
    return False


def _stored_into(expr: Node) -> bool:
    """``expr`` is written to: the left of an assignment, or incremented."""
    cur = expr
    while cur.parent is not None and cur.parent.type == "parenthesized_expression":
        cur = cur.parent
    parent = cur.parent
    if parent is None:
        return False
    if parent.type in ("inc_statement", "dec_statement"):
        return True
    holder = parent.parent
    return (
        parent.type == "expression_list"
        and holder is not None
        and holder.type == "assignment_statement"
        and holder.child_by_field_name("left") == parent
    )


def _assigned(values: Node, held: _Held, uses: _Uses) -> bool:
    """``values`` (an expression list holding ``held``) is assigned: only to ``_``, or,
    for a holder, to new local variables that are themselves followed."""
    holder = values.parent
    if holder is None:
        return False
    if holder.type in ("assignment_statement", "short_var_declaration"):
        left = holder.child_by_field_name("left")
        if left is None or left == values:
            return False  # reassigned
        targets = left.named_children
    elif holder.type == "var_spec":
        targets = holder.children_by_field_name("name")
    else:
        return False  # returned, a case list
    named = [t for t in targets if text(t) != "_"]
    if not named:
        return True
    # A plain `=` may store into a package variable or a named result; only variables
    # declared here are followed.
    if held not in (_Held.HOLDER, _Held.WRAPPED) or holder.type == "assignment_statement":
        return False
    return all(
        t.type == "identifier" and _only_borrowed(text(t), holder, held, uses) for t in named
    )


def _pool_name(var: str, src: SourceFile) -> str:
    taken = set(src.package_vars()) | src.declared_names
    base = f"{var}Pool"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}{i}", i + 1
    return name


def _rewrite(
    f: Finding, src: SourceFile, fn: Node, decl: Node, var: str, shape: _Shape
) -> Candidate:
    source = src.source
    pool = _pool_name(var, src)
    indent = line_indent(source, decl.start_byte)
    if shape.kind == "buffer":
        new = f"new({shape.type_text})"
        lines = [
            f"{var} := {pool}.Get().(*{shape.type_text})",
            f"{var}.Reset()",
            f"defer {pool}.Put({var})",
        ]
    elif shape.kind == "value":
        new = f"new({shape.type_text})"
        reset = f"*{var} = {shape.init}" if shape.init else f"*{var} = *new({shape.type_text})"
        lines = [f"{var} := {pool}.Get().(*{shape.type_text})", reset, f"defer {pool}.Put({var})"]
    else:
        new = f"s := make({shape.type_text}, {shape.size}); return &s"
        holder = f"{var}p"
        lines = [
            f"{holder} := {pool}.Get().(*{shape.type_text})",
            f"defer {pool}.Put({holder})",
            f"{var} := (*{holder})[:{shape.size}]",
            f"clear({var}) // make returned zeroed memory; a pooled slice is not",
        ]
    body = ("\n" + indent).join(lines)
    new_fn = (
        f"func() any {{ return {new} }}" if shape.kind != "slice" else f"func() any {{ {new} }}"
    )
    pool_decl = f"var {pool} = sync.Pool{{New: {new_fn}}}\n\n"
    anchor = _before_doc_comment(fn, source)
    edits = [
        Edit(decl.start_byte, decl.end_byte, body),
        Edit(anchor, anchor, pool_decl),
        *ensure_import(src, "sync"),
    ]
    summary = f"Reuse {var} through a sync.Pool ({pool})"
    return Candidate(
        kind=SYNC_POOL,
        file=src.path,
        function=f.function,
        summary=summary,
        anchors=((f.file, f.range),),
        alternatives=(Alternative(tuple(edits), summary),),
        scope_function=src.function_at(src.position(fn.start_byte)),
        adds_variable=pool,
    )


def _before_doc_comment(fn: Node, source: bytes) -> int:
    """Where a declaration can go above ``fn`` without splitting it from its doc comment."""
    node = fn
    prev = fn.prev_sibling
    while (
        prev is not None
        and prev.type == "comment"
        and prev.end_point.row == node.start_point.row - 1
    ):
        node = prev
        prev = prev.prev_sibling
    return line_start(source, node.start_byte)


class SyncPoolFixer:
    """``sync-pool`` as a ``Fixer``: file by file, accepted when the pooled value is off
    the heap."""

    kind = SYNC_POOL

    def candidates(self, proposal: Proposal) -> list[Candidate]:
        found = list(proposal.findings)
        return [c for src in proposal.files for c in candidates(found, src)]

    def accept(self, candidate: Candidate, verdict: Verdict) -> Refusal | None:
        return accept_if_gone(verdict)

    def title(self, candidate: Candidate, alternative: Alternative, verdict: Verdict) -> str:
        return off_the_heap(candidate, alternative, verdict)
