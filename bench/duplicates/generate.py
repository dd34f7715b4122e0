#!/usr/bin/env python3
"""Labelled contacts for the duplicate-candidate benchmark.

Writes CONTACTS records as importContacts rows, some of them the same person
entered more than once (known duplicate clusters, by recipe) and some of them
different people made to look alike (hard negatives), with the truth beside
them:

    python3 bench/duplicates/generate.py --contacts 200000 --seed 1 --out DIR

    DIR/contacts.ndjson  one CreateContactInput per line, shuffled; each row's
                         externalId ("dup-SEED-N") names it in the labels
    DIR/labels.ndjson    {"externalId", "entity", "recipe"} per row: rows with
                         the same entity are one person (every pair of them is
                         a true duplicate); recipe says how the row was made

Duplicate recipes (2 or 3 rows of one person each):
    typo        a misspelt name (one edit), same organisation and address
    format      one phone number typed in different ways, on different
                channels (phone, whatsapp, sms); the name once missing or
                in capitals
    swapped     family name first ("Silva Maria", "Silva, Maria"), the
                same address or the same number on another channel
    gmail       Gmail variants of one address: dots, +tags, googlemail.com,
                capitals; the name once without its accents
    ninth_digit a Brazilian mobile with and without the ninth digit
                (+55 11 98765-4321 and +55 11 8765-4321), as WhatsApp still
                sends it for older accounts
Hard negatives (different people, labelled apart):
    family      a household: one surname, one address, one landline (on
                different channels), different first names and mobiles
    common_name the commonest names ("Maria Silva", "John Smith"...), each
                worn by many people with their own handles
    switchboard one company's staff: one main number with each person's
                extension, one address, one organisation
    single      everyone else

The same seed always writes the same file. Every handle is unique across
the rows (the service refuses a handle two contacts would share), so two
rows of one person share no handle as written: their likeness is what the
candidates must find. The recipes were fixed before any scoring was tuned;
tune on one seed, report on another.
"""
import argparse
import json
import os
import random
import unicodedata

FIRST = (
    "Ada Adam Adriana Agnieszka Ahmed Aiko Aisha Alan Alejandro Alessandro Alice Amara Amélie Ana "
    "Anders Andrea Andrés Anna Anton Antônio Arjun Astrid Ava Ayşe Beatriz Ben Bianca Björn Bruno "
    "Camila Carla Carlos Catarina Chen Chloé Clara Cristina Daniel Daniela David Diego Dmitri Elena "
    "Elif Ella Emil Emma Enzo Eva Fatima Felipe Felix Fernanda Finn Francesca François Freya "
    "Gabriel Gabriela Giulia Grace Guilherme Hana Hannah Héctor Hiroshi Hugo Ines Ingrid Isaac "
    "Isabel Ivan Jack Jakob James Jana Javier Jin João Johan Jonas Jonathan Jorge José Julia "
    "Juliana Kai Karin Katarzyna Kenji Klaus Lars Laura Lea Leo Leonardo Liam Lina Lorenzo Lucas "
    "Lucía Luis Łukasz Maja Malik Marco Margarida Mariana Marta Mateo Matteo Max Maya Mehmet Mei "
    "Mia Mila Mohammed Nadia Natália Nina Noah Nora Olga Omar Oscar Paula Pedro Pilar Priya Rafael "
    "Raquel Renata Rodrigo Rosa Ruth Sakura Samuel Sara Sebastián Sofia Søren Tariq Thiago Theo "
    "Tomás Valentina Vera Victor Vitória Wojciech Yara Yusuf Zoë"
).split()
LAST = (
    "Abbott Almeida Alvarez Andersen Araújo Barbosa Bauer Becker Bianchi Brown Campbell Cardoso "
    "Carvalho Chen Costa Cruz Dubois Eriksson Fernandes Ferreira Fischer García Gomes González "
    "Gupta Hansen Harris Hoffmann Horvat Ito Jansen Jensen Johnson Kaya Keller Khan Kim Kowalski "
    "Kumar Larsen Laurent Lee Lima López Martin Martínez Meyer Moreau Müller Murphy Nakamura "
    "Nascimento Nguyen Nielsen Novak Nowak Okafor Oliveira Olsen Park Patel Pereira Pérez Petrov "
    "Popescu Ramírez Ribeiro Richter Rocha Rodrigues Rossi Sánchez Santos Schmidt Schneider Silva "
    "Singh Smith Sørensen Souza Suzuki Tanaka Taylor Torres Wagner Walker Wang Weber Williams "
    "Wilson Wiśniewski Wright Yamamoto Yılmaz Young Zhang Ziegler"
).split()
COMMON_NAMES = (
    "Maria Silva", "José Santos", "John Smith", "Mohammed Khan", "Wei Wang", "Ana García",
    "Maria Santos", "James Smith", "Ana Souza", "David Cohen",
)
COMPANY_WORDS = (
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Cyberdyne Soylent Tyrell "
    "Aperture Oscorp Gringotts Monarch Nakatomi Dunder Sterling Cooper Prestige Wernham Massive "
    "Pied Piper Blue Sun Virtucon Zorg Gekko Bluth Duff Krusty Planet Spacely Cogswell Rekall"
).split()
COMPANY_KINDS = ("Ltd", "Inc", "GmbH", "S.A.", "Ltda", "Group", "Labs", "& Co", "Partners", "Studio")
TITLES = ("Sales Manager", "Engineer", "Buyer", "CEO", "Accountant", "Nurse", "Teacher", "Designer",
          "Support Lead", "Analyst", None, None, None)
