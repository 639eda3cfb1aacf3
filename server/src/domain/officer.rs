//! Officer accounts' parsed inputs: an e-mail, a name, roles and the age recipient their case
//! keys are sealed to. No officer secret ever reaches the server.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerEmail(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OfficerInputError {
    #[error("'{0}' is not a valid e-mail address")]
    Email(String),
    #[error("the name must be 1 to 200 characters")]
    Name,
    #[error("unknown role '{0}' (expected admin, officer, investigator or auditor)")]
    Role(String),
    #[error(
        "'{0}' is not an age X25519 recipient: expected a public key starting with 'age1', \
         as printed by age-keygen, rage-keygen or typage"
    )]
    Recipient(String),
}

impl OfficerEmail {
    pub fn parse(s: &str) -> Result<Self, OfficerInputError> {
        let s = s.trim();
        let ok = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(s.to_lowercase()))
        } else {
            Err(OfficerInputError::Email(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerName(String);

impl OfficerName {
    pub fn parse(s: &str) -> Result<Self, OfficerInputError> {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
            Err(OfficerInputError::Name)
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Officer,
    Investigator,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Investigator => "investigator",
            Role::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = OfficerInputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "officer" => Ok(Role::Officer),
            "investigator" => Ok(Role::Investigator),
            "auditor" => Ok(Role::Auditor),
            other => Err(OfficerInputError::Role(other.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles of one account (a person may hold several), sorted and without repeats.
/// Stored as a comma-separated list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(roles: &[Role]) -> Self {
        let mut r = roles.to_vec();
        r.sort_unstable();
        r.dedup();
        Self(r)
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn to_db(&self) -> String {
        let mut r: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        r.sort_unstable();
        r.join(",")
    }

    /// The stored list; any word outside the vocabulary makes the whole value corrupt.
    pub fn parse(s: &str) -> Result<Self, OfficerInputError> {
        let roles = s
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Role>, _>>()?;
        Ok(Self::new(&roles))
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_db())
    }
}

/// Only native X25519 recipients: they are what every standard age tool (age, rage, typage)
/// can decrypt, which the offline export promises.
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient, OfficerInputError> {
    s.trim()
        .parse::<age::x25519::Recipient>()
        .map_err(|_| OfficerInputError::Recipient(s.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_inputs() {
        assert!(OfficerEmail::parse("A.B@Example.org").is_ok());
        assert!(OfficerEmail::parse("nope").is_err());
        assert!(OfficerEmail::parse("a@b").is_err());
        assert_eq!("Officer".parse::<Role>().unwrap(), Role::Officer);
        let id = age::x25519::Identity::generate();
        assert!(parse_recipient(&id.to_public().to_string()).is_ok());
        assert!(parse_recipient("age1notakey").is_err());
        assert_eq!(
            Roles::new(&[Role::Officer, Role::Admin, Role::Officer]).to_db(),
            "admin,officer"
        );
        assert_eq!(
            Roles::parse("admin,officer").unwrap(),
            Roles::new(&[Role::Admin, Role::Officer])
        );
        assert!(Roles::parse("admin,owner").is_err());
    }
}
