"""German: the coordinators' paragraphs for the blizzard, addressed to the customer as Sie."""

from __future__ import annotations

import datetime as dt

from incidents.demo_data import Flight, local_time
from incidents.demo_data.story import FRIDAY, SATURDAY, StationFacts

WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip
AIRPORTS = {"EWR": "Flughafen Newark", "JFK": "Flughafen Kennedy", "LGA": "Flughafen LaGuardia"}


def _date(day: dt.date, *, year: bool = True) -> str:
    """Freitag, dem 8. Februar 2013 (after "am" or "vom")"""
    text = f"{WEEKDAYS[day.weekday()]}, dem {day.day}. {MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def _clock(flight: Flight) -> str:
    """15:23 Uhr EST, 9:01 Uhr EST"""
    time = local_time(flight.departure or 0)
    return f"{time.hour}:{time.minute:02d} Uhr {flight.departure_zone}"


def _counts(facts: StationFacts) -> str:
    return (
        f"Von den {facts.scheduled} Abflügen, die an diesem Tag ab {facts.name} geplant waren, wurden "
        f"{facts.cancelled} annulliert, weitere {facts.delayed_or_diverted} hatten eine Stunde oder mehr Verspätung "
        "oder wurden umgeleitet."
    )


def explanation(facts: StationFacts) -> str:
    airport = AIRPORTS[facts.code]
    if facts.date == FRIDAY:
        return (
            f"Ein Schneesturm, den die Presse Nemo nannte, brachte am {_date(FRIDAY)}, starken Schneefall und "
            "heftigen Wind in den Großraum New York, und der Flugbetrieb wurde für den Rest des Tages eingestellt. "
            f"Der letzte Flug hob um {_clock(facts.last_departure)} vom {airport} ab. {_counts(facts)}"
        )
    return (
        f"Nemo, wie die Presse den Schneesturm vom {_date(FRIDAY)}, nannte, hinterließ große Schneemengen auf den "
        "New Yorker Flughäfen, und der Flugbetrieb ruhte über Nacht. Der erste Flug am "
        f"{_date(facts.date, year=False)}, hob um {_clock(facts.first_departure)} vom {airport} ab. "
        f"{_counts(facts)}"
    )


