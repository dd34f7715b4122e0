//! The CSV exports of other address books, recognised by their headers, and
//! where each of their columns goes. A column with no field goes to
//! `metadata` under its own header, so nothing a file holds is dropped.
//!
//! The column names were read from exports published by their users (each
//! layout's sources are cited on it); the tests in `tests/formats/` use
//! files generated from those header rows by `tests/formats/make_samples.py`.

use super::row::{AddressPart, NamePart};
use super::target::Target;

/// Google's separator of several values in one cell (` ::: `), used in both
/// of its layouts for e-mails, phones, websites and labels.
pub const GOOGLE_MULTI: &str = " ::: ";

/// A known export layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Google Contacts, "Google CSV" since 2020: First Name, ..., Labels,
    /// then numbered groups `E-mail 1 - Label`, `E-mail 1 - Value`, ...
    /// Sources: real exports pasted into public tests and scripts, e.g. a Go
    /// test `TestMergeFileGoogleCSVRealExport` ("UTF-8 BOM, no Name column,
    /// ':::' multi-value separators"); the numbered groups appear only as
    /// often as the data needs.
    GoogleCurrent,
    /// Google Contacts' older export: Name, Given Name, ..., Group Membership,
    /// then `E-mail 1 - Type`, `E-mail 1 - Value`, ... Sources: real exports
    /// in github.com/Baneeishaque/GContacts (google.csv) and
    /// github.com/iMampi/googlecontacts (google-contacts.csv); the ` ::: `
    /// separator: github.com/owncloud-archive/contacts issues 818 and 820.
    GoogleOlder,
    /// Outlook: the desktop export (92 columns, "Business Country" or
    /// "Business Country/Region"; github.com/mwhuss/contact_csv
    /// test/outlook_contacts.csv, GNOME Evolution's csv_fields_outlook
    /// table), Outlook.com's (61 columns, "IMAddress", "Personal Web Page")
    /// and Google's "Outlook CSV" export (88 columns) share these names.
    Outlook,
    /// HubSpot's contacts export: "Record ID", "First Name", "Last Name",
    /// then the exported properties by their labels ("Email", "Phone
    /// Number", "Company Name", "State/Region", "Contact owner", ...), as in
    /// a public "all contacts" export (hubspot-crm-exports-all-contacts-*.csv)
    /// and HubSpot's export API documentation (properties by label).
    HubSpot,
}

impl Layout {
    /// The layout a header row is in, if any.
    pub fn recognise(headers: &[String]) -> Option<Layout> {
        let has = |name: &str| headers.iter().any(|h| h.eq_ignore_ascii_case(name));
        let numbered = |part: &str| {
            headers
                .iter()
                .any(|h| numbered(h).is_some_and(|n| n.2 == part))
        };
        if has("First Name") && has("Labels") && (has("File As") || numbered("Label")) {
            Some(Layout::GoogleCurrent)
        } else if has("Given Name") && (has("Group Membership") || numbered("Type")) {
            Some(Layout::GoogleOlder)
        } else if has("Record ID") || has("Contact ID") && has("Lifecycle Stage") {
            Some(Layout::HubSpot)
        } else if has("E-mail Address")
            && (has("Business Phone") || has("Mobile Phone") || has("Home Phone"))
        {
            Some(Layout::Outlook)
        } else {
            None
        }
    }

    /// The layout's name in the API (ImportJob.layout).
    pub fn code(self) -> &'static str {
        match self {
            Layout::GoogleCurrent => "GOOGLE",
            Layout::GoogleOlder => "GOOGLE_OLDER",
            Layout::Outlook => "OUTLOOK",
            Layout::HubSpot => "HUBSPOT",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::GoogleCurrent => "Google Contacts CSV",
            Layout::GoogleOlder => "Google Contacts CSV (older layout)",
            Layout::Outlook => "Outlook CSV",
            Layout::HubSpot => "HubSpot CSV",
        }
    }

    /// Where a column of this layout goes; its own header when it has no field.
    pub fn target(self, header: &str) -> Target {
        let found = match self {
            Layout::GoogleCurrent | Layout::GoogleOlder => google(header),
            Layout::Outlook => outlook(header),
            Layout::HubSpot => hubspot(header),
        };
        found.unwrap_or_else(|| Target::Metadata(vec![header.to_owned()]))
    }
}

/// `E-mail 2 - Value` as ("E-mail", 2, "Value").
fn numbered(header: &str) -> Option<(&str, u32, &str)> {
    let (head, part) = header.split_once(" - ")?;
    let (kind, n) = head.rsplit_once(' ')?;
    Some((kind, n.parse().ok()?, part))
}

fn field(name: &str) -> Option<Target> {
    Some(Target::Field(name.to_owned()))
}

fn handles(source: &str, split: Option<&'static str>) -> Option<Target> {
    Some(Target::Handle {
        source: source.to_owned(),
        split,
    })
}

fn address(label: &str, part: AddressPart) -> Option<Target> {
    Some(Target::Address {
        label: label.to_owned(),
        part,
    })
}

fn name(part: NamePart) -> Option<Target> {
    Some(Target::Name(part))
}

