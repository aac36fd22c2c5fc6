"""A wire story told by three outlets (one trimmed, one re-headlined with a paragraph added)
and an unrelated story on the same subject: the syndication tests' fixtures."""

from __future__ import annotations

from index.models import Article

WIRE = [
    "Firefighters in northern Portugal brought a wildfire near the town of Vila Real under"
    " control on Sunday after four days, the civil protection agency said.",
    "More than 900 firefighters, supported by eleven water-bombing aircraft, battled the"
    " flames, which burned about 3,200 hectares of pine forest and scrubland.",
    "Two hundred residents of three villages were evacuated on Thursday night as strong winds"
    " pushed the fire towards their homes; most had returned by Sunday afternoon.",
    "A spokesman for the agency said no one had been seriously hurt, although six firefighters"
    " were treated for smoke inhalation and one for a sprained ankle.",
    "Police said they were investigating the cause of the blaze and had not ruled out arson,"
    " which accounts for a large share of the country's summer fires.",
    "Portugal's weather service kept a red alert for extreme heat in place for the interior"
    " of the country, with temperatures forecast to reach 43 degrees on Monday.",
]

COPIES = [
    Article(
        id="herald-fire",
        title="Portugal wildfire near Vila Real brought under control",
        text="\n\n".join(WIRE),
        outlet="Daily Herald",
        url="https://herald.example/world/portugal-fire",
        published="2026-07-12",
    ),
    Article(  # trimmed: the last two paragraphs cut
        id="courier-fire",
        title="Portugal wildfire near Vila Real brought under control",
        text="\n\n".join(WIRE[:4]),
        outlet="Evening Courier",
        url="https://courier.example/news/fire",
        published="2026-07-12",
    ),
    Article(  # a new headline and a paragraph of its own
        id="gazette-fire",
        title="Villagers return home as Portugal fire is contained",
        text="\n\n".join(
            [
                *WIRE[:3],
                "In Mondim de Basto, one of the evacuated villages, the mayor thanked"
                " volunteers who had opened the school gymnasium to families overnight.",
                *WIRE[3:],
            ]
        ),
        outlet="Regional Gazette",
        url="https://gazette.example/fire-contained",
        published="2026-07-13",
    ),
]

SAME_SUBJECT = Article(
    id="times-fire-season",
    title="Portugal braces for a long wildfire season",
    text="\n\n".join(
        [
            "Portugal has hired 400 more firefighters this summer and leased extra"
            " water-bombing aircraft as forecasters warn of a long and dry fire season.",
            "The civil protection agency said the number of wildfires in the interior of the"
            " country had doubled since June compared with the same period last year.",
            "Officials urged residents of rural villages to clear scrubland around their homes"
            " and to report anyone lighting fires, since arson causes many summer blazes.",
            "The government also promised compensation to farmers whose pine forest and"
            " crops burned, after complaints that payments from 2017 took years to arrive.",
        ]
    ),
    outlet="Lisbon Times",
    url="https://times.example/fire-season",
    published="2026-07-10",
)
