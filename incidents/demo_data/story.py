"""What the coordinators wrote during the blizzard: titles, explanations, apologies and the timeline.

The apology and prevention paragraphs are written by hand for each station and day. Every number and
clock time in the texts comes from the flights themselves, so the story cannot drift from the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from care.core.station_time import station_time
from incidents.demo_data import NEW_YORK, Flight, local_time

FRIDAY, SATURDAY = dt.date(2013, 2, 8), dt.date(2013, 2, 9)
STATION_NAMES = {"EWR": "Newark", "JFK": "Kennedy", "LGA": "LaGuardia"}


@dataclass(frozen=True)
class StationFacts:
    """One station's day, counted from all its scheduled departures, disrupted or not."""

    code: str
    date: dt.date
    scheduled: int
    cancelled: int
    delayed_or_diverted: int
    first_departure: Flight
    last_departure: Flight

    @property
    def name(self) -> str:
        return STATION_NAMES[self.code]

    @classmethod
    def of(cls, flights: Sequence[Flight]) -> StationFacts:
        flown = sorted((flight for flight in flights if flight.departure is not None), key=_departure_key)
        return cls(
            code=flights[0].origin,
            date=flights[0].date,
            scheduled=len(flights),
            cancelled=sum(flight.cancelled for flight in flights),
            delayed_or_diverted=sum(flight.disrupted and not flight.cancelled for flight in flights),
            first_departure=flown[0],
            last_departure=flown[-1],
        )


def _departure_key(flight: Flight) -> int:
    return flight.departure or 0


def _clock(flight: Flight) -> str:
    """15:23 EST: a time staff and customers read says whose clock it is (issue 13, one clock)."""
    return f"{local_time(flight.departure or 0):%H:%M} {flight.departure_zone}"


@dataclass(frozen=True)
class Post:
    audience: str
    posted_at: dt.datetime
    text: str
    next_update_due_at: dt.datetime | None = None


@dataclass(frozen=True)
class Story:
    title: str
    explanation: str
    apology: str
    prevention: str
    posts: tuple[Post, ...]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


def _after(flight: Flight, minutes: int) -> dt.datetime:
    return _at(flight.date, *divmod(flight.departure or 0, 100)) + dt.timedelta(minutes=minutes)


def _half_hour_after(moment: dt.datetime, hours: int) -> dt.datetime:
    """A promise people can remember: a whole or half hour, at least ``hours`` ahead."""
    later = moment + dt.timedelta(hours=hours)
    extra = (30 - later.minute % 30) % 30
    return (later + dt.timedelta(minutes=extra)).replace(second=0, microsecond=0)


def _by(promise: dt.datetime, facts: StationFacts) -> str:
    """The promise as an update's words say it, taken from the promise itself: on the station's clock, with its
    zone ("11:00 EST"), so the text and its ``next_update_due_at`` cannot disagree."""
    return station_time(promise, facts.code, date=False)


APOLOGIES = {
    ("EWR", FRIDAY): (
        "We are truly sorry. On Friday 8 February you were counting on us to get you out of Newark, and your "
        "journey did not go the way you had planned. The blizzard was not something anyone could control, but the "
        "hours you spent at the gate or on hold, not knowing what would happen to your flight, were ours to put "
        "right, and we did not do well enough. Thank you for your patience with our Newark team, who worked through "
        "the storm to look after you."
    ),
    ("JFK", FRIDAY): (
        "We are sorry that your Friday at Kennedy did not end the way you had planned. You may have been going "
        "home, to family or to work that could not wait, and the storm took that evening from you. We cannot stop "
        "the snow, but we should have told you sooner what was happening to your flight, and we did not. Please "
        "accept our sincere apology."
    ),
    ("LGA", FRIDAY): (
        "We owe you an apology for Friday 8 February at LaGuardia. Flights kept leaving into the afternoon and then "
        "stopped, and what that meant for your flight should have reached you sooner and more clearly than it did. "
        "The weather was outside our control; how quickly and clearly we told you was not. We are sorry for the "
        "evening it cost you and for the uncertainty that came with it."
    ),
    ("EWR", SATURDAY): (
        "We are sorry that Saturday brought you more disappointment at Newark. After Friday's storm no flight could "
        "leave Newark until the afternoon, and we know what a second day of waiting on us means. We understand if "
        "your patience ran out. We are grateful for it, and sorry that we needed so much of it."
    ),
    ("JFK", SATURDAY): (
        "Saturday at Kennedy, with the airport digging out from the blizzard, should have been the day things got "
        "back to normal for you, and it was not. We are sorry for the lost day, for the queues at the rebooking "
        "desks, and for every update you had to chase instead of receiving it from us."
    ),
    ("LGA", SATURDAY): (
        "We apologise for Saturday 9 February at LaGuardia, where departures were disrupted while the airport "
        "recovered from the blizzard. A second day of disruption after Friday's storm means a missed weekend, an "
        "event or time with the people who matter to you, and we are sorry."
    ),
}

