# ruff: noqa: E501 - template prose: a line break here would be a line break in the letter
"""The first version of every letter template, in English, Spanish, French and German.

Installed by the data migration ``care/0007_default_templates`` and edited by coordinators afterwards (an
edit saves a new version). They use only the keys of ``care.correspondence.rendering.context.letter_context``; an unknown key
would refuse every letter, which the tests would catch. Plain strings only, no model imports: the
migration must keep working whatever the models become.

How they are meant to read: a person who knows what happened to you writes to you. Tell people early, say
what it means for their flight, keep every promise of a next update (even when there is no news), apologise
without excuses and without speculating, say what the customer is owed before offering anything of ours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INITIAL_NOTICE, UPDATE, APOLOGY, VOUCHER, SURVEY = "initial_notice", "update", "apology", "voucher", "survey"


@dataclass(frozen=True)
class DefaultTemplate:
    kind: str
    language: str
    subject: str
    body_text: str
    part_acknowledgement: str = ""
    part_explanation: str = ""
    part_remedy: str = ""


SIGNATURE = "{% if sender.name %}{{ sender.name }}\n{% endif %}{{ sender.team }}"
ENTITLEMENTS = (
    "{% for entitlement in entitlements %}{{ entitlement.text }}{% if not forloop.last %} {% endif %}{% endfor %}"
)
ALSO = "{% for item in also_incidents %}{{ item }}{% if not forloop.last %}; {% endif %}{% endfor %}"
ONE = "{% if vouchers|length == 1 %}"
# One stream per customer (care.correspondence.streams): a notice or update to a customer on several open incidents
# covers them all (``combined``) or mentions those already written about (``also_open``). Each phrase is empty for a
# letter about one flight, so those read exactly as before.
ALSO_OPEN = "{% for item in also_open %}{{ item }}{% if not forloop.last %}; {% endif %}{% endfor %}"


# What a notice says of the other flights it covers, or of those already written about; and how a combined update
# tells each flight's news. Plain strings (not f-strings): inserted into the templates below.
EN_NOTICE_COVERS = (
    "{% if combined %}\n\n{% if combined|length == 1 %}Your other flight is affected too, so this letter is about both of them.{% else %}Your other flights are affected too, so this letter is about all of them.{% endif %}"
    "{% for other in combined %}\n\n{{ other.summary }} What we know so far about it: {{ other.explanation }}{% endfor %}{% endif %}"
    "{% if also_open %}\n\nThis comes on top of what we have already written to you about: "
    + ALSO_OPEN
    + ". From now on, our updates will cover all your affected flights in one letter.{% endif %}"
)
EN_UPDATE_COMBINED = (
    "This is update number {{ sequence }} about your flights {{ flight_labels }}, as we promised. We are writing about them together, so that you have everything in one letter.\n\n"
    "{{ impact.summary }} {% if news %}What is new: {{ news }}{% else %}There is no news about it yet.{% endif %}\n\n"
    "What happened: {{ incident.explanation }}"
    "{% for other in combined %}\n\n{{ other.summary }} {% if other.news %}What is new: {{ other.news }}{% else %}There is no news about it yet.{% endif %}\n\n"
    "What happened: {{ other.explanation }}{% endfor %}"
)
ES_NOTICE_COVERS = (
    "{% if combined %}\n\n{% if combined|length == 1 %}Su otro vuelo también está afectado, así que esta carta trata de los dos.{% else %}Sus otros vuelos también están afectados, así que esta carta trata de todos ellos.{% endif %}"
    "{% for other in combined %}\n\n{{ other.summary }} Lo que sabemos hasta ahora de ese vuelo: {{ other.explanation }}{% endfor %}{% endif %}"
    "{% if also_open %}\n\nEsto se suma a lo que ya le hemos escrito sobre: "
    + ALSO_OPEN
    + ". A partir de ahora, nuestras actualizaciones tratarán de todos sus vuelos afectados en una sola carta.{% endif %}"
)
ES_UPDATE_COMBINED = (
    "Como le prometimos, esta es la actualización número {{ sequence }} sobre sus vuelos {{ flight_labels }}. Le escribimos sobre ellos a la vez, para que lo tenga todo en una sola carta.\n\n"
    "{{ impact.summary }} {% if news %}Novedades: {{ news }}{% else %}Todavía no hay novedades sobre este vuelo.{% endif %}\n\n"
    "Qué ha pasado: {{ incident.explanation }}"
    "{% for other in combined %}\n\n{{ other.summary }} {% if other.news %}Novedades: {{ other.news }}{% else %}Todavía no hay novedades sobre este vuelo.{% endif %}\n\n"
    "Qué ha pasado: {{ other.explanation }}{% endfor %}"
)
FR_NOTICE_COVERS = (
    "{% if combined %}\n\n{% if combined|length == 1 %}Votre autre vol est lui aussi touché : ce message vous parle des deux.{% else %}Vos autres vols sont eux aussi touchés : ce message vous parle de chacun d'eux.{% endif %}"
    "{% for other in combined %}\n\n{{ other.summary }} Ce que nous savons pour l'instant sur ce vol : {{ other.explanation }}{% endfor %}{% endif %}"
    "{% if also_open %}\n\nCela s'ajoute à ce que nous vous avons déjà écrit au sujet de : "
    + ALSO_OPEN
    + ". Désormais, nos points de situation couvriront tous vos vols touchés dans un seul message.{% endif %}"
)
FR_UPDATE_COMBINED = (
    "Comme promis, voici notre point n° {{ sequence }} sur vos vols {{ flight_labels }}. Nous vous écrivons à leur sujet en même temps, pour que vous ayez tout dans un seul message.\n\n"
    "{{ impact.summary }} {% if news %}Ce qui a changé : {{ news }}{% else %}Nous n'avons pas encore de nouvelles pour ce vol.{% endif %}\n\n"
    "Ce qui s'est passé : {{ incident.explanation }}"
    "{% for other in combined %}\n\n{{ other.summary }} {% if other.news %}Ce qui a changé : {{ other.news }}{% else %}Nous n'avons pas encore de nouvelles pour ce vol.{% endif %}\n\n"
    "Ce qui s'est passé : {{ other.explanation }}{% endfor %}"
)
DE_NOTICE_COVERS = (
    "{% if combined %}\n\n{% if combined|length == 1 %}Auch Ihr anderer Flug ist betroffen, deshalb geht es in diesem Schreiben um beide.{% else %}Auch Ihre anderen Flüge sind betroffen, deshalb geht es in diesem Schreiben um alle.{% endif %}"
    "{% for other in combined %}\n\n{{ other.summary }} Was wir über diesen Flug bisher wissen: {{ other.explanation }}{% endfor %}{% endif %}"
    "{% if also_open %}\n\nDas kommt zu dem hinzu, worüber wir Ihnen bereits geschrieben haben: "
    + ALSO_OPEN
    + ". Ab jetzt informieren wir Sie über alle betroffenen Flüge gemeinsam in einem Schreiben.{% endif %}"
)
DE_UPDATE_COMBINED = (
    "wie versprochen erhalten Sie hier Update Nr. {{ sequence }} zu Ihren Flügen {{ flight_labels }}. Wir fassen alles in einem Schreiben zusammen, damit Sie den Überblick behalten.\n\n"
    "{{ impact.summary }} {% if news %}Das ist neu: {{ news }}{% else %}Zu diesem Flug gibt es noch nichts Neues.{% endif %}\n\n"
    "Was passiert ist: {{ incident.explanation }}"
    "{% for other in combined %}\n\n{{ other.summary }} {% if other.news %}Das ist neu: {{ other.news }}{% else %}Zu diesem Flug gibt es noch nichts Neues.{% endif %}\n\n"
    "Was passiert ist: {{ other.explanation }}{% endfor %}"
)

# --- English -------------------------------------------------------------------------------------------

EN = (
    DefaultTemplate(
        kind=INITIAL_NOTICE,
        language="en",
        subject="{% if combined %}Your flights {{ flight_labels }}: what we know so far{% else %}Your flight {{ flight.label }} on {{ flight.date }}: what we know so far{% endif %}",
        body_text=f"""Dear {{{{ customer.greeting_name }}}},

