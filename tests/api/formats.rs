//! The sample address books of tests/formats/samples (written by
//! tests/formats/make_samples.py from each format's published layout)
//! import with every value in its place.

use std::path::PathBuf;

use contacts_api::app;
use contacts_api::cli::import::{run, ImportOptions, Progress, Summary};
use contacts_api::domain::Rules;
use contacts_api::formats::{Detected, FileFormat, Layout, Mapping};
use contacts_api::service::events::EventBus;
use contacts_api::service::import::OnConflictMode;
use serde_json::{json, Value};
use std::sync::Mutex;

use crate::common::TestApp;

const CONTACT: &str = "displayName avatarUrl title timezone gender locale organizationName description isSpammer externalId groupNames links via { source handle extension } address { addressLine1 addressLine2 city state postcode country } metadata";

#[derive(Default)]
struct Seen(Mutex<Option<Layout>>);

impl Progress for Seen {
    fn advance(&self, _: u64, _: &mut Summary) {}
    fn detected(&self, d: &Detected) {
        *self.0.lock().unwrap() = d.layout;
    }
}

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/formats/samples")
        .join(name)
}

/// Imports a sample; returns the summary and the layout recognised.
async fn import(app: &TestApp, path: PathBuf, mapping: Mapping) -> (Summary, Option<Layout>) {
    let db = app::connect(&app.database_url, 2).await.unwrap();
    let opts = ImportOptions {
        format: FileFormat::from_path(&path).unwrap(),
        file: path,
        on_conflict: OnConflictMode::Fail,
        atomic: false,
        dry_run: false,
        batch_size: 100,
        delimiter: None,
        mapping,
    };
    let seen = Seen::default();
    let summary = run(&db, &Rules::default(), &EventBus::new(), &opts, &seen)
        .await
        .unwrap();
    let layout = *seen.0.lock().unwrap();
    (summary, layout)
}

async fn contact(app: &TestApp, source: &str, handle: &str) -> Value {
    // Every sample's contacts, with every field the API returns.
    app.data(
        &format!("query($h: HandleInput!) {{ contact(handle: $h) {{ {CONTACT} }} }}"),
        json!({ "h": { "source": source, "handle": handle } }),
    )
    .await["contact"]
        .clone()
}

/// Imports a sample: every row must be created, and the layout the file
/// name promises recognised.
async fn imported(app: &TestApp, name: &str) {
    let (summary, layout) = import(app, sample(name), Mapping::default()).await;
    assert!(summary.failed.is_empty(), "{name}: {:?}", summary.failed);
    assert_eq!(summary.created, summary.rows, "{name}");
    let expected = match name {
        "google.csv" => Some(Layout::GoogleCurrent),
        "google-older.csv" => Some(Layout::GoogleOlder),
        "outlook.csv" | "outlook-com.csv" => Some(Layout::Outlook),
        "hubspot.csv" => Some(Layout::HubSpot),
        _ => None,
    };
    assert_eq!(layout, expected, "{name}");
}

/// The contact holding the handle is `expected`, field for field; fields
/// `expected` leaves out must be empty (null, [], false).
async fn assert_contact(app: &TestApp, (source, handle): (&str, &str), expected: Value) {
    let mut found = contact(app, source, handle).await;
    let Value::Object(fields) = &mut found else {
        panic!("no contact holds {source} {handle}: {found}");
    };
    fields.retain(|_, v| !matches!(v, Value::Null | Value::Bool(false)) && *v != json!([]));
    if let Some(Value::Object(address)) = fields.get_mut("address") {
        address.retain(|_, v| !v.is_null());
    }
    if let Some(Value::Array(via)) = fields.get_mut("via") {
        for h in via {
            if let Value::Object(h) = h {
                h.retain(|_, v| !v.is_null());
            }
        }
    }
    assert_eq!(found, expected, "{source} {handle}");
}