APOLOGIES = {
    ("EWR", FRIDAY): (
        "Es tut uns aufrichtig leid. Am Freitag, dem 8. Februar, haben Sie sich darauf verlassen, dass wir Sie von "
        "Newark aus auf den Weg bringen, und Ihre Reise verlief nicht so, wie Sie sie geplant hatten. Den Blizzard "
        "konnte niemand beeinflussen, aber die Stunden, die Sie am Gate oder in der Telefonwarteschleife verbracht "
        "haben, ohne zu wissen, was mit Ihrem Flug geschehen würde, hätten wir Ihnen ersparen müssen, und das ist "
        "uns nicht gut genug gelungen. Danke für Ihre Geduld mit unserem Team in Newark, das während des ganzen "
        "Sturms für Sie da war."
    ),
    ("JFK", FRIDAY): (
        "Es tut uns leid, dass Ihr Freitag am Flughafen Kennedy nicht so endete, wie Sie es geplant hatten. "
        "Vielleicht waren Sie auf dem Heimweg, auf dem Weg zu Ihrer Familie oder zu einer Arbeit, die nicht warten "
        "konnte, und der Sturm hat Ihnen diesen Abend genommen. Den Schnee können wir nicht aufhalten, aber wir "
        "hätten Ihnen früher sagen müssen, was mit Ihrem Flug geschah, und das haben wir nicht getan. Bitte nehmen "
        "Sie unsere aufrichtige Entschuldigung an."
    ),
    ("LGA", FRIDAY): (
        "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, in LaGuardia. Bis in den Nachmittag "
        "hinein starteten noch Flüge, dann keine mehr, und was das für Ihren Flug bedeutete, hätte Sie früher und "
        "klarer erreichen müssen. Das Wetter lag nicht in unserer Hand; wie schnell und klar wir Sie informiert "
        "haben, schon. Es tut uns leid um den Abend, den Sie dadurch verloren haben, und um die Ungewissheit, die "
        "damit einherging."
    ),
    ("EWR", SATURDAY): (
        "Es tut uns leid, dass Ihnen der Samstag in Newark weitere Enttäuschungen gebracht hat. Nach dem Sturm vom "
        "Freitag konnte bis zum Nachmittag kein Flug Newark verlassen, und wir wissen, was ein zweiter Tag des "
        "Wartens auf uns bedeutet. Wir verstehen es, wenn Ihnen die Geduld ausgegangen ist. Wir sind Ihnen dankbar "
        "für die Geduld, die Sie aufgebracht haben, und es tut uns leid, dass wir so viel davon gebraucht haben."
    ),
    ("JFK", SATURDAY): (
        "Der Samstag am Flughafen Kennedy, während dort der Schnee des Blizzards geräumt wurde, hätte für Sie der "
        "Tag sein sollen, an dem alles wieder normal läuft, und er war es nicht. Es tut uns leid um den verlorenen "
        "Tag, um die Warteschlangen an den Umbuchungsschaltern und um jede Information, der Sie hinterherlaufen "
        "mussten, statt sie von uns zu bekommen."
    ),
    ("LGA", SATURDAY): (
        "Wir bitten um Entschuldigung für Samstag, den 9. Februar, in LaGuardia, wo der Flugbetrieb gestört war, "
        "während sich der Flughafen vom Blizzard erholte. Ein zweiter gestörter Tag nach dem Sturm vom Freitag "
        "bedeutet ein verlorenes Wochenende, eine verpasste Veranstaltung oder weniger Zeit mit den Menschen, die "
        "Ihnen wichtig sind, und das tut uns leid."
    ),
}