We would rather you heard this from us now than found out at the airport. {{{{ impact.summary }}}}

What we know so far: {{{{ incident.explanation }}}}{EN_NOTICE_COVERS}

{{% if impact.cancelled %}}You do not need to queue at the airport or wait on the phone to be rebooked: we are already looking for a seat for you on another flight, and we will send you the new booking as soon as we have it. If you would rather travel on another day, or not at all, just reply to this email and tell us.{{% else %}}{{% if flight.departure_text %}}Your flight was due to leave {{{{ flight.origin_name }}}} at {{{{ flight.departure_text }}}}. {{% endif %}}Please check its status before you set off for the airport, because the time may still change.{{% endif %}}

We are working on it now, and we will tell you as soon as anything changes for your flight{{% if combined %}}s{{% endif %}}. {{% if next_update %}}You will hear from us again by {{{{ next_update }}}}, even if there is no news by then.{{% else %}}You will hear from us again as soon as we know more.{{% endif %}}{{% if combined %}} From now on we will write to you about all of them together, in one letter each time.{{% endif %}}

If you need us before then, reply to this email or call us{{% if contact.phone %}} on {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}}, with your booking reference {{{{ flight.booking_reference }}}} to hand{{% endif %}}. If you have not left for the airport yet, it is worth phoning us before you do.

With best wishes,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=UPDATE,
        language="en",
        subject="Update {{ sequence }} on your {% if combined %}flights {{ flight_labels }}{% else %}flight {{ flight.label }}{% endif %}",
        body_text=f"""Dear {{{{ customer.greeting_name }}}},

{{% if combined %}}{{% if impact.change %}}{{{{ impact.change }}}}

{{% endif %}}{EN_UPDATE_COMBINED}{{% else %}}{{% if impact.change %}}This is update number {{{{ sequence }}}} about your flight {{{{ flight.label }}}} on {{{{ flight.date }}}}. We are writing sooner than we promised, because something has changed for you.

{{{{ impact.change }}}}{{% if news %}}

What is new: {{{{ news }}}}{{% endif %}}{{% else %}}This is update number {{{{ sequence }}}} about your flight {{{{ flight.label }}}} on {{{{ flight.date }}}}, as we promised.

{{% if news %}}What is new: {{{{ news }}}}{{% else %}}There is no news yet. We are writing anyway, because we said we would, and we do not want to leave you wondering.{{% endif %}}{{% endif %}}

Where things stand for you: {{{{ impact.summary }}}}

What happened: {{{{ incident.explanation }}}}{{% endif %}}

{{% if next_update %}}Our next update will reach you by {{{{ next_update }}}}, whether or not there is news by then.{{% else %}}We will write again as soon as there is something new to tell you.{{% endif %}}

If your plans have changed, or you need help before then, reply to this email or call us{{% if contact.phone %}} on {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}} and give us your booking reference, {{{{ flight.booking_reference }}}}{{% endif %}}.

With best wishes,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=APOLOGY,
        language="en",
        subject="We are sorry about your flight {{ flight.label }} on {{ flight.date }}",
        part_acknowledgement="""Your journey with us on {{ flight.date }} did not go the way it should have, and we want to apologise to you properly.

