//! Network updates as TL `Updates`, for pushes and getDifference.

use grammers_tl_types as tl;

use crate::sandbox::network::{Delivery, Network};

/// pushed is the `Updates` a live session receives for one delivery, or
/// `None` when the update has no TL form yet.
pub fn pushed(_network: &Network, _delivery: &Delivery) -> Option<tl::enums::Updates> {
    None
}