PREVENTION = {
    ("EWR", FRIDAY): (
        "The blizzard on Friday was not our fault, but leaving you waiting at Newark without information was, and "
        "we can fix it. When a forecast makes evening departures from Newark unworkable we now decide by late "
        "morning instead of at the gate, and tell you at once by email and text. Customers on cancelled flights "
        "are rebooked before they have to ask, and hotel rooms near Newark are reserved in advance, so that a "
        "voucher is waiting for you rather than a queue."
    ),
    ("JFK", FRIDAY): (
        "After Friday at Kennedy we have changed how we handle storm days. Cancellations are now decided and "
        "announced as soon as the forecast and the airport's plan make them certain, not flight by flight through "
        "the afternoon. Every customer on a cancelled flight gets a new booking automatically, with the freedom to "
        "choose another, and hotel rooms are pre-arranged so nobody on a late flight has to search for one at "
        "night."
    ),
    ("LGA", FRIDAY): (
        "On Friday at LaGuardia the gap between a cancellation being decided and customers hearing about it was "
        "too long. We now send the notice the moment the decision is made, before the gate screens change, and "
        "every message names the time of our next update. Rebooking happens before you ask, and hotel vouchers for "
        "evening departures are arranged in advance."
    ),
    ("EWR", SATURDAY): (
        "Some customers rebooked from Friday onto Saturday morning flights at Newark were put on flights that were "
        "unlikely to operate. After a storm we now rebook onto departures after the airport's expected restart, "
        "and when a flight is disrupted again we contact the customers already rebooked once first, so that nobody "
        "is let down twice without hearing from us first."
    ),
    ("JFK", SATURDAY): (
        "On Saturday, while Kennedy recovered from the storm, customers had to chase us for news. We now set a "
        "restart plan for Kennedy on the morning after a storm, check every early departure against it and "
        "cancel the ones that cannot operate before customers leave home. Rebooking offers and hotel extensions "
        "go out without being asked for, and every message names the time of the next update."
    ),
    ("LGA", SATURDAY): (
        "The recovery at LaGuardia on Saturday left morning customers at the airport for flights that could not "
        "leave. When the restart time is uncertain we now cancel morning departures the evening before, rebook you "
        "onto the first realistic flight before you ask, and extend Friday's hotel vouchers automatically for "
        "customers whose Saturday flight is affected."
    ),
}


def _friday(facts: StationFacts) -> tuple[str, tuple[Post, ...]]:
    name, last = facts.name, facts.last_departure
    explanation = (
        "A blizzard, the storm the press called Nemo, brought heavy snow and high winds to the New York area on "
        "Friday 8 February 2013, and flight operations were suspended for the rest of the day. The last departure "
        f"from {name} left at {_clock(last)}. Of the {facts.scheduled} departures scheduled from {name} that day, "
        f"{facts.cancelled} were cancelled and {facts.delayed_or_diverted} more were delayed by an hour or more or "
        "diverted."
    )
    evening = _after(last, 45)
    by_late_morning = _at(facts.date, 11)
    by_saturday_morning = _at(facts.date + dt.timedelta(days=1), 7)
    posts = (
        Post(
            "internal",
            _at(facts.date, 6, 30),
            (
                f"Storm desk open for {name}: {facts.scheduled} departures scheduled today. Heavy snow and high winds "
                f"are forecast from midday. Decide evening cancellations early, rebook before customers ask, and hold "
                f"hotel rooms near {name} for evening departures."
            ),
        ),
        Post(
            "frontline",
            _at(facts.date, 7, 30),
            (
                f"For the {name} desks and phones: change fees are waived for travel today and tomorrow. Offer a hotel "
                "voucher to anyone whose evening flight is cancelled and who cannot get home. Tell customers when our "
                "next update is due; do not guess at restart times."
            ),
        ),
        Post(
            "customers",
            _at(facts.date, 9),
            (
                f"A blizzard is forecast to bring heavy snow and high winds to New York today. Departures from {name} "
                "this afternoon and evening may be cancelled. You can move to a later flight free of charge; please "
                "check your flight status before you leave for the airport. Our next update will come by "
                f"{_by(by_late_morning, facts)}."
            ),
            by_late_morning,
        ),
        Post(
            "internal",
            _after(last, 15),
            (
                f"Last departure from {name} today: {last.label} at {_clock(last)}. {facts.cancelled} of "
                f"{facts.scheduled} departures cancelled. Rebooking of the cancelled customers continues overnight."
            ),
        ),
        Post(
            "frontline",
            _after(last, 30),
            (
                f"Departures from {name} have stopped for today. Give every customer still at the airport a hotel "
                "voucher and their new booking; warn those rebooked onto Saturday morning that we will message them "
                "again before they leave for the airport."
            ),
        ),
        Post(
            "customers",
            evening,
            (
                f"All remaining departures from {name} today are cancelled because of the blizzard. We are rebooking "
                "everyone on these flights; if you have no new booking yet, you will have it by "
                f"{_by(_at(facts.date + dt.timedelta(days=1), 7), facts)} on Saturday. "
                f"Hotel vouchers are available at the {name} service desk for anyone who cannot get home tonight. "
                f"Our next update will come by {_by(by_saturday_morning, facts)} on {by_saturday_morning:%A}."
            ),
            by_saturday_morning,
        ),
    )
    return explanation, posts


