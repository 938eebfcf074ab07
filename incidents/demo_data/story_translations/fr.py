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
    """15 h 23 EST, 9 h 01 EST"""
    time = local_time(flight.departure or 0)
    return f"{time.hour} h {time.minute:02d} {flight.departure_zone}"


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
        "votre voyage ne s'est pas déroulé comme vous l'aviez prévu. Personne ne pouvait maîtriser le blizzard, mais "
        "les heures que vous avez passées à la porte d'embarquement ou en attente au téléphone, sans savoir ce qu'il "
        "adviendrait de votre vol, c'était à nous d'y remédier, et nous n'avons pas été à la hauteur. Merci pour la "
        "patience dont vous avez fait preuve envers notre équipe de Newark, qui a travaillé pendant toute la tempête "
        "pour prendre soin de vous."
    ),
    ("JFK", FRIDAY): (
        "Nous sommes désolés que votre vendredi à l'aéroport Kennedy ne se soit pas terminé comme vous l'aviez "
        "prévu. Vous rentriez peut-être chez vous, alliez retrouver votre famille ou partiez pour un travail qui ne "
        "pouvait pas attendre, et la tempête vous a pris cette soirée. Nous ne pouvons pas arrêter la neige, mais "
        "nous aurions dû vous dire plus tôt ce qui arrivait à votre vol, et nous ne l'avons pas fait. Nous vous "
        "prions d'accepter nos sincères excuses."
    ),
    ("LGA", FRIDAY): (
        "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia. Les vols ont continué à partir "
        "jusque dans l'après-midi, puis plus aucun n'est parti, et ce que cela signifiait pour votre vol aurait dû "
        "vous parvenir plus tôt et plus clairement. La météo ne dépendait pas de nous ; la rapidité et la clarté de "
        "nos informations, si. Nous sommes désolés pour la soirée que vous avez perdue et pour l'incertitude qui l'a "
        "accompagnée."
    ),
    ("EWR", SATURDAY): (
        "Nous sommes désolés que ce samedi vous ait apporté de nouvelles déceptions à Newark. Après la tempête de "
        "vendredi, aucun vol n'a pu quitter Newark avant l'après-midi, et nous savons ce que représente une deuxième "
        "journée passée à attendre de nos nouvelles. Nous comprendrions que votre patience se soit épuisée. Nous vous "
        "remercions de celle dont vous avez fait preuve, et regrettons d'en avoir eu autant besoin."
    ),
    ("JFK", SATURDAY): (
        "Ce samedi-là, à l'aéroport Kennedy, pendant que les pistes étaient dégagées de la neige du blizzard, "
        "aurait dû être pour vous le jour du retour à la normale, et il n'en a rien été. Nous sommes désolés pour "
        "cette journée perdue, pour les files d'attente aux comptoirs de modification des réservations, et pour "
        "chaque information que vous avez dû réclamer au lieu de la recevoir de notre part."
    ),
    ("LGA", SATURDAY): (
        "Nous vous présentons nos excuses pour le samedi 9 février à LaGuardia, où les départs ont été perturbés "
        "pendant que l'aéroport se remettait du blizzard. Une deuxième journée perturbée après la tempête de "
        "vendredi, c'est un week-end perdu, un événement manqué ou du temps en moins avec les personnes qui comptent "
        "pour vous, et nous en sommes désolés."
    ),
}

