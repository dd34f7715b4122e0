#!/usr/bin/env python3
"""Writes the sample address books that tests/api/formats.rs imports.

Each file follows a format's published layout: the vCards are RFC 6350's
own examples (section 8, and the property examples of section 6) and
vCard 2.1 / 3.0 cards as phones and Apple Contacts write them; the CSV
headers are the header rows of real exports published by their users:

- Google Contacts, current layout: the 17 fixed columns followed by
  numbered "- Label" / "- Value" groups, as in real exports pasted into
  public tests (e.g. a Go test TestMergeFileGoogleCSVRealExport: "UTF-8 BOM,
  no Name column, ':::' multi-value separators").
- Google Contacts, older layout: github.com/Baneeishaque/GContacts
  google.csv @ 452b667e (29 fixed columns, numbered "- Type" groups);
  its files were UTF-16 (github.com/owncloud-archive/contacts pull 426).
- Outlook desktop: github.com/mwhuss/contact_csv test/outlook_contacts.csv
  @ 71da1c07 (92 columns; newer versions say "Country/Region").
- Outlook.com: the 61-column header of outlook.live.com's export, as
  quoted by public importers (and itaysk's gist on converting it to VCF).
- HubSpot: an "all contacts" export's header
  (hubspot-crm-exports-all-contacts-*.csv), cut to its first columns and
  the default properties.

Values are made up; every mapped column carries one, so that the test can
check each value lands in its field. Run: python3 tests/formats/make_samples.py
"""

import csv
import io
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples")

GOOGLE_CURRENT = (
    "First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,"
    "Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,"
    "Organization Title,Organization Department,Birthday,Notes,Photo,Labels,"
    "E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,"
    "Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value,"
    "Address 1 - Label,Address 1 - Formatted,Address 1 - Street,Address 1 - City,"
    "Address 1 - PO Box,Address 1 - Region,Address 1 - Postal Code,Address 1 - Country,"
    "Address 1 - Extended Address,Address 2 - Label,Address 2 - Formatted,"
    "Address 2 - Street,Address 2 - City,Address 2 - PO Box,Address 2 - Region,"
    "Address 2 - Postal Code,Address 2 - Country,Address 2 - Extended Address,"
    "Relation 1 - Label,Relation 1 - Value,Website 1 - Label,Website 1 - Value,"
    "Event 1 - Label,Event 1 - Value,Custom Field 1 - Label,Custom Field 1 - Value"
).split(",")

GOOGLE_OLDER = (
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,"
    "Additional Name Yomi,Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,"
    "Short Name,Maiden Name,Birthday,Gender,Location,Billing Information,"
    "Directory Server,Mileage,Occupation,Hobby,Sensitivity,Priority,Subject,Notes,"
    "Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,"
    "E-mail 2 - Type,E-mail 2 - Value,E-mail 3 - Type,E-mail 3 - Value,IM 1 - Type,"
    "IM 1 - Service,IM 1 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,"
    "Phone 2 - Value,Phone 3 - Type,Phone 3 - Value,Phone 4 - Type,Phone 4 - Value,"
    "Phone 5 - Type,Phone 5 - Value,Phone 6 - Type,Phone 6 - Value,Address 1 - Type,"
    "Address 1 - Formatted,Address 1 - Street,Address 1 - City,Address 1 - PO Box,"
    "Address 1 - Region,Address 1 - Postal Code,Address 1 - Country,"
    "Address 1 - Extended Address,Organization 1 - Type,Organization 1 - Name,"
    "Organization 1 - Yomi Name,Organization 1 - Title,Organization 1 - Department,"
    "Organization 1 - Symbol,Organization 1 - Location,Organization 1 - Job Description,"
    "Organization 2 - Type,Organization 2 - Name,Organization 2 - Yomi Name,"
    "Organization 2 - Title,Organization 2 - Department,Organization 2 - Symbol,"
    "Organization 2 - Location,Organization 2 - Job Description,Website 1 - Type,"
    "Website 1 - Value"
).split(",")

