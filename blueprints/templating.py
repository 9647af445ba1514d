"""What templates call many times a page, made cheap: url_for kept per mount point, question
links, and times as <time> elements."""
from flask import has_request_context, request
from markupsafe import Markup

# Built addresses kept per process; more than this many distinct ones start the set afresh.
URLS_KEPT = 4096


def init_app(app):
    """Give the app's templates the helpers below; url_for becomes a kept one."""
    url_for = app.jinja_env.globals["url_for"] = KeptUrlFor(app)

    @app.template_global()
    def question_url_prefix():
        """A question's address without its id, for list pages to complete with twenty ids
        (a call per link cost a list page a fifth of its rendering)."""
        return url_for("qa.qa_detail", qa_id=1)[:-1]

    app.add_template_filter(utc_time)


class KeptUrlFor:
    """Flask's url_for for templates, each address built once per mount point.

    Inside a request an address without ``_external`` and the like depends only on the
    endpoint, its values and the mount point (SCRIPT_NAME): building one costs 5-15 µs, and
    a page builds a dozen. Anything else (relative endpoints, ``_anchor``/``_external``...,
    values other than text and numbers, an app with url_defaults) is built each time.
    """

    def __init__(self, app):
        self.app = app
        self.build = app.url_for
        self.kept = {}
        self.plain = None  # no url_defaults: known at the first call, when setup is over

    def __call__(self, endpoint, **values):
        if self.plain is None:
            self.plain = not any(self.app.url_default_functions.values())
        if not self.plain or endpoint[:1] == "." or not has_request_context():
            return self.build(endpoint, **values)
        for name, value in values.items():
            if name[:1] == "_" or not isinstance(value, (str, int, type(None))):
                return self.build(endpoint, **values)
        key = (request.script_root, endpoint, *values.items())
        url = self.kept.get(key)
        if url is None:
            if len(self.kept) >= URLS_KEPT:
                self.kept.clear()
            url = self.kept[key] = self.build(endpoint, **values)
        return url


def utc_time(value):
    """A naive UTC datetime as a <time> element: exact for machines, to the minute for people."""
    return Markup(f'<time datetime="{value.isoformat()}Z">'
                  f'{value.isoformat(" ", "minutes")} UTC</time>')
