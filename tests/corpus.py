"""A tiny labelled corpus for tests, written for them: short paragraphs, a dozen positives per label."""

from __future__ import annotations

DEFENCE = (
    "The army deployed two armoured brigades to the northern border after artillery fire overnight.",
    "Navy frigates escorted the convoy through the strait as fighter jets patrolled overhead.",
    "Troops repelled a drone attack on the air base, the military said on Sunday.",
    "The general said the missile defence battery intercepted both rockets over the capital.",
    "Soldiers and tanks massed near the frontier during the largest military exercise in a decade.",
    "The insurgents ambushed an army patrol, killing four soldiers, officers said.",
    "Air force bombers struck weapons depots used by the militia, the defence staff said.",
    "Peacekeepers withdrew from the buffer zone after shelling damaged their barracks.",
    "Special forces raided a rebel camp and seized rifles, mortars and ammunition.",
    "Warships fired on a drone boat approaching the naval base at dawn.",
    "The brigade's artillery units were moved closer to the front line overnight.",
    "Military commanders ordered reservists to report to their units within 48 hours.",
)
ECONOMIC = (
    "Inflation slowed to 3.1% in March as food and fuel prices eased, statistics showed.",
    "The carmaker's quarterly profit fell 12% on weaker sales in China, and its shares dropped.",
    "The central bank raised its benchmark interest rate by a quarter point to 4.5%.",
    "Retail sales rose 0.8% last month, beating forecasts, as shoppers spent more on clothes.",
    "The airline will cut 2,000 jobs to save costs after a loss of $300 million.",
    "Oil prices climbed above $90 a barrel as stockpiles shrank and demand recovered.",
    "Unemployment fell to 4.1%, its lowest level in two years, the labour survey showed.",
    "The bank agreed to buy its smaller rival for $4 billion in cash and shares.",
    "Exports of electronics jumped 14% from a year earlier, lifting the trade surplus.",
    "The stock market closed at a record high as technology shares rallied.",
    "Factory output contracted for a third month as orders for steel and machinery slumped.",
    "House prices rose 2% in the quarter while mortgage lending hit a five-year low.",
)
POLITICAL = (
    "The prime minister faced a confidence vote in parliament after two ministers resigned.",
    "Opposition parties formed an alliance ahead of the general election in May.",
    "The senate passed the immigration bill by 52 votes to 48 after a heated debate.",
    "Voters elected a new president in a run-off marked by low turnout.",
    "The party leader promised reform of the electoral system if her coalition wins.",
    "Thousands protested outside parliament against the government's new protest law.",
    "The foreign minister met her counterpart to restore diplomatic relations.",
    "The governing coalition collapsed when the junior partner quit the cabinet.",
    "Lawmakers voted to impeach the president over abuse of office.",
    "The mayor announced she would stand for the party leadership next month.",
    "Campaigning for the referendum on independence began with rallies in the capital.",
    "The court ruled that the government acted unlawfully when it suspended parliament.",
)
MIXED = (
    (
        "Parliament approved a 6% rise in the defence budget to buy fighter jets and frigates.",
        ("defence", "economic", "political"),
    ),
    (
        "The arms maker won a $2 billion contract to supply artillery shells to the army.",
        ("defence", "economic"),
    ),
    ("Ceasefire talks between the government and the rebels resumed in Geneva.", ("defence", "political")),
    ("The finance minister's budget raised taxes on banks to cut the deficit.", ("economic", "political")),
)
NONE = (
    "Rovers' defence held firm as the captain led the title campaign to a fifth straight win.",
    "The defence rested its case after the jury heard from the accused's sister.",
    "Heavy rain and strong winds are expected across the north on Thursday.",
    "The film, a sprawling war drama, won best picture at the festival.",
    "Click here to subscribe to our morning newsletter.",
    "The museum's new exhibition of Dutch landscapes opens on Saturday.",
    "Scientists found that the immune system's defences weaken with age.",
    "Upgrade to premium economy for extra legroom on long-haul flights.",
)


def rows() -> list[tuple[str, tuple[str, ...]]]:
    """Every paragraph with its labels."""
    single = [(t, ("defence",)) for t in DEFENCE] + [(t, ("economic",)) for t in ECONOMIC]
    return single + [(t, ("political",)) for t in POLITICAL] + list(MIXED) + [(t, ()) for t in NONE]
