//! Domain types that parse rather than validate: once a value of these types exists it is
//! well-formed, so handlers and the store never re-check (or log) raw reporter input.

pub mod case;
pub mod content;
pub mod officer;
pub mod receipt;
pub mod reference;
