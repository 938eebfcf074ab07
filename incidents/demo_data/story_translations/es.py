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
    """15:23 EST, 9:01 EST"""
    time = local_time(flight.departure or 0)
    return f"{time.hour}:{time.minute:02d} {flight.departure_zone}"


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
        "Lo sentimos de verdad. El viernes 8 de febrero usted contaba con nosotros para salir de Newark, y su viaje "
        "no salió como lo había planeado. Nadie podía controlar la tormenta de nieve, pero remediar las horas que "
        "pasó en la puerta de embarque o esperando al teléfono, sin saber qué pasaría con su vuelo, sí nos "
        "correspondía a nosotros, y no estuvimos a la altura. Gracias por su paciencia con nuestro equipo de Newark, "
        "que trabajó durante toda la tormenta para cuidar de usted."
    ),
    ("JFK", FRIDAY): (
        "Lamentamos que su viernes en el aeropuerto Kennedy no terminara como lo había planeado. Quizá volvía a casa, "
        "iba a reunirse con su familia o a un trabajo que no podía esperar, y la tormenta le arrebató esa tarde. No "
        "podemos detener la nieve, pero debimos informarle antes de lo que estaba pasando con su vuelo, y no lo "
        "hicimos. Le rogamos que acepte nuestras más sinceras disculpas."
    ),
    ("LGA", FRIDAY): (
        "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia. Los vuelos siguieron saliendo hasta "
        "entrada la tarde y después se detuvieron, y lo que eso significaba para su vuelo debió llegarle antes y con "
        "más claridad. El temporal escapaba a nuestro control; la rapidez y la claridad con que le informamos, no. "
        "Lamentamos la tarde que esto le costó y la incertidumbre que vino con ella."
    ),
    ("EWR", SATURDAY): (
        "Lamentamos que el sábado le trajera más decepciones en Newark. Tras la tormenta del viernes, ningún vuelo "
        "pudo salir de Newark hasta la tarde, y sabemos lo que supone un segundo día pendiente de nosotros. "
        "Entenderíamos que se le hubiera agotado la paciencia. Le agradecemos la que ha tenido, y lamentamos haber "
        "necesitado tanta."
    ),
    ("JFK", SATURDAY): (
        "El sábado en el aeropuerto Kennedy, mientras se retiraba la nieve de la tormenta, tendría que haber sido "
        "para usted el día de la vuelta a la normalidad, y no lo fue. Lamentamos el día perdido, las colas en los "
        "mostradores de cambio de reserva y cada novedad que tuvo que reclamarnos en lugar de recibirla de nuestra "
        "parte."
    ),
    ("LGA", SATURDAY): (
        "Le pedimos disculpas por el sábado 9 de febrero en LaGuardia, donde hubo interrupciones en las salidas "
        "mientras el aeropuerto se recuperaba de la tormenta de nieve. Un segundo día de interrupciones tras la "
        "tormenta del viernes supone perderse un fin de semana, un evento o tiempo con las personas que le importan, "
        "y lo sentimos mucho."
    ),
}

