"""French: the coordinators' paragraphs for the blizzard, addressed to the customer as vous."""

from __future__ import annotations

import datetime as dt

from incidents.demo_data import Flight, local_time
from incidents.demo_data.story import FRIDAY, SATURDAY, StationFacts

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
AIRPORTS = {"EWR": "l'aéroport de Newark", "JFK": "l'aéroport Kennedy", "LGA": "l'aéroport LaGuardia"}


def _date(day: dt.date, *, year: bool = True) -> str:
    """vendredi 8 février 2013"""
    text = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def _clock(flight: Flight) -> str:
    """15 h 23, 9 h 01"""
    time = local_time(flight.departure or 0)
    return f"{time.hour} h {time.minute:02d}"


def _counts(facts: StationFacts) -> str:
    return (
        f"Sur les {facts.scheduled} vols prévus ce jour-là au départ de {facts.name}, {facts.cancelled} ont été "
        f"annulés et {facts.delayed_or_diverted} autres ont été retardés d'une heure ou plus, ou déroutés."
    )


def explanation(facts: StationFacts) -> str:
    airport = AIRPORTS[facts.code]
    if facts.date == FRIDAY:
        return (
            "Un blizzard, baptisé Nemo par la presse, s'est abattu sur la région de New York le "
            f"{_date(FRIDAY)}, avec d'abondantes chutes de neige et des vents violents, et le trafic aérien a été "
            f"suspendu pour le reste de la journée. Le dernier vol a quitté {airport} à "
            f"{_clock(facts.last_departure)}. {_counts(facts)}"
        )
    return (
        f"Le blizzard du {_date(FRIDAY)}, baptisé Nemo par la presse, a laissé d'importantes quantités de neige "
        "sur les aéroports de New York, et le trafic aérien a été suspendu pendant la nuit. Le premier vol du "
        f"{_date(facts.date, year=False)} a quitté {airport} à {_clock(facts.first_departure)}. {_counts(facts)}"
    )


APOLOGIES = {
    ("EWR", FRIDAY): (
        "Nous sommes sincèrement désolés. Le vendredi 8 février, vous comptiez sur nous pour partir de Newark, et "
        "pendant la plus grande partie de l'après-midi et de la soirée, nous n'y sommes pas parvenus. Personne ne "
        "pouvait maîtriser le blizzard, mais les heures que beaucoup d'entre vous ont passées à la porte "
        "d'embarquement ou en attente au téléphone, sans savoir si votre vol partirait, c'était à nous d'y "
        "remédier, et nous n'avons pas été à la hauteur. Merci pour la patience dont vous avez fait preuve envers "
        "notre équipe de Newark, qui a travaillé pendant toute la tempête pour prendre soin de vous."
    ),
    ("JFK", FRIDAY): (
        "Nous sommes désolés que votre vendredi à l'aéroport Kennedy se soit terminé par un vol annulé ou lourdement "
        "retardé. Certains d'entre vous rentraient chez eux, d'autres allaient retrouver leur famille, d'autres "
        "encore partaient pour un travail qui ne pouvait pas attendre, et la tempête vous a pris cette soirée. Nous "
        "ne pouvons pas arrêter la neige, mais nous aurions dû vous dire plus tôt ce qui arrivait à votre vol, et "
        "pour beaucoup d'entre vous, nous ne l'avons pas fait. Nous vous prions d'accepter nos sincères excuses."
    ),
    ("LGA", FRIDAY): (
        "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia. Les vols ont continué à partir "
        "jusque dans l'après-midi, puis plus aucun n'est parti, et certains d'entre vous n'ont appris l'annulation "
        "de leur vol qu'en arrivant à la porte d'embarquement. Ce n'est pas ainsi que nous voulons que nos clients "
        "l'apprennent. La météo ne dépendait pas de nous ; la rapidité et la clarté de nos informations, si. Nous "
        "sommes désolés pour la soirée que vous avez perdue et pour l'incertitude qui l'a accompagnée."
    ),
    ("EWR", SATURDAY): (
        "Nous sommes désolés que ce samedi ait apporté de nouvelles déceptions à Newark. Après la tempête de "
        "vendredi, aucun vol n'a pu quitter Newark avant l'après-midi, et pour certains d'entre vous, c'était la "
        "deuxième annulation en deux jours, alors que nous avions déjà modifié votre réservation une fois. Être "
        "déçu deux fois, c'est dur, et nous comprendrions que votre patience se soit épuisée. Nous vous remercions "
        "de celle dont vous avez fait preuve, et regrettons d'en avoir eu autant besoin."
    ),
    ("JFK", SATURDAY): (
        "Ce samedi-là, à l'aéroport Kennedy, aurait dû être le jour du retour à la normale, et pour beaucoup "
        "d'entre vous, il n'en a rien été : votre vol a été annulé ou est parti avec des heures de retard pendant "
        "que l'aéroport se dégageait de la neige du blizzard. Nous sommes désolés pour cette journée perdue, pour "
        "les files d'attente aux comptoirs de modification des réservations, et pour chaque information que vous "
        "avez dû réclamer au lieu de la recevoir de notre part."
    ),
    ("LGA", SATURDAY): (
        "Nous vous présentons nos excuses pour le samedi 9 février à LaGuardia, où les départs du matin ont été "
        "annulés pendant que l'aéroport se remettait du blizzard. Beaucoup d'entre vous avaient déjà vécu un long "
        "vendredi. Une deuxième journée perturbée, ce sont des week-ends perdus, des événements manqués et du temps "
        "en moins avec les personnes qui comptent pour vous, et nous en sommes désolés."
    ),
}