{{ incident.apology }}""",
        part_explanation=f"""{{{{ impact.summary }}}}{{% if also_incidents %}} And we know it was not the only time we let you down: {ALSO}.{{% endif %}}

What happened: {{{{ incident.explanation }}}}""",
        part_remedy=f"""{{% if entitlements %}}First, what you are entitled to. {ENTITLEMENTS}

{{% endif %}}{{% if vouchers %}}{{% if entitlements %}}Separately, and as a way of saying sorry{{% else %}}As a way of saying sorry{{% endif %}}, we would like you to have {ONE}a travel voucher{{% else %}}{{{{ vouchers|length }}}} travel vouchers{{% endif %}}:{{% for voucher in vouchers %}}
- {{{{ voucher.code }}}}: {{{{ voucher.value }}}}, valid until {{{{ voucher.expires }}}}{{% endfor %}}

You can use {ONE}it{{% else %}}them{{% endif %}} when you book on our website (enter the code on the payment page) or over the phone.{{% if entitlements %}} This comes on top of what you are entitled to, not instead of it.{{% endif %}}

{{% endif %}}{{% if incident.prevention %}}What we are doing so that this does not happen again: {{{{ incident.prevention }}}}{{% endif %}}""",
        body_text=f"""Dear {{{{ customer.greeting_name }}}},

{{{{ parts.acknowledgement }}}}

{{{{ parts.explanation }}}}

{{{{ parts.remedy }}}}

If there is anything else we can do, or you would like to tell us how this affected you, {{% if channel == "sms" %}}write to us at {{{{ contact.email }}}}{{% if contact.phone %}} or call us on {{{{ contact.phone }}}}{{% endif %}}{{% else %}}reply to this email{{% endif %}}{{% if flight.booking_reference %}} (your booking reference is {{{{ flight.booking_reference }}}}){{% endif %}}. A person on our team will read it and answer you.

With our sincere apologies,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=VOUCHER,
        language="en",
        subject="Your travel voucher{% if vouchers|length > 1 %}s{% endif %} after flight {{ flight.label }}",
        body_text=f"""Dear {{{{ customer.greeting_name }}}},

{{{{ impact.summary }}}} We are sorry, and we have not forgotten it.

{{{{ incident.apology }}}}

{{% if entitlements %}}Before anything else: {ENTITLEMENTS}

{{% endif %}}{{% if entitlements %}}Separately from that, and as{{% else %}}As{{% endif %}} a way of saying sorry, here {ONE}is your travel voucher{{% else %}}are your travel vouchers{{% endif %}}:{{% for voucher in vouchers %}}
- Code {{{{ voucher.code }}}}, worth {{{{ voucher.value }}}}, valid until {{{{ voucher.expires }}}}{{% endfor %}}

How to use {ONE}it{{% else %}}them{{% endif %}}: book on our website as usual and enter the code on the payment page, or call us and give the code to the person you speak to. Whatever you do not use stays on the voucher until it expires.

With best wishes,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=SURVEY,
        language="en",
        subject="How did we do with your flight {{ flight.label }}?",
        body_text=f"""Dear {{{{ customer.greeting_name }}}},

{{{{ impact.summary }}}} We tried to keep you informed and to look after you along the way, and we would like to know, honestly, how well we did.

Could you spare two minutes to reply to this email? Three questions, if they help: Did you hear from us early enough? Did our messages tell you what you needed to know? What should we have done differently?

Every reply is read by someone on our team, and it changes how we handle the next disruption.

Thank you,

{SIGNATURE}""",
    ),
)

# --- Español (usted) -------------------------------------------------------------------------------------

ES = (
    DefaultTemplate(
        kind=INITIAL_NOTICE,
        language="es",
        subject="{% if combined %}Sus vuelos {{ flight_labels }}: lo que sabemos hasta ahora{% else %}Su vuelo {{ flight.label }} del {{ flight.date }}: lo que sabemos hasta ahora{% endif %}",
        body_text=f"""Hola, {{{{ customer.greeting_name }}}}:

Preferimos que lo sepa por nosotros ahora, y no al llegar al aeropuerto. {{{{ impact.summary }}}}

Lo que sabemos hasta ahora: {{{{ incident.explanation }}}}{ES_NOTICE_COVERS}

{{% if impact.cancelled %}}No hace falta que haga cola en el aeropuerto ni que espere al teléfono para cambiar su reserva: ya le estamos buscando plaza en otro vuelo y le enviaremos la nueva reserva en cuanto la tengamos. Si prefiere viajar otro día, o no viajar, responda a este correo y díganoslo.{{% else %}}{{% if flight.departure_text %}}Su vuelo tenía prevista la salida de {{{{ flight.origin_name }}}} a las {{{{ flight.departure_text }}}}. {{% endif %}}Le recomendamos consultar el estado del vuelo antes de salir hacia el aeropuerto, porque el horario aún puede cambiar.{{% endif %}}

Ya estamos trabajando en ello y le avisaremos en cuanto cambie algo en {{% if combined %}}sus vuelos{{% else %}}su vuelo{{% endif %}}. {{% if next_update %}}Volveremos a escribirle antes del {{{{ next_update }}}}, aunque para entonces no haya novedades.{{% else %}}Volveremos a escribirle en cuanto sepamos algo más.{{% endif %}}{{% if combined %}} A partir de ahora le escribiremos sobre todos ellos a la vez, en una sola carta cada vez.{{% endif %}}

Si nos necesita antes, responda a este correo o llámenos{{% if contact.phone %}} al {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}} con su código de reserva, {{{{ flight.booking_reference }}}}, a mano{{% endif %}}. Si todavía no ha salido hacia el aeropuerto, le conviene llamarnos antes de ponerse en camino.