def _saturday(facts: StationFacts) -> tuple[str, tuple[Post, ...]]:
    name, first = facts.name, facts.first_departure
    explanation = (
        "The blizzard of Friday 8 February 2013, the storm the press called Nemo, left heavy snow at the New York "
        f"airports, and flight operations were suspended overnight. The first departure from {name} on Saturday "
        f"9 February left at {_clock(first)}. Of the {facts.scheduled} departures scheduled from {name} that day, "
        f"{facts.cancelled} were cancelled and {facts.delayed_or_diverted} more were delayed by an hour or more or "
        "diverted."
    )
    restarted = _after(first, 30)
    promise = _half_hour_after(restarted, 3)
    by_nine = _at(facts.date, 9)
    posts = (
        Post(
            "internal",
            _at(facts.date, 5),
            (
                f"No departures from {name} overnight. Snow clearing continues and morning departures are unlikely to "
                "operate: review every departure before noon, cancel before customers leave home, and check the "
                "customers we rebooked from Friday first."
            ),
        ),
        Post(
            "frontline",
            _at(facts.date, 5, 30),
            (
                "Expect customers rebooked from Friday. Look at their booking history first: anyone cancelled twice "
                "gets priority rebooking and an extended hotel voucher without having to ask."
            ),
        ),
        Post(
            "customers",
            _at(facts.date, 6),
            (
                f"Snow from the blizzard is still being cleared at {name} this morning and departures before noon are "
                "likely to be cancelled. If your flight is affected we will tell you before you leave for the airport "
                f"and rebook you. Our next update will come by {_by(by_nine, facts)}."
            ),
            by_nine,
        ),
        Post(
            "internal",
            _after(first, 10),
            (
                f"First departure from {name} since Friday: {first.label} at {_clock(first)}. {facts.cancelled} of "
                f"today's {facts.scheduled} departures cancelled."
            ),
        ),
        Post(
            "frontline",
            _after(first, 20),
            (
                f"Departures from {name} are restarting, with long delays. Update waiting customers at least every "
                "hour and offer meal vouchers for delays of three hours or more."
            ),
        ),
        Post(
            "customers",
            restarted,
            (
                f"The first flight from {name} since Friday left at {_clock(first)}. Departures are restarting "
                "gradually and some later today are still delayed. If your flight was cancelled you have a new "
                "booking: please check your email or text messages. Our next update will come by "
                f"{_by(promise, facts)}."
            ),
            promise,
        ),
    )
    return explanation, posts


def story_for(facts: StationFacts) -> Story:
    key = (facts.code, facts.date)
    explanation, posts = (_friday if facts.date == FRIDAY else _saturday)(facts)
    return Story(
        title=f"Blizzard: {facts.name} ({facts.code}) departures, {facts.date:%A} {facts.date.day} {facts.date:%B %Y}",
        explanation=explanation,
        apology=APOLOGIES[key],
        prevention=PREVENTION[key],
        posts=posts,
    )
