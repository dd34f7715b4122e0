"""Deterministic contact data for the benchmarks.

Every contact has a realistic name, 1-3 handles (email always; a phone for two
in three; facebook or twitter for some), 3 metadata keys, one group of 20 and
0-2 conversations. The same index always yields the same contact, so runs are
comparable and handles never collide across runs of one size.

Phone numbers come from one numbering plan used by every generator here:
`phone_number(k)` is the k-th valid US number of a list of area codes, so the
data set (k < 8,000,000, area code 617) and the load generator's mutations
(later area codes) never ask for the same handle.
"""
import random
import uuid

FIRST = (
    "Ada Adam Aisha Alan Alice Amara Amelia Ana Andrea Anna Anton Arjun Ava Ben Bianca Carla Carlos "
    "Chen Chloe Clara Daniel David Diego Elena Elif Ella Emil Emma Ethan Eva Fatima Felix Finn Freya "
    "Gabriel Grace Hana Hannah Hugo Ines Isaac Isabel Ivan Jack Jakob James Jana Javier Jin Johan "
    "Jonas Jose Julia Kai Karin Kenji Lars Laura Lea Leo Liam Lina Lucas Lucia Luis Maja Malik Marco "
    "Maria Marta Mateo Max Maya Mei Mia Mila Mohammed Nadia Nina Noah Nora Olga Omar Oscar Paula "
    "Pedro Priya Rafael Rosa Ruth Sakura Samuel Sara Sofia Tariq Theo Tom Vera Victor Yara Yusuf Zoe"
).split()
LAST = (
    "Abbott Alvarez Andersen Bauer Becker Bianchi Brown Campbell Chen Costa Cruz Dubois Eriksson "
    "Fernandez Fischer Garcia Gonzalez Gupta Hansen Harris Hoffmann Horvat Ito Jansen Jensen Johnson "
    "Kaya Keller Khan Kim Kowalski Kumar Larsen Laurent Lee Lopez Martin Martinez Meyer Moreau Muller "
    "Murphy Nakamura Nguyen Nielsen Novak Okafor Olsen Park Patel Perez Petrov Popescu Ramirez Richter "
    "Rossi Sanchez Santos Schmidt Schneider Silva Singh Smith Sorensen Suzuki Tanaka Taylor Torres "
    "Wagner Walker Wang Weber Williams Wilson Wright Yamamoto Yilmaz Young Zhang Ziegler"
).split()
COMPANIES = (
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Cyberdyne Soylent Tyrell Aperture "
    "Massive Dynamic Oscorp Gringotts Monarch Pied Piper"
).split()
DOMAINS = ("example.org", "example.com", "example.net", "mail.test", "inbox.test")
GROUPS = [f"segment-{g:02d}" for g in range(20)]
TIERS = ("gold", "silver", "bronze")
CHANNELS = ("facebook", "twilio.sms", "chatplugin", "google", "viber")

# Area codes with exchanges 200-999 and lines 0000-9999 all valid: 8,000,000
# numbers each.
AREA_CODES = (617, 212, 312, 415, 646, 718, 202, 303, 404, 512, 602, 713)
PER_AREA = 800 * 10000


def phone_parts(k):
    """(area, exchange, line) of the k-th number of the plan."""
    area = AREA_CODES[k // PER_AREA]
    rest = k % PER_AREA
    return area, 200 + rest // 10000, rest % 10000


def phone_e164(k):
    area, exchange, line = phone_parts(k)
    return f"+1{area}{exchange:03d}{line:04d}"


def phone_formatted(k):
    """The same number as a person would type it, without the country code."""
    area, exchange, line = phone_parts(k)
    return f"({area}) {exchange:03d}-{line:04d}"


def conversation_id(i, n):
    return str(uuid.UUID(int=(0xB3 << 120) | (i << 8) | n))


def contact(i):
    """The i-th contact as an importContacts row (CreateContactInput)."""
    rng = random.Random(i)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    via = [{"source": "email", "handle": f"{first}.{last}.{i}@{rng.choice(DOMAINS)}".lower()}]
    if i % 3 != 2:
        via.append({"source": "phone", "handle": phone_e164(i)})
    extra = rng.random()
    if extra < 0.25:
        via.append({"source": "facebook", "handle": f"fb-{i}"})
    elif extra < 0.4:
        via.append({"source": "twitter", "handle": f"@{first.lower()}{i}"})
    row = {
        "displayName": f"{first} {last}",
        "via": via,
        "metadata": {
            "crm_id": f"C{i:07d}",
            "tier": rng.choice(TIERS),
            "score": rng.randrange(100),
        },
        "groupNames": [GROUPS[i % len(GROUPS)]],
    }
    if rng.random() < 0.3:
        row["organizationName"] = f"{rng.choice(COMPANIES)} {rng.choice(('Inc', 'GmbH', 'Ltd', 'SA'))}"
    conversations = rng.choice((0, 0, 1, 1, 2))
    if conversations:
        row["conversations"] = [
            {"id": conversation_id(i, n), "channel": rng.choice(CHANNELS)} for n in range(conversations)
        ]
    return row


def has_phone(i):
    return i % 3 != 2


def batches(start, count, size):
    """Lists of rows: contacts start .. start+count in lists of `size`."""
    for s in range(start, start + count, size):
        yield [contact(i) for i in range(s, min(s + size, start + count))]
