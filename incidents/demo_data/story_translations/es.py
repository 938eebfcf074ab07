"""Spanish: the coordinators' paragraphs for the blizzard, addressed to the customer as usted."""

from __future__ import annotations

import datetime as dt

from incidents.demo_data import Flight, local_time
from incidents.demo_data.story import FRIDAY, SATURDAY, StationFacts

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
# "salió del aeropuerto de Newark": the airport's name as a Spanish speaker says it, without the article.
AIRPORTS = {"EWR": "aeropuerto de Newark", "JFK": "aeropuerto Kennedy", "LGA": "aeropuerto LaGuardia"}


def _date(day: dt.date, *, year: bool = True) -> str:
    """viernes 8 de febrero de 2013"""
    text = f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"
    return f"{text} de {day.year}" if year else text


def _clock(flight: Flight) -> str:
    """15:23, 9:01"""
    time = local_time(flight.departure or 0)
    return f"{time.hour}:{time.minute:02d}"


def _counts(facts: StationFacts) -> str:
    return (
        f"De los {facts.scheduled} vuelos con salida programada desde {facts.name} ese día, {facts.cancelled} se "
        f"cancelaron y otros {facts.delayed_or_diverted} sufrieron retrasos de una hora o más o fueron desviados."
    )


def explanation(facts: StationFacts) -> str:
    airport = AIRPORTS[facts.code]
    if facts.date == FRIDAY:
        return (
            "Una gran tormenta de nieve, bautizada por la prensa como Nemo, azotó la zona de Nueva York el "
            f"{_date(FRIDAY)} con intensas nevadas y fuertes vientos, y las operaciones de vuelo quedaron "
            f"suspendidas durante el resto del día. El último vuelo salió del {airport} a las "
            f"{_clock(facts.last_departure)}. {_counts(facts)}"
        )
    return (
        f"La tormenta de nieve del {_date(FRIDAY)}, bautizada por la prensa como Nemo, dejó abundante nieve en "
        "los aeropuertos de Nueva York, y las operaciones de vuelo quedaron suspendidas durante la noche. El "
        f"primer vuelo del {_date(facts.date, year=False)} salió del {airport} a las "
        f"{_clock(facts.first_departure)}. {_counts(facts)}"
    )


APOLOGIES = {
    ("EWR", FRIDAY): (
        "Lo sentimos de verdad. El viernes 8 de febrero usted contaba con nosotros para salir de Newark, y durante "
        "la mayor parte de la tarde y de la noche no lo conseguimos. La tormenta de nieve escapaba al control de "
        "cualquiera, pero remediar las horas que muchos pasajeros pasaron en la puerta de embarque o esperando al "
        "teléfono, sin saber si su vuelo llegaría a salir, sí nos correspondía a nosotros, y no estuvimos a la "
        "altura. Gracias por su paciencia con nuestro equipo de Newark, que trabajó durante toda la tormenta para "
        "cuidar de usted."
    ),
    ("JFK", FRIDAY): (
        "Lamentamos que su viernes en el aeropuerto Kennedy terminara con un vuelo cancelado o con un gran retraso. "
        "Algunos pasajeros volvían a casa, otros iban a reunirse con su familia y otros a un trabajo que no podía "
        "esperar, y la tormenta les arrebató esa noche. No podemos detener la nieve, pero debimos informarle antes "
        "de lo que estaba pasando con su vuelo, y con muchos pasajeros no lo hicimos. Le rogamos que acepte "
        "nuestras más sinceras disculpas."
    ),
    ("LGA", FRIDAY): (
        "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia. Los vuelos siguieron saliendo hasta "
        "entrada la tarde y después se detuvieron, y algunos pasajeros no supieron que su vuelo estaba cancelado "
        "hasta que llegaron a la puerta de embarque. No queremos que nadie se entere así. El temporal escapaba a "
        "nuestro control; la rapidez y la claridad con que le informamos, no. Lamentamos la noche que esto le costó "
        "y la incertidumbre que vino con ella."
    ),
    ("EWR", SATURDAY): (
        "Lamentamos que el sábado trajera más decepciones en Newark. Tras la tormenta del viernes, ningún vuelo pudo "
        "salir de Newark hasta la tarde, y para algunos pasajeros fue la segunda cancelación en dos días, cuando ya "
        "les habíamos cambiado el vuelo una vez. Que a uno le fallen dos veces es duro, y entenderíamos que se le "
        "hubiera agotado la paciencia. Le agradecemos la que ha tenido, y lamentamos haber necesitado tanta."
    ),
    ("JFK", SATURDAY): (
        "El sábado en el aeropuerto Kennedy tendría que haber sido el día de la vuelta a la normalidad, y para "
        "muchos pasajeros no lo fue: su vuelo se canceló o salió con horas de retraso mientras en el aeropuerto se "
        "retiraba la nieve de la tormenta. Lamentamos el día perdido, las colas en los mostradores de cambio de "
        "reserva y cada novedad que tuvo que reclamarnos en lugar de recibirla de nuestra parte."
    ),
    ("LGA", SATURDAY): (
        "Le pedimos disculpas por el sábado 9 de febrero en LaGuardia, donde se cancelaron los vuelos de la mañana "
        "mientras el aeropuerto se recuperaba de la tormenta de nieve. Muchos pasajeros ya venían de un largo "
        "viernes. Un segundo día de interrupciones supone perderse fines de semana, eventos y tiempo con las "
        "personas que le importan, y lo sentimos mucho."
    ),
}

