"""Mark the "no news yet" entries the sweep wrote before ``IncidentUpdate.no_news`` existed.

Until then the letters recognised them by their wording: no author, and the text the sweep writes
(care.operations.sweeps.NO_NEWS_TEXT) starting with "No news yet:". Marking exactly those keeps every
existing database rendering its update letters as before. The prefix is written out here, not imported:
a migration must keep meaning what it meant when it was written.
"""

from typing import Any

from django.db import migrations

NO_NEWS_PREFIX = "No news yet:"


def mark_no_news(apps: Any, schema_editor: Any) -> None:
    IncidentUpdate = apps.get_model("incidents", "IncidentUpdate")
    candidates = IncidentUpdate.objects.filter(author__isnull=True, text__startswith=NO_NEWS_PREFIX)
    # SQLite's LIKE ignores case; the letters compared with str.startswith, which does not.
    ids = [pk for pk, text in candidates.values_list("pk", "text").iterator() if text.startswith(NO_NEWS_PREFIX)]
    for start in range(0, len(ids), 1000):
        IncidentUpdate.objects.filter(pk__in=ids[start : start + 1000]).update(no_news=True)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_incidentupdate_no_news"),
    ]

    operations = [
        # Going back leaves the marks alone: they are true of the entries either way, and reverting 0007
        # drops the column with them. Unmarking by the old rule would also unmark the sweep's later entries.
        migrations.RunPython(mark_no_news, migrations.RunPython.noop, elidable=True),
    ]
