//! The contact CSV layouts the REST `fmt=csv` export and import know (the ones Zimbra's
//! `zimbra-contact-fields.xml` names, by `csvfmt=`): each is a list of columns, a column
//! being one or more CSV header names and the contact attribute it fills. Zimbra's own
//! `zimbra-csv` has no table: its header row is the attribute names themselves.
//!
//! Column names are the export headers of the clients concerned (Outlook 2003, Thunderbird,
//! Yahoo! Mail, Google Contacts) in English ("en_US"). Outlook's German and French
//! exports have their own header names (`csvfmt=outlook-2003-csv&csvlocale=de` or `fr`,
//! [`by_name_locale`]); an import recognises them by their header like any other layout.
//! French Outlook separates with `;` (Zimbra's `<delimiters>` table).
// LIMITATION: of the localized layouts Zimbra lists, only Outlook's German and French
// are known; another `csvlocale=` (`ja`, `nl`, a localized Thunderbird, ...) gives the
// English layout.

/// How a column's value becomes contact attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The value is the attribute, as is.
    Simple,
    /// A whole name, split into the attributes listed (comma separated) in `field`:
    /// `Last, First` or `First [Middle] Last`.
    Name,
    /// A date, stored as `yyyy-mm-dd` when its order can be told.
    Date,
    /// Tag names, comma separated.
    Tag,
    /// Several columns (the comma separated `names`) joined into one attribute: by a
    /// newline for an address, as a date for `Birth Month,Birth Day,Birth Year`.
    Multi,
}

/// One column of a layout.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Header name; for [`Kind::Multi`] the comma separated header names.
    pub names: &'static str,
    /// The attribute filled, empty for a column that is read but not kept.
    pub field: &'static str,
    pub kind: Kind,
}

/// A named layout.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Zimbra's `csvfmt=` name.
    pub name: &'static str,
    /// No table: header names are attribute names (`zimbra-csv`).
    pub all_fields: bool,
    /// The day/month/year order assumed for an ambiguous date (`mdy`), if any.
    pub date_order: Option<&'static str>,
    pub columns: &'static [Column],
}

impl Column {
    /// The header names of this column.
    pub fn header_names(&self) -> impl Iterator<Item = &'static str> {
        self.names.split(',')
    }

    /// The name written in an export header (the first of several).
    pub fn first_name(&self) -> &'static str {
        self.names.split(',').next().unwrap_or(self.names)
    }
}

const fn c(names: &'static str, field: &'static str) -> Column {
    Column {
        names,
        field,
        kind: Kind::Simple,
    }
}

const fn k(names: &'static str, field: &'static str, kind: Kind) -> Column {
    Column { names, field, kind }
}

/// Zimbra's own layout, the default: every attribute, header = attribute names.
pub const ZIMBRA: Layout = Layout {
    name: "zimbra-csv",
    all_fields: true,
    date_order: None,
    columns: &[],
};

const YAHOO_COLUMNS: &[Column] = &[
    c("First", "firstName"),
    c("Middle", "middleName"),
    c("Last", "lastName"),
    c("Nickname", "nickname"),
    c("Email", "email"),
    k("Category", "", Kind::Tag),
    c("Distribution Lists", ""),
    c("Messenger ID", "imAddress1"),
    c("Home", "homePhone"),
    c("Work", "workPhone"),
    c("Pager", "pager"),
    c("Fax", "workFax"),
    c("Mobile", "mobilePhone"),
    c("Other", "otherPhone"),
    c("Yahoo! Phone", ""),
    c("Primary", ""),
    c("Alternate Email 1", "email2"),
    c("Alternate Email 2", "email3"),
    c("Personal Website", "homeURL"),
    c("Business Website", "workURL"),
    c("Title", "jobTitle"),
    c("Company", "company"),
    c("Work Address", "workStreet"),
    c("Work City", "workCity"),
    c("Work State", "workState"),
    c("Work ZIP", "workPostalCode"),
    c("Work Country", "workCountry"),
    c("Home Address", "homeStreet"),
    c("Home City", "homeCity"),
    c("Home State", "homeState"),
    c("Home ZIP", "homePostalCode"),
    c("Home Country", "homeCountry"),
    k("Birthday", "birthday", Kind::Date),
    k("Anniversary", "anniversary", Kind::Date),
    c("Custom 1", "custom1"),
    c("Custom 2", "custom2"),
    c("Custom 3", "custom3"),
    c("Custom 4", "custom4"),
    c("Comments", "notes"),
    c("Skype ID", "skypeId"),
    c("ICQ ID", "icqId"),
    c("Google ID", "googleChatId"),
    c("MSN ID", "msnId"),
    c("AIM ID", "aimId"),
];