Un saludo,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=UPDATE,
        language="es",
        subject="Actualización n.º {{ sequence }} sobre {% if combined %}sus vuelos {{ flight_labels }}{% else %}su vuelo {{ flight.label }}{% endif %}",
        body_text=f"""Hola, {{{{ customer.greeting_name }}}}:

{{% if combined %}}{{% if impact.change %}}{{{{ impact.change }}}}

{{% endif %}}{ES_UPDATE_COMBINED}{{% else %}}{{% if impact.change %}}Esta es la actualización número {{{{ sequence }}}} sobre su vuelo {{{{ flight.label }}}} del {{{{ flight.date }}}}. Le escribimos antes de lo prometido porque algo ha cambiado para usted.

{{{{ impact.change }}}}{{% if news %}}

Novedades: {{{{ news }}}}{{% endif %}}{{% else %}}Como le prometimos, esta es la actualización número {{{{ sequence }}}} sobre su vuelo {{{{ flight.label }}}} del {{{{ flight.date }}}}.

{{% if news %}}Novedades: {{{{ news }}}}{{% else %}}Todavía no hay novedades. Aun así le escribimos, porque se lo habíamos prometido y no queremos dejarle sin noticias.{{% endif %}}{{% endif %}}

Cómo queda su viaje: {{{{ impact.summary }}}}

Qué ha pasado: {{{{ incident.explanation }}}}{{% endif %}}

{{% if next_update %}}Le enviaremos la próxima actualización antes del {{{{ next_update }}}}, haya novedades o no.{{% else %}}Volveremos a escribirle en cuanto tengamos algo nuevo que contarle.{{% endif %}}

Si sus planes han cambiado o necesita ayuda antes, responda a este correo o llámenos{{% if contact.phone %}} al {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}} e indíquenos su código de reserva, {{{{ flight.booking_reference }}}}{{% endif %}}.

Un saludo,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=APOLOGY,
        language="es",
        subject="Le pedimos disculpas por su vuelo {{ flight.label }} del {{ flight.date }}",
        part_acknowledgement="""Su viaje con nosotros del {{ flight.date }} no salió como debía, y queremos pedirle disculpas como es debido.

{{ incident.apology }}""",
        part_explanation=f"""{{{{ impact.summary }}}}{{% if also_incidents %}} Y sabemos que no fue la única vez que le fallamos: {ALSO}.{{% endif %}}

Lo que ocurrió: {{{{ incident.explanation }}}}""",
        part_remedy=f"""{{% if entitlements %}}Primero, lo que le corresponde. {ENTITLEMENTS}

{{% endif %}}{{% if vouchers %}}{{% if entitlements %}}Aparte de eso, y como muestra de disculpa{{% else %}}Como muestra de disculpa{{% endif %}}, queremos ofrecerle {ONE}un bono de viaje{{% else %}}{{{{ vouchers|length }}}} bonos de viaje{{% endif %}}:{{% for voucher in vouchers %}}
- {{{{ voucher.code }}}}: {{{{ voucher.value }}}}, válido hasta el {{{{ voucher.expires }}}}{{% endfor %}}

Puede {ONE}usarlo{{% else %}}usarlos{{% endif %}} al reservar en nuestra web (introduzca el código en la página de pago) o por teléfono.{{% if entitlements %}} Esto se suma a lo que le corresponde; no lo sustituye.{{% endif %}}

{{% endif %}}{{% if incident.prevention %}}Lo que estamos haciendo para que no vuelva a ocurrir: {{{{ incident.prevention }}}}{{% endif %}}""",
        body_text=f"""Hola, {{{{ customer.greeting_name }}}}:

{{{{ parts.acknowledgement }}}}

{{{{ parts.explanation }}}}

{{{{ parts.remedy }}}}

Si hay algo más que podamos hacer, o si quiere contarnos cómo le afectó todo esto, {{% if channel == "sms" %}}escríbanos a {{{{ contact.email }}}}{{% if contact.phone %}} o llámenos al {{{{ contact.phone }}}}{{% endif %}}{{% else %}}responda a este correo{{% endif %}}{{% if flight.booking_reference %}} (su código de reserva es {{{{ flight.booking_reference }}}}){{% endif %}}. Lo leerá una persona de nuestro equipo, que le contestará.

Reciba de nuevo nuestras sinceras disculpas.

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=VOUCHER,
        language="es",
        subject="{% if vouchers|length > 1 %}Sus bonos{% else %}Su bono{% endif %} de viaje tras el vuelo {{ flight.label }}",
        body_text=f"""Hola, {{{{ customer.greeting_name }}}}:

{{{{ impact.summary }}}} Lo sentimos, y no lo hemos olvidado.

{{{{ incident.apology }}}}

{{% if entitlements %}}Antes que nada: {ENTITLEMENTS}

{{% endif %}}{{% if entitlements %}}Aparte de eso, y como{{% else %}}Como{{% endif %}} muestra de disculpa, aquí tiene {ONE}su bono de viaje{{% else %}}sus bonos de viaje{{% endif %}}:{{% for voucher in vouchers %}}
- Código {{{{ voucher.code }}}}, por valor de {{{{ voucher.value }}}}, válido hasta el {{{{ voucher.expires }}}}{{% endfor %}}

Cómo {ONE}usarlo{{% else %}}usarlos{{% endif %}}: reserve en nuestra web como siempre e introduzca el código en la página de pago, o llámenos y dele el código a la persona que le atienda. El importe que no utilice seguirá disponible en el bono hasta que caduque.

Un saludo,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=SURVEY,
        language="es",
        subject="¿Qué tal lo hicimos con su vuelo {{ flight.label }}?",
        body_text=f"""Hola, {{{{ customer.greeting_name }}}}:

