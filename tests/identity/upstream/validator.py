from oauth2_provider.oauth2_validators import OAuth2Validator

UNVERIFIED_GROUP = "unverified-email"


class ClaimsValidator(OAuth2Validator):
    """Standard claims from the provider's users; members of UNVERIFIED_GROUP have `email_verified: false`."""

    def get_additional_claims(self, request):
        user = request.user
        return {
            "preferred_username": user.username,
            "name": user.get_full_name() or user.username,
            "email": user.email,
            "email_verified": not user.groups.filter(name=UNVERIFIED_GROUP).exists(),
        }