/// Both Google layouts; the older one's names where they differ.
fn google(header: &str) -> Option<Target> {
    if let Some((kind, n, part)) = numbered(header) {
        let label = format!("{kind} {n}");
        return match (kind, part) {
            ("E-mail", "Value") => handles("email", Some(GOOGLE_MULTI)),
            ("Phone", "Value") => handles("phone", Some(GOOGLE_MULTI)),
            ("Website", "Value") => Some(Target::Links(GOOGLE_MULTI)),
            ("Address", "Street") => address(&label, AddressPart::Street),
            ("Address", "PO Box" | "Extended Address") => address(&label, AddressPart::Extra),
            ("Address", "City") => address(&label, AddressPart::City),
            ("Address", "Region") => address(&label, AddressPart::State),
            ("Address", "Postal Code") => address(&label, AddressPart::Postcode),
            ("Address", "Country") => address(&label, AddressPart::Country),
            ("Address", "Formatted") => address(&label, AddressPart::Formatted),
            ("Organization", "Name") if n == 1 => field("organizationName"),
            ("Organization", "Title") if n == 1 => field("title"),
            _ => None,
        };
    }
    match header {
        "Name" => field("displayName"),
        "First Name" | "Given Name" => name(NamePart::Given),
        "Middle Name" | "Additional Name" => name(NamePart::Middle),
        "Last Name" | "Family Name" => name(NamePart::Family),
        "Name Prefix" => name(NamePart::Prefix),
        "Name Suffix" => name(NamePart::Suffix),
        "Organization Name" => field("organizationName"),
        "Organization Title" => field("title"),
        "Notes" => field("description"),
        "Photo" => field("avatarUrl"),
        "Gender" => field("gender"),
        "Labels" | "Group Membership" => Some(Target::GoogleLabels),
        _ => None,
    }
}

/// Outlook's columns (desktop, Outlook.com, Google's Outlook CSV).
fn outlook(header: &str) -> Option<Target> {
    for label in ["Business", "Home", "Other"] {
        let Some(rest) = header.strip_prefix(label).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let part = match rest {
            "Street" => AddressPart::Street,
            "Street 2" | "Street 3" | "Address PO Box" => AddressPart::Extra,
            "City" => AddressPart::City,
            "State" => AddressPart::State,
            "Postal Code" => AddressPart::Postcode,
            "Country" | "Country/Region" => AddressPart::Country,
            "Address" => AddressPart::Formatted,
            _ => continue,
        };
        return address(label, part);
    }
    match header {
        "Title" => name(NamePart::Prefix),
        "First Name" => name(NamePart::Given),
        "Middle Name" => name(NamePart::Middle),
        "Last Name" => name(NamePart::Family),
        "Suffix" => name(NamePart::Suffix),
        "Company" => field("organizationName"),
        "Job Title" => field("title"),
        "Notes" => field("description"),
        "E-mail Address" | "E-mail 2 Address" | "E-mail 3 Address" => handles("email", None),
        // The contact's own lines; fax, pager, telex and the assistant's
        // phone stay in metadata.
        "Primary Phone" | "Mobile Phone" | "Business Phone" | "Business Phone 2" | "Home Phone"
        | "Home Phone 2" | "Company Main Phone" | "Other Phone" | "Car Phone" | "Callback"
        | "Radio Phone" | "ISDN" => handles("phone", None),
        "Web Page" | "Personal Web Page" => Some(Target::Links(";")),
        "Categories" => Some(Target::Groups(";")),
        // Outlook's placeholders for "no value".
        "Birthday" | "Anniversary" => Some(Target::MetadataUnless(
            header.to_owned(),
            &["0/0/00", "00/00/00", "0/0/0000"],
        )),
        "Gender" => Some(Target::FieldUnless("gender".to_owned(), &["Unspecified"])),
        _ => None,
    }
}

/// HubSpot's default property labels.
fn hubspot(header: &str) -> Option<Target> {
    match header {
        "First Name" => name(NamePart::Given),
        "Last Name" => name(NamePart::Family),
        "Salutation" => name(NamePart::Prefix),
        "Email" | "Work email" => handles("email", None),
        "Phone Number" | "Mobile Phone Number" => handles("phone", None),
        "WhatsApp Phone Number" => handles("whatsapp", None),
        "Twitter Username" => handles("twitter", None),
        "Company Name" => field("organizationName"),
        "Job Title" => field("title"),
        "Street Address" => address("Address", AddressPart::Street),
        "City" => address("Address", AddressPart::City),
        "State/Region" => address("Address", AddressPart::State),
        "Postal Code" => address("Address", AddressPart::Postcode),
        "Country/Region" => address("Address", AddressPart::Country),
        "Website URL" => Some(Target::Links(";")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(line: &str) -> Vec<String> {
        line.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn layouts_are_told_from_their_headers() {
        let google = headers("First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,Organization Title,Organization Department,Birthday,Notes,Photo,Labels,E-mail 1 - Label,E-mail 1 - Value");
        assert_eq!(Layout::recognise(&google), Some(Layout::GoogleCurrent));
        let older = headers("Name,Given Name,Additional Name,Family Name,Group Membership,Phone 1 - Type,Phone 1 - Value");
        assert_eq!(Layout::recognise(&older), Some(Layout::GoogleOlder));
        let outlook = headers("First Name,Middle Name,Last Name,Title,Suffix,Nickname,Given Yomi,Surname Yomi,E-mail Address,E-mail 2 Address,E-mail 3 Address,Home Phone");
        assert_eq!(Layout::recognise(&outlook), Some(Layout::Outlook));
        let hubspot = headers("Record ID,First Name,Last Name,Email,Phone Number,Contact owner");
        assert_eq!(Layout::recognise(&hubspot), Some(Layout::HubSpot));
        assert_eq!(Layout::recognise(&headers("displayName,via.email")), None);
    }

    #[test]
    fn numbered_columns_split() {
        assert_eq!(numbered("E-mail 2 - Value"), Some(("E-mail", 2, "Value")));
        assert_eq!(
            numbered("Custom Field 1 - Label"),
            Some(("Custom Field", 1, "Label"))
        );
        assert_eq!(numbered("E-mail Address"), None);
    }
}