{{{{ impact.summary }}}} Intentamos mantenerle al tanto y atenderle lo mejor posible, y nos gustaría saber, con sinceridad, si lo conseguimos.

¿Nos dedicaría un par de minutos para responder a este correo? Tres preguntas, por si le sirven de guía: ¿supo de nosotros con suficiente antelación? ¿Le contaron nuestros mensajes lo que necesitaba saber? ¿Qué deberíamos haber hecho de otra manera?

Cada respuesta la lee alguien de nuestro equipo, y nos ayuda a hacerlo mejor la próxima vez.

Gracias,

{SIGNATURE}""",
    ),
)

# --- Français (vous) ---------------------------------------------------------------------------------------

FR = (
    DefaultTemplate(
        kind=INITIAL_NOTICE,
        language="fr",
        subject="{% if combined %}Vos vols {{ flight_labels }} : ce que nous savons pour l'instant{% else %}Votre vol {{ flight.label }} du {{ flight.date }} : ce que nous savons pour l'instant{% endif %}",
        body_text=f"""Bonjour {{{{ customer.name }}}},

Nous préférons que vous l'appreniez par nous, dès maintenant, plutôt qu'à l'aéroport. {{{{ impact.summary }}}}

Ce que nous savons pour l'instant : {{{{ incident.explanation }}}}{FR_NOTICE_COVERS}

{{% if impact.cancelled %}}Inutile de faire la queue à l'aéroport ou d'attendre au téléphone pour changer de vol : nous vous cherchons déjà une place sur un autre vol et nous vous enverrons votre nouvelle réservation dès qu'elle sera confirmée. Si vous préférez voyager un autre jour, ou ne plus voyager, répondez simplement à ce message.{{% else %}}{{% if flight.departure_text %}}Votre vol devait décoller à {{{{ flight.departure_text }}}}. {{% endif %}}Pensez à vérifier son statut avant de partir pour l'aéroport : l'horaire peut encore changer.{{% endif %}}

Nous suivons la situation de près et nous vous préviendrons dès qu'il y aura du nouveau pour {{% if combined %}}vos vols{{% else %}}votre vol{{% endif %}}. {{% if next_update %}}Nous vous écrirons de nouveau au plus tard le {{{{ next_update }}}}, même s'il n'y a rien de nouveau d'ici là.{{% else %}}Nous vous écrirons de nouveau dès que nous en saurons plus.{{% endif %}}{{% if combined %}} Désormais, nous vous écrirons au sujet de tous vos vols à la fois, dans un seul message.{{% endif %}}

Si vous avez besoin de nous d'ici là, répondez à ce message ou appelez-nous{{% if contact.phone %}} au {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}}, votre référence de réservation {{{{ flight.booking_reference }}}} sous la main{{% endif %}}. Si vous n'avez pas encore pris la route de l'aéroport, un appel avant de partir peut vous éviter un déplacement inutile.

Bien cordialement,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=UPDATE,
        language="fr",
        subject="Point n° {{ sequence }} sur {% if combined %}vos vols {{ flight_labels }}{% else %}votre vol {{ flight.label }}{% endif %}",
        body_text=f"""Bonjour {{{{ customer.name }}}},

{{% if combined %}}{{% if impact.change %}}{{{{ impact.change }}}}

{{% endif %}}{FR_UPDATE_COMBINED}{{% else %}}{{% if impact.change %}}Voici notre point n° {{{{ sequence }}}} sur votre vol {{{{ flight.label }}}} du {{{{ flight.date }}}}. Nous vous écrivons plus tôt que prévu, car la situation a changé pour vous.

{{{{ impact.change }}}}{{% if news %}}

Ce qui a changé : {{{{ news }}}}{{% endif %}}{{% else %}}Comme promis, voici notre point n° {{{{ sequence }}}} sur votre vol {{{{ flight.label }}}} du {{{{ flight.date }}}}.

{{% if news %}}Ce qui a changé : {{{{ news }}}}{{% else %}}Nous n'avons pas encore de nouvelles. Nous vous écrivons tout de même, parce que nous nous y étions engagés et que nous ne voulons pas vous laisser sans information.{{% endif %}}{{% endif %}}

Où en est votre voyage : {{{{ impact.summary }}}}

Ce qui s'est passé : {{{{ incident.explanation }}}}{{% endif %}}

{{% if next_update %}}Notre prochain point vous parviendra au plus tard le {{{{ next_update }}}}, qu'il y ait du nouveau ou non.{{% else %}}Nous vous réécrirons dès que la situation évoluera.{{% endif %}}

Si vos projets ont changé ou si vous avez besoin d'aide d'ici là, répondez à ce message ou appelez-nous{{% if contact.phone %}} au {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}} en indiquant votre référence de réservation, {{{{ flight.booking_reference }}}}{{% endif %}}.

Bien cordialement,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=APOLOGY,
        language="fr",
        subject="Toutes nos excuses pour votre vol {{ flight.label }} du {{ flight.date }}",
        part_acknowledgement="""Votre voyage du {{ flight.date }} ne s'est pas passé comme il aurait dû, et nous tenons à vous présenter de vraies excuses.

{{ incident.apology }}""",
        part_explanation=f"""{{{{ impact.summary }}}}{{% if also_incidents %}} Et nous savons que ce n'était pas la seule fois où nous vous avons fait défaut : {ALSO}.{{% endif %}}

