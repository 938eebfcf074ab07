"""The few sentences the letter context words itself, in each customer language (en, es, fr, de).

Month and weekday names come from Django's own translations (``date_format`` under
``translation.override``); this table holds only what Django has no word for: how long a delay was,
what happened to a customer's flight, and what a regulation entitles them to. Customers are addressed
formally (usted, vous, Sie). A language missing here falls back to English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Phrases:
    # Django date format strings (month and weekday names are translated by Django).
    date_format: str
    time_format: str
    clock: str  # a time with its zone: "{time} {zone}"
    moment: str  # a date and a clock: "{date} at {clock}"
    # A departure told in the station's time and the customer's: "{local} local time ({time} {zone} your time)".
    two_zones: str
    hour: tuple[str, str]  # singular, plural
    minute: tuple[str, str]
    duration_joiner: str  # between the hours and the minutes
    route: str  # "from {origin} to {destination}"
    # What happened to the customer's flight; keys: cancelled, delayed, diverted, diverted_delayed, disrupted.
    impact: dict[str, str]
    # What else happened to them; keys: missed_connection, overnight_stay, downgraded.
    extras: dict[str, str]
    conjunction: str  # " and "
    # Another incident the customer lived through: "{label} on {date} ({what})".
    also: str
    also_what: dict[str, str]
    # A refund or compensation owed by law: keys "<regulation_code>:<reason>" and "<regulation_code>:how".
    entitlements: dict[str, str]
    team: str
    first_of_month: str = field(default="")  # French writes "1er février"
    # The coordinator's words that have no translation in this language, quoted as written (in English) and
    # introduced as such, so a letter never mixes two languages silently.
    quoted_english: str = field(default="{text}")
    # What got worse for the customer since their last letter (care.correspondence.rendering.sections.impact):
    # keys cancelled, delayed, diverted (what it is now) and before (the delay we told them last).
    changed: dict[str, str] = field(default_factory=dict)


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        date_format="l j F Y",
        time_format="H:i",
        clock="{time} {zone}",
        moment="{date} at {clock}",
        two_zones="{local} local time ({time} {zone} your time)",
        hour=("hour", "hours"),
        minute=("minute", "minutes"),
        duration_joiner=" ",
        route="from {origin} to {destination}",
        impact={
            "cancelled": "Your flight {label} {route} on {date} was cancelled",
            "delayed": "Your flight {label} {route} on {date} was delayed by {delay}",
            "diverted": "Your flight {label} {route} on {date} was diverted to another airport",
            "diverted_delayed": "Your flight {label} {route} on {date} was diverted and delayed by {delay}",
            "disrupted": "Your flight {label} {route} on {date} did not go as planned",
        },
        extras={
            "missed_connection": "you missed your connecting flight",
            "overnight_stay": "you had to spend a night away that you had not planned",
            "downgraded": "you travelled in a lower cabin than the one you had booked",
        },
        conjunction=" and ",
        also="{label} on {date} ({what})",
        also_what={
            "cancelled": "cancelled",
            "delayed": "delayed by {delay}",
            "diverted": "diverted",
            "disrupted": "disrupted",
        },
        entitlements={
            "us_dot_refund:cancellation": (
                "Because your flight {label} was cancelled, you are entitled to a full refund of the unused ticket "
                "if you did not travel or did not accept the new flight we offered."
            ),
            "us_dot_refund:significant_change": (
                "Because your flight {label} was more than {hours} hours late, you are entitled to a full refund of "
                "the unused ticket if you decided not to travel."
            ),
            "us_dot_refund:how": (
                "Under the US Department of Transportation's refund rule it is paid in money, to the card or "
                "account you paid with, not as a voucher. If you have not received it yet, reply to this email "
                "and we will see to it straight away."
            ),
        },
        changed={
            "cancelled": "Your flight {label} has now been cancelled.",
            "delayed": "The delay of your flight {label} has grown to {delay}.",
            "diverted": "Your flight {label} has been diverted to another airport.",
            "before": "When we last wrote to you, we expected a delay of {before}.",
        },
        team="The Customer Care team",
    ),
    "es": Phrases(
        date_format=r"l j \d\e F \d\e Y",
        time_format="H:i",
        clock="{time} ({zone})",
        moment="{date} a las {clock}",
        two_zones="{local}, hora local ({time} {zone} en su zona horaria)",
        hour=("hora", "horas"),
        minute=("minuto", "minutos"),
        duration_joiner=" y ",
        route="de {origin} a {destination}",
        impact={
            "cancelled": "Su vuelo {label} {route} del {date} fue cancelado",
            "delayed": "Su vuelo {label} {route} del {date} sufrió un retraso de {delay}",
            "diverted": "Su vuelo {label} {route} del {date} fue desviado a otro aeropuerto",
            "diverted_delayed": "Su vuelo {label} {route} del {date} fue desviado y llegó con {delay} de retraso",
            "disrupted": "Su vuelo {label} {route} del {date} no salió como estaba previsto",
        },
        extras={
            "missed_connection": "perdió su vuelo de conexión",
            "overnight_stay": "tuvo que pasar fuera una noche que no tenía prevista",
            "downgraded": "viajó en una clase inferior a la que había reservado",
        },
        conjunction=" y ",
        also="{label} del {date} ({what})",
        also_what={
            "cancelled": "cancelado",
            "delayed": "con un retraso de {delay}",
            "diverted": "desviado",
            "disrupted": "con incidencias",
        },
        entitlements={
            "us_dot_refund:cancellation": (
                "Como su vuelo {label} fue cancelado, tiene derecho al reembolso íntegro del billete no utilizado "
                "si no viajó o no aceptó el vuelo alternativo que le ofrecimos."
            ),
            "us_dot_refund:significant_change": (
                "Como su vuelo {label} llegó con más de {hours} horas de retraso, tiene derecho al reembolso íntegro "
                "del billete no utilizado si decidió no viajar."
            ),
            "us_dot_refund:how": (
                "Según la norma de reembolsos del Departamento de Transporte de Estados Unidos, se le abona en "
                "dinero, en la tarjeta o la cuenta con la que pagó, y no en forma de bono. Si todavía no lo ha "
                "recibido, responda a este correo y nos ocuparemos de inmediato."
            ),
            # EU261, UK261 and APPR compensation (English falls back to the entitlement's own text); the
            # regulation's name carries its preposition ("del", "de la") so the sentence reads naturally.
            "compensation:cancellation": (
                "Como su vuelo {label} fue cancelado, tiene derecho a una compensación de {amount} en virtud "
                "{regulation}."
            ),
            "compensation:long_delay": (
                "Como su vuelo {label} llegó con más de tres horas de retraso, tiene derecho a una compensación de "
                "{amount} en virtud {regulation}."
            ),
            "compensation:how": (
                "Se la abonamos en dinero; solo le daremos un bono en su lugar si nos dice que lo prefiere."
            ),
            "name:eu261": "del Reglamento (CE) n.º 261/2004",
            "name:uk261": "de la normativa británica UK261",
            "name:ca_appr": "del Reglamento canadiense de protección de los pasajeros aéreos (APPR)",
        },
        changed={
            "cancelled": "Su vuelo {label} ha sido cancelado.",
            "delayed": "El retraso de su vuelo {label} ha aumentado a {delay}.",
            "diverted": "Su vuelo {label} ha sido desviado a otro aeropuerto.",
            "before": "En nuestra última carta le indicamos un retraso previsto de {before}.",
        },
        team="El equipo de Atención al Cliente",
        quoted_english="Nuestro equipo lo redactó en inglés: «{text}»",
    ),
    "fr": Phrases(
        date_format="l j F Y",
        first_of_month=r"l j\e\r F Y",
        time_format="H:i",
        clock="{time} ({zone})",
        moment="{date} à {clock}",
        two_zones="{local}, heure locale ({time} {zone} chez vous)",
        hour=("heure", "heures"),
        minute=("minute", "minutes"),
        duration_joiner=" et ",
        route="de {origin} à {destination}",
        impact={
            "cancelled": "Votre vol {label} {route} du {date} a été annulé",
            "delayed": "Votre vol {label} {route} du {date} a eu {delay} de retard",
            "diverted": "Votre vol {label} {route} du {date} a été dérouté vers un autre aéroport",
            "diverted_delayed": (
                "Votre vol {label} {route} du {date} a été dérouté et est arrivé avec {delay} de retard"
            ),
            "disrupted": "Votre vol {label} {route} du {date} ne s'est pas déroulé comme prévu",
        },
        extras={
            "missed_connection": "vous avez manqué votre correspondance",
            "overnight_stay": "vous avez dû passer une nuit imprévue loin de chez vous",
            "downgraded": "vous avez voyagé dans une classe inférieure à celle que vous aviez réservée",
        },
        conjunction=" et ",
        also="{label} du {date} ({what})",
        also_what={
            "cancelled": "annulé",
            "delayed": "{delay} de retard",
            "diverted": "dérouté",
            "disrupted": "perturbé",
        },
        entitlements={
            "us_dot_refund:cancellation": (
                "Votre vol {label} ayant été annulé, vous avez droit au remboursement intégral du billet non "
                "utilisé si vous n'avez pas voyagé ou si vous avez refusé le vol de remplacement que nous vous "
                "avons proposé."
            ),
            "us_dot_refund:significant_change": (
                "Votre vol {label} ayant eu plus de {hours} heures de retard, vous avez droit au remboursement "
                "intégral du billet non utilisé si vous avez renoncé à voyager."
            ),
            "us_dot_refund:how": (
                "Selon la règle de remboursement du ministère américain des Transports (DOT), ce remboursement se "
                "fait en argent, sur la carte ou le compte qui a servi au paiement, et non sous forme de bon. Si vous "
                "ne l'avez pas encore reçu, répondez simplement à ce message : nous nous en occupons aussitôt."
            ),
            # EU261, UK261 and APPR compensation (English falls back to the entitlement's own text).
            "compensation:cancellation": (
                "Votre vol {label} ayant été annulé, vous avez droit à une indemnisation de {amount} au titre du "
                "{regulation}."
            ),
            "compensation:long_delay": (
                "Votre vol {label} étant arrivé avec plus de trois heures de retard, vous avez droit à une "
                "indemnisation de {amount} au titre du {regulation}."
            ),
            "compensation:how": (
                "Elle vous est versée en argent ; nous ne vous remettrons un bon d'achat à la place que si vous nous "
                "dites le préférer."
            ),
            "name:eu261": "règlement (CE) n° 261/2004",
            "name:uk261": "règlement britannique UK261",
            "name:ca_appr": "Règlement canadien sur la protection des passagers aériens (RPPA)",
        },
        changed={
            "cancelled": "Votre vol {label} a finalement été annulé.",
            "delayed": "Le retard de votre vol {label} atteint désormais {delay}.",
            "diverted": "Votre vol {label} a été dérouté vers un autre aéroport.",
            "before": "Dans notre dernier message, nous prévoyions un retard de {before}.",
        },
        team="Le Service Clients",
        quoted_english="Notre équipe l'a rédigé en anglais : « {text} »",
    ),
    "de": Phrases(
        date_format="l, j. F Y",
        time_format="H:i",
        clock="{time} Uhr ({zone})",
        moment="{date}, {clock}",
        two_zones="{local} Uhr Ortszeit ({time} Uhr {zone} bei Ihnen)",
        hour=("Stunde", "Stunden"),
        minute=("Minute", "Minuten"),
        duration_joiner=" und ",
        route="von {origin} nach {destination}",
        impact={
            "cancelled": "Ihr Flug {label} {route} am {date}, wurde annulliert",
            "delayed": "Ihr Flug {label} {route} am {date}, hatte {delay} Verspätung",
            "diverted": "Ihr Flug {label} {route} am {date}, musste auf einen anderen Flughafen ausweichen",
            "diverted_delayed": (
                "Ihr Flug {label} {route} am {date}, musste auf einen anderen Flughafen ausweichen und hatte "
                "{delay} Verspätung"
            ),
            "disrupted": "Ihr Flug {label} {route} am {date}, verlief nicht wie geplant",
        },
        extras={
            "missed_connection": "Sie haben Ihren Anschlussflug verpasst",
            "overnight_stay": "Sie mussten ungeplant eine Nacht auswärts verbringen",
            "downgraded": "Sie sind in einer niedrigeren Klasse gereist, als Sie gebucht hatten",
        },
        conjunction=" und ",
        also="{label} am {date} ({what})",
        also_what={
            "cancelled": "annulliert",
            "delayed": "{delay} Verspätung",
            "diverted": "umgeleitet",
            "disrupted": "gestört",
        },
        entitlements={
            "us_dot_refund:cancellation": (
                "Da Ihr Flug {label} annulliert wurde, haben Sie Anspruch auf die vollständige Erstattung des nicht "
                "genutzten Tickets, wenn Sie nicht gereist sind oder den angebotenen Ersatzflug nicht angenommen "
                "haben."
            ),
            "us_dot_refund:significant_change": (
                "Da Ihr Flug {label} mehr als {hours} Stunden Verspätung hatte, haben Sie Anspruch auf die "
                "vollständige Erstattung des nicht genutzten Tickets, wenn Sie sich gegen die Reise entschieden "
                "haben."
            ),
            "us_dot_refund:how": (
                "Nach der Erstattungsregel des US-Verkehrsministeriums (DOT) erhalten Sie das Geld auf die Karte oder "
                "das Konto, mit dem Sie bezahlt haben, und nicht als Gutschein. Falls die Erstattung noch nicht "
                "angekommen ist, antworten Sie einfach auf diese E-Mail, dann kümmern wir uns sofort darum."
            ),
            # EU261, UK261 and APPR compensation (English falls back to the entitlement's own text).
            "compensation:cancellation": (
                "Da Ihr Flug {label} annulliert wurde, haben Sie nach {regulation} Anspruch auf eine Entschädigung "
                "von {amount}."
            ),
            "compensation:long_delay": (
                "Da Ihr Flug {label} mehr als drei Stunden verspätet ankam, haben Sie nach {regulation} Anspruch auf "
                "eine Entschädigung von {amount}."
            ),
            "compensation:how": (
                "Sie wird in Geld ausgezahlt; einen Gutschein erhalten Sie stattdessen nur, wenn Sie uns sagen, dass "
                "Sie ihn vorziehen."
            ),
            "name:eu261": "der Verordnung (EG) Nr. 261/2004",
            "name:uk261": "der britischen Regelung UK261",
            "name:ca_appr": "der kanadischen Fluggastrechteverordnung (APPR)",
        },
        changed={
            "cancelled": "Ihr Flug {label} wurde inzwischen annulliert.",
            "delayed": "Die Verspätung Ihres Flugs {label} ist auf {delay} gestiegen.",
            "diverted": "Ihr Flug {label} wurde zu einem anderen Flughafen umgeleitet.",
            "before": "In unserem letzten Schreiben sind wir von einer Verspätung von {before} ausgegangen.",
        },
        team="Ihr Kundenservice",
        quoted_english="Unser Team hat es auf Englisch verfasst: „{text}“",
    ),
}


def phrases_for(language: str) -> Phrases:
    return PHRASES.get(language, PHRASES[DEFAULT_LANGUAGE])


def letter_language(language: str) -> str:
    """The language a letter is worded in: the customer's when we have its phrases, else English."""
    return language if language in PHRASES else DEFAULT_LANGUAGE


