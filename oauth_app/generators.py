"""Access and refresh token values (DOT's ACCESS_TOKEN_GENERATOR and REFRESH_TOKEN_GENERATOR plug points)."""

import secrets


def token_generator(request, refresh_token=False) -> str:
    """256 random bits from the OS, base64url-encoded (43 characters, within RFC 6750's b64token syntax).

    oauthlib's default draws each of its 30 characters with a separate SystemRandom.choice(): 178 bits, two OS calls
    per character, some 60 per code exchange and a twentieth of its CPU. One `secrets.token_urlsafe` call gives
    more entropy (RFC 9700 §4.14: tokens must not be guessable) from one OS call. At rest there is only the
    SHA-256 checksum, whatever the length.
    """
    return secrets.token_urlsafe(32)