OUTLOOK_DESKTOP = (
    "Title,First Name,Middle Name,Last Name,Suffix,Company,Department,Job Title,"
    "Business Street,Business Street 2,Business Street 3,Business City,Business State,"
    "Business Postal Code,Business Country/Region,Home Street,Home Street 2,Home Street 3,"
    "Home City,Home State,Home Postal Code,Home Country/Region,Other Street,Other Street 2,"
    "Other Street 3,Other City,Other State,Other Postal Code,Other Country/Region,"
    "Assistant's Phone,Business Fax,Business Phone,Business Phone 2,Callback,Car Phone,"
    "Company Main Phone,Home Fax,Home Phone,Home Phone 2,ISDN,Mobile Phone,Other Fax,"
    "Other Phone,Pager,Primary Phone,Radio Phone,TTY/TDD Phone,Telex,Account,Anniversary,"
    "Assistant's Name,Billing Information,Birthday,Business Address PO Box,Categories,"
    "Children,Directory Server,E-mail Address,E-mail Type,E-mail Display Name,"
    "E-mail 2 Address,E-mail 2 Type,E-mail 2 Display Name,E-mail 3 Address,E-mail 3 Type,"
    "E-mail 3 Display Name,Gender,Government ID Number,Hobby,Home Address PO Box,Initials,"
    "Internet Free Busy,Keywords,Language,Location,Manager's Name,Mileage,Notes,"
    "Office Location,Organizational ID Number,Other Address PO Box,Priority,Private,"
    "Profession,Referred By,Sensitivity,Spouse,User 1,User 2,User 3,User 4,Web Page"
).split(",")

OUTLOOK_COM = (
    "First Name,Middle Name,Last Name,Title,Suffix,Nickname,Given Yomi,Surname Yomi,"
    "E-mail Address,E-mail 2 Address,E-mail 3 Address,Home Phone,Home Phone 2,"
    "Business Phone,Business Phone 2,Mobile Phone,Car Phone,Other Phone,Primary Phone,"
    "Pager,Business Fax,Home Fax,Other Fax,Company Main Phone,Callback,Radio Phone,Telex,"
    "TTY/TDD Phone,IMAddress,Job Title,Department,Company,Office Location,Manager's Name,"
    "Assistant's Name,Assistant's Phone,Company Yomi,Business Street,Business City,"
    "Business State,Business Postal Code,Business Country/Region,Home Street,Home City,"
    "Home State,Home Postal Code,Home Country/Region,Other Street,Other City,Other State,"
    "Other Postal Code,Other Country/Region,Personal Web Page,Spouse,Schools,Hobby,"
    "Location,Web Page,Birthday,Anniversary,Notes"
).split(",")

HUBSPOT = (
    "Record ID,First Name,Last Name,City,Company Name,Contact owner,Country/Region,"
    "Create Date,Email,Fax Number,Job Title,Last Activity Date,Lead Status,"
    "Lifecycle Stage,Mobile Phone Number,Phone Number,Postal Code,State/Region,"
    "Street Address,Time Zone,Twitter Username,Website URL,WhatsApp Phone Number,"
    "Work email,Associated Company"
).split(",")


def write_csv(name, header, rows, encoding="utf-8", quote_all=False):
    out = io.StringIO()
    writer = csv.writer(
        out,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )
    writer.writerow(header)
    for values in rows:
        unknown = set(values) - set(header)
        assert not unknown, f"{name}: not in the header: {unknown}"
        writer.writerow([values.get(h, "") for h in header])
    data = out.getvalue()
    with open(os.path.join(HERE, name), "wb") as f:
        if encoding == "utf-16":
            f.write(data.encode("utf-16"))  # with its byte-order mark
        else:
            f.write(b"\xef\xbb\xbf" + data.encode("utf-8"))


def write_text(name, text):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(text.encode("utf-8"))


def google_current():
    write_csv("google.csv", GOOGLE_CURRENT, [{
        "First Name": "Grace", "Middle Name": "Brewster", "Last Name": "Hopper",
        "Name Prefix": "Rear Admiral", "Nickname": "Amazing Grace",
        "File As": "Hopper, Grace", "Organization Name": "US Navy",
        "Organization Title": "Computer Scientist",
        "Organization Department": "Bureau of Ordnance", "Birthday": "1906-12-09",
        "Notes": "Found the first bug.\nKept it in the log book.",
        "Photo": "https://example.com/photos/grace.jpg",
        "Labels": "Pioneers ::: * myContacts ::: * starred",
        "E-mail 1 - Label": "* Work", "E-mail 1 - Value": "grace@navy.example ::: hopper@navy.example",
        "E-mail 2 - Label": "Home", "E-mail 2 - Value": "grace@home.example",
        "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+1 617-253-1000 ::: +1 418-656-9254",
        "Phone 2 - Label": "Work", "Phone 2 - Value": "+49 30 901820",
        "Address 1 - Label": "Work",
        "Address 1 - Formatted": "1 Navy Way\nSuite 5\nArlington, VA 22202\nUS",
        "Address 1 - Street": "1 Navy Way", "Address 1 - City": "Arlington",
        "Address 1 - Region": "VA", "Address 1 - Postal Code": "22202",
        "Address 1 - Country": "US", "Address 1 - Extended Address": "Suite 5",
        "Address 2 - Label": "Home", "Address 2 - Street": "2 Home Street",
        "Address 2 - City": "New York",
        "Relation 1 - Label": "Spouse", "Relation 1 - Value": "Vincent Hopper",
        "Website 1 - Label": "Profile", "Website 1 - Value": "https://example.com/grace",
        "Event 1 - Label": "Retired", "Event 1 - Value": "1986-08-14",
        "Custom Field 1 - Label": "Rank", "Custom Field 1 - Value": "Rear Admiral",
    }, {
        "First Name": "Linus", "Phone 1 - Label": "Mobile", "Phone 1 - Value": "+33 1 42 68 53 00",
        "Labels": "* myContacts",
    }])


