//! What both audiences' pages share: the layers every response passes through, the two form
//! readers (plaintext with streaming encryption, and ciphertext from the browser), blob
//! streaming, the page chrome and error pages, and the static assets.

pub mod access_log;
pub mod assets;
pub mod blob_stream;
pub mod cipher_form;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod locale;
pub mod plain_form;
pub mod probes;
pub mod ratelimit;
pub mod views;