PREVENTION = {
    ("EWR", FRIDAY): (
        "La tormenta de nieve del viernes no fue culpa nuestra, pero hacerle esperar en Newark sin información sí "
        "lo fue, y eso podemos corregirlo. Cuando el pronóstico hace inviables las salidas de la noche desde Newark, "
        "ahora tomamos la decisión como muy tarde a última hora de la mañana, y no en la puerta de embarque, y se "
        "lo comunicamos enseguida por correo electrónico y SMS. A los pasajeros de vuelos cancelados les cambiamos "
        "la reserva antes de que tengan que pedirlo, y reservamos con antelación habitaciones de hotel cerca de "
        "Newark, para que lo que le espere sea un vale y no una cola."
    ),
    ("JFK", FRIDAY): (
        "Después de lo ocurrido el viernes en el aeropuerto Kennedy, hemos cambiado nuestra forma de actuar en los "
        "días de tormenta. Ahora las cancelaciones se deciden y se anuncian en cuanto el pronóstico y el plan del "
        "aeropuerto las dan por seguras, y no vuelo a vuelo a lo largo de la tarde. Todo pasajero de un vuelo "
        "cancelado recibe automáticamente una nueva reserva, con libertad para elegir otra, y las habitaciones de "
        "hotel se organizan de antemano para que nadie con un vuelo a última hora tenga que buscar una de noche."
    ),
    ("LGA", FRIDAY): (
        "El viernes en LaGuardia pasó demasiado tiempo entre la decisión de cancelar un vuelo y el momento en que "
        "los pasajeros se enteraban. Ahora enviamos el aviso en cuanto se toma la decisión, antes de que cambien "
        "las pantallas de la puerta de embarque, y cada mensaje indica a qué hora llegará nuestra próxima "
        "actualización. Le cambiamos la reserva antes de que lo pida, y los vales de hotel para las salidas de la "
        "noche se gestionan con antelación."
    ),
    ("EWR", SATURDAY): (
        "Algunos pasajeros del viernes a los que reubicamos en vuelos del sábado por la mañana en Newark acabaron "
        "en vuelos con pocas posibilidades de salir. Ahora, después de una tormenta, reubicamos a los pasajeros en "
        "salidas posteriores a la hora prevista de reanudación en el aeropuerto, y cuando un vuelo vuelve a verse "
        "afectado, avisamos primero a los pasajeros a los que ya habíamos cambiado el vuelo una vez, para que a "
        "nadie le fallemos dos veces sin haberle avisado antes."
    ),
    ("JFK", SATURDAY): (
        "El sábado, mientras el aeropuerto Kennedy se recuperaba de la tormenta, fueron los pasajeros quienes "
        "tuvieron que ir detrás de nosotros para saber algo. Ahora, la mañana siguiente a una tormenta, fijamos un "
        "plan de reanudación para Kennedy, revisamos cada salida temprana con ese plan en la mano y, antes de que "
        "los pasajeros salgan de casa, cancelamos las que no pueden operar. Las ofertas de cambio de reserva y las "
        "prórrogas de hotel se envían sin que haya que pedirlas, y cada mensaje indica a qué hora llegará la "
        "siguiente actualización."
    ),
    ("LGA", SATURDAY): (
        "Durante la recuperación del sábado en LaGuardia, hubo pasajeros con vuelos de la mañana esperando en el "
        "aeropuerto a aviones que no podían despegar. Cuando la hora de reanudación es incierta, ahora cancelamos las "
        "salidas de la mañana la noche anterior, le cambiamos la reserva al primer vuelo con posibilidades reales "
        "de salir antes de que lo pida y prorrogamos automáticamente los vales de hotel del viernes a los pasajeros "
        "cuyo vuelo del sábado se vea afectado."
    ),
}
