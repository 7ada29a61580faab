"""A syntax check of GBNF grammars, so a broken one is refused before a model loads.

It follows llama.cpp's own parser (src/llama-grammar.cpp, ``parse_rule`` and friends):
the same tokens, the same rule that a newline ends a rule outside parentheses, the same
escapes, and the same two checks after parsing (every referenced rule is defined, and there
is a ``root``). llama.cpp stays the authority: the engine builds its grammar sampler from
the same text and refuses one that llama.cpp rejects. What this adds is where: the line, the
column and the rule, which llama.cpp's parser only prints to stderr as the rest of the text.
"""

from __future__ import annotations

import re
from pathlib import Path

WORD = re.compile(r"[A-Za-z0-9-]+")
INT = re.compile(r"[0-9]+")
ESCAPES = {"x": 2, "u": 4, "U": 8}
SIMPLE_ESCAPES = set('"[]\\/tnr')
MAX_REPEAT = 1_000_000  # {m,n} bounds: llama.cpp expands them, so a huge one is a mistake


class GrammarSyntaxError(ValueError):
    """A grammar llama.cpp would not parse: where, in which rule, and why."""

    def __init__(self, text: str, pos: int, rule: str | None, why: str) -> None:
        self.line = text.count("\n", 0, pos) + 1
        self.col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        self.rule = rule
        self.why = why
        where = f"line {self.line}, column {self.col}"
        if rule:
            where += f" (rule '{rule}')"
        super().__init__(f"{where}: {why}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.rule: str | None = None
        self.defined: dict[str, int] = {}
        self.used: dict[str, int] = {}

    def fail(self, pos: int, why: str):
        raise GrammarSyntaxError(self.s, pos, self.rule, why)

    def space(self, pos: int, newline_ok: bool) -> int:
        s = self.s
        while pos < len(s):
            c = s[pos]
            if c in " \t":
                pos += 1
            elif c == "#":
                while pos < len(s) and s[pos] not in "\r\n":
                    pos += 1
            elif newline_ok and c in "\r\n":
                pos += 1
            else:
                break
        return pos

    def name(self, pos: int) -> int:
        m = WORD.match(self.s, pos)
        if not m:
            self.fail(pos, "expecting a rule name")
        return m.end()

    def char(self, pos: int) -> int:
        s = self.s
        if pos >= len(s):
            self.fail(pos, "unexpected end of input")
        if s[pos] != "\\":
            return pos + 1
        if pos + 1 >= len(s):
            self.fail(pos, "unexpected end of input")
        e = s[pos + 1]
        if e in ESCAPES:
            digits = s[pos + 2 : pos + 2 + ESCAPES[e]]
            if len(digits) != ESCAPES[e] or not all(d in "0123456789abcdefABCDEF" for d in digits):
                self.fail(pos, f"'\\{e}' needs {ESCAPES[e]} hexadecimal digits")
            return pos + 2 + ESCAPES[e]
        if e in SIMPLE_ESCAPES:
            return pos + 2
        self.fail(pos, f"unknown escape '\\{e}'")
        return pos  # unreachable

    def alternates(self, pos: int, nested: bool) -> int:
        pos = self.sequence(pos, nested)
        while pos < len(self.s) and self.s[pos] == "|":
            pos = self.space(pos + 1, True)
            pos = self.sequence(pos, nested)
        return pos

    def sequence(self, pos: int, nested: bool) -> int:
        s = self.s
        has_item = False
        while pos < len(s):
            c = s[pos]
            if c == '"':
                pos += 1
                while pos < len(s) and s[pos] != '"':
                    pos = self.char(pos)
                if pos >= len(s):
                    self.fail(pos, "unexpected end of input: a string is not closed with '\"'")
                pos = self.space(pos + 1, nested)
            elif c == "[":
                pos += 1
                if pos < len(s) and s[pos] == "^":
                    pos += 1
                while pos < len(s) and s[pos] != "]":
                    pos = self.char(pos)
                    if pos + 1 < len(s) and s[pos] == "-" and s[pos + 1] != "]":
                        pos = self.char(pos + 1)
                if pos >= len(s):
                    self.fail(
                        pos, "unexpected end of input: a character class is not closed with ']'"
                    )
                pos = self.space(pos + 1, nested)
            elif c == "<" or (c == "!" and s[pos + 1 : pos + 2] == "<"):
                end = s.find(">", pos)  # a token reference, <[id]> or <text>
                if end < 0:
                    self.fail(pos, "a token reference is not closed with '>'")
                pos = self.space(end + 1, nested)
            elif WORD.match(s, pos):
                end = self.name(pos)
                after = self.space(end, nested)
                if s.startswith("::=", after):
                    break  # the next rule (only reached inside parentheses, across lines)
                self.used.setdefault(s[pos:end], pos)
                pos = after
            elif c == "(":
                pos = self.space(pos + 1, True)
                pos = self.alternates(pos, True)
                if pos >= len(s) or s[pos] != ")":
                    self.fail(pos, "expecting ')'")
                pos = self.space(pos + 1, nested)
            elif c == ".":
                pos = self.space(pos + 1, nested)
            elif c in "*+?":
                if not has_item:
                    self.fail(pos, f"'{c}' has no item before it to repeat")
                pos = self.space(pos + 1, nested)
                continue
            elif c == "{":
                if not has_item:
                    self.fail(pos, "'{' has no item before it to repeat")
                pos = self.repetition(pos)
                continue
            else:
                break
            has_item = True
        return pos

    def repetition(self, pos: int) -> int:
        s = self.s
        pos = self.space(pos + 1, False)
        m = INT.match(s, pos)
        if not m:
            self.fail(pos, "expecting a number of repetitions")
        low = int(m.group())
        pos = self.space(m.end(), False)
        high = low
        if pos < len(s) and s[pos] == ",":
            pos = self.space(pos + 1, False)
            m = INT.match(s, pos)
            if m:
                high = int(m.group())
                pos = self.space(m.end(), False)
            else:
                high = low
        if pos >= len(s) or s[pos] != "}":
            self.fail(pos, "expecting '}'")
        if max(low, high) > MAX_REPEAT:
            self.fail(pos, f"a repetition bound over {MAX_REPEAT:,}")
        if m and high < low:
            self.fail(pos, f"the repetition's upper bound {high} is below its lower bound {low}")
        return self.space(pos + 1, False)

    def grammar(self) -> None:
        s = self.s
        pos = self.space(0, True)
        while pos < len(s):
            start = pos
            end = self.name(pos)
            self.rule = s[start:end]
            pos = self.space(end, False)
            if not s.startswith("::=", pos):
                self.fail(pos, "expecting '::='")
            self.defined.setdefault(self.rule, start)
            pos = self.space(pos + 3, True)
            pos = self.alternates(pos, False)
            if pos < len(s) and s[pos] == "\r":
                pos += 2 if s[pos + 1 : pos + 2] == "\n" else 1
            elif pos < len(s) and s[pos] == "\n":
                pos += 1
            elif pos < len(s):
                self.fail(pos, f"expecting a newline or the end, not {s[pos]!r}")
            pos = self.space(pos, True)
        self.rule = None
        for name, at in self.used.items():
            if name not in self.defined:
                self.fail(at, f"rule '{name}' is used but not defined")
        if "root" not in self.defined:
            self.fail(len(s), "the grammar has no 'root' rule (generation starts from root)")


def check_gbnf(text: str) -> None:
    """Raise GrammarSyntaxError where llama.cpp's parser would refuse ``text``."""
    _Parser(text).grammar()


def literal(text: str) -> str:
    """``text`` as a GBNF string literal that matches exactly it."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def choices_grammar(choices: tuple[str, ...]) -> str:
    """A grammar whose only sentences are the given strings, each after an optional space
    where none of them starts with whitespace of its own.

    A prompt ends at 'Sentiment:' and the model answers ' positive', one token in most
    vocabularies; forcing 'positive' straight after the colon would force a spelling the
    model rarely uses and show its probabilities for that instead.
    """
    alternatives = " | ".join(literal(c) for c in choices)
    if any(c[:1].isspace() for c in choices):
        return f"root ::= {alternatives}\n"
    return f'root ::= " "? ({alternatives})\n'


def grammar_source(value: str, base: Path | None = None) -> str:
    """A --grammar value (or a prompt's ``grammar``) as grammar text.

    A value without '::=' is a file: a path, relative to ``base`` (a prompt file's folder)
    where one is given. A file that cannot be read is a UsageError naming it.
    """
    from gptplay.settings.files import read_setting_file

    if "::=" in value:
        return value
    return read_setting_file(
        value, base, "grammar", "give a .gbnf file, or the grammar's text (root ::= ...)."
    )