PREVENTION = {
    ("EWR", FRIDAY): (
        "Nous n'étions pour rien dans le blizzard de vendredi, mais vous laisser attendre à Newark sans "
        "information, c'était notre faute, et nous pouvons y remédier. Lorsque les prévisions rendent impossibles "
        "les départs du soir depuis Newark, nous prenons désormais la décision au plus tard en fin de matinée, et "
        "non plus à la porte d'embarquement, et nous vous prévenons aussitôt par e-mail et SMS. Les clients dont le "
        "vol est annulé reçoivent une nouvelle réservation avant même d'avoir à la demander, et des chambres "
        "d'hôtel sont réservées à l'avance près de Newark, pour que ce soit un bon d'hôtel qui vous attende, et non "
        "une file d'attente."
    ),
    ("JFK", FRIDAY): (
        "Après ce vendredi à l'aéroport Kennedy, nous avons changé notre façon de gérer les jours de tempête. Les "
        "annulations sont désormais décidées et annoncées dès que les prévisions et le plan de l'aéroport les "
        "rendent certaines, et non plus vol par vol au fil de l'après-midi. Chaque client dont le vol est annulé "
        "reçoit automatiquement une nouvelle réservation, tout en restant libre d'en choisir une autre, et des "
        "chambres d'hôtel sont prévues à l'avance pour qu'aucun passager d'un vol tardif n'ait à en chercher une "
        "la nuit."
    ),
    ("LGA", FRIDAY): (
        "Ce vendredi-là, à LaGuardia, il s'est écoulé trop de temps entre le moment où une annulation était décidée "
        "et celui où les clients l'apprenaient. Nous envoyons désormais l'avis dès que la décision est prise, avant "
        "même que les écrans de la porte d'embarquement ne changent, et chaque message indique l'heure de notre "
        "prochain point d'information. Nous vous trouvons un nouveau vol avant même que vous le demandiez, et les "
        "bons d'hôtel pour les départs du soir sont prévus à l'avance."
    ),
    ("EWR", SATURDAY): (
        "Certains clients que nous avions replacés du vendredi sur des vols du samedi matin au départ de Newark se "
        "sont retrouvés sur des vols qui avaient peu de chances d'être assurés. Après une tempête, nous replaçons "
        "désormais les clients sur des départs prévus après la reprise attendue du trafic à l'aéroport, et "
        "lorsqu'un vol est de nouveau perturbé, nous contactons d'abord les clients déjà replacés une fois, pour "
        "que personne ne soit déçu deux fois sans avoir eu de nos nouvelles au préalable."
    ),
    ("JFK", SATURDAY): (
        "Samedi, pendant que l'aéroport Kennedy se remettait de la tempête, ce sont les clients qui ont dû nous "
        "relancer pour avoir des nouvelles. Désormais, le matin qui suit une tempête, nous établissons un plan de "
        "reprise pour Kennedy, nous vérifions chaque départ matinal au regard de ce plan et, avant que les clients "
        "ne quittent leur domicile, nous annulons ceux qui ne pourront pas être assurés. Les propositions de "
        "nouvelle réservation et les prolongations d'hôtel partent sans qu'on ait à les demander, et chaque "
        "message indique l'heure du prochain point d'information."
    ),
    ("LGA", SATURDAY): (
        "Samedi, pendant la reprise à LaGuardia, des clients partant le matin se sont retrouvés à l'aéroport pour "
        "des vols qui ne pouvaient pas décoller. Lorsque l'heure de reprise est incertaine, nous annulons désormais "
        "les départs du matin dès la veille au soir, nous vous replaçons sur le premier vol qui a de réelles "
        "chances de partir avant même que vous le demandiez, et nous prolongeons automatiquement les bons d'hôtel "
        "du vendredi pour les clients dont le vol du samedi est touché."
    ),
}
