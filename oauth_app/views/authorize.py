"""The authorization endpoint: DOT's AuthorizationView with this AS's policy in front of the consent page."""

from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import _add_iss_to_redirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, InvalidScopeError

from .. import audit, cimd, selectors, services
from ..scopes import AS_SCOPES, OFFLINE_ACCESS, scope_words


class AuthorizeView(AuthorizationView):
    """Validates resource and scope before the user sees anything, and stamps `iss` on every redirect."""

    template_name = "oauth_app/consent.html"

    def validate_authorization_request(self, request):
        scopes, credentials = super().validate_authorization_request(request)
        try:
            resources = selectors.resources_resolve(uris=request.GET.getlist("resource"))
        except selectors.UnknownResource as exc:
            error = CustomOAuth2Error(error="invalid_target", description=str(exc))
            raise self._redirect_error(error, credentials) from exc
        # A resource's own scopes, and the AS's `offline_access`, which goes with any resource (it asks for a
        # refresh token, not for anything at the server).
        offered = {scope for resource in resources for scope in resource.scopes} | set(AS_SCOPES)
        if not set(scopes) <= offered:
            raise self._redirect_error(
                InvalidScopeError(description=f"the requested resource accepts only: {' '.join(sorted(offered))}"),
                credentials,
            )
        # From here on DOT reads `resource` from the query: give it the canonical URIs, the default included,
        # so the consent page, the hidden form field and the grant all name the same registered resource.
        query = request.GET.copy()
        query.setlist("resource", [resource.uri for resource in resources])
        request.GET = query
        self.resources = resources
        self.remembered = selectors.consent_remembered(
            user=request.user, client_id=credentials["client_id"], resources=resources, scopes=scopes
        ) and not self._consent_prompt_forced(request, scopes)
        self.approval = (scopes, credentials)
        return scopes, credentials

    @staticmethod
    def _consent_prompt_forced(request, scopes) -> bool:
        """`prompt=consent` (OpenID Connect Core §3.1.2.1) shows the page again, even over a remembered decision,
        except when it comes with `offline_access` the person already approved and asked to remember.

        The MCP SDK sends prompt=consent with every request that includes offline_access, and it includes that in
        every request once the AS lists it (its reading of OpenID Connect Core §11). Honouring it there would make
        "Remember this decision" useless for every such client. Core §11 itself allows skipping the prompt when
        "other conditions for processing the request permitting offline access" are in place: a remembered
        approval that names offline_access is one. A client sending prompt=consent for other reasons (no
        offline_access) gets the page.
        """
        prompt = set(request.GET.get("prompt", "").split())
        return "consent" in prompt and OFFLINE_ACCESS not in scopes

    def _redirect_error(self, error, credentials):
        error.state = credentials.get("state")
        return OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])

    def get(self, request, *args, **kwargs):
        # `approval_prompt=auto` would let the client skip consent on the strength of any earlier token,
        # whatever resource it was for: the client does not get to decide that.
        if "approval_prompt" in request.GET:
            query = request.GET.copy()
            del query["approval_prompt"]
            request.GET = query
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = kwargs.get("application")
        if application is not None:
            resources = getattr(self, "resources", [])
            words = scope_words(resources)
            # Incremental consent: what the person already approved for this client and server, so the page can
            # say so and mark what is new (a client that steps up from `mcp` to `mcp notes:write`).
            approved = selectors.consent_approved_scopes(
                user=self.request.user, client_id=application.client_id, resources=resources
            )
            context["resources"] = resources
            context["scope_items"] = [
                {"name": scope, "words": words.get(scope, scope), "new": bool(approved) and scope not in approved}
                for scope in kwargs.get("scopes", [])
            ]
            context["already_approved"] = [
                {"name": scope, "words": words.get(scope, scope)} for scope in sorted(approved)
            ]
            context["new_scopes"] = [item["name"] for item in context["scope_items"] if item["new"]]
            context["redirect_host"] = urlsplit(kwargs.get("redirect_uri") or "").netloc
            context.update(client_provenance(application))
        return context

    def render_to_response(self, context, **response_kwargs):
        if "error" in context:  # DOT's error page: say so when it is a client metadata document that failed
            client_id = self.request.GET.get("client_id", "")
            context = {**context, "cimd_client_host": cimd.client_host(client_id), "cimd_client_id": client_id}
        elif getattr(self, "remembered", False) and self.request.method == "GET":
            return self._approve_remembered(context["application"])
        return super().render_to_response(context, **response_kwargs)

    def _approve_remembered(self, application):
        """The person asked to remember this exact approval (same client, resource, no wider scopes): skip the
        page, as DOT's own skip path does, and log it as a consent."""
        scopes, credentials = self.approval
        try:
            uri, _, _, _ = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        for resource in self.resources:
            audit.record(
                audit.Kind.CONSENT_GRANTED,
                client_id=application.client_id,
                resource=resource.uri,
                scope=" ".join(scopes),
                remembered=True,
                prompt=False,
            )
        return self.redirect(uri, application)

    def form_valid(self, form):
        # One transaction for the code DOT writes and the consent and audit event written here: one commit instead of
        # several, and never a code without its consent record.
        with transaction.atomic():
            return self._consent_given(form)

    def _consent_given(self, form):
        response = super().form_valid(form)
        application = get_application_model().objects.get(client_id=form.cleaned_data["client_id"])
        try:
            resources = selectors.resources_resolve(uris=(form.cleaned_data.get("resource") or "").split())
        except selectors.UnknownResource:  # a tampered form: DOT's answer above was already an error redirect
            return response
        issued_code = "code" in parse_qs(urlsplit(response.get("Location", "")).query)
        if form.cleaned_data.get("allow") and issued_code:
            services.consent_record(
                user=self.request.user,
                application=application,
                resources=resources,
                scopes=form.cleaned_data.get("scope", "").split(),
                remembered=bool(self.request.POST.get("remember")),
            )
        elif not form.cleaned_data.get("allow"):
            for resource in resources:
                audit.record(audit.Kind.CONSENT_DENIED, client_id=application.client_id, resource=resource.uri)
        return response

    def redirect(self, redirect_to, application):
        # RFC 9207 §2: `iss` on every authorization response, errors included (DOT adds it to successes only).
        issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        return super().redirect(_add_iss_to_redirect(redirect_to, issuer), application)


def client_provenance(application) -> dict:
    """How the client came to be known, and whether anyone vouches for it (people judge the client by this)."""
    source = application.registration_source
    if source == "cimd":
        host = cimd.client_host(application.client_id)
        return {"provenance": "cimd", "client_host": host, "client_verified": cimd.host_is_trusted(host)}
    if source == "dcr":
        return {"provenance": "dcr", "client_host": None, "client_verified": False}
    return {"provenance": "staff", "client_host": None, "client_verified": True}