/// Yahoo! Mail's contact export.
pub const YAHOO: Layout = Layout {
    name: "yahoo-csv",
    all_fields: false,
    date_order: Some("mdy"),
    columns: YAHOO_COLUMNS,
};

const THUNDERBIRD_COLUMNS: &[Column] = &[
    c("First Name", "firstName"),
    c("Last Name", "lastName"),
    c("Display Name", "fullName"),
    c("Nickname", "nickname"),
    c("Primary Email", "email"),
    c("Secondary Email", "email2"),
    c("Screen Name", "aimId"),
    c("Work Phone", "workPhone"),
    c("Home Phone", "homePhone"),
    c("Fax Number", "workFax"),
    c("Pager Number", "pager"),
    c("Mobile Number", "mobilePhone"),
    k("Home Address,Home Address 2", "homeStreet", Kind::Multi),
    c("Home City", "homeCity"),
    c("Home State", "homeState"),
    c("Home ZipCode", "homePostalCode"),
    c("Home Country", "homeCountry"),
    k("Work Address,Work Address 2", "workStreet", Kind::Multi),
    c("Work City", "workCity"),
    c("Work State", "workState"),
    c("Work ZipCode", "workPostalCode"),
    c("Work Country", "workCountry"),
    c("Job Title", "jobTitle"),
    c("Department", "department"),
    c("Organization", "company"),
    c("Web Page 1", "workURL"),
    c("Web Page 2", "homeURL"),
    k("Birth Month,Birth Day,Birth Year", "birthday", Kind::Multi),
    c("Custom 1", "custom1"),
    c("Custom 2", "custom2"),
    c("Custom 3", "custom3"),
    c("Custom 4", "custom4"),
    c("Notes", "notes"),
];

/// Thunderbird's address book export.
pub const THUNDERBIRD: Layout = Layout {
    name: "thunderbird-csv",
    all_fields: false,
    date_order: None,
    columns: THUNDERBIRD_COLUMNS,
};

