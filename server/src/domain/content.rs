//! The plaintext shapes of encrypted items, as they appear after `age -d`. JSON so that an
//! officer working offline can read them (`age -d … | jq -r .what`) and the officers'
//! browser code can parse them; messages are plain UTF-8 text. These values only ever exist
//! in memory, wrapped so they are wiped on drop and never printed by `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

#[derive(Serialize, Deserialize, Default, Zeroize, ZeroizeOnDrop)]
pub struct ReportContent {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    pub category: String,
    pub what: String,
    pub when_where: String,
    pub involved: String,
}

#[derive(Serialize, Deserialize, Default, Zeroize, ZeroizeOnDrop)]
pub struct IdentityContent {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u32,
    pub name: String,
    pub contact: String,
}

impl fmt::Debug for ReportContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReportContent(<encrypted content>)")
    }
}

impl fmt::Debug for IdentityContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityContent(<encrypted content>)")
    }
}

impl ReportContent {
    pub fn new(category: &str, what: &str, when_where: &str, involved: &str) -> Self {
        Self {
            kind: "report".into(),
            version: 1,
            category: category.into(),
            what: what.into(),
            when_where: when_where.into(),
            involved: involved.into(),
        }
    }
}

impl IdentityContent {
    pub fn new(name: &str, contact: &str) -> Self {
        Self {
            kind: "identity".into(),
            version: 1,
            name: name.into(),
            contact: contact.into(),
        }
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    // Serializing plain strings into a Vec cannot fail.
    Zeroizing::new(serde_json::to_vec_pretty(value).unwrap_or_default())
}

pub fn from_json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}
