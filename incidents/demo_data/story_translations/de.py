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
    """15:23 Uhr, 9:01 Uhr"""
    time = local_time(flight.departure or 0)
    return f"{time.hour}:{time.minute:02d} Uhr"


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
        "Newark aus auf den Weg bringen, und über weite Strecken des Nachmittags und Abends konnten wir das nicht. "
        "Auf den Schneesturm hatte niemand Einfluss. Die Stunden aber, die viele von Ihnen am Gate oder in der "
        "Warteschleife verbracht haben, ohne zu wissen, ob Ihr Flug überhaupt starten würde, hätten wir in Ordnung "
        "bringen müssen, und das ist uns nicht gut genug gelungen. Danke für Ihre Geduld mit unserem Team in "
        "Newark, das den ganzen Sturm über im Einsatz war, um sich um Sie zu kümmern."
    ),
    ("JFK", FRIDAY): (
        "Es tut uns leid, dass Ihr Freitag am Flughafen Kennedy mit einem annullierten oder stark verspäteten Flug "
        "endete. Manche von Ihnen wollten nach Hause, manche zur Familie, manche zu einer Arbeit, die nicht warten "
        "konnte, und der Sturm hat Ihnen diesen Abend genommen. Den Schnee können wir nicht aufhalten, aber wir "
        "hätten Ihnen früher sagen müssen, was mit Ihrem Flug geschieht, und bei vielen von Ihnen haben wir das "
        "nicht getan. Bitte nehmen Sie unsere aufrichtige Entschuldigung an."
    ),
    ("LGA", FRIDAY): (
        "Wir schulden Ihnen eine Entschuldigung für Freitag, den 8. Februar, am Flughafen LaGuardia. Bis in den "
        "Nachmittag hinein starteten noch Flüge, dann war Schluss, und manche von Ihnen haben erst am Gate "
        "erfahren, dass Ihr Flug annulliert war. So sollte es niemand erfahren müssen. Auf das Wetter hatten wir "
        "keinen Einfluss, wohl aber darauf, wie schnell und klar wir Sie informiert haben. Es tut uns leid um den "
        "Abend, den Sie dadurch verloren haben, und um die Ungewissheit, die damit einherging."
    ),
    ("EWR", SATURDAY): (
        "Es tut uns leid, dass der Samstag in Newark weitere Enttäuschungen gebracht hat. Nach dem Sturm vom "
        "Freitag konnte bis zum Nachmittag kein Flug von Newark starten, und für manche von Ihnen war es die zweite "
        "Annullierung innerhalb von zwei Tagen, nachdem wir Sie bereits einmal umgebucht hatten. Zweimal im Stich "
        "gelassen zu werden ist hart, und wir verstehen es, wenn Ihnen die Geduld ausgegangen ist. Wir danken "
        "Ihnen für Ihre Geduld und bedauern, dass wir sie so sehr strapazieren mussten."
    ),
    ("JFK", SATURDAY): (
        "Der Samstag am Flughafen Kennedy hätte der Tag sein sollen, an dem wieder Normalität einkehrt, und für "
        "viele von Ihnen war er das nicht: Ihr Flug wurde annulliert oder startete mit stundenlanger Verspätung, "
        "während sich der Flughafen aus dem Schnee des Sturms freischaufelte. Es tut uns leid um den verlorenen "
        "Tag, um die Schlangen an den Umbuchungsschaltern und um jede Information, der Sie hinterherlaufen "
        "mussten, statt sie von uns zu bekommen."
    ),
    ("LGA", SATURDAY): (
        "Wir bitten um Entschuldigung für Samstag, den 9. Februar, am Flughafen LaGuardia, wo die Abflüge am "
        "Vormittag annulliert wurden, während sich der Flughafen vom Schneesturm erholte. Viele von Ihnen hatten "
        "schon einen langen Freitag hinter sich. Ein zweiter Tag mit Störungen bedeutet verpasste Wochenenden, "
        "verpasste Veranstaltungen und verlorene Zeit mit den Menschen, die Ihnen wichtig sind, und das tut uns "
        "leid."
    ),
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