Ce qui s'est passé : {{{{ incident.explanation }}}}""",
        part_remedy=f"""{{% if entitlements %}}D'abord, ce à quoi vous avez droit. {ENTITLEMENTS}

{{% endif %}}{{% if vouchers %}}{{% if entitlements %}}En plus de cela, et pour vous présenter nos excuses{{% else %}}Pour vous présenter nos excuses{{% endif %}}, nous vous offrons {ONE}un bon de voyage{{% else %}}{{{{ vouchers|length }}}} bons de voyage{{% endif %}} :{{% for voucher in vouchers %}}
- {{{{ voucher.code }}}} : {{{{ voucher.value }}}}, valable jusqu'au {{{{ voucher.expires }}}}{{% endfor %}}

Vous pouvez {ONE}l'utiliser{{% else %}}les utiliser{{% endif %}} en réservant sur notre site (saisissez le code sur la page de paiement) ou par téléphone.{{% if entitlements %}} Ce geste s'ajoute à ce qui vous est dû ; il ne le remplace pas.{{% endif %}}

{{% endif %}}{{% if incident.prevention %}}Ce que nous faisons pour que cela ne se reproduise pas : {{{{ incident.prevention }}}}{{% endif %}}""",
        body_text=f"""Bonjour {{{{ customer.name }}}},

{{{{ parts.acknowledgement }}}}

{{{{ parts.explanation }}}}

{{{{ parts.remedy }}}}

Si nous pouvons faire quoi que ce soit d'autre, ou si vous souhaitez nous dire ce que cette perturbation a changé pour vous, {{% if channel == "sms" %}}écrivez-nous à {{{{ contact.email }}}}{{% if contact.phone %}} ou appelez-nous au {{{{ contact.phone }}}}{{% endif %}}{{% else %}}répondez à ce message{{% endif %}}{{% if flight.booking_reference %}} (votre référence de réservation : {{{{ flight.booking_reference }}}}){{% endif %}}. Une personne de notre équipe le lira et vous répondra.

Avec toutes nos excuses,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=VOUCHER,
        language="fr",
        subject="{% if vouchers|length > 1 %}Vos bons{% else %}Votre bon{% endif %} de voyage après le vol {{ flight.label }}",
        body_text=f"""Bonjour {{{{ customer.name }}}},

{{{{ impact.summary }}}} Nous en sommes désolés, et nous ne l'avons pas oublié.

{{{{ incident.apology }}}}

{{% if entitlements %}}Avant toute chose : {ENTITLEMENTS}

{{% endif %}}{{% if entitlements %}}En plus de cela, et pour{{% else %}}Pour{{% endif %}} vous présenter nos excuses, voici {ONE}votre bon de voyage{{% else %}}vos bons de voyage{{% endif %}} :{{% for voucher in vouchers %}}
- Code {{{{ voucher.code }}}}, d'une valeur de {{{{ voucher.value }}}}, valable jusqu'au {{{{ voucher.expires }}}}{{% endfor %}}

Comment {ONE}l'utiliser{{% else %}}les utiliser{{% endif %}} : réservez sur notre site comme d'habitude et saisissez le code sur la page de paiement, ou appelez-nous et donnez le code à votre interlocuteur. Le montant que vous n'utilisez pas reste disponible sur le bon jusqu'à sa date d'expiration.

Bien cordialement,

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=SURVEY,
        language="fr",
        subject="Votre vol {{ flight.label }} : comment vous avons-nous accompagné ?",
        body_text=f"""Bonjour {{{{ customer.name }}}},

{{{{ impact.summary }}}} Nous avons essayé de vous tenir au courant et de vous aider du mieux possible, et nous aimerions savoir, en toute franchise, si nous y sommes parvenus.

Auriez-vous deux minutes pour répondre à ce message ? Trois questions, si elles peuvent vous guider : avez-vous eu de nos nouvelles assez tôt ? Nos messages vous ont-ils dit ce que vous aviez besoin de savoir ? Qu'aurions-nous dû faire autrement ?

Chaque réponse est lue par une personne de notre équipe et nous aide à mieux faire la prochaine fois.

Merci,

{SIGNATURE}""",
    ),
)

# --- Deutsch (Sie) -------------------------------------------------------------------------------------------
# After "Guten Tag …," a German letter goes on in lower case unless the next word is a noun or "Sie/Ihr".

