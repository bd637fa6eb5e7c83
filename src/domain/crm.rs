//! CRM links: a chat of an account tied to a record of the CRM (a contact,
//! a deal, …), and what SuggestLinks matches chats with (phone numbers in
//! E.164, usernames, names).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccountId, FieldViolation};
use crate::domain::chat::Chat;

/// EntityType is the kind of a CRM record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Contact,
    Deal,
    Company,
    Lead,
    Ticket,
}

impl EntityType {
    pub const ALL: [EntityType; 5] = [
        EntityType::Contact,
        EntityType::Deal,
        EntityType::Company,
        EntityType::Lead,
        EntityType::Ticket,
    ];

    /// as_str is the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Contact => "contact",
            EntityType::Deal => "deal",
            EntityType::Company => "company",
            EntityType::Lead => "lead",
            EntityType::Ticket => "ticket",
        }
    }

    pub fn parse(s: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Entity names a record of the CRM: its kind and the CRM's (opaque) id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub id: String,
}

impl Entity {
    /// MAX_ID is the longest CRM id, in characters.
    pub const MAX_ID: usize = 128;

    /// new checks the id: 1..=128 characters, no control characters.
    pub fn new(kind: EntityType, id: &str) -> Result<Entity, FieldViolation> {
        let count = id.chars().count();
        if count == 0 || count > Self::MAX_ID || id.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                "entity.id",
                "must be 1 to 128 characters without control characters",
            ));
        }
        Ok(Entity {
            kind,
            id: id.to_owned(),
        })
    }
}

/// LinkedEntity is a CRM record as a chat shows it: with when it was linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedEntity {
    #[serde(flatten)]
    pub entity: Entity,
    pub linked_at: DateTime<Utc>,
}

/// ChatLink ties a chat of an account to a CRM record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLink {
    /// The gateway's id of the link (UUIDv7: its text order is creation order).
    pub id: String,
    pub account: AccountId,
    pub chat_id: i64,
    pub entity: Entity,
    /// The principal who made it.
    pub created_by: String,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ChatLink {
    pub fn linked(&self) -> LinkedEntity {
        LinkedEntity {
            entity: self.entity.clone(),
            linked_at: self.created_at,
        }
    }

    /// same_request tells whether a retry under this link's request id asks
    /// for this very link.
    pub fn same_request(&self, account: AccountId, chat_id: i64, entity: &Entity) -> bool {
        self.account == account && self.chat_id == chat_id && &self.entity == entity
    }
}

/// LinkFilter picks whose links ListLinks lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum LinkFilter {
    All,
    Chat { account: AccountId, chat_id: i64 },
    Entity(Entity),
}

/// LinkPage is a page of links, newest first, with the id of the last one
/// when more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPage {
    pub links: Vec<ChatLink>,
    pub next: Option<String>,
}

/// MatchReason says why SuggestLinks proposed a chat; the order is best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchReason {
    PhoneNumber,
    Username,
    Name,
}

impl MatchReason {
    fn score(self) -> f32 {
        match self {
            MatchReason::PhoneNumber => 1.0,
            MatchReason::Username => 0.9,
            MatchReason::Name => 0.5,
        }
    }
}

/// Suggestion is a chat that probably belongs to a CRM record.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub chat: Chat,
    /// Every reason that matched, best first, without repeats.
    pub reasons: Vec<MatchReason>,
}

impl Suggestion {
    pub fn score(&self) -> f32 {
        score(&self.reasons)
    }
}

/// score is the best reason's score plus 0.05 for each further one, at
/// most 1 (`reasons` best first).
pub fn score(reasons: &[MatchReason]) -> f32 {
    let best = reasons.first().map_or(0.0, |r| r.score());
    (best + 0.05 * reasons.len().saturating_sub(1) as f32).min(1.0)
}