DOMAINS = ("example.org", "example.com", "example.net", "mail.test", "inbox.test", "post.test")
STREETS = ("Main St", "Rua Augusta", "Calle Mayor", "Hauptstraße", "High Street", "Avenida Paulista",
           "Rue de la Paix", "Via Roma", "Oak Avenue", "Elm Street", "Rua das Flores", "Baker Street")
# (city, country, ISO region): where people live; phones follow the region.
CITIES = (("Boston", "US", "US"), ("New York", "US", "US"), ("São Paulo", "BR", "BR"),
          ("Rio de Janeiro", "BR", "BR"), ("Berlin", "DE", "DE"), ("London", "GB", "GB"),
          ("Madrid", "ES", "ES"), ("Paris", "FR", "FR"), ("Mexico City", "MX", "MX"),
          ("Buenos Aires", "AR", "AR"), ("Lisbon", "PT", "PT"), ("Chicago", "US", "US"))
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


class Numbers:
    """Valid phone numbers, never the same one twice in a file. Each plan
    keeps to ranges libphonenumber validates: US area codes with exchanges
    200-999, Brazilian mobiles 9XXXX-XXXX and landlines 3XXX-XXXX in area
    11 and 21, German 0151 mobiles, UK 07700 900 mobiles, and so on."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def _fresh(self, make):
        while True:
            number = make()
            if number not in self.used:
                self.used.add(number)
                return number

    def mobile(self, region):
        r = self.rng
        make = {
            "US": lambda: f"+1{r.choice((617, 212, 312, 415, 646, 718))}{r.randint(200, 999)}{r.randint(0, 9999):04d}",
            "BR": lambda: f"+55{r.choice((11, 21))}9{r.randint(6000, 9999)}{r.randint(0, 9999):04d}",
            "DE": lambda: f"+49151{r.randint(10000000, 99999999)}",
            "GB": lambda: f"+447700900{r.randint(0, 999):03d}" if r.random() < 0.01 else f"+4479{r.randint(10000000, 99999999)}",
            "ES": lambda: f"+346{r.randint(10000000, 99999999)}",
            "FR": lambda: f"+336{r.randint(10000000, 99999999)}",
            "MX": lambda: f"+5255{r.randint(10000000, 99999999)}",
            "AR": lambda: f"+54911{r.randint(20000000, 69999999)}",
            "PT": lambda: f"+3519{r.choice((1, 2, 3, 6))}{r.randint(1000000, 9999999)}",
        }[region]
        return self._fresh(make)

    def landline(self, region):
        r = self.rng
        make = {
            "US": lambda: f"+1{r.choice((617, 212, 312))}{r.randint(200, 999)}{r.randint(0, 9999):04d}",
            "BR": lambda: f"+55{r.choice((11, 21))}3{r.randint(100, 999)}{r.randint(0, 9999):04d}",
            "DE": lambda: f"+4930{r.randint(1000000, 9999999)}",
            "GB": lambda: f"+44207{r.randint(1000000, 9999999)}",
            "ES": lambda: f"+3491{r.randint(1000000, 9999999)}",
            "FR": lambda: f"+331{r.randint(40000000, 49999999)}",
            "MX": lambda: f"+5255{r.randint(10000000, 99999999)}",
            "AR": lambda: f"+5411{r.randint(40000000, 49999999)}",
            "PT": lambda: f"+35121{r.randint(1000000, 9999999)}",
        }[region]
        return self._fresh(make)

    def brazil_legacy_mobile(self):
        """A Brazilian mobile whose 8-digit form (without the ninth digit)
        is also unused: (with 9, without 9)."""
        r = self.rng
        while True:
            area, rest = r.choice((11, 21, 31, 41)), f"{r.randint(7000, 9999)}{r.randint(0, 9999):04d}"
            with9, without9 = f"+55{area}9{rest}", f"+55{area}{rest}"
            if with9 not in self.used and without9 not in self.used:
                self.used.update((with9, without9))
                return with9, without9


def ascii_fold(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)) \
        .replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("ı", "i")


def typed(e164, rng):
    """The number as a person might type it, with spaces, dashes, dots or
    brackets: US numbers also without the country code (the service's
    default region), others always with it."""
    if e164.startswith("+1"):
        a, b, c = e164[2:5], e164[5:8], e164[8:]
        return rng.choice((f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", f"+1 {a} {b} {c}", f"{a}{b}{c}"))
    if e164.startswith("+55"):
        area, rest = e164[3:5], e164[5:]
        return rng.choice((f"+55 ({area}) {rest[:-4]}-{rest[-4:]}", f"+55 {area} {rest}",
                           f"+55{area}{rest}", f"+55-{area}-{rest[:-4]}-{rest[-4:]}"))
    cc_len = 2 if e164[1:3] in ("49", "44", "34", "33", "52", "54") else 3
    cc, rest = e164[1:1 + cc_len], e164[1 + cc_len:]
    return rng.choice((f"+{cc} {rest[:3]} {rest[3:]}", f"+{cc} ({rest[:2]}) {rest[2:]}", f"+{cc}-{rest}", e164))


def typo(word, rng):
    """One edit: a neighbour key, a dropped, doubled or swapped letter."""
    if len(word) < 4:
        return word + word[-1]
    i = rng.randint(1, len(word) - 2)
    kind = rng.choice(("substitute", "delete", "double", "transpose"))
    if kind == "substitute":
        return word[:i] + rng.choice(KEYBOARD) + word[i + 1:]
    if kind == "delete":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.numbers = Numbers(self.rng)
        self.rows = []  # (row, label)
        self.entities = 0
        self.emails = set()

    def entity(self):
        self.entities += 1
        return self.entities

    def add(self, row, entity, recipe):
        self.rows.append((row, {"entity": entity, "recipe": recipe}))

    def email(self, first, last, domain=None):
        r = self.rng
        local = ascii_fold(f"{first}.{last}").lower().replace(" ", "")
        while True:
            address = f"{local}{r.randint(1, 99999)}@{domain or r.choice(DOMAINS)}"
            if address not in self.emails:
                self.emails.add(address)
                return address

    def place(self):
        city, country, region = self.rng.choice(CITIES)
        return {
            "addressLine1": f"{self.rng.randint(1, 2999)} {self.rng.choice(STREETS)}",
            "city": city, "postcode": f"{self.rng.randint(10000, 99999)}", "country": country,
        }, region

    def company(self):
        r = self.rng
        return f"{r.choice(COMPANY_WORDS)} {r.choice(COMPANY_WORDS)} {r.choice(COMPANY_KINDS)}"

    def person(self, region=None):
        """A person's base fields (no handles)."""
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        address, home = self.place()
        row = {"displayName": f"{first} {last}"}
        if r.random() < 0.4:
            row["organizationName"] = self.company()
        if r.random() < 0.3:
            row["address"] = address
        title = r.choice(TITLES)
        if title:
            row["title"] = title
        return row, first, last, region or home

    def single(self):
        r = self.rng
        row, first, last, region = self.person()
        via = []
        if r.random() < 0.75:
            via.append({"source": "email", "handle": self.email(first, last)})
        if r.random() < 0.6:
            via.append({"source": r.choice(("phone", "phone", "whatsapp")), "handle": self.numbers.mobile(region)})
        if via:
            row["via"] = via
        self.add(row, self.entity(), "single")

    # ---- duplicate recipes ------------------------------------------------

    def copies(self):
        return 3 if self.rng.random() < 0.15 else 2

    def dup_typo(self):
        r = self.rng
        row, first, last, region = self.person()
        row["organizationName"] = row.get("organizationName") or self.company()
        row["address"] = row.get("address") or self.place()[0]
        who = self.entity()
        for n in range(self.copies()):
            copy = json.loads(json.dumps(row))
            if n:
                if r.random() < 0.5:
                    copy["displayName"] = f"{typo(first, r)} {last}"
                else:
                    copy["displayName"] = f"{first} {typo(last, r)}"
            copy["via"] = [{"source": "email", "handle": self.email(first, last)}]
            self.add(copy, who, "typo")

    def dup_format(self):
        r = self.rng
        row, first, last, region = self.person()
        number = self.numbers.mobile(region)
        who = self.entity()
        for n, source in enumerate(r.sample(("phone", "whatsapp", "sms"), self.copies())):
            copy = json.loads(json.dumps(row))
            copy["via"] = [{"source": source, "handle": typed(number, r)}]
            if n == 1:
                shape = r.random()
                if shape < 0.3:
                    del copy["displayName"]
                elif shape < 0.6:
                    copy["displayName"] = copy["displayName"].upper()
            self.add(copy, who, "format")

    def dup_swapped(self):
        r = self.rng
        row, first, last, region = self.person()
        row["address"] = row.get("address") or self.place()[0]
        number = self.numbers.mobile(region)
        shared = r.choice(("address", "phone"))
        who = self.entity()
        for n in range(self.copies()):
            copy = json.loads(json.dumps(row))
            if n:
                copy["displayName"] = r.choice((f"{last} {first}", f"{last}, {first}", f"{last.upper()} {first}"))
            if shared == "phone":
                copy["via"] = [{"source": ("phone", "whatsapp", "sms")[n], "handle": typed(number, r)}]
                if n:
                    copy.pop("address")
            else:
                copy["via"] = [{"source": "email", "handle": self.email(first, last)}]
            self.add(copy, who, "swapped")

    def dup_gmail(self):
        r = self.rng
        row, first, last, region = self.person()
        local = ascii_fold(f"{first}{last}").lower() + str(r.randint(1, 99999))
        while local in self.emails:
            local += "x"
        self.emails.add(local)
        cut = r.randint(1, len(local) - 1)
        variants = [
            f"{local}@gmail.com",
            f"{local[:cut]}.{local[cut:]}@gmail.com",
            f"{local}+{r.choice(('shop', 'news', 'work', 'promo'))}@gmail.com",
            f"{local}@googlemail.com",
            f"{local[:cut].capitalize()}.{local[cut:]}@GMail.com",
        ]
        # Distinct as the service stores them (lower case): one address
        # written twice would be one handle, refused on the second row.
        variants = list({v.lower(): v for v in variants}.values())
        who = self.entity()
        for n, address in enumerate(r.sample(variants, self.copies())):
            copy = json.loads(json.dumps(row))
            copy["via"] = [{"source": "email", "handle": address}]
            if n == 1 and r.random() < 0.5:
                copy["displayName"] = ascii_fold(copy["displayName"])
            self.add(copy, who, "gmail")

    def dup_ninth_digit(self):
        r = self.rng
        row, first, last, _ = self.person(region="BR")
        with9, without9 = self.numbers.brazil_legacy_mobile()
        who = self.entity()
        forms = [("phone", typed(with9, r)), ("whatsapp", without9)]
        if self.copies() == 3:
            forms.append(("whatsapp", with9))
        for n, (source, number) in enumerate(forms):
            copy = json.loads(json.dumps(row))
            copy["via"] = [{"source": source, "handle": number}]
            if n == 1 and r.random() < 0.4:
                copy["displayName"] = ascii_fold(copy["displayName"])
            self.add(copy, who, "ninth_digit")

    # ---- hard negatives -----------------------------------------------------

    def family(self):
        r = self.rng
        last = r.choice(LAST)
        address, region = self.place()
        landline = self.numbers.landline(region)
        firsts = r.sample(FIRST, r.randint(2, 4))
        channels = ["phone", "sms", "whatsapp"]
        for n, first in enumerate(firsts):
            via = [{"source": "phone" if n == 0 else "whatsapp", "handle": self.numbers.mobile(region)}]
            if n < len(channels) and r.random() < 0.7:
                via.append({"source": channels[n], "handle": landline})
            if r.random() < 0.5:
                via.append({"source": "email", "handle": self.email(first, last)})
            self.add({"displayName": f"{first} {last}", "address": address, "via": via}, self.entity(), "family")

    def common_name(self):
        r = self.rng
        name = r.choice(COMMON_NAMES)
        first, last = name.split()
        row, _, _, region = self.person()
        row["displayName"] = name
        via = [{"source": "email", "handle": self.email(first, last)}]
        if r.random() < 0.5:
            via.append({"source": "phone", "handle": self.numbers.mobile(region)})
        row["via"] = via
        self.add(row, self.entity(), "common_name")

    def switchboard(self):
        r = self.rng
        company = self.company()
        address, region = self.place()
        main = self.numbers.landline(region)
        domain = ascii_fold(company.split()[0]).lower() + ".test"
        for n in range(r.randint(3, 8)):
            first, last = r.choice(FIRST), r.choice(LAST)
            row = {"displayName": f"{first} {last}", "organizationName": company, "address": address,
                   "via": [{"source": "phone", "handle": main, "extension": str(100 + n)},
                           {"source": "email", "handle": self.email(first, last, domain)}]}
            if n == 0:
                row["via"][0].pop("extension")  # the reception answers the main number
            self.add(row, self.entity(), "switchboard")