# Per impact (incidents.variants), as the English in incidents/demo_data/apology_variants.py.
APOLOGY_VARIANTS = {
    ("EWR", FRIDAY): {
        "overnight_stay": (
            "Es tut uns aufrichtig leid, dass der Freitag, der 8. Februar, Sie eine Nacht fern von zu Hause gekostet "
            "hat. Als der Blizzard die Abflüge in Newark stoppte, mussten Sie sich eine Unterkunft suchen, statt an "
            "Ihr Ziel zu kommen, und die Stunden am Gate oder in der Telefonwarteschleife, bevor Sie wussten, was das "
            "für Sie bedeutete, hätten wir Ihnen ersparen müssen. Das ist uns nicht gut genug gelungen, und wir "
            "danken Ihnen für Ihre Geduld mit unserem Team in Newark."
        ),
        "cancelled": (
            "Es tut uns aufrichtig leid, dass Ihr Flug ab Newark am Freitag, dem 8. Februar, annulliert wurde. Sie "
            "haben sich darauf verlassen, dass wir Sie an Ihr Ziel bringen, und das konnten wir nicht. Den Blizzard "
            "konnte niemand beeinflussen, aber die Stunden am Gate oder in der Telefonwarteschleife, bevor Sie "
            "wussten, was das für Sie bedeutete, hätten wir Ihnen ersparen müssen, und das ist uns nicht gut genug "
            "gelungen. Danke für Ihre Geduld mit unserem Team in Newark, das während des ganzen Sturms nach einem "
            "anderen Weg für Sie gesucht hat."
        ),
        "diverted": (
            "Es tut uns aufrichtig leid, dass Ihr Flug ab Newark am Freitag, dem 8. Februar, auf einem anderen "
            "Flughafen landen musste. Der Blizzard ließ der Besatzung keine andere sichere Wahl, aber Sie haben den "
            "Tag an einem Ort beendet, an dem Sie nicht sein wollten, und Sie hätten sofort von uns hören müssen, wie "
            "und wann wir Sie an Ihr Ziel bringen. Danke für Ihre Geduld mit unserem Team in Newark."
        ),
        "missed_connection": (
            "Es tut uns aufrichtig leid, dass Ihr Flug ab Newark am Freitag, dem 8. Februar, verspätet startete und "
            "Sie Ihren Anschlussflug verpasst haben. Ein verspäteter Abflug ist eine Sache; den Anschluss zu "
            "verlieren, der Sie den Rest des Weges bringen sollte, ist eine andere, und das tut uns am meisten leid. "
            "Für den Blizzard konnte niemand etwas, aber Sie sofort auf einen neuen Anschluss umzubuchen, war unsere "
            "Aufgabe, und das hätten wir früher tun müssen."
        ),
        "delayed": (
            "Es tut uns aufrichtig leid, dass Ihr Flug ab Newark am Freitag, dem 8. Februar, verspätet startete. Sie "
            "haben sich darauf verlassen, dass wir die Zeit auf Ihrem Ticket einhalten, und der Blizzard hat das "
            "unmöglich gemacht. Was wir hätten besser machen können: Ihnen früher und klarer sagen, was der Sturm für "
            "Ihren Flug bedeutete, damit die Wartezeit am Gate Sie nicht überraschte. Danke für Ihre Geduld mit "
            "unserem Team in Newark."
        ),
    },
    ("JFK", FRIDAY): {
        "overnight_stay": (
            "Es tut uns leid, dass Ihr Freitag am Flughafen Kennedy mit einer ungeplanten Nacht fern von zu Hause "
            "endete. Ob Sie auf dem Heimweg waren, auf dem Weg zu Ihrer Familie oder zu einer Arbeit, die nicht "
            "warten konnte: Der Sturm hat Ihnen diesen Abend und diese Nacht genommen. Den Schnee können wir nicht "
            "aufhalten, aber wir hätten Ihnen früher sagen müssen, was mit Ihrem Flug geschah, und ein Zimmer für Sie "
            "bereithalten müssen, ohne dass Sie danach fragen. Bitte nehmen Sie unsere aufrichtige Entschuldigung an."
        ),
        "cancelled": (
            "Es tut uns leid, dass Ihr Flug ab dem Flughafen Kennedy am Freitag, dem 8. Februar, annulliert wurde. Ob "
            "Sie auf dem Heimweg waren, auf dem Weg zu Ihrer Familie oder zu einer Arbeit, die nicht warten konnte: "
            "Der Sturm hat Ihnen diesen Abend genommen. Den Schnee können wir nicht aufhalten, aber wir hätten Ihnen "
            "früher sagen müssen, dass Ihr Flug nicht gehen würde, und das haben wir nicht getan. Bitte nehmen Sie "
            "unsere aufrichtige Entschuldigung an."
        ),
        "missed_connection": (
            "Es tut uns leid, dass Ihr Flug ab dem Flughafen Kennedy am Freitag, dem 8. Februar, verspätet startete "
            "und Sie Ihren Anschluss verpasst haben. Ob Sie auf dem Heimweg waren, auf dem Weg zu Ihrer Familie oder "
            "zu einer Arbeit, die nicht warten konnte: Der verspätete Abflug hat die Reise unterbrochen, die Sie "
            "geplant hatten. Den Schnee können wir nicht aufhalten, aber wir hätten Ihnen früher sagen müssen, wie "
            "spät Ihr Flug sein würde, und Ihnen zu einem neuen Anschluss verhelfen müssen, bevor Sie fragen mussten. "
            "Bitte nehmen Sie unsere aufrichtige Entschuldigung an."
        ),
        "delayed": (
            "Es tut uns leid, dass Ihr Flug ab dem Flughafen Kennedy am Freitag, dem 8. Februar, verspätet startete. "
            "Ob Sie auf dem Heimweg waren, auf dem Weg zu Ihrer Familie oder zu einer Arbeit, die nicht warten "
            "konnte: Sie sind später angekommen, als Sie es zu Recht erwarten durften. Den Schnee können wir nicht "
            "aufhalten, aber wir hätten Ihnen früher sagen müssen, wie spät Ihr Flug sein würde, und das haben wir "
            "nicht getan. Bitte nehmen Sie unsere aufrichtige Entschuldigung an."
        ),
    },
    ("LGA", FRIDAY): {
        "overnight_stay": (
            "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, in LaGuardia, und für die Nacht fern "
            "von zu Hause, die er Sie gekostet hat. Bis in den Nachmittag hinein starteten noch Flüge, dann keine "
            "mehr, und Sie hätten von uns erfahren müssen, was das für Sie bedeutete und wo Sie übernachten konnten, "
            "lange bevor Sie danach fragen mussten. Das Wetter lag nicht in unserer Hand; wie schnell und klar wir "
            "Sie informiert haben, schon. Es tut uns leid um den Abend und die Nacht, die er Ihnen genommen hat."
        ),
        "cancelled": (
            "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, in LaGuardia. Bis in den Nachmittag "
            "hinein starteten noch Flüge, dann keine mehr, und Sie hätten von uns erfahren müssen, dass Ihr Flug "
            "annulliert war, lange bevor Sie am Gate ankamen. Das Wetter lag nicht in unserer Hand; wie schnell und "
            "klar wir Sie informiert haben, schon. Es tut uns leid um den Abend, den Sie dadurch verloren haben, und "
            "um die Ungewissheit, die damit einherging."
        ),
        "diverted": (
            "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, in LaGuardia, wo Ihr Flug mitten im "
            "Sturm startete und dann auf einem anderen Flughafen landen musste. Das Wetter ließ der Besatzung keine "
            "andere sichere Wahl, aber Sie hätten sofort von uns hören müssen, wie wir Sie an Ihr Ziel bringen. Wie "
            "schnell und klar wir Sie informiert haben, lag in unserer Hand, und es tut uns leid um die Ungewissheit, "
            "in der wir Sie gelassen haben."
        ),
        "missed_connection": (
            "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, in LaGuardia, wo Ihr Flug verspätet "
            "startete und Sie Ihren Anschluss verpasst haben. Sie hätten von uns erfahren müssen, wie groß die "
            "Verspätung sein würde, solange Sie Ihre Pläne noch ändern konnten, und einen neuen Anschluss vorfinden "
            "müssen, der auf Sie wartete. Das Wetter lag nicht in unserer Hand; wie schnell und klar wir Sie "
            "informiert haben, schon. Es tut uns leid um die Reise, die dadurch unterbrochen wurde."
        ),
        "delayed": (
            "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, in LaGuardia, wo Ihr Flug verspätet "
            "startete, während der Sturm heranzog. Sie hätten von uns erfahren müssen, wie groß die Verspätung sein "
            "würde, bevor Sie am Gate ankamen, nicht erst dort. Das Wetter lag nicht in unserer Hand; wie schnell und "
            "klar wir Sie informiert haben, schon. Es tut uns leid um das Warten, das Sie das gekostet hat, und um die "
            "Ungewissheit, die damit einherging."
        ),
    },
    ("EWR", SATURDAY): {
        "overnight_stay": (
            "Es tut uns leid, dass Ihr Samstag, der 9. Februar, in Newark mit einer ungeplanten Nacht fern von zu "
            "Hause endete. Nach dem Sturm vom Freitag konnte bis zum Nachmittag kein Flug Newark verlassen, und am "
            "Abend hätten Sie sich nicht fragen müssen, wo Sie schlafen würden. Wir verstehen es, wenn Ihnen die "
            "Geduld ausgegangen ist. Wir sind Ihnen dankbar für die Geduld, die Sie aufgebracht haben, und es tut uns "
            "leid, dass wir so viel davon gebraucht haben."
        ),
        "cancelled": (
            "Es tut uns leid, dass Ihr Flug ab Newark am Samstag, dem 9. Februar, annulliert wurde. Nach dem Sturm "
            "vom Freitag konnte bis zum Nachmittag kein Flug Newark verlassen, und eine Annullierung an dem Tag, an "
            "dem alles wieder normal laufen sollte, ist schwer hinzunehmen, erst recht, wenn wir Sie schon einmal "
            "umgebucht hatten. Wir verstehen es, wenn Ihnen die Geduld ausgegangen ist. Wir sind Ihnen dankbar für "
            "die Geduld, die Sie aufgebracht haben, und es tut uns leid, dass wir so viel davon gebraucht haben."
        ),
        "missed_connection": (
            "Es tut uns leid, dass Ihr Flug ab Newark am Samstag, dem 9. Februar, verspätet startete und Sie Ihren "
            "Anschluss verpasst haben. Nach dem Sturm vom Freitag konnte bis zum Nachmittag kein Flug Newark "
            "verlassen, und ein verspäteter Abflug an dem Tag, an dem alles wieder normal laufen sollte, hat Sie den "
            "Rest Ihrer Reise gekostet, so wie Sie ihn geplant hatten. Wir danken Ihnen für Ihre Geduld, und es tut "
            "uns leid, dass wir so viel davon gebraucht haben."
        ),
        "delayed": (
            "Es tut uns leid, dass Ihr Flug ab Newark am Samstag, dem 9. Februar, verspätet startete. Nach dem Sturm "
            "vom Freitag konnte bis zum Nachmittag kein Flug Newark verlassen, und die Flüge, die starten konnten, "
            "gingen später als geplant, während der Flughafen den Rückstand aufholte. Wir danken Ihnen für Ihre "
            "Geduld, und es tut uns leid, dass wir so viel davon gebraucht haben."
        ),
    },
    ("JFK", SATURDAY): {
        "overnight_stay": (
            "Der Samstag am Flughafen Kennedy hätte für Sie der Tag sein sollen, an dem alles wieder normal läuft; "
            "stattdessen endete er mit einer ungeplanten Nacht fern von zu Hause. Es tut uns leid um den verlorenen "
            "Tag und die Nacht, um die Warteschlangen an den Umbuchungsschaltern und um jede Information, der Sie "
            "hinterherlaufen mussten, statt sie von uns zu bekommen."
        ),
        "cancelled": (
            "Der Samstag am Flughafen Kennedy hätte für Sie der Tag sein sollen, an dem alles wieder normal läuft; "
            "stattdessen wurde Ihr Flug annulliert, während der Schnee des Blizzards geräumt wurde. Es tut uns leid "
            "um den verlorenen Tag, um die Warteschlangen an den Umbuchungsschaltern und um jede Information, der Sie "
            "hinterherlaufen mussten, statt sie von uns zu bekommen."
        ),
        "missed_connection": (
            "Der Samstag am Flughafen Kennedy hätte für Sie der Tag sein sollen, an dem alles wieder normal läuft; "
            "stattdessen startete Ihr Flug verspätet, und Sie haben Ihren Anschluss verpasst, während der Schnee des "
            "Blizzards geräumt wurde. Es tut uns leid um die unterbrochene Reise, um die Warteschlangen an den "
            "Transferschaltern und um jede Information, der Sie hinterherlaufen mussten, statt sie von uns zu "
            "bekommen."
        ),
        "delayed": (
            "Der Samstag am Flughafen Kennedy hätte für Sie der Tag sein sollen, an dem alles wieder normal läuft; "
            "stattdessen startete Ihr Flug verspätet, während der Schnee des Blizzards geräumt wurde. Es tut uns leid "
            "um die Zeit, die Sie das gekostet hat, um das Warten am Gate und um jede Information, der Sie "
            "hinterherlaufen mussten, statt sie von uns zu bekommen."
        ),
    },
    ("LGA", SATURDAY): {
        "overnight_stay": (
            "Wir bitten um Entschuldigung für Samstag, den 9. Februar, in LaGuardia, und für die Nacht fern von zu "
            "Hause, die er Sie gekostet hat, während sich der Flughafen vom Blizzard erholte. Eine ungeplante Nacht am "
            "Tag nach dem Sturm bedeutet ein verlorenes Wochenende, eine verpasste Veranstaltung oder weniger Zeit mit "
            "den Menschen, die Ihnen wichtig sind, und das tut uns leid."
        ),
        "cancelled": (
            "Wir bitten um Entschuldigung für Samstag, den 9. Februar, in LaGuardia, wo Ihr Flug annulliert wurde, "
            "während sich der Flughafen vom Blizzard erholte. Ein annullierter Flug am Tag nach dem Sturm bedeutet "
            "ein verlorenes Wochenende, eine verpasste Veranstaltung oder weniger Zeit mit den Menschen, die Ihnen "
            "wichtig sind, und das tut uns leid."
        ),
        "missed_connection": (
            "Wir bitten um Entschuldigung für Samstag, den 9. Februar, in LaGuardia, wo Ihr Flug verspätet startete "
            "und Sie Ihren Anschluss verpasst haben, während sich der Flughafen vom Blizzard erholte. Eine "
            "unterbrochene Reise am Tag nach dem Sturm bedeutet ein verlorenes Wochenende, eine verpasste "
            "Veranstaltung oder weniger Zeit mit den Menschen, die Ihnen wichtig sind, und das tut uns leid."
        ),
        "delayed": (
            "Wir bitten um Entschuldigung für Samstag, den 9. Februar, in LaGuardia, wo Ihr Flug verspätet startete, "
            "während sich der Flughafen vom Blizzard erholte. Verlorene Zeit am Tag nach dem Sturm ist Zeit, die "
            "Ihrem Wochenende und den Menschen fehlt, die Ihnen wichtig sind, und das tut uns leid."
        ),
    },
}

