import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_roles_exist_with_their_permissions() -> None:
    reps = Group.objects.get(name="Frontline reps")
    coordinators = Group.objects.get(name="Coordinators")
    rep_perms = set(reps.permissions.values_list("codename", flat=True))
    assert "view_incident" in rep_perms
    # Reps only read, except that they record their conversations with customers (contact notes).
    assert not any(code.startswith(("add_", "change_", "delete_")) for code in rep_perms - {"add_contactnote"})
    assert "add_contactnote" in rep_perms
    assert {"approve_letter", "transition_incident", "void_voucher"} <= set(
        coordinators.permissions.values_list("codename", flat=True)
    )