#[tokio::test]
async fn google_current_layout_grace() {
    let app = TestApp::new().await;
    imported(&app, "google.csv").await;
    assert_contact(
        &app,
        ("email", "grace@navy.example"),
        json!({
            "address": {
                "addressLine1": "1 Navy Way",
                "addressLine2": "Suite 5",
                "city": "Arlington",
                "country": "US",
                "postcode": "22202",
                "state": "VA"
            },
            "avatarUrl": "https://example.com/photos/grace.jpg",
            "description": "Found the first bug.\nKept it in the log book.",
            "displayName": "Rear Admiral Grace Brewster Hopper",
            "groupNames": [
                "Pioneers",
                "starred"
            ],
            "links": [
                "https://example.com/grace"
            ],
            "metadata": {
                "Address 1 - Label": "Work",
                "Address 2 - City": "New York",
                "Address 2 - Label": "Home",
                "Address 2 - Street": "2 Home Street",
                "Birthday": "1906-12-09",
                "Custom Field 1 - Label": "Rank",
                "Custom Field 1 - Value": "Rear Admiral",
                "E-mail 1 - Label": "* Work",
                "E-mail 2 - Label": "Home",
                "Event 1 - Label": "Retired",
                "Event 1 - Value": "1986-08-14",
                "File As": "Hopper, Grace",
                "Nickname": "Amazing Grace",
                "Organization Department": "Bureau of Ordnance",
                "Phone 1 - Label": "Mobile",
                "Phone 2 - Label": "Work",
                "Relation 1 - Label": "Spouse",
                "Relation 1 - Value": "Vincent Hopper",
                "Website 1 - Label": "Profile",
                "name": {
                    "family": "Hopper",
                    "given": "Grace",
                    "middle": "Brewster",
                    "prefix": "Rear Admiral"
                }
            },
            "organizationName": "US Navy",
            "title": "Computer Scientist",
            "via": [
                {
                    "handle": "grace@navy.example",
                    "source": "email"
                },
                {
                    "handle": "hopper@navy.example",
                    "source": "email"
                },
                {
                    "handle": "grace@home.example",
                    "source": "email"
                },
                {
                    "handle": "+16172531000",
                    "source": "phone"
                },
                {
                    "handle": "+14186569254",
                    "source": "phone"
                },
                {
                    "handle": "+4930901820",
                    "source": "phone"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn google_current_layout_linus() {
    let app = TestApp::new().await;
    imported(&app, "google.csv").await;
    assert_contact(
        &app,
        ("phone", "+33 1 42 68 53 00"),
        json!({
            "displayName": "Linus",
            "metadata": {
                "Phone 1 - Label": "Mobile",
                "name": {
                    "given": "Linus"
                }
            },
            "via": [
                {
                    "handle": "+33142685300",
                    "source": "phone"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn google_older_layout_in_utf16() {
    let app = TestApp::new().await;
    imported(&app, "google-older.csv").await;
    assert_contact(
        &app,
        ("email", "ada@engine.example"),
        json!({
            "address": {
                "addressLine1": "12 St James's Square",
                "city": "London",
                "country": "United Kingdom",
                "postcode": "SW1Y 4JH"
            },
            "avatarUrl": "https://example.com/photos/ada.jpg",
            "description": "Wrote the first program.",
            "displayName": "Dr. Ada King",
            "gender": "female",
            "groupNames": [
                "Analytical Engine"
            ],
            "links": [
                "https://example.com/ada"
            ],
            "metadata": {
                "Address 1 - Type": "Home",
                "Birthday": "1815-12-10",
                "E-mail 1 - Type": "* INTERNET",
                "IM 1 - Service": "Jabber",
                "IM 1 - Type": "Other",
                "IM 1 - Value": "ada@jabber.example",
                "Language": "English",
                "Nickname": "Ada",
                "Occupation": "Mathematician",
                "Organization 1 - Department": "Notes",
                "Phone 1 - Type": "Mobile",
                "Website 1 - Type": "Home Page",
                "name": {
                    "family": "King",
                    "given": "Ada",
                    "prefix": "Dr."
                }
            },
            "organizationName": "Analytical Society",
            "title": "Countess",
            "via": [
                {
                    "handle": "ada@engine.example",
                    "source": "email"
                },
                {
                    "handle": "+442079460018",
                    "source": "phone"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn outlook_desktop() {
    let app = TestApp::new().await;
    imported(&app, "outlook.csv").await;
    assert_contact(
        &app,
        ("email", "alan@bletchley.example"),
        json!({
            "address": {
                "addressLine1": "The Mansion",
                "addressLine2": "Sherwood Drive",
                "city": "Bletchley",
                "country": "United Kingdom",
                "postcode": "MK3 6EB",
                "state": "Buckinghamshire"
            },
            "description": "Enigma.",
            "displayName": "Mr. Alan Mathison Turing OBE",
            "groupNames": [
                "Codebreakers",
                "Friends"
            ],
            "links": [
                "https://example.com/alan"
            ],
            "metadata": {
                "Birthday": "6/23/1912",
                "Business Fax": "+44 1908 640404",
                "Department": "Hut 8",
                "E-mail Display Name": "Alan Turing (alan@bletchley.example)",
                "E-mail Type": "SMTP",
                "Home City": "Wilmslow",
                "Home Street": "43 Adlington Road",
                "Priority": "Normal",
                "Private": "False",
                "Sensitivity": "Normal",
                "name": {
                    "family": "Turing",
                    "given": "Alan",
                    "middle": "Mathison",
                    "prefix": "Mr.",
                    "suffix": "OBE"
                }
            },
            "organizationName": "Bletchley Park",
            "title": "Cryptanalyst",
            "via": [
                {
                    "handle": "+441908640404",
                    "source": "phone"
                },
                {
                    "handle": "+16172531000",
                    "source": "phone"
                },
                {
                    "handle": "alan@bletchley.example",
                    "source": "email"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn outlook_com() {
    let app = TestApp::new().await;
    imported(&app, "outlook-com.csv").await;
    assert_contact(
        &app,
        ("email", "katherine@nasa.example"),
        json!({
            "address": {
                "addressLine1": "1 Langley Blvd",
                "city": "Hampton",
                "country": "United States",
                "postcode": "23681",
                "state": "VA"
            },
            "description": "Computed trajectories.",
            "displayName": "Katherine Johnson",
            "links": [
                "https://example.com/katherine"
            ],
            "metadata": {
                "Birthday": "1918-08-26",
                "Department": "Flight Research",
                "IMAddress": "kj@im.example",
                "Nickname": "Kate",
                "name": {
                    "family": "Johnson",
                    "given": "Katherine"
                }
            },
            "organizationName": "NASA",
            "title": "Mathematician",
            "via": [
                {
                    "handle": "katherine@nasa.example",
                    "source": "email"
                },
                {
                    "handle": "kj@home.example",
                    "source": "email"
                },
                {
                    "handle": "+17578641000",
                    "source": "phone"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn hubspot() {
    let app = TestApp::new().await;
    imported(&app, "hubspot.csv").await;
    assert_contact(
        &app,
        ("email", "margaret@mit.example"),
        json!({
            "address": {
                "addressLine1": "77 Massachusetts Ave",
                "city": "Cambridge",
                "country": "United States",
                "postcode": "02139",
                "state": "MA"
            },
            "displayName": "Margaret Hamilton",
            "links": [
                "https://example.com/margaret"
            ],
            "metadata": {
                "Contact owner": "Sales Team",
                "Create Date": "2023-02-21 10:00",
                "Fax Number": "+1 617-253-1001",
                "Lead Status": "Open",
                "Lifecycle Stage": "Customer",
                "Record ID": "51",
                "Time Zone": "us_slash_eastern",
                "name": {
                    "family": "Hamilton",
                    "given": "Margaret"
                }
            },
            "organizationName": "MIT Instrumentation Lab",
            "title": "Director of Software Engineering",
            "via": [
                {
                    "handle": "margaret@mit.example",
                    "source": "email"
                },
                {
                    "handle": "+16172531000",
                    "source": "phone"
                },
                {
                    "handle": "+14186569254",
                    "source": "phone"
                },
                {
                    "handle": "@mhamilton",
                    "source": "twitter"
                },
                {
                    "handle": "+4930901820",
                    "source": "whatsapp"
                },
                {
                    "handle": "mh@apollo.example",
                    "source": "email"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn rfc6350_section_8() {
    let app = TestApp::new().await;
    imported(&app, "rfc6350.vcf").await;
    assert_contact(
        &app,
        ("email", "simon.perreault@viagenie.ca"),
        json!({
            "address": {
                "addressLine1": "2875 Laurier",
                "addressLine2": "Suite D2-630",
                "city": "Quebec",
                "country": "Canada",
                "postcode": "G1V 2M2",
                "state": "QC"
            },
            "displayName": "Simon Perreault",
            "gender": "male",
            "links": [
                "http://nomis80.org"
            ],
            "locale": "fr",
            "metadata": {
                "ANNIVERSARY": "20090808T1430-0500",
                "BDAY": "--0203",
                "GEO": "geo:46.772673,-71.282945",
                "KEY": "http://www.viagenie.ca/simon.perreault/simon.asc",
                "TZ": "-0500",
                "handleTypes": {
                    "simon.perreault@viagenie.ca": "work",
                    "tel:+1-418-262-6501": "work,cell,voice,video,text",
                    "tel:+1-418-656-9254;ext=102": "work,voice"
                },
                "name": {
                    "family": "Perreault",
                    "given": "Simon",
                    "suffix": "ing. jr M.Sc."
                }
            },
            "organizationName": "Viagenie",
            "via": [
                {
                    "extension": "102",
                    "handle": "+14186569254",
                    "source": "phone"
                },
                {
                    "handle": "+14182626501",
                    "source": "phone"
                },
                {
                    "handle": "simon.perreault@viagenie.ca",
                    "source": "email"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn rfc6350_section_6_examples() {
    let app = TestApp::new().await;
    imported(&app, "rfc6350.vcf").await;
    assert_contact(
        &app,
        ("email", "jqpublic@xyz.example.com"),
        json!({
            "avatarUrl": "http://www.example.com/pub/photos/jqpublic.gif",
            "description": "This fax number is operational 0800 to 1715\n EST, Mon-Fri.",
            "displayName": "Mr. John Q. Public, Esq.",
            "gender": "intersex",
            "groupNames": [
                "IETF",
                "INDUSTRY",
                "INFORMATION TECHNOLOGY",
                "INTERNET"
            ],
            "metadata": {
                "NICKNAME": "Jim,Jimmie",
                "ORG": "North American Division; Marketing",
                "ROLE": "Project Leader",
                "TZ": "Raleigh/North America",
                "UID": "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
                "handleTypes": {
                    "jqpublic@xyz.example.com": "work",
                    "tel:+33-01-23-45-67": "home"
                },
                "name": {
                    "family": "Public",
                    "given": "John",
                    "middle": "Quinlan",
                    "prefix": "Mr.",
                    "suffix": "Esq."
                },
                "notImported": {
                    "phone": "+33-01-23-45-67"
                }
            },
            "organizationName": "ABC, Inc.",
            "title": "Research Scientist",
            "via": [
                {
                    "handle": "jqpublic@xyz.example.com",
                    "source": "email"
                },
                {
                    "handle": "alice@example.com",
                    "source": "xmpp"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn vcard_2_1_quoted_printable() {
    let app = TestApp::new().await;
    imported(&app, "v21.vcf").await;
    assert_contact(
        &app,
        ("email", "juergen@example.de"),
        json!({
            "address": {
                "addressLine1": "Straße des 17. Juni 135",
                "city": "Berlin",
                "country": "Deutschland",
                "postcode": "10623"
            },
            "description": "café au lait",
            "displayName": "Jürgen Müller",
            "metadata": {
                "handleTypes": {
                    "+33 1 42 68 53 00": "work,voice",
                    "+49 30 901820": "cell,pref",
                    "juergen@example.de": "internet"
                },
                "name": {
                    "family": "Müller",
                    "given": "Jürgen"
                }
            },
            "via": [
                {
                    "handle": "+4930901820",
                    "source": "phone"
                },
                {
                    "handle": "+33142685300",
                    "source": "phone"
                },
                {
                    "handle": "juergen@example.de",
                    "source": "email"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn vcard_3_0_apple() {
    let app = TestApp::new().await;
    imported(&app, "v30.vcf").await;
    assert_contact(
        &app,
        ("email", "hedy@example.com"),
        json!({
            "address": {
                "addressLine1": "1 Hollywood Blvd",
                "city": "Los Angeles",
                "country": "United States",
                "postcode": "90028",
                "state": "CA"
            },
            "displayName": "Hedy Lamarr",
            "groupNames": [
                "Actors",
                "Inventors"
            ],
            "links": [
                "https://example.com/hedy"
            ],
            "metadata": {
                "BDAY": "1914-11-09",
                "handleTypes": {
                    "+1 (617) 253-1000": "cell,voice,pref",
                    "hedy@example.com": "internet,pref"
                },
                "name": {
                    "family": "Lamarr",
                    "given": "Hedy"
                }
            },
            "organizationName": "Frequency Hopping Ltd",
            "title": "Inventor",
            "via": [
                {
                    "handle": "hedy@example.com",
                    "source": "email"
                },
                {
                    "handle": "+16172531000",
                    "source": "phone"
                },
                {
                    "handle": "@hedy",
                    "source": "twitter"
                }
            ]
        }),
    )
    .await;
}

#[tokio::test]
async fn every_sample_counts_its_rows() {
    // Two cards in rfc6350.vcf, two rows in google.csv, one elsewhere: no
    // card or row is dropped or doubled on the way.
    for (name, rows) in [
        ("google.csv", 2),
        ("google-older.csv", 1),
        ("outlook.csv", 1),
        ("outlook-com.csv", 1),
        ("hubspot.csv", 1),
        ("rfc6350.vcf", 2),
        ("v21.vcf", 1),
        ("v30.vcf", 1),
    ] {
        let app = TestApp::new().await;
        let (summary, _) = import(&app, sample(name), Mapping::default()).await;
        assert_eq!((summary.rows, summary.created), (rows, rows), "{name}");
        let total = app.data("{ contacts { totalCount } }", json!({})).await["contacts"]
            ["totalCount"]
            .clone();
        assert_eq!(total, json!(rows), "{name}");
    }
}

#[tokio::test]
async fn any_csv_imports_with_a_mapping_and_unmapped_columns_are_refused() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.csv");
    std::fs::write(
        &path,
        "Vorname;Nachname;Telefon;Kunde seit;Notiz;Intern\n\
         Ada;Lovelace;+49 30 901820;1843;Analytical;x\n",
    )
    .unwrap();
    // Without a mapping, a column that is no field stops the import.
    let db = app::connect(&app.database_url, 2).await.unwrap();
    let opts = |mapping: Mapping| ImportOptions {
        format: FileFormat::Csv,
        file: path.clone(),
        on_conflict: OnConflictMode::Fail,
        atomic: false,
        dry_run: false,
        batch_size: 10,
        delimiter: None,
        mapping,
    };
    let refused = run(
        &db,
        &Rules::default(),
        &EventBus::new(),
        &opts(Mapping::default()),
        &Seen::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("\"Vorname\"") && refused.contains("--map"),
        "{refused}"
    );
    let mapping = Mapping(
        [
            "Vorname=name.given",
            "Nachname=name.family",
            "Telefon=via.phone",
            "Kunde seit=metadata.customer.since",
            "notiz=description",
            "Intern=-",
        ]
        .iter()
        .map(|p| Mapping::parse_pair(p).unwrap())
        .collect(),
    );
    let summary = run(
        &db,
        &Rules::default(),
        &EventBus::new(),
        &opts(mapping),
        &Seen::default(),
    )
    .await
    .unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_contact(
        &app,
        ("phone", "+49 30 901820"),
        json!({
            "displayName": "Ada Lovelace",
            "description": "Analytical",
            "metadata": {
                "customer": { "since": "1843" },
                "name": { "given": "Ada", "family": "Lovelace" }
            },
            "via": [{ "source": "phone", "handle": "+4930901820" }]
        }),
    )
    .await;
    // A mapping naming a column the file lacks, or no field, is refused.
    let missing = Mapping(vec![Mapping::parse_pair("Fax=via.phone").unwrap()]);
    let refused = run(
        &db,
        &Rules::default(),
        &EventBus::new(),
        &opts(missing),
        &Seen::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("\"Fax\""), "{refused}");
    let bad = Mapping::parse_pair("Telefon=phone").unwrap_err();
    assert!(bad.contains("\"phone\" is not a field"), "{bad}");
}

#[tokio::test]
async fn our_own_csv_stays_strict_about_handles() {
    // A bad number in a file of our own columns fails its row (the column
    // says the caller meant a phone); in another tool's export it is set
    // aside in metadata.notImported and the contact imported.
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.csv");
    std::fs::write(&ours, "displayName,via.phone\nA,611\n").unwrap();
    let (summary, _) = import(&app, ours, Mapping::default()).await;
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].field.as_deref(), Some("row.via.0.handle"));
    let outlook = dir.path().join("outlook.csv");
    std::fs::write(
        &outlook,
        "First Name,E-mail Address,Mobile Phone,Home Phone\nB,b@example.com,611,+1 617 253 1000\n",
    )
    .unwrap();
    let (summary, _) = import(&app, outlook, Mapping::default()).await;
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_contact(
        &app,
        ("email", "b@example.com"),
        json!({
            "displayName": "B",
            "metadata": { "name": { "given": "B" }, "notImported": { "phone": "611" } },
            "via": [
                { "source": "email", "handle": "b@example.com" },
                { "source": "phone", "handle": "+16172531000" }
            ]
        }),
    )
    .await;
}