PREVENTION = {
    ("EWR", FRIDAY): (
        "Für den Schneesturm am Freitag konnten wir nichts, wohl aber dafür, dass Sie in Newark ohne Informationen "
        "warten mussten, und das können wir ändern. Wenn eine Wettervorhersage die Abendabflüge ab Newark "
        "undurchführbar macht, entscheiden wir jetzt bis zum späten Vormittag statt erst am Gate und informieren "
        "Sie sofort per E-Mail und SMS. Fluggäste annullierter Flüge buchen wir um, bevor sie danach fragen "
        "müssen, und Hotelzimmer in der Nähe von Newark werden im Voraus reserviert, damit ein Gutschein auf Sie "
        "wartet und keine Warteschlange."
    ),
    ("JFK", FRIDAY): (
        "Nach dem Freitag am Flughafen Kennedy haben wir geändert, wie wir mit Sturmtagen umgehen. Annullierungen "
        "werden jetzt entschieden und bekannt gegeben, sobald sie nach Wettervorhersage und Planung des Flughafens "
        "feststehen, und nicht mehr Flug für Flug im Laufe des Nachmittags. Wer auf einem annullierten Flug "
        "gebucht ist, erhält automatisch eine neue Buchung und kann sich trotzdem frei für eine andere entscheiden, "
        "und Hotelzimmer werden im Voraus organisiert, damit niemand mit einem späten Flug nachts nach einem "
        "Zimmer suchen muss."
    ),
    ("LGA", FRIDAY): (
        "Am Freitag verging am Flughafen LaGuardia zu viel Zeit zwischen der Entscheidung über eine Annullierung "
        "und dem Moment, in dem die Kunden davon erfuhren. Wir verschicken die Benachrichtigung jetzt, sobald die "
        "Entscheidung gefallen ist, noch bevor sich die Anzeigen am Gate ändern, und in jeder Nachricht steht, um "
        "wie viel Uhr wir uns wieder melden. Umgebucht wird, bevor Sie fragen, und Hotelgutscheine für "
        "Abendabflüge werden im Voraus organisiert."
    ),
    ("EWR", SATURDAY): (
        "Einige Kunden, die wir von ihren Freitagsflügen auf Samstagmorgen ab Newark umgebucht hatten, bekamen "
        "Flüge, die kaum eine Chance hatten, stattzufinden. Nach einem Sturm buchen wir jetzt auf "
        "Abflüge um, die nach der erwarteten Wiederaufnahme des Flugbetriebs liegen, und wenn es bei einem Flug "
        "erneut zu Störungen kommt, melden wir uns zuerst bei den Kunden, die schon einmal umgebucht wurden, damit "
        "niemand zweimal im Stich gelassen wird, ohne vorher von uns gehört zu haben."
    ),
    ("JFK", SATURDAY): (
        "Am Samstag, während sich der Flughafen Kennedy vom Sturm erholte, mussten Kunden selbst bei uns nachhaken, "
        "um Neuigkeiten zu erfahren. Jetzt legen wir am Morgen nach einem Sturm einen Wiederanlaufplan für "
        "Kennedy fest, prüfen jeden frühen Abflug daran und annullieren diejenigen, die nicht stattfinden können, "
        "noch bevor die Kunden von zu Hause aufbrechen. Angebote zur Umbuchung und zur Verlängerung des "
        "Hotelaufenthalts werden verschickt, ohne dass jemand danach fragen muss, und in jeder Nachricht steht, um "
        "wie viel Uhr wir uns wieder melden."
    ),
    ("LGA", SATURDAY): (
        "Während sich LaGuardia am Samstag erholte, warteten Kunden mit Vormittagsflügen am Flughafen auf "
        "Maschinen, die nicht starten konnten. Wenn unklar ist, wann der Betrieb wieder anläuft, annullieren wir "
        "Vormittagsabflüge jetzt bereits am Vorabend, buchen Sie auf den ersten realistischen Flug um, bevor Sie "
        "danach fragen, und verlängern die Hotelgutscheine vom Freitag automatisch für Kunden, deren Flug am "
        "Samstag betroffen ist."
    ),
}