const OUTLOOK_COLUMNS: &[Column] = &[
    c("Title", "namePrefix"),
    c("First Name", "firstName"),
    c("Middle Name", "middleName"),
    c("Last Name", "lastName"),
    c("Suffix", "nameSuffix"),
    k("Name", "firstName,middleName,lastName", Kind::Name),
    c("Company", "company"),
    c("Department", "department"),
    c("Job Title", "jobTitle"),
    c("Business Address", "workStreet"),
    k(
        "Business Street,Business Street 2,Business Street 3",
        "workStreet",
        Kind::Multi,
    ),
    c("Business City", "workCity"),
    c("Business State", "workState"),
    c("Business Postal Code", "workPostalCode"),
    c("Business Country", "workCountry"),
    c("Home Address", "homeStreet"),
    k(
        "Home Street,Home Street 2,Home Street 3",
        "homeStreet",
        Kind::Multi,
    ),
    c("Home City", "homeCity"),
    c("Home State", "homeState"),
    c("Home Postal Code", "homePostalCode"),
    c("Home Country", "homeCountry"),
    k(
        "Other Street,Other Street 2,Other Street 3",
        "otherStreet",
        Kind::Multi,
    ),
    c("Other City", "otherCity"),
    c("Other State", "otherState"),
    c("Other Postal Code", "otherPostalCode"),
    c("Other Country", "otherCountry"),
    c("Assistant's Phone", "assistant"),
    c("Business Fax", "workFax"),
    c("Business Phone", "workPhone"),
    c("Business Phone 2", "workPhone2"),
    c("Callback", "callbackPhone"),
    c("Car Phone", "carPhone"),
    c("Company Main Phone", "companyPhone"),
    c("Home Fax", "homeFax"),
    c("Home Phone", "homePhone"),
    c("Home Phone 2", "homePhone2"),
    c("ISDN", "isdn"),
    c("Mobile Phone", "mobilePhone"),
    c("Other Fax", "otherFax"),
    c("Other Phone", "otherPhone"),
    c("Pager", "pager"),
    c("Primary Phone", ""),
    c("Radio Phone", "radioPhone"),
    c("TTY/TDD Phone", "ttyTDDPhone"),
    c("Telex", "telex"),
    c("Account", "account"),
    k("Anniversary", "anniversary", Kind::Date),
    c("Assistant's Name", "assistantName"),
    c("Billing Information", "billingInfo"),
    k("Birthday", "birthday", Kind::Date),
    c("Business Address PO Box", ""),
    c("Categories", ""),
    c("Children", "children"),
    c("Directory Server", ""),
    c("E-mail Address", "email"),
    c("E-mail Type", ""),
    c("E-mail Display Name", ""),
    c("E-mail 2 Address", "email2"),
    c("E-mail 2 Type", ""),
    c("E-mail 2 Display Name", ""),
    c("E-mail 3 Address", "email3"),
    c("E-mail 3 Type", ""),
    c("E-mail 3 Display Name", ""),
    c("Gender", "gender"),
    c("Government ID Number", "governmentId"),
    c("Hobby", "hobby"),
    c("Home Address PO Box", "homePOBox"),
    c("Initials", "initials"),
    c("Internet Free Busy", ""),
    c("Keywords", "keywords"),
    c("Language", "language"),
    c("Location", "location"),
    c("Manager's Name", "managerName"),
    c("Mileage", "mileage"),
    c("Notes", "notes"),
    c("Office Location", "office"),
    c("Organizational ID Number", "organizationId"),
    c("Other Address PO Box", "otherPOBox"),
    c("Priority", ""),
    c("Private", ""),
    c("Profession", "profession"),
    c("Referred By", "referredBy"),
    c("Sensitivity", "sensitivity"),
    c("Spouse", "spouse"),
    c("User 1", "custom1"),
    c("User 2", "custom2"),
    c("User 3", "custom3"),
    c("User 4", "custom4"),
    c("Web Page", "workURL"),
];

/// Outlook 2003 (and later Outlook) contact export.
pub const OUTLOOK: Layout = Layout {
    name: "outlook-2003-csv",
    all_fields: false,
    date_order: None,
    columns: OUTLOOK_COLUMNS,
};

const GMAIL_COLUMNS: &[Column] = &[
    c("Given Name", "firstName"),
    c("Additional Name", "middleName"),
    c("Family Name", "lastName"),
    c("Name", "fullName"),
    c("Nickname", "nickname"),
    c("Name Prefix", "namePrefix"),
    c("Name Suffix", "nameSuffix"),
    c("Initials", "initials"),
    k("Birthday", "birthday", Kind::Date),
    c("Notes", "notes"),
    k("Group Membership", "", Kind::Tag),
    c("E-mail 1 - Type", ""),
    c("E-mail 1 - Value", "email"),
    c("E-mail 2 - Type", ""),
    c("E-mail 2 - Value", "email2"),
    c("E-mail 3 - Type", ""),
    c("E-mail 3 - Value", "email3"),
    c("Organization 1 - Type", ""),
    c("Organization 1 - Name", "company"),
    c("Organization 1 - Title", "jobTitle"),
    c("Organization 1 - Department", "department"),
    c("Website 1 - Type", ""),
    c("Website 1 - Value", "homeURL"),
];

/// Google Contacts' "Google CSV" export (not a Zimbra layout; its phone and address
/// columns come in typed pairs, read by [`gmail_typed`]).
pub const GMAIL: Layout = Layout {
    name: "gmail-csv",
    all_fields: false,
    date_order: None,
    columns: GMAIL_COLUMNS,
};