def google_older():
    write_csv("google-older.csv", GOOGLE_OLDER, [{
        "Name": "Dr. Ada King", "Given Name": "Ada", "Family Name": "King",
        "Name Prefix": "Dr.", "Nickname": "Ada", "Birthday": "1815-12-10",
        "Gender": "female", "Occupation": "Mathematician", "Notes": "Wrote the first program.",
        "Language": "English", "Photo": "https://example.com/photos/ada.jpg",
        "Group Membership": "Analytical Engine ::: * My Contacts",
        "E-mail 1 - Type": "* INTERNET", "E-mail 1 - Value": "ada@engine.example",
        "IM 1 - Type": "Other", "IM 1 - Service": "Jabber", "IM 1 - Value": "ada@jabber.example",
        "Phone 1 - Type": "Mobile", "Phone 1 - Value": "+44 20 7946 0018",
        "Address 1 - Type": "Home", "Address 1 - Street": "12 St James's Square",
        "Address 1 - City": "London", "Address 1 - Postal Code": "SW1Y 4JH",
        "Address 1 - Country": "United Kingdom",
        "Organization 1 - Name": "Analytical Society", "Organization 1 - Title": "Countess",
        "Organization 1 - Department": "Notes",
        "Website 1 - Type": "Home Page", "Website 1 - Value": "https://example.com/ada",
    }], encoding="utf-16")


def outlook_desktop():
    write_csv("outlook.csv", OUTLOOK_DESKTOP, [{
        "Title": "Mr.", "First Name": "Alan", "Middle Name": "Mathison", "Last Name": "Turing",
        "Suffix": "OBE", "Company": "Bletchley Park", "Department": "Hut 8",
        "Job Title": "Cryptanalyst", "Business Street": "The Mansion",
        "Business Street 2": "Sherwood Drive", "Business City": "Bletchley",
        "Business State": "Buckinghamshire", "Business Postal Code": "MK3 6EB",
        "Business Country/Region": "United Kingdom", "Home Street": "43 Adlington Road",
        "Home City": "Wilmslow", "Business Fax": "+44 1908 640404",
        "Business Phone": "+44 1908 640404", "Mobile Phone": "(617) 253-1000",
        "Anniversary": "0/0/00", "Birthday": "6/23/1912", "Categories": "Codebreakers;Friends",
        "E-mail Address": "alan@bletchley.example", "E-mail Type": "SMTP",
        "E-mail Display Name": "Alan Turing (alan@bletchley.example)",
        "Gender": "Unspecified", "Notes": "Enigma.", "Priority": "Normal", "Private": "False",
        "Sensitivity": "Normal", "Web Page": "https://example.com/alan",
    }], quote_all=True)


def outlook_com():
    write_csv("outlook-com.csv", OUTLOOK_COM, [{
        "First Name": "Katherine", "Last Name": "Johnson", "Nickname": "Kate",
        "E-mail Address": "katherine@nasa.example", "E-mail 2 Address": "kj@home.example",
        "Home Phone": "+1 757-864-1000", "IMAddress": "kj@im.example",
        "Job Title": "Mathematician", "Company": "NASA", "Department": "Flight Research",
        "Home Street": "1 Langley Blvd", "Home City": "Hampton", "Home State": "VA",
        "Home Postal Code": "23681", "Home Country/Region": "United States",
        "Personal Web Page": "https://example.com/katherine", "Birthday": "1918-08-26",
        "Notes": "Computed trajectories.",
    }])