/// MAX_SUGGESTIONS is how many suggestions SuggestLinks returns at most.
pub const MAX_SUGGESTIONS: usize = 20;

/// EntityContact is how a CRM record can be reached, ready to be looked up:
/// phone numbers as the digits Telegram stores (E.164 without the "+"),
/// usernames lowercased without "@", the name folded (lowercase, single
/// spaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct EntityContact {
    pub phone_digits: Vec<String>,
    pub usernames: Vec<String>,
    pub name: Option<String>,
}

/// MAX_PER_KIND bounds the phone numbers and the usernames of one request.
pub const MAX_PER_KIND: usize = 10;
/// MAX_NAME bounds a name, in characters.
pub const MAX_NAME: usize = 256;

impl EntityContact {
    /// parse checks and normalizes what the CRM gave. `phones` and
    /// `usernames` pair each value with the field it came from, for errors.
    pub fn parse(
        phones: &[(String, &str)],
        usernames: &[(String, &str)],
        name: &str,
        default_region: &str,
    ) -> Result<EntityContact, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let region = match default_region.trim() {
            "" => None,
            code => match code
                .to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
            {
                Ok(id) => Some(id),
                Err(_) => {
                    violations.push(FieldViolation::new(
                        "entity.default_region",
                        "must be an ISO 3166-1 alpha-2 region code, e.g. DE",
                    ));
                    None
                }
            },
        };
        let mut contact = EntityContact::default();
        for (field, phone) in phones {
            match phone_digits(phone, region) {
                Some(digits) => push_new(&mut contact.phone_digits, digits),
                None => violations.push(FieldViolation::new(
                    field.clone(),
                    "must be a phone number of 7 to 15 digits",
                )),
            }
        }
        for (field, username) in usernames {
            let plain = username.trim().trim_start_matches('@');
            let ok = (4..=32).contains(&plain.len())
                && plain.starts_with(|c: char| c.is_ascii_alphabetic())
                && plain.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                push_new(&mut contact.usernames, plain.to_ascii_lowercase());
            } else {
                violations.push(FieldViolation::new(
                    field.clone(),
                    "must be a Telegram username: 4 to 32 letters, digits or _, starting with a letter",
                ));
            }
        }
        if name.chars().count() > MAX_NAME {
            violations.push(FieldViolation::new(
                "entity.name",
                "must be at most 256 characters",
            ));
        } else {
            contact.name = Some(fold_name(name)).filter(|n| !n.is_empty());
        }
        if contact.phone_digits.len() > MAX_PER_KIND {
            violations.push(FieldViolation::new(
                "entity.phone_numbers",
                "at most 10 phone numbers",
            ));
        }
        if contact.usernames.len() > MAX_PER_KIND {
            violations.push(FieldViolation::new(
                "entity.usernames",
                "at most 10 usernames",
            ));
        }
        if violations.is_empty()
            && contact.phone_digits.is_empty()
            && contact.usernames.is_empty()
            && contact.name.is_none()
        {
            violations.push(FieldViolation::new(
                "entity",
                "name a phone number, a username or a name",
            ));
        }
        if violations.is_empty() {
            Ok(contact)
        } else {
            Err(violations)
        }
    }
}

fn push_new(values: &mut Vec<String>, value: String) {
    if !values.contains(&value) {
        values.push(value);
    }
}

