#!/usr/bin/env python3
"""Writes the golden phone corpus (tests/golden/phones.jsonl) from libphonenumber.

The service reads phone numbers with rlibphonenumber, a Rust port of Google's
libphonenumber; this script asks libphonenumber's Python port (`phonenumbers`,
pinned to the same metadata version) what every number should become, and the
test `phone_corpus` (src/domain/phone.rs) compares the two entry by entry.

What is written, for every region libphonenumber knows and every non-geographic
calling code, for the example number of every type:
  - the E.164, international, national and RFC 3966 forms;
  - the international form with the national prefix printed in brackets after
    the country code ("+44 (0)20 7946 0958");
  - the international form with an extension, written three ways
    ("x201", "ext. 201", ";ext=201");
  - the number behind the default region's international dialling prefix
    ("011 49 ..." read in the US);
  - the number one digit short and one digit long (possible-but-invalid and
    impossible numbers), with a "+" and without.
Each is read with several default regions. The expected answer follows the
service's rule (README, "Phone numbers"):
  - the E.164 form when libphonenumber deems the number valid, or when it was
    written with "+" or an international prefix and is possible;
  - otherwise null (BAD_USER_INPUT).

Run:  pip install -r tests/golden/requirements.txt && python3 tests/golden/phones.py
"""

import copy
import json
import os
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T
from phonenumbers.phonenumber import CountryCodeSource as S

# The metadata version of the Rust side (rlibphonenumber 2.2.15's README:
# "Used metadata version: v9.0.42"); the two must match for the comparison to mean anything.
METADATA_VERSION = "9.0.42"
RUST_CRATE = "rlibphonenumber 2.2.15"
DEFAULT_REGIONS = ["US", "DE", "IT", "BR", "GB", "IN", "FR", "CN"]
TYPES = [
    T.FIXED_LINE, T.MOBILE, T.TOLL_FREE, T.PREMIUM_RATE, T.SHARED_COST, T.VOIP,
    T.PERSONAL_NUMBER, T.PAGER, T.UAN, T.VOICEMAIL,
]
# Spellings found by fuzzing (the first two panicked the Rust port once) and
# odd characters people paste: each read with every default region.
ODD = [
    "5;phone-context=+44;tel:1",
    "+1 617 253 1000;phone-context=+1;tel:",
    "tel:+1-617-253-1000;phone-context=+1;tel:+44",
    "tel:253-1000;phone-context=+1-617",
    "tel:+1-617-253-1000;isub=12;ext=5",
    "++1 617 253 1000",
    "\uff0b\uff11 \uff16\uff11\uff17 \uff12\uff15\uff13 \uff11\uff10\uff10\uff10",
    "+\u0661 \u0666\u0661\u0667 \u0662\u0665\u0663 \u0661\u0660\u0660\u0660",
    "+1\u00a0617\u2011253\u20111000",
    "+1 617 253 1000 #201",
    "+1 617 253 4444 ext. \u0667\u0667",
    "tel:+16172534444;ext=\u096d\u096d",
    "1-800-FLOWERS",
    "+44 (0) (0)20 7946 0958",
    "+" + "9" * 300,
    "",
    "+",
    "x201",
    # Mexico's old mobile 1, as WhatsApp reports it: kept (a variant of a
    # valid number); with a digit too many, refused.
    "+52 1 55 1234 5678",
    "+521 55 1234 56789",
    "+54 9 11 2345-6789",
    # National digits all zeros: E.164 all the same (never the text as
    # written); the service then blocks them from matching.
    "+1 000 000 0000",
    "+44 0000 000000",
    "+55 00 00000-0000",
]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "phones.jsonl")


def variant_key(e164):
    """The older national form of a mobile (the service's
    entity::contact_handle::variant_key): Brazil without its ninth digit,
    Argentina without the mobile 9, Mexico without the mobile 1."""
    for code, rule in (("+55", "br"), ("+54", "ar"), ("+52", "mx")):
        national = e164[len(code):]
        if not e164.startswith(code) or not national.isdigit() or len(national) != 11:
            continue
        if rule == "br" and national[2] == "9" and national[3] in "6789":
            return code + national[:2] + national[3:]
        if rule == "ar" and national.startswith("9"):
            return code + national[1:]
        if rule == "mx" and national.startswith("1"):
            return code + national[1:]
    return e164


