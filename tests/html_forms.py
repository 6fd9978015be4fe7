"""Read a page's form fields the way a browser would submit them (stdlib HTML parser, no test-only shortcuts)."""

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    def __init__(self, form_id: str | None):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self.submits: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (self.form_id is None or attributes.get("id") == self.form_id):
            self.inside = True
        elif tag == "input" and self.inside and attributes.get("name"):
            if attributes.get("type") == "submit":
                self.submits.append(attributes["name"])
            elif attributes.get("type") in ("hidden", None, "text"):
                self.fields[attributes["name"]] = attributes.get("value") or ""
        elif tag == "button" and self.inside and attributes.get("name"):
            self.submits.append(attributes["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def form_fields(html: str, form_id: str | None = None) -> tuple[dict[str, str], list[str]]:
    """(the non-submit fields with their values, the names of the named submit buttons) of one form."""
    parser = _FormFields(form_id)
    parser.feed(html)
    return parser.fields, parser.submits