/// Every layout, in the order a header is matched against them.
pub const LAYOUTS: &[Layout] = &[ZIMBRA, YAHOO, THUNDERBIRD, OUTLOOK, GMAIL];

/// The localized layouts: (`csvfmt=` name, locale language, layout).
const LOCALIZED: &[(&str, &str, Layout)] = &[
    ("outlook-2003-csv", "de", OUTLOOK_DE),
    ("outlook-2003-csv", "fr", OUTLOOK_FR),
];

/// A German Outlook export's header names (its dates are day.month.year).
const OUTLOOK_DE_COLUMNS: &[Column] = &[
    c("Anrede", "namePrefix"),
    c("Vorname", "firstName"),
    c("Weitere Vornamen", "middleName"),
    c("Nachname", "lastName"),
    c("Suffix", "nameSuffix"),
    c("Firma", "company"),
    c("Abteilung", "department"),
    c("Position", "jobTitle"),
    k(
        "Straße geschäftlich,Straße geschäftlich 2,Straße geschäftlich 3",
        "workStreet",
        Kind::Multi,
    ),
    c("Ort geschäftlich", "workCity"),
    c("Region geschäftlich", "workState"),
    c("Postleitzahl geschäftlich", "workPostalCode"),
    c("Land/Region geschäftlich", "workCountry"),
    k(
        "Straße privat,Straße privat 2,Straße privat 3",
        "homeStreet",
        Kind::Multi,
    ),
    c("Ort privat", "homeCity"),
    c("Bundesland/Kanton privat", "homeState"),
    c("Postleitzahl privat", "homePostalCode"),
    c("Land/Region privat", "homeCountry"),
    c("Fax geschäftlich", "workFax"),
    c("Telefon geschäftlich", "workPhone"),
    c("Telefon geschäftlich 2", "workPhone2"),
    c("Telefon Firma", "companyPhone"),
    c("Fax privat", "homeFax"),
    c("Telefon privat", "homePhone"),
    c("Telefon privat 2", "homePhone2"),
    c("Mobiltelefon", "mobilePhone"),
    c("Weiteres Telefon", "otherPhone"),
    c("Pager", "pager"),
    k("Jahrestag", "anniversary", Kind::Date),
    k("Geburtstag", "birthday", Kind::Date),
    k("Kategorien", "", Kind::Tag),
    c("E-Mail-Adresse", "email"),
    c("E-Mail 2: Adresse", "email2"),
    c("E-Mail 3: Adresse", "email3"),
    c("Initialen", "initials"),
    c("Notizen", "notes"),
    c("Büro", "office"),
    c("Partner", "spouse"),
    c("Webseite", "workURL"),
];

/// Outlook's contact export in German (`csvlocale=de`).
pub const OUTLOOK_DE: Layout = Layout {
    name: "outlook-2003-csv",
    all_fields: false,
    date_order: Some("dmy"),
    columns: OUTLOOK_DE_COLUMNS,
};