DE = (
    DefaultTemplate(
        kind=INITIAL_NOTICE,
        language="de",
        subject="{% if combined %}Ihre Flüge {{ flight_labels }}: was wir bisher wissen{% else %}Ihr Flug {{ flight.label }} am {{ flight.date }}: was wir bisher wissen{% endif %}",
        body_text=f"""Guten Tag {{{{ customer.name }}}},

bevor Sie es am Flughafen erfahren, sagen wir es Ihnen lieber selbst: {{{{ impact.summary }}}}

Was wir bisher wissen: {{{{ incident.explanation }}}}{DE_NOTICE_COVERS}

{{% if impact.cancelled %}}Sie müssen sich am Flughafen nicht anstellen und auch nicht in der Telefonwarteschleife ausharren, um umzubuchen: Wir suchen bereits einen Platz auf einem anderen Flug für Sie und schicken Ihnen die neue Buchung, sobald sie feststeht. Wenn Sie lieber an einem anderen Tag oder gar nicht reisen möchten, antworten Sie einfach auf diese E-Mail.{{% else %}}{{% if flight.departure_text %}}Ihr Abflug in {{{{ flight.origin_name }}}} war für {{{{ flight.departure_text }}}} geplant. {{% endif %}}Bitte prüfen Sie den Flugstatus, bevor Sie sich auf den Weg zum Flughafen machen, denn die Zeit kann sich noch ändern.{{% endif %}}

Wir kümmern uns darum und melden uns, sobald sich für {{% if combined %}}Ihre Flüge{{% else %}}Ihren Flug{{% endif %}} etwas ändert. {{% if next_update %}}Spätestens am {{{{ next_update }}}} hören Sie wieder von uns, auch wenn es bis dahin nichts Neues gibt.{{% else %}}Sobald wir mehr wissen, hören Sie wieder von uns.{{% endif %}}{{% if combined %}} Ab jetzt schreiben wir Ihnen zu allen Ihren Flügen gemeinsam, jedes Mal in einem Schreiben.{{% endif %}}

Wenn Sie uns vorher brauchen, antworten Sie auf diese E-Mail oder rufen Sie uns an{{% if contact.phone %}} unter {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}} und halten Sie Ihren Buchungscode {{{{ flight.booking_reference }}}} bereit{{% endif %}}. Falls Sie noch nicht zum Flughafen aufgebrochen sind, lohnt sich ein Anruf, bevor Sie losfahren.

Mit freundlichen Grüßen

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=UPDATE,
        language="de",
        subject="Update Nr. {{ sequence }} zu {% if combined %}Ihren Flügen {{ flight_labels }}{% else %}Ihrem Flug {{ flight.label }}{% endif %}",
        body_text=f"""Guten Tag {{{{ customer.name }}}},

{{% if combined %}}{{% if impact.change %}}{{{{ impact.change }}}}

{{% endif %}}{DE_UPDATE_COMBINED}{{% else %}}{{% if impact.change %}}hier erhalten Sie Update Nr. {{{{ sequence }}}} zu Ihrem Flug {{{{ flight.label }}}} am {{{{ flight.date }}}}. Wir schreiben Ihnen früher als angekündigt, weil sich für Sie etwas geändert hat.

{{{{ impact.change }}}}{{% if news %}}

Das ist neu: {{{{ news }}}}{{% endif %}}{{% else %}}wie versprochen erhalten Sie hier Update Nr. {{{{ sequence }}}} zu Ihrem Flug {{{{ flight.label }}}} am {{{{ flight.date }}}}.

{{% if news %}}Das ist neu: {{{{ news }}}}{{% else %}}Es gibt noch nichts Neues. Wir schreiben Ihnen trotzdem, weil wir es zugesagt haben und Sie nicht im Ungewissen lassen möchten.{{% endif %}}{{% endif %}}

So sieht es für Sie aus: {{{{ impact.summary }}}}

Was passiert ist: {{{{ incident.explanation }}}}{{% endif %}}

{{% if next_update %}}Das nächste Update erhalten Sie spätestens am {{{{ next_update }}}}, ob es Neuigkeiten gibt oder nicht.{{% else %}}Sobald es etwas Neues gibt, schreiben wir Ihnen wieder.{{% endif %}}

Wenn sich Ihre Pläne geändert haben oder Sie vorher Hilfe brauchen, antworten Sie auf diese E-Mail oder rufen Sie uns an{{% if contact.phone %}} unter {{{{ contact.phone }}}}{{% endif %}}{{% if flight.booking_reference %}} und nennen Sie uns Ihren Buchungscode {{{{ flight.booking_reference }}}}{{% endif %}}.

Mit freundlichen Grüßen

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=APOLOGY,
        language="de",
        subject="Es tut uns leid: Ihr Flug {{ flight.label }} am {{ flight.date }}",
        part_acknowledgement="""Ihre Reise mit uns am {{ flight.date }}, ist nicht so verlaufen, wie sie hätte verlaufen sollen, und dafür möchten wir uns aufrichtig bei Ihnen entschuldigen.

{{ incident.apology }}""",
        part_explanation=f"""{{{{ impact.summary }}}}{{% if also_incidents %}} Und wir wissen, dass es nicht das einzige Mal war, dass wir Sie enttäuscht haben: {ALSO}.{{% endif %}}

Was passiert ist: {{{{ incident.explanation }}}}""",
        part_remedy=f"""{{% if entitlements %}}Zuerst das, was Ihnen zusteht. {ENTITLEMENTS}

{{% endif %}}{{% if vouchers %}}{{% if entitlements %}}Zusätzlich dazu und als Zeichen unseres Bedauerns{{% else %}}Als Zeichen unseres Bedauerns{{% endif %}} möchten wir Ihnen {ONE}einen Reisegutschein{{% else %}}{{{{ vouchers|length }}}} Reisegutscheine{{% endif %}} schenken:{{% for voucher in vouchers %}}
- {{{{ voucher.code }}}}: {{{{ voucher.value }}}}, gültig bis {{{{ voucher.expires }}}}{{% endfor %}}

Sie können {ONE}ihn{{% else %}}sie{{% endif %}} bei der Buchung auf unserer Website (geben Sie den Code auf der Zahlungsseite ein) oder telefonisch einlösen.{{% if entitlements %}} Das ersetzt nicht, was Ihnen zusteht, sondern kommt hinzu.{{% endif %}}

{{% endif %}}{{% if incident.prevention %}}Was wir tun, damit sich das nicht wiederholt: {{{{ incident.prevention }}}}{{% endif %}}""",
        body_text=f"""Guten Tag {{{{ customer.name }}}},

{{{{ parts.acknowledgement }}}}

{{{{ parts.explanation }}}}

{{{{ parts.remedy }}}}

Wenn wir noch etwas für Sie tun können oder Sie uns erzählen möchten, was diese Störung für Sie bedeutet hat, {{% if channel == "sms" %}}schreiben Sie uns an {{{{ contact.email }}}}{{% if contact.phone %}} oder rufen Sie uns an unter {{{{ contact.phone }}}}{{% endif %}}{{% else %}}antworten Sie einfach auf diese E-Mail{{% endif %}}{{% if flight.booking_reference %}} (Ihr Buchungscode: {{{{ flight.booking_reference }}}}){{% endif %}}. Ein Mensch aus unserem Team liest Ihre Nachricht und antwortet Ihnen.

Mit nochmaliger Entschuldigung und freundlichen Grüßen

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=VOUCHER,
        language="de",
        subject="{% if vouchers|length > 1 %}Ihre Reisegutscheine{% else %}Ihr Reisegutschein{% endif %} nach Flug {{ flight.label }}",
        body_text=f"""Guten Tag {{{{ customer.name }}}},

{{{{ impact.summary }}}} Das tut uns leid, und wir haben es nicht vergessen.

{{{{ incident.apology }}}}

{{% if entitlements %}}Vorab das Wichtigste: {ENTITLEMENTS}

{{% endif %}}{{% if entitlements %}}Zusätzlich dazu und als{{% else %}}Als{{% endif %}} Zeichen unseres Bedauerns erhalten Sie {ONE}diesen Reisegutschein{{% else %}}diese Reisegutscheine{{% endif %}}:{{% for voucher in vouchers %}}
- Code {{{{ voucher.code }}}} im Wert von {{{{ voucher.value }}}}, gültig bis {{{{ voucher.expires }}}}{{% endfor %}}

So lösen Sie {ONE}ihn{{% else %}}sie{{% endif %}} ein: Buchen Sie wie gewohnt auf unserer Website und geben Sie den Code auf der Zahlungsseite ein, oder rufen Sie uns an und nennen Sie den Code. Was Sie nicht verbrauchen, bleibt bis zum Ablaufdatum auf dem Gutschein.

Mit freundlichen Grüßen

{SIGNATURE}""",
    ),
    DefaultTemplate(
        kind=SURVEY,
        language="de",
        subject="Ihr Flug {{ flight.label }}: Wie gut haben wir Sie begleitet?",
        body_text=f"""Guten Tag {{{{ customer.name }}}},

{{{{ impact.summary }}}} Wir haben versucht, Sie auf dem Laufenden zu halten und uns gut um Sie zu kümmern, und wir würden gern ehrlich von Ihnen hören, ob uns das gelungen ist.

Hätten Sie zwei Minuten, um auf diese E-Mail zu antworten? Drei Fragen, falls sie helfen: Haben Sie früh genug von uns gehört? Haben Ihnen unsere Nachrichten gesagt, was Sie wissen mussten? Was hätten wir anders machen sollen?

Jede Antwort liest ein Mensch aus unserem Team, und sie hilft uns, es beim nächsten Mal besser zu machen.

Vielen Dank und freundliche Grüße

{SIGNATURE}""",
    ),
)

DEFAULT_TEMPLATES: tuple[DefaultTemplate, ...] = EN + ES + FR + DE


def default_templates_install(apps: Any) -> int:
    """Create version 1 of every default template whose (kind, language) has no active template yet.

    Takes the migration's historical ``apps``, so it works at any point in the migration history.
    Returns how many templates were created; running it again creates none.
    """
    template_model = apps.get_model("care", "LetterTemplate")
    active = set(template_model.objects.filter(is_active=True).values_list("kind", "language"))
    missing = [default for default in DEFAULT_TEMPLATES if (default.kind, default.language) not in active]
    for default in missing:
        # A retired version 1 may exist for a (kind, language) with nothing active: take the next number.
        versions = template_model.objects.filter(kind=default.kind, language=default.language)
        latest = versions.order_by("-version").values_list("version", flat=True).first() or 0
        template_model.objects.create(
            kind=default.kind,
            language=default.language,
            version=latest + 1,
            is_active=True,
            subject=default.subject,
            part_acknowledgement=default.part_acknowledgement,
            part_explanation=default.part_explanation,
            part_remedy=default.part_remedy,
            body_text=default.body_text,
            body_html="",
        )
    return len(missing)


WORDING_FIELDS = ("subject", "part_acknowledgement", "part_explanation", "part_remedy", "body_text", "body_html")


def wording_digest(template: Any) -> str:
    """The sha256 of a template's wording: tells a shipped version nobody edited from one a coordinator changed."""
    text = "\x00".join(str(getattr(template, name, "") or "") for name in WORDING_FIELDS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_templates_upgrade(apps: Any, *, replaced: Mapping[tuple[str, str], str]) -> int:
    """Give each active template still worded exactly as an earlier shipped default today's default wording, as its
    next version (the old version stays, as the letters rendered from it say).

    ``replaced``: the ``wording_digest`` of that earlier default, per (kind, language). A template a coordinator
    edited keeps their wording; the template editor's help lists what they can add. Takes the migration's
    historical ``apps``; returns how many templates were revised, and running it again revises none.
    """
    template_model = apps.get_model("care", "LetterTemplate")
    defaults = {(default.kind, default.language): default for default in DEFAULT_TEMPLATES}
    revised = 0
    for (kind, language), digest in replaced.items():
        default = defaults.get((kind, language))
        active = template_model.objects.filter(kind=kind, language=language, is_active=True).first()
        if default is None or active is None or wording_digest(active) != digest:
            continue
        versions = template_model.objects.filter(kind=kind, language=language)
        latest = versions.order_by("-version").values_list("version", flat=True).first() or 0
        template_model.objects.filter(pk=active.pk).update(is_active=False)
        template_model.objects.create(
            kind=kind,
            language=language,
            version=latest + 1,
            is_active=True,
            subject=default.subject,
            part_acknowledgement=default.part_acknowledgement,
            part_explanation=default.part_explanation,
            part_remedy=default.part_remedy,
            body_text=default.body_text,
            body_html="",
        )
        revised += 1
    return revised
