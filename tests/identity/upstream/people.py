"""The test provider's people (its own users, not the AS's)."""

PASSWORD = "upstream-password-1"  # noqa: S105
# username: (email, verified)
PEOPLE = {
    "carol": ("carol@corp.example", True),
    "dave": ("dave@other.example", True),
    "erin": ("erin@corp.example", False),
    "frank": ("frank@corp.example", True),
    "alice": ("alice@corp.example", True),
    "mallory": ("alice@corp.example", False),
}