def quoted_english(text: str, language: str) -> str:
    """The coordinator's English ``text`` in a letter of ``language``: as it is in English, else quoted and
    introduced in the letter's language (fr: Notre équipe l'a rédigé en anglais : « … »)."""
    text = text.strip()
    return phrases_for(language).quoted_english.format(text=text) if text else ""


def duration_text(minutes: int, language: str) -> str:
    """ "3 hours 12 minutes", "3 horas y 12 minutos", "45 Minuten"."""
    phrases = phrases_for(language)
    hours, rest = divmod(minutes, 60)
    pieces = []
    if hours:
        pieces.append(f"{hours} {phrases.hour[hours != 1]}")
    if rest or not hours:
        pieces.append(f"{rest} {phrases.minute[rest != 1]}")
    return phrases.duration_joiner.join(pieces)


_FRENCH_VOWEL = re.compile(r"^[AEIOUYÂÉÈÊÎÔÛaeiouyâéèêîôû]")


def route_text(origin: str, destination: str, language: str) -> str:
    text = phrases_for(language).route.format(origin=origin, destination=destination)
    if language == "fr" and _FRENCH_VOWEL.match(origin):
        text = "d'" + text.removeprefix("de ")  # "d'Orlando", not "de Orlando"
    return text


def joined(main: str, extras: list[str], language: str) -> str:
    """ "main and a", "main, a and b": one sentence, ending with a full stop."""
    conjunction = phrases_for(language).conjunction
    if not extras:
        return f"{main}."
    if len(extras) == 1:
        return f"{main}{conjunction}{extras[0]}."
    return f"{main}, {', '.join(extras[:-1])}{conjunction}{extras[-1]}."
