"""The few words of the public letter page around the letter itself, in each customer language (en, es, fr, de).

The letter brings its own words; these are the page's: its landmark, the privacy note, and the refusals (a link
that does not work, one that has expired, too many requests, a method other than GET). Customers are addressed
formally (usted, vous, Sie), as in the letters; a language missing here falls back to English
(``care.correspondence.phrases.letter_language``). ``{days}`` is the link's lifetime, ``{email}`` and ``{phone}``
customer care's.
"""

from __future__ import annotations

from dataclasses import dataclass

from care.correspondence.phrases import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class PageWords:
    letter: str  # names the letter for a screen reader
    private: str
    not_found: tuple[str, str]  # title, text
    expired: tuple[str, str]
    busy: tuple[str, str]
    not_allowed: tuple[str, str]
    write_to_us: str
    call_us: str  # follows write_to_us when customer care has a phone number


PAGE_WORDS: dict[str, PageWords] = {
    "en": PageWords(
        letter="Your letter",
        private="This page is meant for you alone: please do not share its link.",
        not_found=(
            "This link does not work",
            (
                "Please check that you opened the whole link from our text message. If it still does not work, "
                "contact our Customer Care team and we will send you the letter again."
            ),
        ),
        expired=(
            "This link has expired",
            (
                "To keep your letter private, its link works for {days} days only. Contact our Customer Care team and "
                "we will gladly send you the letter again."
            ),
        ),
        busy=(
            "Please wait a moment",
            "This page was opened too many times in a short while. Please try again in a minute.",
        ),
        not_allowed=("This page can only be read", "Open the link from our text message to read your letter."),
        write_to_us="Write to us at {email}",
        call_us="or call us on {phone}",
    ),
    "es": PageWords(
        letter="Su carta",
        private="Esta página es solo para usted: le rogamos que no comparta su enlace.",
        not_found=(
            "Este enlace no funciona",
            (
                "Compruebe que ha abierto el enlace completo de nuestro mensaje. Si sigue sin funcionar, contacte con "
                "nuestro equipo de Atención al Cliente y le enviaremos la carta de nuevo."
            ),
        ),
        expired=(
            "Este enlace ha caducado",
            (
                "Para proteger su privacidad, el enlace a su carta solo funciona durante {days} días. Contacte con "
                "nuestro equipo de Atención al Cliente y le enviaremos la carta de nuevo con mucho gusto."
            ),
        ),
        busy=(
            "Espere un momento, por favor",
            "Esta página se ha abierto demasiadas veces en poco tiempo. Vuelva a intentarlo dentro de un minuto.",
        ),
        not_allowed=("Esta página solo se puede leer", "Abra el enlace de nuestro mensaje para leer su carta."),
        write_to_us="Escríbanos a {email}",
        call_us="o llámenos al {phone}",
    ),
    "fr": PageWords(
        letter="Votre lettre",
        private="Cette page vous est destinée : merci de ne pas partager son lien.",
        not_found=(
            "Ce lien ne fonctionne pas",
            (
                "Vérifiez que vous avez ouvert le lien complet de notre message. S'il ne fonctionne toujours pas, "
                "contactez notre Service Clients et nous vous renverrons la lettre."
            ),
        ),
        expired=(
            "Ce lien a expiré",
            (
                "Pour protéger vos données, le lien vers votre lettre n'est valable que {days} jours. Contactez notre "
                "Service Clients et nous vous renverrons volontiers la lettre."
            ),
        ),
        busy=(
            "Merci de patienter un instant",
            "Cette page a été ouverte trop de fois en peu de temps. Veuillez réessayer dans une minute.",
        ),
        not_allowed=("Cette page se consulte uniquement", "Ouvrez le lien de notre message pour lire votre lettre."),
        write_to_us="Écrivez-nous à {email}",
        call_us="ou appelez-nous au {phone}",
    ),
    "de": PageWords(
        letter="Ihr Brief",
        private="Diese Seite ist nur für Sie bestimmt: Bitte geben Sie den Link nicht weiter.",
        not_found=(
            "Dieser Link funktioniert nicht",
            (
                "Bitte prüfen Sie, ob Sie den vollständigen Link aus unserer Nachricht geöffnet haben. Wenn er "
                "weiterhin nicht funktioniert, wenden Sie sich an unseren Kundenservice, und wir senden Ihnen den "
                "Brief erneut."
            ),
        ),
        expired=(
            "Dieser Link ist abgelaufen",
            (
                "Zum Schutz Ihrer Daten ist der Link zu Ihrem Brief nur {days} Tage gültig. Wenden Sie sich an unseren "
                "Kundenservice, und wir senden Ihnen den Brief gern erneut."
            ),
        ),
        busy=(
            "Bitte warten Sie einen Moment",
            "Diese Seite wurde in kurzer Zeit zu oft aufgerufen. Bitte versuchen Sie es in einer Minute erneut.",
        ),
        not_allowed=(
            "Diese Seite kann nur gelesen werden",
            "Öffnen Sie den Link aus unserer Nachricht, um Ihren Brief zu lesen.",
        ),
        write_to_us="Schreiben Sie uns an {email}",
        call_us="oder rufen Sie uns an unter {phone}",
    ),
}


def page_words(language: str) -> PageWords:
    return PAGE_WORDS.get(language, PAGE_WORDS[DEFAULT_LANGUAGE])