# The customer updates of the timeline (incidents.demo_data.story), without their promise, which the loader adds
# in ``PROMISE`` with the time the update promises: on Friday the morning and evening ones, on Saturday the
# morning one and the restart.
PROMISE = "Unsere nächste Information erhalten Sie bis {time}."


def customer_updates(facts: StationFacts) -> tuple[str, str]:
    airport = AIRPORTS[facts.code]
    if facts.date == FRIDAY:
        return (
            (
                "Für heute wird in New York ein Schneesturm mit starkem Schneefall und heftigem Wind erwartet. Abflüge "
                f"vom {airport} am Nachmittag und am Abend können annulliert werden. Sie können kostenlos auf einen "
                "späteren Flug umbuchen; bitte prüfen Sie den Status Ihres Fluges, bevor Sie zum Flughafen aufbrechen."
            ),
            (
                f"Alle heute noch ausstehenden Abflüge vom {airport} sind wegen des Schneesturms annulliert. "
                "Wir buchen alle Fluggäste dieser Flüge um; wer noch keine neue Buchung hat, erhält sie bis Samstag, "
                "7:00 Uhr EST. Wer heute Abend nicht nach Hause kommt, erhält am Serviceschalter im "
                f"{airport} einen Hotelgutschein."
            ),
        )
    return (
        (
            f"Am {airport} wird heute Morgen noch der Schnee des Schneesturms geräumt, und Abflüge vor Mittag werden "
            "voraussichtlich annulliert. Ist Ihr Flug betroffen, sagen wir es Ihnen, bevor Sie zum Flughafen "
            "aufbrechen, und buchen Sie um."
        ),
        (
            f"Der erste Flug vom {airport} seit Freitag ist um {_clock(facts.first_departure)} gestartet. Der "
            "Flugbetrieb läuft schrittweise wieder an, und einige spätere Flüge haben heute noch Verspätung. Wurde Ihr "
            "Flug annulliert, haben Sie bereits eine neue Buchung: Bitte sehen Sie in Ihren E-Mails oder SMS nach."
        ),
    )