RECIPES = ("typo", "format", "swapped", "gmail", "ninth_digit")


def generate(contacts, seed):
    g = Generator(seed)
    share = contacts / 200_000
    for recipe in RECIPES:
        for _ in range(int(2_000 * share)):
            getattr(g, f"dup_{recipe}")()
    for _ in range(int(1_500 * share)):
        g.family()
    for _ in range(int(3_000 * share)):
        g.common_name()
    for _ in range(int(300 * share)):
        g.switchboard()
    while len(g.rows) < contacts:
        g.single()
    rows = g.rows[:contacts]
    g.rng.shuffle(rows)
    for n, (row, label) in enumerate(rows):
        row["externalId"] = label["externalId"] = f"dup-{seed}-{n}"
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="directory for contacts.ndjson and labels.ndjson")
    args = ap.parse_args()
    rows = generate(args.contacts, args.seed)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "contacts.ndjson"), "w") as c, \
            open(os.path.join(args.out, "labels.ndjson"), "w") as l:
        for row, label in rows:
            c.write(json.dumps(row, ensure_ascii=False) + "\n")
            l.write(json.dumps(label) + "\n")
    clusters = {}
    for _, label in rows:
        clusters.setdefault(label["entity"], []).append(label["recipe"])
    pairs = sum(len(m) * (len(m) - 1) // 2 for m in clusters.values())
    print(f"{len(rows):,} rows, {pairs:,} true duplicate pairs, written to {args.out}")


if __name__ == "__main__":
    main()
