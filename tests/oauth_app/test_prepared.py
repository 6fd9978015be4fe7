"""oauth_app/prepared.py's insert(): the row Model.save() would write, in one INSERT compiled once per model."""

import uuid

import pytest
from django.db import connection
from django.db.models import Value, signals
from django.db.models.functions import Upper
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from oauth_app import prepared
from oauth_app.models import AuditEvent, RedeemedAuthorizationCode

pytestmark = pytest.mark.django_db


def event(user, **overrides) -> AuditEvent:
    fields = {
        "kind": AuditEvent.Kind.TOKEN_ISSUED,
        "actor": user,
        "actor_name": "alice",
        "client_id": "a-client",
        "resource": "https://mcp.example/mcp",
        "ip": "2001:db8::1",
        "detail": {"scope": "mcp", "nested": {"n": [1, 2]}},
    }
    return AuditEvent(**{**fields, **overrides})


def stored(instance) -> dict:
    row = model_to_dict(type(instance).objects.get(pk=instance.pk))
    row.pop("id")
    return row


def test_insert_writes_the_row_save_writes(user):
    saved, first, second = event(user), event(user), event(user)
    saved.save()

    prepared.insert(first)  # compiles the INSERT, unless an earlier test did
    prepared.insert(second)  # the compiled one

    for inserted in (first, second):
        assert inserted.pk is not None and inserted.pk != saved.pk
        assert not inserted._state.adding and inserted._state.db == "default"
        assert stored(inserted) == stored(saved)
        created = AuditEvent.objects.get(pk=inserted.pk).created
        assert created is not None and created == inserted.created  # auto_now_add, through the field's pre_save


def test_insert_runs_one_statement_and_compiles_it_once(user):
    prepared.insert(event(user))  # compiled here, if no earlier test did

    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            prepared.insert(RedeemedAuthorizationCode(code_checksum=uuid.uuid4().hex, token_family=uuid.uuid4()))

    assert [query["sql"].split(" ", 1)[0] for query in captured] == ["INSERT"] * 3
    assert len({query["sql"].split(" VALUES ", 1)[0] for query in captured}) == 1
    assert RedeemedAuthorizationCode.objects.count() == 3


def test_insert_leaves_to_save_a_model_with_save_receivers(user):
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    signals.post_save.connect(receiver, sender=AuditEvent)
    try:
        instance = event(user)
        prepared.insert(instance)
    finally:
        signals.post_save.disconnect(receiver, sender=AuditEvent)

    assert heard == [(instance.pk, True)]


def test_insert_leaves_an_expression_to_save(user):
    instance = event(user, client_id=Upper(Value("shouted")))

    prepared.insert(instance)

    assert AuditEvent.objects.get(pk=instance.pk).client_id == "SHOUTED"


def test_insert_refuses_an_unsaved_related_object_as_save_does(user):
    from django.contrib.auth import get_user_model

    with pytest.raises(ValueError, match="unsaved related object 'actor'"):
        prepared.insert(event(user, actor=get_user_model()(username="never-saved")))
    assert not AuditEvent.objects.exists()
