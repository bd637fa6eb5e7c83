//! Conversions from the network's plain types to TL.

pub mod messages;
pub mod updates;
pub mod users;
