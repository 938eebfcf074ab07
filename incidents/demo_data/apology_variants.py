"""The coordinators' apologies per impact (``incidents.variants``), written to one reader about what happened to
them: a night away, a cancelled flight, a flight that landed elsewhere, a missed connection, a late departure.

Every station and day has the impacts its passengers had (a diversion only at Newark and LaGuardia on Friday).
Each paragraph claims only its own impact: a customer reads the variant of the first of their impacts in
``incidents.variants.Impact``'s order, so the overnight paragraph never says the flight was cancelled (it need
not have been), and the delayed one never says "hours late" (an hour and four minutes is a delay too). The
Spanish, French and German paragraphs are in ``story_translations``.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.demo_data.story import FRIDAY, SATURDAY, StationFacts
from incidents.demo_data.story_translations import de, es, fr

OVERNIGHT, CANCELLED, DIVERTED = "overnight_stay", "cancelled", "diverted"
MISSED, DELAYED = "missed_connection", "delayed"

APOLOGY_VARIANTS = {
    ("EWR", FRIDAY): {
        OVERNIGHT: (
            "We are truly sorry that Friday 8 February cost you a night away from home. When the blizzard stopped "
            "departures from Newark, you were left to find somewhere to sleep instead of getting where you were "
            "going, and the hours you spent at the gate or on hold before you knew what it meant for you were ours "
            "to put right. We did not do well enough, and we are grateful for your patience with our Newark team."
        ),
        CANCELLED: (
            "We are truly sorry that your flight from Newark on Friday 8 February was cancelled. You were counting "
            "on us to get you where you were going, and we could not. The blizzard was beyond anyone's control, but "
            "the hours you spent at the gate or on hold before you knew what it meant for you were ours to put right, "
            "and we did not do well enough. Thank you for your patience with our Newark team, who worked through the "
            "storm to find you another way."
        ),
        DIVERTED: (
            "We are truly sorry that your flight from Newark on Friday 8 February had to land at another airport. "
            "The blizzard left the crew no safe choice, but you ended the day somewhere you had not planned to be, "
            "and you should have heard from us at once how and when we would get you where you were going. Thank "
            "you for your patience with our Newark team."
        ),
        MISSED: (
            "We are truly sorry that your flight from Newark on Friday 8 February left late and you missed your "
            "connecting flight. A late departure is one thing; losing the connection that was to take you the rest "
            "of the way is another, and it is the part we are most sorry for. The blizzard was nobody's fault, but "
            "getting you onto a new connection straight away was our job, and we should have done it sooner."
        ),
        DELAYED: (
            "We are truly sorry that your flight from Newark on Friday 8 February left late. You were counting on us "
            "to keep to the time on your ticket, and the blizzard made that impossible. What we could have done "
            "better was tell you sooner and more clearly what the storm meant for your flight, so that the wait at "
            "the gate did not come as a surprise. Thank you for your patience with our Newark team."
        ),
    },
    ("JFK", FRIDAY): {
        OVERNIGHT: (
            "We are sorry that your Friday at Kennedy ended with a night you had not planned to spend away from "
            "home. Whether you were going home, to family or to work that could not wait, the storm took that "
            "evening and that night from you. We cannot stop the snow, but we should have told you sooner what was "
            "happening to your flight, and had a room ready for you without your asking. Please accept our sincere "
            "apology."
        ),
        CANCELLED: (
            "We are sorry that your flight from Kennedy on Friday 8 February was cancelled. Whether you were going "
            "home, to family or to work that could not wait, the storm took that evening from you. We cannot stop "
            "the snow, but we should have told you sooner that your flight would not go, and we did not. Please "
            "accept our sincere apology."
        ),
        MISSED: (
            "We are sorry that your flight from Kennedy on Friday 8 February left late and you missed your "
            "connection. Whether you were going home, to family or to work that could not wait, the late departure "
            "broke the journey you had planned. We cannot stop the snow, but we should have told you sooner how late "
            "your flight would be, and helped you onto a new connection before you had to ask. Please accept our "
            "sincere apology."
        ),
        DELAYED: (
            "We are sorry that your flight from Kennedy on Friday 8 February left late. Whether you were going home, "
            "to family or to work that could not wait, you arrived later than you had every right to expect. We "
            "cannot stop the snow, but we should have told you sooner how late your flight would be, and we did "
            "not. Please accept our sincere apology."
        ),
    },
    ("LGA", FRIDAY): {
        OVERNIGHT: (
            "We owe you an apology for Friday 8 February at LaGuardia, and for the night away from home it cost you. "
            "Flights kept leaving into the afternoon and then stopped, and you should have heard from us what that "
            "meant for you, and where you could stay, long before you had to ask. The weather was outside our "
            "control; how quickly and clearly we told you was not. We are sorry for the evening and the night it "
            "took from you."
        ),
        CANCELLED: (
            "We owe you an apology for Friday 8 February at LaGuardia. Flights kept leaving into the afternoon and "
            "then stopped, and you should have heard from us that your flight was cancelled long before you reached "
            "the gate. The weather was outside our control; how quickly and clearly we told you was not. We are sorry "
            "for the evening it cost you and for the uncertainty that came with it."
        ),
        DIVERTED: (
            "We owe you an apology for Friday 8 February at LaGuardia, where your flight took off into the storm and "
            "had to land at another airport. The weather left the crew no safe choice, but you should have heard "
            "from us at once how we would get you where you were going. How quickly and clearly we told you was in "
            "our hands, and we are sorry for the uncertainty it left you with."
        ),
        MISSED: (
            "We owe you an apology for Friday 8 February at LaGuardia, where your flight left late and you missed "
            "your connection. You should have heard from us how late it would be while there was still time to "
            "change your plans, and found a new connection waiting for you. The weather was outside our control; how "
            "quickly and clearly we told you was not. We are sorry for the journey it broke."
        ),
        DELAYED: (
            "We owe you an apology for Friday 8 February at LaGuardia, where your flight left late while the storm "
            "closed in. You should have heard from us how late it would be before you reached the gate, not once you "
            "were there. The weather was outside our control; how quickly and clearly we told you was not. We are "
            "sorry for the waiting it cost you and for the uncertainty that came with it."
        ),
    },
    ("EWR", SATURDAY): {
        OVERNIGHT: (
            "We are sorry that Saturday 9 February at Newark ended with a night away from home you had not planned. "
            "After Friday's storm no flight could leave Newark until the afternoon, and by the evening you should "
            "not have had to wonder where you would sleep. We understand if your patience ran out. We are grateful "
            "for it, and sorry that we needed so much of it."
        ),
        CANCELLED: (
            "We are sorry that your flight from Newark on Saturday 9 February was cancelled. After Friday's storm no "
            "flight could leave Newark until the afternoon, and a cancellation on the day things should have got "
            "back to normal is hard to take, all the more so if we had already rebooked you once. We understand if "
            "your patience ran out. We are grateful for it, and sorry that we needed so much of it."
        ),
        MISSED: (
            "We are sorry that your flight from Newark on Saturday 9 February left late and you missed your "
            "connection. After Friday's storm no flight could leave Newark until the afternoon, and a late departure "
            "on the day things should have got back to normal cost you the rest of your journey as you had planned "
            "it. We are grateful for your patience, and sorry that we needed so much of it."
        ),
        DELAYED: (
            "We are sorry that your flight from Newark on Saturday 9 February left late. After Friday's storm no "
            "flight could leave Newark until the afternoon, and the departures that did go left behind schedule "
            "while the airport caught up. We are grateful for your patience, and sorry that we needed so much of it."
        ),
    },
    ("JFK", SATURDAY): {
        OVERNIGHT: (
            "Saturday at Kennedy should have been the day things got back to normal for you, and instead it ended "
            "with a night away from home you had not planned. We are sorry for the lost day and the night, for the "
            "queues at the rebooking desks, and for every update you had to chase instead of receiving it from us."
        ),
        CANCELLED: (
            "Saturday at Kennedy should have been the day things got back to normal for you, and instead your flight "
            "was cancelled while the airport dug out from the blizzard. We are sorry for the lost day, for the queues "
            "at the rebooking desks, and for every update you had to chase instead of receiving it from us."
        ),
        MISSED: (
            "Saturday at Kennedy should have been the day things got back to normal for you, and instead your flight "
            "left late and you missed your connection while the airport dug out from the blizzard. We are sorry for "
            "the journey it broke, for the queues at the transfer desks, and for every update you had to chase "
            "instead of receiving it from us."
        ),
        DELAYED: (
            "Saturday at Kennedy should have been the day things got back to normal for you, and instead your flight "
            "left late while the airport dug out from the blizzard. We are sorry for the time it cost you, for the "
            "waiting at the gate, and for every update you had to chase instead of receiving it from us."
        ),
    },
    ("LGA", SATURDAY): {
        OVERNIGHT: (
            "We apologise for Saturday 9 February at LaGuardia, and for the night away from home it cost you while "
            "the airport recovered from the blizzard. A night you had not planned, the day after the storm, means a "
            "missed weekend, an event or time with the people who matter to you, and we are sorry."
        ),
        CANCELLED: (
            "We apologise for Saturday 9 February at LaGuardia, where your flight was cancelled while the airport "
            "recovered from the blizzard. A cancelled flight the day after the storm means a missed weekend, an "
            "event or time with the people who matter to you, and we are sorry."
        ),
        MISSED: (
            "We apologise for Saturday 9 February at LaGuardia, where your flight left late and you missed your "
            "connection while the airport recovered from the blizzard. A broken journey the day after the storm "
            "means a missed weekend, an event or time with the people who matter to you, and we are sorry."
        ),
        DELAYED: (
            "We apologise for Saturday 9 February at LaGuardia, where your flight left late while the airport "
            "recovered from the blizzard. Time lost the day after the storm is time taken from your weekend and from "
            "the people who matter to you, and we are sorry."
        ),
    },
}


@dataclass(frozen=True)
class StoryVariant:
    language: str
    impact: str
    apology: str


def variants_for(facts: StationFacts) -> tuple[StoryVariant, ...]:
    """The apology variants of this station and day in English, Spanish, French and German."""
    key = (facts.code, facts.date)
    return tuple(
        StoryVariant(language, impact, apology)
        for language, variants in (
            ("en", APOLOGY_VARIANTS),
            ("es", es.APOLOGY_VARIANTS),
            ("fr", fr.APOLOGY_VARIANTS),
            ("de", de.APOLOGY_VARIANTS),
        )
        for impact, apology in variants[key].items()
    )