def hubspot():
    write_csv("hubspot.csv", HUBSPOT, [{
        "Record ID": "51", "First Name": "Margaret", "Last Name": "Hamilton",
        "City": "Cambridge", "Company Name": "MIT Instrumentation Lab",
        "Contact owner": "Sales Team", "Country/Region": "United States",
        "Create Date": "2023-02-21 10:00", "Email": "margaret@mit.example",
        "Fax Number": "+1 617-253-1001", "Job Title": "Director of Software Engineering",
        "Lead Status": "Open", "Lifecycle Stage": "Customer",
        "Mobile Phone Number": "+1 617-253-1000", "Phone Number": "+1 418-656-9254",
        "Postal Code": "02139", "State/Region": "MA", "Street Address": "77 Massachusetts Ave",
        "Time Zone": "us_slash_eastern", "Twitter Username": "mhamilton",
        "Website URL": "https://example.com/margaret",
        "WhatsApp Phone Number": "+49 30 901820", "Work email": "mh@apollo.example",
    }])


# RFC 6350, section 8, verbatim (the author's card), and cards made of the
# property examples of section 6.
RFC6350 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Simon Perreault\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\n"
    "BDAY:--0203\r\nANNIVERSARY:20090808T1430-0500\r\nGENDER:M\r\nLANG;PREF=1:fr\r\n"
    "LANG;PREF=2:en\r\nORG;TYPE=work:Viagenie\r\n"
    "ADR;TYPE=work:;Suite D2-630;2875 Laurier;\r\n Quebec;QC;G1V 2M2;Canada\r\n"
    "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\n"
    "TEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501\r\n"
    "EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\nGEO;TYPE=work:geo:46.772673,-71.282945\r\n"
    "KEY;TYPE=work;VALUE=uri:\r\n http://www.viagenie.ca/simon.perreault/simon.asc\r\n"
    "TZ:-0500\r\nURL;TYPE=home:http://nomis80.org\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Mr. John Q. Public\\, Esq.\r\n"
    "N:Public;John;Quinlan;Mr.;Esq.\r\nNICKNAME:Jim,Jimmie\r\nGENDER:O;intersex\r\n"
    "TITLE:Research Scientist\r\nROLE:Project Leader\r\n"
    "ORG:ABC\\, Inc.;North American Division;Marketing\r\n"
    "CATEGORIES:INTERNET,IETF,INDUSTRY,INFORMATION TECHNOLOGY\r\n"
    "NOTE:This fax number is operational 0800 to 1715\\n EST\\, Mon-Fri.\r\n"
    "TEL;VALUE=uri;TYPE=home:tel:+33-01-23-45-67\r\n"
    "EMAIL;TYPE=work:jqpublic@xyz.example.com\r\n"
    "IMPP;PREF=1:xmpp:alice@example.com\r\n"
    "PHOTO:http://www.example.com/pub/photos/jqpublic.gif\r\n"
    "TZ:Raleigh/North America\r\nUID:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
    "END:VCARD\r\n"
)

# vCard 2.1 as older phones write it: bare types, QUOTED-PRINTABLE with a
# soft line break, CHARSET, an inline photo (left out on import).
V21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\r\n"
    "TEL;CELL;PREF:+49 30 901820\r\nTEL;WORK;VOICE:+33 1 42 68 53 00\r\n"
    "EMAIL;INTERNET:juergen@example.de\r\n"
    "ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;Stra=C3=9Fe des 17. Juni 1=\r\n"
    "35;Berlin;;10623;Deutschland\r\n"
    "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:caf=E9 au lait\r\n"
    "PHOTO;ENCODING=BASE64;TYPE=JPEG:Zm9vYmFy\r\n"
    "END:VCARD\r\n"
)

# vCard 3.0 as Apple Contacts writes it: grouped properties, folded lines,
# X-SOCIALPROFILE.
V30 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n"
    "N:Lamarr;Hedy;;;\r\nFN:Hedy Lamarr\r\nORG:Frequency Hopping Ltd;\r\n"
    "TITLE:Inventor\r\nitem1.EMAIL;type=INTERNET;type=pref:hedy@example.com\r\n"
    "item2.TEL;type=CELL;type=VOICE;type=pref:+1 (617) 253-1000\r\n"
    "item3.ADR;type=HOME;type=pref:;;1 Hollywood Blvd;Los Angeles;CA;90028;United\r\n  States\r\n"
    "X-SOCIALPROFILE;type=twitter;x-user=hedy:http://twitter.com/hedy\r\n"
    "URL;type=WORK:https://example.com/hedy\r\nCATEGORIES:Inventors,Actors\r\n"
    "BDAY;value=date:1914-11-09\r\nEND:VCARD\r\n"
)


def main():
    os.makedirs(HERE, exist_ok=True)
    google_current()
    google_older()
    outlook_desktop()
    outlook_com()
    hubspot()
    write_text("rfc6350.vcf", RFC6350)
    write_text("v21.vcf", V21)
    write_text("v30.vcf", V30)


if __name__ == "__main__":
    main()