/// A French Outlook export's header names (its dates are day/month/year). Outlook names
/// both the title and the job title `Titre`; the column is read as the title.
const OUTLOOK_FR_COLUMNS: &[Column] = &[
    c("Titre", "namePrefix"),
    c("Prénom", "firstName"),
    c("Deuxième prénom", "middleName"),
    c("Nom", "lastName"),
    c("Suffixe", "nameSuffix"),
    c("Société", "company"),
    c("Service", "department"),
    k(
        "Rue (bureau),Rue (bureau) 2,Rue (bureau) 3",
        "workStreet",
        Kind::Multi,
    ),
    c("Ville (bureau)", "workCity"),
    c("Dép/Région (bureau)", "workState"),
    c("Code postal (bureau)", "workPostalCode"),
    c("Pays/Région (bureau)", "workCountry"),
    k(
        "Rue (domicile),Rue (domicile) 2,Rue (domicile) 3",
        "homeStreet",
        Kind::Multi,
    ),
    c("Ville (domicile)", "homeCity"),
    c("Dép/Région (domicile)", "homeState"),
    c("Code postal (domicile)", "homePostalCode"),
    c("Pays/Région (domicile)", "homeCountry"),
    c("Télécopie (bureau)", "workFax"),
    c("Téléphone (bureau)", "workPhone"),
    c("Téléphone 2 (bureau)", "workPhone2"),
    c("Téléphone société", "companyPhone"),
    c("Télécopie (domicile)", "homeFax"),
    c("Téléphone (domicile)", "homePhone"),
    c("Téléphone 2 (domicile)", "homePhone2"),
    c("Tél. mobile", "mobilePhone"),
    c("Téléphone (autre)", "otherPhone"),
    c("Récepteur de radiomessagerie", "pager"),
    k("Anniversaire de mariage ou fête", "anniversary", Kind::Date),
    k("Anniversaire", "birthday", Kind::Date),
    k("Catégories", "", Kind::Tag),
    c("Adresse de messagerie", "email"),
    c("Adresse de messagerie 2", "email2"),
    c("Adresse de messagerie 3", "email3"),
    c("Initiales", "initials"),
    c("Notes", "notes"),
    c("Bureau", "office"),
    c("Conjoint(e)", "spouse"),
    c("Page Web", "workURL"),
];

/// Outlook's contact export in French (`csvlocale=fr`).
pub const OUTLOOK_FR: Layout = Layout {
    name: "outlook-2003-csv",
    all_fields: false,
    date_order: Some("dmy"),
    columns: OUTLOOK_FR_COLUMNS,
};

/// The layout `csvfmt=` names in the language of `csvlocale=` (`de`, `de_CH`, `fr_FR`:
/// the language part counts); the English layout ([`by_name`]) when there is no
/// localized one.
pub fn by_name_locale(name: Option<&str>, locale: Option<&str>) -> &'static Layout {
    let layout = by_name(name);
    let lang = locale
        .map(|l| l.trim().to_ascii_lowercase())
        .map(|l| l.split(['_', '-']).next().unwrap_or("").to_string())
        .unwrap_or_default();
    LOCALIZED
        .iter()
        .find(|(n, l, _)| *n == layout.name && *l == lang)
        .map(|(_, _, localized)| localized)
        .unwrap_or(layout)
}

/// The layout `csvfmt=` names; Zimbra's default (`zimbra-csv`) for any other name.
pub fn by_name(name: Option<&str>) -> &'static Layout {
    let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return &LAYOUTS[0];
    };
    let n = n.to_ascii_lowercase();
    // Zimbra's other Outlook and Windows Live layouts read as Outlook's.
    let n = match n.as_str() {
        "outlook-unknown-csv" | "windows-live-mail-csv" | "outlook-csv" => "outlook-2003-csv",
        other => other,
    };
    LAYOUTS.iter().find(|l| l.name == n).unwrap_or(&LAYOUTS[0])
}

/// The layout (localized ones included) whose column names match most of `header`
/// (exactly, as Zimbra's guess);
/// `zimbra-csv` when none matches any.
pub fn guess(header: &[String]) -> &'static Layout {
    let mut best = &LAYOUTS[0];
    let mut best_n = 0;
    let localized = LOCALIZED.iter().map(|(_, _, l)| l);
    for l in LAYOUTS.iter().chain(localized) {
        let n = l
            .columns
            .iter()
            .filter(|c| header.iter().any(|h| h == c.first_name()))
            .count();
        if n > best_n {
            best_n = n;
            best = l;
        }
    }
    best
}

/// The separator an export uses when `csvsep=` is not given: `;` for French Outlook
/// (Zimbra's `<delimiters>` table), `,` otherwise.
pub fn default_separator(layout: &Layout, locale: Option<&str>) -> char {
    let fr = locale.is_some_and(|l| l.to_ascii_lowercase().starts_with("fr"));
    if fr && layout.name == OUTLOOK.name {
        ';'
    } else {
        ','
    }
}

