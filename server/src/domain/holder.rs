//! Who is who on a case: id newtypes for officers and cases, the [`Author`] of an item and the
//! [`Holder`] of a sealed case key. Their stored forms (`reporter`, `officer:<id>`,
//! `escrow`) are written and parsed here only, and a stored value that does not parse is an
//! error, never a guess.

use std::fmt;

use super::UnknownValue;

macro_rules! id_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// An officer account's id (a UUID; the e-mail address can change, this cannot).
    OfficerId
);
id_newtype!(
    /// A case's internal id (a UUID). Never shown: people use the [`super::reference::CaseReference`].
    CaseId
);

const OFFICER_PREFIX: &str = "officer:";

fn officer_in(s: &str) -> Option<OfficerId> {
    s.strip_prefix(OFFICER_PREFIX)
        .filter(|id| !id.is_empty())
        .map(OfficerId::from)
}

/// Who wrote an item or changed a status. Reporter items never carry more than this word
/// and a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    Reporter,
    Officer(OfficerId),
}

impl Author {
    pub fn to_db(&self) -> String {
        match self {
            Author::Reporter => "reporter".to_owned(),
            Author::Officer(id) => format!("{OFFICER_PREFIX}{id}"),
        }
    }

    pub fn parse(s: &str) -> Result<Self, UnknownValue> {
        match s {
            "reporter" => Ok(Author::Reporter),
            _ => officer_in(s).map(Author::Officer).ok_or(UnknownValue),
        }
    }

    pub fn is_reporter(&self) -> bool {
        matches!(self, Author::Reporter)
    }
}

/// Who holds a sealed copy (an envelope) of a case key: an officer, or the escrow recipient
/// kept for recovery.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    Officer(OfficerId),
    Escrow,
}

impl Holder {
    pub fn to_db(&self) -> String {
        match self {
            Holder::Officer(id) => format!("{OFFICER_PREFIX}{id}"),
            Holder::Escrow => "escrow".to_owned(),
        }
    }

    pub fn parse(s: &str) -> Result<Self, UnknownValue> {
        match s {
            "escrow" => Ok(Holder::Escrow),
            _ => officer_in(s).map(Holder::Officer).ok_or(UnknownValue),
        }
    }

    pub fn officer(&self) -> Option<&OfficerId> {
        match self {
            Holder::Officer(id) => Some(id),
            Holder::Escrow => None,
        }
    }

    /// Whether this is that officer's copy.
    pub fn is_officer(&self, id: &OfficerId) -> bool {
        self.officer() == Some(id)
    }
}

string_enum!(
    /// A row of `case_access`: a colleague given the case, or one excluded from it.
    AccessKind { Grant => "grant", Exclusion => "exclusion" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_round_trip_and_junk_is_refused() {
        let id = OfficerId::from("abc");
        let a = Author::Officer(id.clone());
        assert_eq!(Author::parse(&a.to_db()).unwrap(), a);
        assert_eq!(Author::parse("reporter").unwrap(), Author::Reporter);
        assert!(Author::parse("officer:").is_err());
        assert!(Author::parse("nobody").is_err());
        let h = Holder::Officer(id.clone());
        assert_eq!(Holder::parse(&h.to_db()).unwrap(), h);
        assert_eq!(Holder::parse("escrow").unwrap(), Holder::Escrow);
        assert!(Holder::parse("reporter").is_err());
        assert!(h.is_officer(&id));
        assert_eq!("grant".parse::<AccessKind>().unwrap(), AccessKind::Grant);
        assert!("owner".parse::<AccessKind>().is_err());
    }
}