# Per impact (incidents.variants), as the English in incidents/demo_data/apology_variants.py.
APOLOGY_VARIANTS = {
    ("EWR", FRIDAY): {
        "overnight_stay": (
            "Nous sommes sincèrement désolés que le vendredi 8 février vous ait coûté une nuit loin de chez vous. "
            "Quand le blizzard a interrompu les départs de Newark, vous avez dû chercher où dormir au lieu d'arriver "
            "à destination, et les heures passées à la porte d'embarquement ou au téléphone avant de savoir ce que "
            "cela signifiait pour vous, c'était à nous d'y remédier. Nous n'avons pas été à la hauteur, et nous vous "
            "remercions de votre patience envers notre équipe de Newark."
        ),
        "cancelled": (
            "Nous sommes sincèrement désolés que votre vol au départ de Newark du vendredi 8 février ait été annulé. "
            "Vous comptiez sur nous pour arriver à destination, et nous n'y sommes pas parvenus. Personne ne pouvait "
            "maîtriser le blizzard, mais les heures passées à la porte d'embarquement ou au téléphone avant de savoir "
            "ce que cela signifiait pour vous, c'était à nous d'y remédier, et nous n'avons pas été à la hauteur. "
            "Merci pour votre patience envers notre équipe de Newark, qui a travaillé pendant toute la tempête pour "
            "vous trouver une autre solution."
        ),
        "diverted": (
            "Nous sommes sincèrement désolés que votre vol au départ de Newark du vendredi 8 février ait dû se poser "
            "sur un autre aéroport. Le blizzard n'a laissé aucun autre choix sûr à l'équipage, mais vous avez fini la "
            "journée là où vous ne comptiez pas être, et vous auriez dû apprendre aussitôt de notre part comment et "
            "quand nous allions vous conduire à destination. Merci pour votre patience envers notre équipe de Newark."
        ),
        "missed_connection": (
            "Nous sommes sincèrement désolés que votre vol au départ de Newark du vendredi 8 février soit parti en "
            "retard et que vous ayez manqué votre correspondance. Un départ en retard est une chose ; perdre la "
            "correspondance qui devait vous mener au bout de votre voyage en est une autre, et c'est ce que nous "
            "regrettons le plus. Le blizzard n'était la faute de personne, mais vous trouver aussitôt une nouvelle "
            "correspondance, c'était notre travail, et nous aurions dû le faire plus tôt."
        ),
        "delayed": (
            "Nous sommes sincèrement désolés que votre vol au départ de Newark du vendredi 8 février soit parti en "
            "retard. Vous comptiez sur nous pour respecter l'horaire de votre billet, et le blizzard l'a rendu "
            "impossible. Ce que nous aurions pu mieux faire, c'est vous dire plus tôt et plus clairement ce que la "
            "tempête signifiait pour votre vol, pour que l'attente à la porte d'embarquement ne vous prenne pas par "
            "surprise. Merci pour votre patience envers notre équipe de Newark."
        ),
    },
    ("JFK", FRIDAY): {
        "overnight_stay": (
            "Nous sommes désolés que votre vendredi à l'aéroport Kennedy se soit terminé par une nuit imprévue loin "
            "de chez vous. Que vous rentriez chez vous, alliez retrouver votre famille ou partiez pour un travail qui "
            "ne pouvait pas attendre, la tempête vous a pris cette soirée et cette nuit. Nous ne pouvons pas arrêter "
            "la neige, mais nous aurions dû vous dire plus tôt ce qui arrivait à votre vol, et vous avoir réservé une "
            "chambre sans que vous ayez à la demander. Nous vous prions d'accepter nos sincères excuses."
        ),
        "cancelled": (
            "Nous sommes désolés que votre vol au départ de l'aéroport Kennedy du vendredi 8 février ait été annulé. "
            "Que vous rentriez chez vous, alliez retrouver votre famille ou partiez pour un travail qui ne pouvait "
            "pas attendre, la tempête vous a pris cette soirée. Nous ne pouvons pas arrêter la neige, mais nous "
            "aurions dû vous dire plus tôt que votre vol ne partirait pas, et nous ne l'avons pas fait. Nous vous "
            "prions d'accepter nos sincères excuses."
        ),
        "missed_connection": (
            "Nous sommes désolés que votre vol au départ de l'aéroport Kennedy du vendredi 8 février soit parti en "
            "retard et que vous ayez manqué votre correspondance. Que vous rentriez chez vous, alliez retrouver votre "
            "famille ou partiez pour un travail qui ne pouvait pas attendre, ce retard a interrompu le voyage que vous "
            "aviez prévu. Nous ne pouvons pas arrêter la neige, mais nous aurions dû vous dire plus tôt quel retard "
            "aurait votre vol, et vous aider à trouver une nouvelle correspondance avant que vous ayez à le demander. "
            "Nous vous prions d'accepter nos sincères excuses."
        ),
        "delayed": (
            "Nous sommes désolés que votre vol au départ de l'aéroport Kennedy du vendredi 8 février soit parti en "
            "retard. Que vous rentriez chez vous, alliez retrouver votre famille ou partiez pour un travail qui ne "
            "pouvait pas attendre, vous avez atteint votre destination plus tard que vous étiez en droit de "
            "l'attendre. Nous ne pouvons pas arrêter la neige, mais nous aurions dû vous dire plus tôt quel retard "
            "aurait votre vol, et nous ne l'avons pas fait. Nous vous prions d'accepter nos sincères excuses."
        ),
    },
    ("LGA", FRIDAY): {
        "overnight_stay": (
            "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia, et pour la nuit loin de chez vous "
            "qu'il vous a coûtée. Les vols ont continué à partir jusque dans l'après-midi, puis plus aucun n'est "
            "parti, et vous auriez dû apprendre de notre part ce que cela signifiait pour vous, et où dormir, bien "
            "avant d'avoir à le demander. La météo ne dépendait pas de nous ; la rapidité et la clarté de nos "
            "informations, si. Nous sommes désolés pour la soirée et la nuit qu'il vous a prises."
        ),
        "cancelled": (
            "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia. Les vols ont continué à partir "
            "jusque dans l'après-midi, puis plus aucun n'est parti, et vous auriez dû apprendre de notre part que "
            "votre vol était annulé bien avant d'arriver à la porte d'embarquement. La météo ne dépendait pas de "
            "nous ; la rapidité et la clarté de nos informations, si. Nous sommes désolés pour la soirée que vous "
            "avez perdue et pour l'incertitude qui l'a accompagnée."
        ),
        "diverted": (
            "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia, d'où votre vol a décollé en pleine "
            "tempête avant de devoir se poser sur un autre aéroport. La météo n'a laissé aucun autre choix sûr à "
            "l'équipage, mais vous auriez dû apprendre aussitôt de notre part comment nous allions vous conduire à "
            "destination. La rapidité et la clarté de nos informations dépendaient de nous, et nous sommes désolés de "
            "l'incertitude que nous vous avons laissée."
        ),
        "missed_connection": (
            "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia, où votre vol est parti en retard et "
            "où vous avez manqué votre correspondance. Vous auriez dû apprendre de notre part l'ampleur du retard "
            "pendant qu'il était encore temps de changer vos projets, et trouver une nouvelle correspondance qui vous "
            "attendait. La météo ne dépendait pas de nous ; la rapidité et la clarté de nos informations, si. Nous "
            "sommes désolés pour le voyage que cela a interrompu."
        ),
        "delayed": (
            "Nous vous devons des excuses pour le vendredi 8 février à LaGuardia, où votre vol est parti en retard "
            "alors que la tempête approchait. Vous auriez dû apprendre de notre part l'ampleur du retard avant "
            "d'arriver à la porte d'embarquement, et non une fois sur place. La météo ne dépendait pas de nous ; la "
            "rapidité et la clarté de nos informations, si. Nous sommes désolés pour l'attente que cela vous a coûtée "
            "et pour l'incertitude qui l'a accompagnée."
        ),
    },
    ("EWR", SATURDAY): {
        "overnight_stay": (
            "Nous sommes désolés que le samedi 9 février à Newark se soit terminé par une nuit imprévue loin de chez "
            "vous. Après la tempête de vendredi, aucun vol n'a pu quitter Newark avant l'après-midi, et le soir venu, "
            "vous n'auriez pas dû avoir à vous demander où dormir. Nous comprendrions que votre patience se soit "
            "épuisée. Nous vous remercions de celle dont vous avez fait preuve, et regrettons d'en avoir eu autant "
            "besoin."
        ),
        "cancelled": (
            "Nous sommes désolés que votre vol au départ de Newark du samedi 9 février ait été annulé. Après la "
            "tempête de vendredi, aucun vol n'a pu quitter Newark avant l'après-midi, et une annulation le jour où "
            "tout devait rentrer dans l'ordre est difficile à accepter, plus encore si nous avions déjà modifié votre "
            "réservation une fois. Nous comprendrions que votre patience se soit épuisée. Nous vous remercions de "
            "celle dont vous avez fait preuve, et regrettons d'en avoir eu autant besoin."
        ),
        "missed_connection": (
            "Nous sommes désolés que votre vol au départ de Newark du samedi 9 février soit parti en retard et que "
            "vous ayez manqué votre correspondance. Après la tempête de vendredi, aucun vol n'a pu quitter Newark "
            "avant l'après-midi, et un départ en retard le jour où tout devait rentrer dans l'ordre vous a coûté la "
            "suite du voyage tel que vous l'aviez prévu. Nous vous remercions de votre patience, et regrettons d'en "
            "avoir eu autant besoin."
        ),
        "delayed": (
            "Nous sommes désolés que votre vol au départ de Newark du samedi 9 février soit parti en retard. Après la "
            "tempête de vendredi, aucun vol n'a pu quitter Newark avant l'après-midi, et les vols qui sont partis "
            "l'ont fait en retard pendant que l'aéroport rattrapait son programme. Nous vous remercions de votre "
            "patience, et regrettons d'en avoir eu autant besoin."
        ),
    },
    ("JFK", SATURDAY): {
        "overnight_stay": (
            "Ce samedi-là, à l'aéroport Kennedy, aurait dû être pour vous le jour du retour à la normale ; il s'est "
            "terminé au contraire par une nuit imprévue loin de chez vous. Nous sommes désolés pour cette journée et "
            "cette nuit perdues, pour les files d'attente aux comptoirs de modification des réservations, et pour "
            "chaque information que vous avez dû réclamer au lieu de la recevoir de notre part."
        ),
        "cancelled": (
            "Ce samedi-là, à l'aéroport Kennedy, aurait dû être pour vous le jour du retour à la normale ; au lieu de "
            "cela, votre vol a été annulé pendant que l'aéroport se dégageait de la neige du blizzard. Nous sommes "
            "désolés pour cette journée perdue, pour les files d'attente aux comptoirs de modification des "
            "réservations, et pour chaque information que vous avez dû réclamer au lieu de la recevoir de notre part."
        ),
        "missed_connection": (
            "Ce samedi-là, à l'aéroport Kennedy, aurait dû être pour vous le jour du retour à la normale ; au lieu de "
            "cela, votre vol est parti en retard et vous avez manqué votre correspondance pendant que l'aéroport se "
            "dégageait de la neige du blizzard. Nous sommes désolés pour ce voyage interrompu, pour les files "
            "d'attente aux comptoirs de transit, et pour chaque information que vous avez dû réclamer au lieu de la "
            "recevoir de notre part."
        ),
        "delayed": (
            "Ce samedi-là, à l'aéroport Kennedy, aurait dû être pour vous le jour du retour à la normale ; au lieu de "
            "cela, votre vol est parti en retard pendant que l'aéroport se dégageait de la neige du blizzard. Nous "
            "sommes désolés pour le temps que cela vous a coûté, pour l'attente à la porte d'embarquement, et pour "
            "chaque information que vous avez dû réclamer au lieu de la recevoir de notre part."
        ),
    },
    ("LGA", SATURDAY): {
        "overnight_stay": (
            "Nous vous présentons nos excuses pour le samedi 9 février à LaGuardia, et pour la nuit loin de chez vous "
            "qu'il vous a coûtée pendant que l'aéroport se remettait du blizzard. Une nuit imprévue, au lendemain de "
            "la tempête, c'est un week-end perdu, un événement manqué ou du temps en moins avec les personnes qui "
            "comptent pour vous, et nous en sommes désolés."
        ),
        "cancelled": (
            "Nous vous présentons nos excuses pour le samedi 9 février à LaGuardia, où votre vol a été annulé pendant "
            "que l'aéroport se remettait du blizzard. Un vol annulé au lendemain de la tempête, c'est un week-end "
            "perdu, un événement manqué ou du temps en moins avec les personnes qui comptent pour vous, et nous en "
            "sommes désolés."
        ),
        "missed_connection": (
            "Nous vous présentons nos excuses pour le samedi 9 février à LaGuardia, où votre vol est parti en retard "
            "et où vous avez manqué votre correspondance pendant que l'aéroport se remettait du blizzard. Un voyage "
            "interrompu au lendemain de la tempête, c'est un week-end perdu, un événement manqué ou du temps en moins "
            "avec les personnes qui comptent pour vous, et nous en sommes désolés."
        ),
        "delayed": (
            "Nous vous présentons nos excuses pour le samedi 9 février à LaGuardia, où votre vol est parti en retard "
            "pendant que l'aéroport se remettait du blizzard. Le temps perdu au lendemain de la tempête, c'est du "
            "temps pris sur votre week-end et sur les personnes qui comptent pour vous, et nous en sommes désolés."
        ),
    },
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


# The customer updates of the timeline (incidents.demo_data.story), without their promise, which the loader adds
# in ``PROMISE`` with the time the update promises: on Friday the morning and evening ones, on Saturday the
# morning one and the restart.
PROMISE = "Notre prochaine information vous parviendra d'ici {time}."


def customer_updates(facts: StationFacts) -> tuple[str, str]:
    airport = AIRPORTS[facts.code]
    if facts.date == FRIDAY:
        return (
            (
                "Un blizzard devrait apporter d'abondantes chutes de neige et des vents violents sur New York "
                f"aujourd'hui. Les départs de {airport} prévus cet après-midi et ce soir pourraient être annulés. Vous "
                "pouvez passer gratuitement sur un vol plus tardif ; merci de vérifier l'état de votre vol avant de "
                "partir pour l'aéroport."
            ),
            (
                f"Tous les départs restants de {airport} aujourd'hui sont annulés en raison du blizzard. Nous "
                "réservons un nouveau vol à chaque passager de ces vols ; si vous n'avez pas encore de nouvelle "
                "réservation, vous l'aurez d'ici 7 h EST samedi. Des bons d'hôtel sont disponibles au comptoir de "
                f"service de {airport} pour celles et ceux qui ne peuvent pas rentrer chez eux ce soir."
            ),
        )
    return (
        (
            f"La neige du blizzard est encore en cours de déblaiement à {airport} ce matin, et les départs prévus "
            "avant midi seront probablement annulés. Si votre vol est concerné, nous vous préviendrons avant votre "
            "départ pour l'aéroport et nous vous réserverons un autre vol."
        ),
        (
            f"Le premier vol au départ de {airport} depuis vendredi a décollé à {_clock(facts.first_departure)}. Les "
            "départs reprennent progressivement et certains vols prévus plus tard dans la journée sont encore "
            "retardés. Si votre vol a été annulé, vous avez une nouvelle réservation : merci de consulter vos e-mails "
            "ou vos SMS."
        ),
    )
