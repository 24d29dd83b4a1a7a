{% raw %}"""The committed front-end assets: the stylesheet covers every class the pages use,
its fonts are there with their licences, and no page needs a CSP exception.

static/css/app.css is compiled by Tailwind CSS from the classes it finds in
templates/ and static/js/, and committed so the app runs without a build step.
After adding or changing a class, rebuild it (needs Node.js):

    npm install && npm run build:css

JavaScript finds elements by data-* attributes, never by class, so every class in
a template or script is there for styling and must be in the stylesheet.
"""

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "{% endraw %}{{ cookiecutter.package_name }}{% raw %}"
TEMPLATES = PACKAGE / "templates"
SCRIPTS = PACKAGE / "static" / "js"
STYLESHEET = PACKAGE / "static" / "css" / "app.css"
FONTS = PACKAGE / "static" / "fonts"
REBUILD = "npm install && npm run build:css"

# Classes that only mark an element for variants (group-hover:..., peer-checked:...).
MARKER_CLASSES = {"group", "peer"}

# class="...", and the keyword arguments that carry classes in templates:
# class_=..., input_class=..., base_class=...
CLASS_ATTRIBUTE = re.compile(r"""(?<![\w-])(?:class_?|\w+_class)\s*=\s*(["'])(.*?)\1""", re.DOTALL)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
# A quoted string in a Jinja expression, with what comes right before and after it,
# so that the operands of comparisons (tone == 'light') are not taken for classes;
# nor are the members of a tuple or list tested with `in`.
JINJA_STRING = re.compile(r"""(==|!=|\bin)?\s*(["'])(.*?)\2\s*(==|!=)?""")
JINJA_MEMBERSHIP = re.compile(r"\bin\s*[(\[][^)\]]*[)\]]")

JS_CLASS_LIST = re.compile(r"classList\.(?:add|remove|toggle|replace)\(([^)]*)\)")
JS_CLASS_NAME = re.compile(r"""className\s*[+]?=\s*(["'`])(.*?)\1""")
JS_STRING = re.compile(r"""(["'`])(.*?)\1""")


def template_files() -> list[Path]:
    return sorted(path for path in TEMPLATES.rglob("*.html") if path.is_file())


def script_files() -> list[Path]:
    return sorted(SCRIPTS.rglob("*.js"))


def page_templates() -> list[Path]:
    # E-mails are not served under the CSP (and mail clients need inline styles).
    return [path for path in template_files() if "email" not in path.relative_to(TEMPLATES).parts]


def classes_in_template(source: str) -> set[str]:
    source = JINJA_COMMENT.sub(" ", source)
    found: set[str] = set()
    for match in CLASS_ATTRIBUTE.finditer(source):
        value = match.group(2)
        for expression in JINJA_EXPRESSION.findall(value):
            expression = JINJA_MEMBERSHIP.sub(" ", expression)
            for before, _quote, text, after in JINJA_STRING.findall(expression):
                if not before and not after:
                    found.update(text.split())
        plain = JINJA_STATEMENT.sub(" ", JINJA_EXPRESSION.sub(" ", value))
        found.update(plain.split())
    return found


def classes_in_script(source: str) -> set[str]:
    found: set[str] = set()
    for arguments in JS_CLASS_LIST.findall(source):
        for _quote, text in JS_STRING.findall(arguments):
            found.update(text.split())
    for _quote, text in JS_CLASS_NAME.findall(source):
        found.update(text.split())
    return found


def css_selector(name: str) -> str:
    # Tailwind writes every character other than letters, digits, - and _ escaped.
    return "." + re.sub(r"([^\w-])", r"\\\1", name)


def missing_classes(classes: set[str], css: str) -> list[str]:
    missing = []
    for name in sorted(classes - MARKER_CLASSES):
        if not re.search(re.escape(css_selector(name)) + r"(?![\w\\-])", css):
            missing.append(name)
    return missing


@pytest.fixture(scope="module")
def css() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def test_stylesheet_is_compiled(css):
    assert "tailwindcss" in css[:200], f"{STYLESHEET} is not Tailwind output; run: {REBUILD}"
    assert ".btn-primary" in css


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_stylesheet_has_every_class_of_template(path, css):
    missing = missing_classes(classes_in_template(path.read_text(encoding="utf-8")), css)
    assert not missing, f"app.css lacks {missing} used in {path.name}; run: {REBUILD}"


@pytest.mark.parametrize("path", script_files(), ids=lambda p: p.name)
def test_stylesheet_has_every_class_of_script(path, css):
    missing = missing_classes(classes_in_script(path.read_text(encoding="utf-8")), css)
    assert not missing, f"app.css lacks {missing} used in {path.name}; run: {REBUILD}"


def test_class_extraction_understands_templates():
    source = """<a class="btn {{ 'text-white' if tone == 'light' else 'text-slate-900' }}
        {%- if x %} mt-2{% endif %}">{{ icon('x', class_='size-4') }}</a>
        <b class="{{ 'font-bold' if kind in ('a', 'b') else '' }}">"""
    assert classes_in_template(source) == {
        "btn",
        "text-white",
        "text-slate-900",
        "mt-2",
        "size-4",
        "font-bold",
    }
    assert missing_classes({"w-[calc(100%+2rem)]"}, r".w-\[calc\(100\%\+2rem\)\]{width:1px}") == []
    assert missing_classes({"py-2"}, r".py-2\.5{padding:0}") == ["py-2"]


def test_fonts_are_shipped_with_their_licences(css):
    fonts = re.findall(r"url\(\"?\.\./fonts/([^)\"]+)\"?\)", css)
    assert len(fonts) >= 3
    for name in fonts:
        assert (FONTS / name).is_file(), f"app.css uses fonts/{name}, which is missing"
    assert len(list(FONTS.glob("*-OFL.txt"))) >= 3, "keep each font's licence next to it"


UNSAFE_FOR_CSP = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style[\s>]", re.IGNORECASE),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE),
    "event-handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "third-party address": re.compile(
        r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE
    ),
}


@pytest.mark.parametrize("path", page_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_needs_no_csp_exception(path):
    source = JINJA_COMMENT.sub(" ", path.read_text(encoding="utf-8"))
    found = [problem for problem, pattern in UNSAFE_FOR_CSP.items() if pattern.search(source)]
    assert not found, f"{path.name} has {found}; the strict CSP blocks them (use static/js/app.js)"{% endraw %}
