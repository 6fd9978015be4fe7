"""Content-Security-Policy on the pages people see (login, consent, home, admin)."""

# No framing anywhere (clickjacking on consent); elsewhere only our own static files. No `form-action`: browsers
# apply it to the redirect that follows the consent form, which goes to the client's redirect URI.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
ADMIN_POLICY = "frame-ancestors 'none'"  # Django's admin ships inline scripts; it still must never be framed


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and "Content-Security-Policy" not in response:
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = ADMIN_POLICY if admin else PAGE_POLICY
        return response
