//! Conversions from the network's plain types to TL.

pub mod updates;
pub mod users;