def is_variant_of_valid(n):
    """Written with its country code, an older national form of a valid
    number (WhatsApp's +52 1 ... Mexican mobiles) is kept as given."""
    e164 = phonenumbers.format_number(n, F.E164)
    folded = variant_key(e164)
    if folded == e164:
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(folded, None))
    except phonenumbers.NumberParseException:
        return False


def expected(text, region):
    """(E.164, extension) as the service must store `text` read in `region`, or None."""
    try:
        n = phonenumbers.parse(text, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None
    written_international = n.country_code_source in (
        S.FROM_NUMBER_WITH_PLUS_SIGN, S.FROM_NUMBER_WITH_IDD)
    if phonenumbers.is_valid_number(n) or (
            written_international and (phonenumbers.is_possible_number(n)
                                       or is_variant_of_valid(n))):
        # The service keeps an extension in ASCII digits (libphonenumber keeps
        # the digits as written): the same normalisation here.
        ext = phonenumbers.normalize_digits_only(n.extension) if n.extension else None
        # Formatted without the raw input, as the service does: a number
        # whose national digits are all zeros would come back as written.
        plain = copy.copy(n)
        plain.raw_input = None
        return [phonenumbers.format_number(plain, F.E164), ext or None]
    return None


def forms(n, home_region):
    """Every written form of one example number."""
    out = [phonenumbers.format_number(n, f)
           for f in (F.E164, F.INTERNATIONAL, F.RFC3966)]
    if home_region:
        out.append(phonenumbers.format_number(n, F.NATIONAL))
        meta = phonenumbers.PhoneMetadata.metadata_for_region(home_region)
        intl = phonenumbers.format_number(n, F.INTERNATIONAL)
        prefix = "+%d " % n.country_code
        if meta.national_prefix and intl.startswith(prefix):
            out.append("%s(%s)%s" % (prefix, meta.national_prefix, intl[len(prefix):]))
    intl = phonenumbers.format_number(n, F.INTERNATIONAL)
    out += [intl + " x201", intl + " ext. 201"]
    with_ext = phonenumbers.PhoneNumber(country_code=n.country_code,
                                        national_number=n.national_number,
                                        italian_leading_zero=n.italian_leading_zero,
                                        number_of_leading_zeros=n.number_of_leading_zeros,
                                        extension="201")
    out.append(phonenumbers.format_number(with_ext, F.RFC3966))
    nsn = phonenumbers.national_significant_number(n)
    cc = str(n.country_code)
    out += ["+" + cc + nsn[:-1], "+" + cc + nsn + "5", nsn[:-1], nsn + "5"]
    return out


def idd_form(n, region):
    """The number behind `region`'s international prefix, when it is plain digits."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    idd = meta.preferred_international_prefix or meta.international_prefix
    if idd and idd.isdigit():
        return "%s %d %s" % (idd, n.country_code, phonenumbers.national_significant_number(n))
    return None


def examples():
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        seen = set()
        for t in TYPES:
            n = phonenumbers.example_number_for_type(region, t)
            if n is not None and n.national_number not in seen:
                seen.add(n.national_number)
                yield region, n
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        n = phonenumbers.example_number_for_non_geo_entity(cc)
        if n is not None:
            yield None, n


def main():
    if phonenumbers.__version__ != METADATA_VERSION:
        sys.exit("phonenumbers %s is installed; the corpus needs %s (the Rust side's metadata)"
                 % (phonenumbers.__version__, METADATA_VERSION))
    entries = []
    regions = set()
    for home, n in examples():
        regions.add(home or "001")
        texts = forms(n, home)
        for default in DEFAULT_REGIONS:
            written = texts + [t for t in [idd_form(n, default)] if t]
            for text in written:
                entries.append([text, default, expected(text, default)])
    for text in ODD:
        for default in DEFAULT_REGIONS:
            entries.append([text, default, expected(text, default)])
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(json.dumps({"libphonenumber": "phonenumbers " + phonenumbers.__version__,
                            "rust": RUST_CRATE, "entries": len(entries),
                            "regions": len(regions), "default_regions": DEFAULT_REGIONS}) + "\n")
        for e in entries:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print("%d entries, %d regions, default regions %s -> %s"
          % (len(entries), len(regions), ",".join(DEFAULT_REGIONS), OUT))


if __name__ == "__main__":
    main()