/// fold_name is a name as names are compared: lowercase, words separated
/// by single spaces.
pub fn fold_name(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// phone_digits is a phone number as Telegram stores them: E.164 without
/// the "+". A number that parses as a valid number of a numbering plan
/// (with its country code, or in `region`'s national format) becomes its
/// E.164 form, so "+49 (30) 1234-5678", "0049 30 12345678" and, in DE,
/// "030 12345678" agree; one that does not (Telegram's test numbers
/// belong to no plan) is compared by its digits, 7 to 15 of them.
pub fn phone_digits(input: &str, region: Option<phonenumber::country::Id>) -> Option<String> {
    let input = input.trim();
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let allowed = input
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c));
    if !allowed || !(7..=15).contains(&digits.len()) {
        return None;
    }
    let international = input.starts_with('+') || input.starts_with("00");
    let attempts: Vec<(Option<phonenumber::country::Id>, String)> = if international {
        vec![(None, format!("+{}", digits.trim_start_matches("00")))]
    } else {
        // Digits without a "+" are international as Telegram writes them,
        // or national in the default region.
        let mut attempts = vec![(None, format!("+{digits}"))];
        if region.is_some() {
            attempts.insert(0, (region, input.to_owned()));
        }
        attempts
    };
    for (region, text) in attempts {
        if let Ok(number) = phonenumber::parse(region, &text)
            && number.is_valid()
        {
            let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
            return Some(e164.trim_start_matches('+').to_owned());
        }
    }
    Some(if international {
        digits.trim_start_matches("00").to_owned()
    } else {
        digits
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Option<phonenumber::country::Id> {
        Some(phonenumber::country::Id::DE)
    }

    #[test]
    fn phone_numbers_written_differently_agree_in_e164() {
        let stored = "4930123456";
        for written in ["+49 30 123456", "+49 (30) 12-34-56", "0049 30 123456"] {
            assert_eq!(
                phone_digits(written, None).as_deref(),
                Some(stored),
                "{written}"
            );
        }
        assert_eq!(phone_digits("030 123456", de()).as_deref(), Some(stored));
        assert_eq!(
            phone_digits("+1 (650) 253-0000", None).as_deref(),
            Some("16502530000")
        );
        assert_eq!(
            phone_digits("8 (916) 123-45-67", Some(phonenumber::country::Id::RU)).as_deref(),
            Some("79161234567")
        );
    }

    #[test]
    fn numbers_of_no_plan_are_compared_by_digits() {
        assert_eq!(
            phone_digits("+999 66 2 7501", None).as_deref(),
            Some("9996627501")
        );
        assert_eq!(
            phone_digits("999-662-7501", de()).as_deref(),
            Some("9996627501")
        );
    }

    #[test]
    fn malformed_phone_numbers_are_refused() {
        for bad in ["", "12345", "+1234567890123456", "call me", "+49 30 12a456"] {
            assert_eq!(phone_digits(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn an_empty_contact_is_refused_and_bad_fields_are_named() {
        let err = EntityContact::parse(&[], &[], "  ", "").unwrap_err();
        assert_eq!(err[0].field, "entity");
        let err = EntityContact::parse(
            &[("entity.phone_number".into(), "12")],
            &[("entity.usernames[0]".into(), "@a")],
            "",
            "XX1",
        )
        .unwrap_err();
        let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "entity.default_region",
                "entity.phone_number",
                "entity.usernames[0]"
            ]
        );
    }

    #[test]
    fn contacts_are_normalized_and_deduplicated() {
        let contact = EntityContact::parse(
            &[
                ("entity.phone_number".into(), "+49 30 123456"),
                ("entity.phone_numbers[0]".into(), "0049-30-123456"),
            ],
            &[("entity.username".into(), "@Alice_Smith")],
            "  Alice   SMITH ",
            "",
        )
        .unwrap();
        assert_eq!(contact.phone_digits, ["4930123456"]);
        assert_eq!(contact.usernames, ["alice_smith"]);
        assert_eq!(contact.name.as_deref(), Some("alice smith"));
    }

    #[test]
    fn scores_favour_the_best_reason_and_add_for_more() {
        assert_eq!(score(&[MatchReason::Name]), 0.5);
        assert!((score(&[MatchReason::Username, MatchReason::Name]) - 0.95).abs() < 1e-6);
        assert_eq!(
            score(&[
                MatchReason::PhoneNumber,
                MatchReason::Username,
                MatchReason::Name
            ]),
            1.0
        );
    }
}