/// For Google's typed pairs (`Phone 1 - Type` = `Mobile`, `Phone 1 - Value` = number):
/// the attribute a value column fills given its type column's value.
pub fn gmail_typed(header: &str, kind: &str) -> Option<&'static str> {
    let h = header.to_ascii_lowercase();
    let kind = kind.to_ascii_lowercase();
    let work = kind.contains("work");
    let home = kind.contains("home");
    if h.starts_with("phone ") && h.ends_with(" - value") {
        return Some(if kind.contains("mobile") {
            "mobilePhone"
        } else if kind.contains("fax") {
            if home { "homeFax" } else { "workFax" }
        } else if kind.contains("pager") {
            "pager"
        } else if work {
            "workPhone"
        } else if home {
            "homePhone"
        } else {
            "otherPhone"
        });
    }
    if h.starts_with("address ") {
        let part = h.rsplit(" - ").next().unwrap_or("");
        let prefix = if work {
            "work"
        } else if home {
            "home"
        } else {
            "other"
        };
        let suffix = match part {
            "street" => "Street",
            "city" => "City",
            "region" => "State",
            "postal code" => "PostalCode",
            "country" => "Country",
            _ => return None,
        };
        return Some(match (prefix, suffix) {
            ("work", "Street") => "workStreet",
            ("work", "City") => "workCity",
            ("work", "State") => "workState",
            ("work", "PostalCode") => "workPostalCode",
            ("work", "Country") => "workCountry",
            ("home", "Street") => "homeStreet",
            ("home", "City") => "homeCity",
            ("home", "State") => "homeState",
            ("home", "PostalCode") => "homePostalCode",
            ("home", "Country") => "homeCountry",
            (_, "Street") => "otherStreet",
            (_, "City") => "otherCity",
            (_, "State") => "otherState",
            (_, "PostalCode") => "otherPostalCode",
            _ => "otherCountry",
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localized_outlook_layouts() {
        let de = by_name_locale(Some("outlook-2003-csv"), Some("de_DE"));
        assert_eq!(de.columns[1].first_name(), "Vorname");
        let fr = by_name_locale(Some("outlook-2003-csv"), Some("fr"));
        assert_eq!(fr.columns[1].first_name(), "Prénom");
        assert_eq!(default_separator(fr, Some("fr")), ';');
        let en = by_name_locale(Some("outlook-2003-csv"), Some("ja"));
        assert_eq!(en.columns[1].first_name(), "First Name");
        assert_eq!(by_name_locale(None, Some("de")).name, "zimbra-csv");
        let header: Vec<String> = ["Vorname", "Nachname", "E-Mail-Adresse", "Geburtstag"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        assert_eq!(guess(&header).columns[1].first_name(), "Vorname");
    }

    #[test]
    fn names_and_guesses() {
        assert_eq!(by_name(None).name, "zimbra-csv");
        assert_eq!(by_name(Some("Outlook-2003-CSV")).name, "outlook-2003-csv");
        assert_eq!(by_name(Some("nonsense")).name, "zimbra-csv");
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(guess(&h(&["First", "Last", "Email"])).name, "yahoo-csv");
        assert_eq!(
            guess(&h(&["First Name", "Last Name", "Primary Email"])).name,
            "thunderbird-csv"
        );
        assert_eq!(
            guess(&h(&[
                "First Name",
                "Last Name",
                "E-mail Address",
                "Business Phone"
            ]))
            .name,
            "outlook-2003-csv"
        );
        assert_eq!(
            guess(&h(&[
                "Name",
                "Given Name",
                "Family Name",
                "E-mail 1 - Value"
            ]))
            .name,
            "gmail-csv"
        );
        assert_eq!(guess(&h(&["email", "firstName"])).name, "zimbra-csv");
        assert_eq!(default_separator(&OUTLOOK, Some("fr_FR")), ';');
        assert_eq!(default_separator(&ZIMBRA, Some("fr")), ',');
        assert_eq!(
            gmail_typed("Phone 1 - Value", "Mobile"),
            Some("mobilePhone")
        );
        assert_eq!(gmail_typed("Address 1 - City", "Work"), Some("workCity"));
        assert_eq!(gmail_typed("Phone 1 - Type", "Mobile"), None);
    }
}
