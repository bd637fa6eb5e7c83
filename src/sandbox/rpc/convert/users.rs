//! Users, peers and chats as TL.
