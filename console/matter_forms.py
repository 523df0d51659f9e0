"""Draft forms generated from the matter definitions (records.matters): every field of a
matter's pydantic model becomes an input with the model's own limits (required, lengths,
choices, dates), labelled in Chinese and English; lists of people or positions become rows,
lists of text one line each. A submitted form is turned back into the matter's data, which
the issuer validates as it validates the API's JSON."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from records.matters import requestable_matter
from records.matters.messages import field_label_zh

EMPTY_ROWS = 2  # blank rows offered under a list of people or positions
MAX_ROWS = 30
# Fields that only the translation page uses: shown for a bilingual certificate only.
COMPANION = re.compile(r"_(pinyin|en)$")


@dataclass
class FormField:
    name: str  # the dotted path in the matter's data, e.g. relatives.0.name
    label_zh: str
    label_en: str
    kind: str  # text, textarea, date, select, checkbox, lines
    required: bool = False
    max_length: int | None = None
    min_length: int | None = None
    options: list[str] = field(default_factory=list)
    value: Any = None
    hint: str | None = None
    id_number: bool = False
    companion: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclass
class FormGroup:
    """A list of people or positions: one fieldset per row."""

    name: str
    label_zh: str
    label_en: str
    rows: list[list[FormField]]
    min_items: int = 0
    max_items: int = MAX_ROWS
    companion_only: bool = False
    errors: list[str] = field(default_factory=list)


def _resolve(schema: dict, prop: dict) -> dict:
    """The property's own schema: ``anyOf [X, null]`` is an optional X; ``$ref`` is followed."""
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        prop = {**options[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    if "$ref" in prop:
        prop = {**schema["$defs"][prop["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop


def _field(schema: dict, name: str, prop: dict, required: bool, value: Any, path: str) -> FormField:
    prop = _resolve(schema, prop)
    kind = "text"
    if prop.get("type") == "boolean":
        kind = "checkbox"
    elif prop.get("format") == "date":
        kind = "date"
    elif "enum" in prop:
        kind = "select"
    elif prop.get("type") == "array":
        kind = "lines"
    elif (prop.get("maxLength") or 0) > 200:
        kind = "textarea"
    if kind == "lines" and isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    return FormField(
        name=path, label_zh=field_label_zh(path), label_en=prop.get("title", name), kind=kind, required=required,
        max_length=prop.get("maxLength"), min_length=prop.get("minLength"), options=list(prop.get("enum", [])),
        value=value, hint=prop.get("description"), id_number=name.endswith("id_number"),
        companion=bool(COMPANION.search(name)))


def build_form(matter: str, data: Mapping[str, Any], problems: list[dict] | None = None,
               *, lang: str = "zh") -> list[FormField | FormGroup]:
    """The form of ``matter`` filled with ``data``; ``problems`` (the issuer's field errors)
    are attached to their fields. A matter staff may not type (evidence preservation) has
    no form: MatterNotRequestable (422)."""
    schema = requestable_matter(matter).model_json_schema()
    required = set(schema.get("required", []))
    items: list[FormField | FormGroup] = []
    for name, prop in schema["properties"].items():
        resolved = _resolve(schema, prop)
        if resolved.get("type") == "array" and "$ref" in resolved.get("items", {}):
            sub = schema["$defs"][resolved["items"]["$ref"].rsplit("/", 1)[1]]
            listed = data.get(name)
            given: list = listed if isinstance(listed, list) else []
            count = min(MAX_ROWS, max(len(given) + EMPTY_ROWS, resolved.get("minItems", 1)))
            rows = []
            for i in range(min(count, resolved.get("maxItems", MAX_ROWS))):
                item = given[i] if i < len(given) and isinstance(given[i], dict) else {}
                rows.append([_field(schema, n, p, n in set(sub.get("required", [])) and i < max(1, len(given)),
                                    item.get(n), f"{name}.{i}.{n}") for n, p in sub["properties"].items()])
            items.append(FormGroup(name, field_label_zh(name), resolved.get("title", name), rows,
                                   resolved.get("minItems", 0), resolved.get("maxItems", MAX_ROWS)))
        else:
            items.append(_field(schema, name, prop, name in required, data.get(name), name))
    _attach(items, problems or [], lang)
    return items


def _attach(items: list[FormField | FormGroup], problems: list[dict], lang: str) -> None:
    by_name: dict[str, FormField | FormGroup] = {}
    for item in items:
        by_name[item.name] = item
        if isinstance(item, FormGroup):
            for row in item.rows:
                by_name.update({f.name: f for f in row})
    for problem in problems:
        path = str(problem.get("field", ""))
        message = problem.get("message_zh" if lang == "zh" else "message") or problem.get("message") or ""
        target = by_name.get(path) or by_name.get(path.split(".")[0])
        if target is not None:
            target.errors.append(message)


def parse_form(matter: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The matter's data from a submitted form: blank fields are left out (the model's
    defaults apply, a required one is reported by validation), blank rows dropped, one
    list item per line, a ticked box true."""
    schema = requestable_matter(matter).model_json_schema()
    data: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        resolved = _resolve(schema, prop)
        if resolved.get("type") == "array" and "$ref" in resolved.get("items", {}):
            sub = schema["$defs"][resolved["items"]["$ref"].rsplit("/", 1)[1]]
            rows = []
            for i in range(MAX_ROWS):
                row = {n: _value(_resolve(schema, p), form.get(f"{name}.{i}.{n}")) for n, p in sub["properties"].items()}
                row = {k: v for k, v in row.items() if v is not None}
                if row:
                    rows.append(row)
            if rows:
                data[name] = rows
        else:
            value = _value(resolved, form.get(name))
            if value is not None:
                data[name] = value
    return data


def _value(prop: dict, raw: Any) -> Any:
    if prop.get("type") == "boolean":
        return raw == "on" if raw is not None else False
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if prop.get("type") == "array":
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        return lines or None
    return raw or None