# Per impact (incidents.variants), as the English in incidents/demo_data/apology_variants.py.
APOLOGY_VARIANTS = {
    ("EWR", FRIDAY): {
        "overnight_stay": (
            "Lamentamos de verdad que el viernes 8 de febrero le costara una noche fuera de casa. Cuando la tormenta "
            "de nieve detuvo las salidas de Newark, tuvo que buscar dónde dormir en lugar de llegar a su destino, y "
            "remediar las horas que pasó en la puerta de embarque o al teléfono antes de saber qué significaba para "
            "usted nos correspondía a nosotros. No estuvimos a la altura, y le agradecemos su paciencia con nuestro "
            "equipo de Newark."
        ),
        "cancelled": (
            "Lamentamos de verdad que su vuelo desde Newark del viernes 8 de febrero fuera cancelado. Usted contaba "
            "con nosotros para llegar a su destino, y no pudimos llevarle. Nadie podía controlar la tormenta de "
            "nieve, pero remediar las horas que pasó en la puerta de embarque o al teléfono antes de saber qué "
            "significaba para usted nos correspondía a nosotros, y no estuvimos a la altura. Gracias por su paciencia "
            "con nuestro equipo de Newark, que trabajó durante toda la tormenta para encontrarle otra forma de viajar."
        ),
        "diverted": (
            "Lamentamos de verdad que su vuelo desde Newark del viernes 8 de febrero tuviera que aterrizar en otro "
            "aeropuerto. La tormenta no dejó a la tripulación otra opción segura, pero usted terminó el día en un "
            "lugar donde no pensaba estar, y debería haber sabido por nosotros enseguida cómo y cuándo le llevaríamos "
            "a su destino. Gracias por su paciencia con nuestro equipo de Newark."
        ),
        "missed_connection": (
            "Lamentamos de verdad que su vuelo desde Newark del viernes 8 de febrero saliera con retraso y que "
            "perdiera su vuelo de conexión. Una salida con retraso es una cosa; perder la conexión que debía llevarle "
            "hasta el final de su viaje es otra, y es lo que más lamentamos. La tormenta de nieve no fue culpa de "
            "nadie, pero buscarle enseguida una nueva conexión era tarea nuestra, y deberíamos haberlo hecho antes."
        ),
        "delayed": (
            "Lamentamos de verdad que su vuelo desde Newark del viernes 8 de febrero saliera con retraso. Usted "
            "contaba con que cumpliéramos el horario de su billete, y la tormenta de nieve lo hizo imposible. Lo que "
            "sí podíamos haber hecho mejor era decirle antes y con más claridad qué suponía la tormenta para su "
            "vuelo, para que la espera en la puerta de embarque no le tomara por sorpresa. Gracias por su paciencia "
            "con nuestro equipo de Newark."
        ),
    },
    ("JFK", FRIDAY): {
        "overnight_stay": (
            "Lamentamos que su viernes en el aeropuerto Kennedy terminara con una noche fuera de casa que no tenía "
            "prevista. Volviera a casa, fuera a reunirse con su familia o a un trabajo que no podía esperar, la "
            "tormenta le arrebató esa tarde y esa noche. No podemos detener la nieve, pero debimos informarle antes "
            "de lo que estaba pasando con su vuelo y tenerle preparada una habitación sin que tuviera que pedirla. Le "
            "rogamos que acepte nuestras más sinceras disculpas."
        ),
        "cancelled": (
            "Lamentamos que su vuelo desde el aeropuerto Kennedy del viernes 8 de febrero fuera cancelado. Volviera a "
            "casa, fuera a reunirse con su familia o a un trabajo que no podía esperar, la tormenta le arrebató esa "
            "tarde. No podemos detener la nieve, pero debimos decirle antes que su vuelo no iba a salir, y no lo "
            "hicimos. Le rogamos que acepte nuestras más sinceras disculpas."
        ),
        "missed_connection": (
            "Lamentamos que su vuelo desde el aeropuerto Kennedy del viernes 8 de febrero saliera con retraso y que "
            "perdiera su conexión. Volviera a casa, fuera a reunirse con su familia o a un trabajo que no podía "
            "esperar, la salida con retraso rompió el viaje que había planeado. No podemos detener la nieve, pero "
            "debimos decirle antes cuánto se retrasaría su vuelo y ayudarle a conseguir una nueva conexión sin que "
            "tuviera que pedirlo. Le rogamos que acepte nuestras más sinceras disculpas."
        ),
        "delayed": (
            "Lamentamos que su vuelo desde el aeropuerto Kennedy del viernes 8 de febrero saliera con retraso. "
            "Volviera a casa, fuera a reunirse con su familia o a un trabajo que no podía esperar, llegó más tarde de "
            "lo que tenía todo el derecho a esperar. No podemos detener la nieve, pero debimos decirle antes cuánto "
            "se retrasaría su vuelo, y no lo hicimos. Le rogamos que acepte nuestras más sinceras disculpas."
        ),
    },
    ("LGA", FRIDAY): {
        "overnight_stay": (
            "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia, y por la noche fuera de casa que le "
            "costó. Los vuelos siguieron saliendo hasta entrada la tarde y después se detuvieron, y usted debió saber "
            "por nosotros qué significaba eso para usted, y dónde podía alojarse, mucho antes de tener que "
            "preguntarlo. El temporal escapaba a nuestro control; la rapidez y la claridad con que le informamos, no. "
            "Lamentamos la tarde y la noche que le arrebató."
        ),
        "cancelled": (
            "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia. Los vuelos siguieron saliendo hasta "
            "entrada la tarde y después se detuvieron, y usted debió saber por nosotros que su vuelo estaba "
            "cancelado mucho antes de llegar a la puerta de embarque. El temporal escapaba a nuestro control; la "
            "rapidez y la claridad con que le informamos, no. Lamentamos la tarde que esto le costó y la "
            "incertidumbre que vino con ella."
        ),
        "diverted": (
            "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia, donde su vuelo despegó en plena "
            "tormenta y tuvo que aterrizar en otro aeropuerto. El tiempo no dejó a la tripulación otra opción segura, "
            "pero usted debió saber por nosotros enseguida cómo le llevaríamos a su destino. La rapidez y la claridad "
            "con que le informamos sí estaban en nuestras manos, y lamentamos la incertidumbre en que le dejamos."
        ),
        "missed_connection": (
            "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia, donde su vuelo salió con retraso y "
            "usted perdió su conexión. Debió saber por nosotros cuánto se retrasaría mientras aún tenía tiempo de "
            "cambiar sus planes, y encontrar una nueva conexión esperándole. El temporal escapaba a nuestro control; "
            "la rapidez y la claridad con que le informamos, no. Lamentamos el viaje que esto le rompió."
        ),
        "delayed": (
            "Le debemos una disculpa por el viernes 8 de febrero en LaGuardia, donde su vuelo salió con retraso "
            "mientras se echaba encima la tormenta. Debió saber por nosotros cuánto se retrasaría antes de llegar a la "
            "puerta de embarque, no una vez allí. El temporal escapaba a nuestro control; la rapidez y la claridad con "
            "que le informamos, no. Lamentamos la espera que esto le costó y la incertidumbre que vino con ella."
        ),
    },
    ("EWR", SATURDAY): {
        "overnight_stay": (
            "Lamentamos que el sábado 9 de febrero en Newark terminara con una noche fuera de casa que no tenía "
            "prevista. Tras la tormenta del viernes, ningún vuelo pudo salir de Newark hasta la tarde, y al caer la "
            "noche usted no debería haber tenido que preguntarse dónde iba a dormir. Entenderíamos que se le hubiera "
            "agotado la paciencia. Le agradecemos la que ha tenido, y lamentamos haber necesitado tanta."
        ),
        "cancelled": (
            "Lamentamos que su vuelo desde Newark del sábado 9 de febrero fuera cancelado. Tras la tormenta del "
            "viernes, ningún vuelo pudo salir de Newark hasta la tarde, y una cancelación el día en que todo debía "
            "volver a la normalidad es difícil de aceptar, más aún si ya le habíamos cambiado el vuelo una vez. "
            "Entenderíamos que se le hubiera agotado la paciencia. Le agradecemos la que ha tenido, y lamentamos "
            "haber necesitado tanta."
        ),
        "missed_connection": (
            "Lamentamos que su vuelo desde Newark del sábado 9 de febrero saliera con retraso y que perdiera su "
            "conexión. Tras la tormenta del viernes, ningún vuelo pudo salir de Newark hasta la tarde, y una salida "
            "con retraso el día en que todo debía volver a la normalidad le costó el resto del viaje tal como lo había "
            "planeado. Le agradecemos su paciencia, y lamentamos haber necesitado tanta."
        ),
        "delayed": (
            "Lamentamos que su vuelo desde Newark del sábado 9 de febrero saliera con retraso. Tras la tormenta del "
            "viernes, ningún vuelo pudo salir de Newark hasta la tarde, y los vuelos que sí salieron lo hicieron "
            "fuera de horario mientras el aeropuerto se ponía al día. Le agradecemos su paciencia, y lamentamos haber "
            "necesitado tanta."
        ),
    },
    ("JFK", SATURDAY): {
        "overnight_stay": (
            "El sábado en el aeropuerto Kennedy tendría que haber sido para usted el día de la vuelta a la "
            "normalidad, y en cambio terminó con una noche fuera de casa que no tenía prevista. Lamentamos el día y "
            "la noche perdidos, las colas en los mostradores de cambio de reserva y cada novedad que tuvo que "
            "reclamarnos en lugar de recibirla de nuestra parte."
        ),
        "cancelled": (
            "El sábado en el aeropuerto Kennedy tendría que haber sido para usted el día de la vuelta a la "
            "normalidad, y en cambio su vuelo fue cancelado mientras se retiraba la nieve de la tormenta. Lamentamos "
            "el día perdido, las colas en los mostradores de cambio de reserva y cada novedad que tuvo que "
            "reclamarnos en lugar de recibirla de nuestra parte."
        ),
        "missed_connection": (
            "El sábado en el aeropuerto Kennedy tendría que haber sido para usted el día de la vuelta a la "
            "normalidad, y en cambio su vuelo salió con retraso y perdió su conexión mientras se retiraba la nieve de "
            "la tormenta. Lamentamos el viaje interrumpido, las colas en los mostradores de tránsito y cada novedad "
            "que tuvo que reclamarnos en lugar de recibirla de nuestra parte."
        ),
        "delayed": (
            "El sábado en el aeropuerto Kennedy tendría que haber sido para usted el día de la vuelta a la "
            "normalidad, y en cambio su vuelo salió con retraso mientras se retiraba la nieve de la tormenta. "
            "Lamentamos el tiempo que le costó, la espera en la puerta de embarque y cada novedad que tuvo que "
            "reclamarnos en lugar de recibirla de nuestra parte."
        ),
    },
    ("LGA", SATURDAY): {
        "overnight_stay": (
            "Le pedimos disculpas por el sábado 9 de febrero en LaGuardia, y por la noche fuera de casa que le costó "
            "mientras el aeropuerto se recuperaba de la tormenta de nieve. Una noche imprevista, el día después de la "
            "tormenta, supone perderse un fin de semana, un evento o tiempo con las personas que le importan, y lo "
            "sentimos mucho."
        ),
        "cancelled": (
            "Le pedimos disculpas por el sábado 9 de febrero en LaGuardia, donde su vuelo fue cancelado mientras el "
            "aeropuerto se recuperaba de la tormenta de nieve. Un vuelo cancelado el día después de la tormenta "
            "supone perderse un fin de semana, un evento o tiempo con las personas que le importan, y lo sentimos "
            "mucho."
        ),
        "missed_connection": (
            "Le pedimos disculpas por el sábado 9 de febrero en LaGuardia, donde su vuelo salió con retraso y usted "
            "perdió su conexión mientras el aeropuerto se recuperaba de la tormenta de nieve. Un viaje interrumpido "
            "el día después de la tormenta supone perderse un fin de semana, un evento o tiempo con las personas que "
            "le importan, y lo sentimos mucho."
        ),
        "delayed": (
            "Le pedimos disculpas por el sábado 9 de febrero en LaGuardia, donde su vuelo salió con retraso mientras "
            "el aeropuerto se recuperaba de la tormenta de nieve. El tiempo perdido el día después de la tormenta es "
            "tiempo que se le quita a su fin de semana y a las personas que le importan, y lo sentimos mucho."
        ),
    },
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


# The customer updates of the timeline (incidents.demo_data.story), without their promise, which the loader adds
# in ``PROMISE`` with the time the update promises: on Friday the morning and evening ones, on Saturday the
# morning one and the restart.
PROMISE = "Nuestra próxima actualización llegará antes de las {time}."


def customer_updates(facts: StationFacts) -> tuple[str, str]:
    airport = AIRPORTS[facts.code]
    if facts.date == FRIDAY:
        return (
            (
                "Se prevé que una ventisca traiga hoy fuertes nevadas y vientos intensos a Nueva York. Las salidas "
                f"desde el {airport} de esta tarde y esta noche podrían cancelarse. Puede cambiar sin coste a un vuelo "
                "posterior; compruebe el estado de su vuelo antes de salir hacia el aeropuerto."
            ),
            (
                f"Todas las salidas restantes de hoy desde el {airport} se han cancelado a causa de la ventisca. "
                "Estamos buscando un nuevo vuelo para todos los pasajeros de estos vuelos; si aún no tiene una nueva "
                "reserva, la tendrá antes de las 7:00 EST del sábado. Quien no pueda volver a casa esta noche puede "
                f"recoger un bono de hotel en el mostrador de atención del {airport}."
            ),
        )
    return (
        (
            f"Esta mañana se sigue retirando la nieve de la ventisca en el {airport} y es probable que se cancelen las "
            "salidas previstas antes del mediodía. Si su vuelo se ve afectado, se lo comunicaremos antes de que salga "
            "hacia el aeropuerto y le buscaremos otro vuelo."
        ),
        (
            f"El primer vuelo desde el {airport} desde el viernes salió a las {_clock(facts.first_departure)}. Las "
            "salidas se reanudan poco a poco y algunos vuelos de más tarde siguen con retraso. Si su vuelo se canceló, "
            "ya tiene una nueva reserva: consulte su correo electrónico o sus mensajes de texto."
        ),
    )
